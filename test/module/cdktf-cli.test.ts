/**
 * The documented CDKTF commands run from a fresh clone: `cdktf-cli` is a devDependency, and
 * `npx cdktf synth` synthesizes both stacks of main.ts offline. `--no-install` keeps npx from
 * fetching anything, npm is told it is offline, and every HTTP(S) request is sent to a closed port,
 * so a download attempt would fail this test instead of passing quietly.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { TfJson, resourceAddresses } from './synth';

const ROOT = resolve(__dirname, '..', '..');

test('`npx cdktf synth` (cdktf-cli 0.21.0) synthesizes both example stacks offline into the given directory', () => {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
    devDependencies: Record<string, string>;
  };
  expect(pkg.devDependencies['cdktf-cli']).toBe('0.21.0');
  const out = mkdtempSync(join(tmpdir(), 'irc-cdktf-synth-'));
  try {
    const unreachable = 'http://127.0.0.1:9';
    const run = spawnSync('npx', ['--no-install', 'cdktf', 'synth', '--output', out], {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: 120_000,
      env: {
        ...process.env,
        CI: 'true',
        CHECKPOINT_DISABLE: '1',
        npm_config_offline: 'true',
        HTTP_PROXY: unreachable,
        HTTPS_PROXY: unreachable,
        http_proxy: unreachable,
        https_proxy: unreachable,
        NO_PROXY: '',
        RESIZE_IMAGE_URI: '',
        PUBLISH_IMAGE_URI: '',
      },
    });
    expect({ code: run.status, stderr: run.stderr }).toEqual({ code: 0, stderr: expect.not.stringMatching(/error/i) });
    expect(run.stdout).toMatch(
      /Generated Terraform code for the stacks: image-resize-chain,\s*image-resize-chain-consumer/,
    );
    const manifest = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8')) as {
      stacks: Record<string, unknown>;
    };
    expect(Object.keys(manifest.stacks).sort()).toEqual(['image-resize-chain', 'image-resize-chain-consumer']);
    const chain = JSON.parse(readFileSync(join(out, 'stacks', 'image-resize-chain', 'cdk.tf.json'), 'utf8')) as TfJson;
    expect(resourceAddresses(chain)).toEqual(
      expect.arrayContaining(['aws_lambda_function.chain_resize_function', 'aws_sqs_queue.chain_ingest_queue']),
    );
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}, 150_000);
