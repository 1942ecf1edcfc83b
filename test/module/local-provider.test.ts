/**
 * Pointing Terraform and CDKTF at the local cloud: the endpoint list covers every resource and data
 * source the module, its examples and the CDKTF stacks use, and the override `resize-chain
 * tf-override` writes (and the provider block main.ts synthesizes with RESIZE_CHAIN_ENDPOINT) is one
 * the real provider from the mirror accepts (`terraform init` + `validate`, offline).
 */
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import {
  ENDPOINT_BY_RESOURCE_PREFIX,
  OFFLINE_DATA_SOURCES,
  TF_OVERRIDE_FILE,
  endpointOfResourceType,
  localEndpoints,
} from '../../src/local/terraform-provider';
import { synthChain, type TfJson } from './synth';
import { describeWhen } from '../helpers/requires';
import { findOfflineTerraform, runTerraformOrThrow, offlineWorkDir } from './terraform-cli';

const ROOT = resolve(__dirname, '..', '..');
const ENDPOINT = 'http://127.0.0.1:45660';

/** Resource and data source types of a Terraform JSON document. */
function typesOfJson(doc: TfJson): string[] {
  return [...Object.keys(doc.resource ?? {}), ...Object.keys(doc.data ?? {})];
}

/** Resource and data source types of an HCL file (`resource "aws_x" "name"`, `data "aws_y" "name"`). */
function typesOfHcl(text: string): string[] {
  return [...text.matchAll(/^\s*(?:resource|data)\s+"([a-z0-9_]+)"/gm)].map((m) => m[1]);
}

function plainModuleFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory()
      ? plainModuleFiles(join(dir, entry.name))
      : entry.name.endsWith('.tf.json')
        ? [join(dir, entry.name)]
        : [],
  );
}

test('every aws resource and data source of the module, its examples and the CDKTF stack calls a listed endpoint', () => {
  const types = new Set<string>([
    ...plainModuleFiles(join(ROOT, 'modules', 'terraform')).flatMap((file) =>
      typesOfJson(JSON.parse(readFileSync(file, 'utf8')) as TfJson),
    ),
    ...['terraform', 'terraform-full'].flatMap((example) =>
      typesOfHcl(readFileSync(join(ROOT, 'examples', example, 'main.tf'), 'utf8')),
    ),
    // No images given: the stack creates its ECR repositories too.
    ...typesOfJson(synthChain({ images: undefined })),
  ]);
  const aws = [...types].filter((type) => type.startsWith('aws_') && !OFFLINE_DATA_SOURCES.has(type));
  expect(aws.length).toBeGreaterThan(20);
  const unlisted = aws.filter((type) => endpointOfResourceType(type) === undefined);
  expect(unlisted).toEqual([]);
  // Each listed prefix is used (or is sts, which the provider calls for the account id): no stale entries.
  const used = new Set(aws.map((type) => endpointOfResourceType(type)));
  expect(
    ENDPOINT_BY_RESOURCE_PREFIX.map(([, endpoint]) => endpoint).filter(
      (endpoint) => !used.has(endpoint) && endpoint !== 'sts',
    ),
  ).toEqual([]);
});

const terraform = findOfflineTerraform();

describeWhen(terraform.missing, 'the override with the real provider (offline)', () => {
  let work: string;
  let cli: string;
  const tf = (cwd: string, args: string[]): string => runTerraformOrThrow(terraform.bin!, cli, cwd, args);

  beforeAll(() => {
    ({ work, cli } = offlineWorkDir('irc-tf-local-', terraform.mirror!));
  });

  afterAll(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  test('resize-chain tf-override writes an override examples/terraform inits and validates with', () => {
    cpSync(join(ROOT, 'modules', 'terraform'), join(work, 'modules', 'terraform'), { recursive: true });
    const exampleDir = join(work, 'examples', 'terraform');
    mkdirSync(exampleDir, { recursive: true });
    cpSync(join(ROOT, 'examples', 'terraform', 'main.tf'), join(exampleDir, 'main.tf'));
    const written = spawnSync(
      process.execPath,
      [join(ROOT, 'dist', 'cli.js'), 'tf-override', '--dir', exampleDir, '--endpoint', ENDPOINT],
      { encoding: 'utf8' },
    );
    expect({ code: written.status, stderr: written.stderr }).toEqual({ code: 0, stderr: '' });
    expect(written.stdout).toContain(join(exampleDir, TF_OVERRIDE_FILE));
    const override = JSON.parse(readFileSync(join(exampleDir, TF_OVERRIDE_FILE), 'utf8')) as {
      provider: { aws: { endpoints: unknown } };
    };
    expect(override.provider.aws.endpoints).toEqual(localEndpoints(ENDPOINT));
    tf(exampleDir, ['init', '-input=false', '-no-color']);
    expect(tf(exampleDir, ['validate', '-no-color'])).toContain('Success! The configuration is valid.');
  });

  test('main.ts with RESIZE_CHAIN_ENDPOINT synthesizes a provider block with the same endpoints, and it validates', () => {
    const outdir = join(work, 'cdktf.out');
    const synth = spawnSync(process.execPath, [join(ROOT, 'node_modules', 'tsx', 'dist', 'cli.mjs'), 'main.ts'], {
      cwd: ROOT,
      env: {
        ...process.env,
        CDKTF_OUTDIR: outdir,
        RESIZE_IMAGE_URI: '',
        PUBLISH_IMAGE_URI: '',
        RESIZE_CHAIN_ENDPOINT: ENDPOINT,
      },
      encoding: 'utf8',
    });
    expect({ code: synth.status, stderr: synth.stderr }).toEqual({ code: 0, stderr: '' });
    const stackDir = join(outdir, 'stacks', 'image-resize-chain');
    const doc = JSON.parse(readFileSync(join(stackDir, 'cdk.tf.json'), 'utf8')) as {
      provider: { aws: Array<Record<string, unknown>> };
    };
    const aws = doc.provider.aws[0];
    expect(aws.endpoints).toEqual([localEndpoints(ENDPOINT)]);
    expect(aws).toMatchObject({
      s3_use_path_style: true,
      access_key: 'local',
      skip_requesting_account_id: false,
      region: 'us-east-1',
    });
    tf(stackDir, ['init', '-input=false', '-no-color']);
    expect(tf(stackDir, ['validate', '-no-color'])).toContain('Success! The configuration is valid.');
  });

  test('main.ts refuses a RESIZE_CHAIN_ENDPOINT that is not an endpoint', () => {
    const synth = spawnSync(process.execPath, [join(ROOT, 'node_modules', 'tsx', 'dist', 'cli.mjs'), 'main.ts'], {
      cwd: ROOT,
      env: { ...process.env, CDKTF_OUTDIR: join(work, 'refused.out'), RESIZE_CHAIN_ENDPOINT: 'localhost:4566' },
      encoding: 'utf8',
    });
    expect(synth.status).not.toBe(0);
    expect(synth.stderr).toContain('RESIZE_CHAIN_ENDPOINT must be an http(s)://host:port endpoint');
    expect(existsSync(join(work, 'refused.out', 'stacks'))).toBe(false);
  });
});
