/**
 * `npx cdktf deploy` of main.ts's chain stack to the local cloud, as the README shows it: one
 * bare `resize-chain up` (IAM enforced, over TLS), the real cdktf CLI (the devDependency, never a download), the real
 * terraform and the AWS provider from the filesystem mirror (TF_CLI_CONFIG_FILE), main.ts told where
 * and with which images by RESIZE_CHAIN_ENDPOINT, RESIZE_IMAGE_URI and PUBLISH_IMAGE_URI (no edit to
 * it). The deploy creates the stack, `cdktf diff` shows no changes, a JPEG copied in with the AWS CLI
 * comes back as every variant and the manifest, `cdktf destroy` leaves none of the stack's buckets,
 * queues, functions, mappings and roles; then `resize-chain deploy-local --example cdktf --destroy`
 * does the same in one command against the same `up`.
 *
 * The functions run as the local images (image-resize-chain/resize:latest, …/publish:latest): build
 * them first (npm run images). Needs terraform, the provider mirror, the AWS CLI and Docker: skipped
 * loudly without them, failing under CI=true. Run it under `flock /tmp/irc-docker.lock` on a shared
 * machine (it starts containers).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import sharp from 'sharp';
import { describeWhen } from '../helpers/requires';
import { AWS_CLI_MISSING, findAwsCli, killUp, runAws, runCli, startUp, type UpProcess } from '../helpers/up-process';
import { missingDocker } from '../containers/docker';
import { waitFor } from '../helpers/wait';
import { summaryLine } from '../helpers/terraform-up';
import { findOfflineTerraform, writeCliConfig, type TerraformRun } from '../module/terraform-cli';
import {
  CDKTF_CHAIN_STACK,
  cdktfDeployArgs,
  cdktfDestroyArgs,
  cdktfDiffArgs,
  runCdktfAsync,
  type CdktfLocalTarget,
} from '../../src/local/cdktf-cli';
import { DEFAULT_VARIANTS } from '../../src/core/variants';
import { manifestKey } from '../../src/core/keys';

const ROOT = resolve(__dirname, '..', '..');
const terraform = findOfflineTerraform();
const awsCli = findAwsCli();
const missing = terraform.missing ?? (awsCli ? undefined : AWS_CLI_MISSING) ?? missingDocker();

/** What main.ts names the chain's resources (the module's default name). */
const STACK_NAME = 'image-resize-chain';

/** A cdktf run and how long it took. */
type TimedRun = TerraformRun & { seconds: number };

describeWhen(missing, 'npx cdktf deploy / diff / destroy of main.ts against resize-chain up', () => {
  let up: UpProcess | undefined;
  let work = '';
  let target: CdktfLocalTarget;
  let cliConfig = '';
  let deploy: TimedRun;
  let outputs: Record<string, string> = {};
  const output = (): string => join(work, 'cdktf.out');
  const aws = async (args: string[]): Promise<unknown> =>
    JSON.parse((await runAws(awsCli!.path, up!.endpoint, [...args, '--output', 'json'])) || 'null') as unknown;

  /** Runs cdktf with `args`; fails with its output unless it exits 0. */
  const cdktf = async (args: string[]): Promise<TimedRun> => {
    const begun = Date.now();
    const run = await runCdktfAsync(ROOT, cliConfig, target, args);
    const seconds = Math.round((Date.now() - begun) / 100) / 10;
    if (run.code !== 0)
      throw new Error(`cdktf ${args.join(' ')} exited ${run.code} after ${seconds} s:\n${run.stderr}\n${run.stdout}`);
    return { ...run, seconds };
  };

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'irc-deploy-cdktf-'));
    cliConfig = writeCliConfig(work, terraform.mirror!);
    up = await startUp(['--bare'], 120_000);
    target = {
      endpoint: up.endpoint,
      resizeImage: 'image-resize-chain/resize:latest',
      publishImage: 'image-resize-chain/publish:latest',
    };
    const outputsFile = join(work, 'outputs.json');
    deploy = await cdktf(cdktfDeployArgs(output(), outputsFile));
    outputs = (JSON.parse(readFileSync(outputsFile, 'utf8')) as Record<string, Record<string, string>>)[
      CDKTF_CHAIN_STACK
    ]!;
  }, 1_000_000);

  afterAll(async () => {
    // Whatever a failed test left deployed goes with up's in-memory state (and its containers).
    await killUp(up);
    rmSync(work, { recursive: true, force: true });
  });

  test('cdktf deploy image-resize-chain creates the stack (53 resources) and writes its outputs', () => {
    const line = summaryLine(deploy, /Apply complete! Resources: .*/);
    console.log(`cdktf deploy: ${line} (${deploy.seconds} s)`);
    expect(line).toBe('Apply complete! Resources: 53 added, 0 changed, 0 destroyed.');
    expect(outputs).toMatchObject({
      resize_function_name: `${STACK_NAME}-resize`,
      publish_function_name: `${STACK_NAME}-publish`,
      source_bucket_name: expect.stringMatching(new RegExp(`^${STACK_NAME}-src-`)),
      output_bucket_name: expect.stringMatching(new RegExp(`^${STACK_NAME}-out-`)),
      uploads_prefix: 'uploads/',
    });
  });

  test('cdktf diff shows no changes', async () => {
    const diff = await cdktf(cdktfDiffArgs(output()));
    const line = summaryLine(diff, /No changes\..*|Plan: .*/);
    console.log(`cdktf diff: ${line} (${diff.seconds} s)`);
    expect(line).toBe('No changes. Your infrastructure matches the configuration.');
  }, 900_000);

  test('a JPEG copied with aws s3 cp to uploads/ comes back as every variant and the manifest', async () => {
    const photo = join(work, 'photo.jpg');
    const svg =
      '<svg xmlns="http://www.w3.org/2000/svg" width="1200" height="800"><rect width="1200" height="800" fill="#1d4e89"/>' +
      '<circle cx="400" cy="400" r="220" fill="#f1c453"/></svg>';
    writeFileSync(photo, await sharp(Buffer.from(svg)).jpeg({ quality: 85 }).toBuffer());
    const key = `${outputs.uploads_prefix}photo.jpg`;
    await runAws(awsCli!.path, up!.endpoint, ['s3', 'cp', photo, `s3://${outputs.source_bucket_name}/${key}`]);
    const manifest = manifestKey(key, outputs.output_prefix ?? '');
    const begun = Date.now();
    const keys = await waitFor(
      `s3://${outputs.output_bucket_name}/${manifest}`,
      async () => {
        const listed = (await aws([
          's3api',
          'list-objects-v2',
          '--bucket',
          outputs.output_bucket_name,
          '--prefix',
          manifest.replace(/manifest\.json$/, ''),
        ])) as { Contents?: Array<{ Key: string }> } | null;
        const found = (listed?.Contents ?? []).map((o) => o.Key).sort();
        return found.includes(manifest) ? found : undefined;
      },
      300_000,
      1000,
    );
    console.log(
      `sample: ${keys.length} objects in ${Math.round((Date.now() - begun) / 100) / 10} s: ${keys.join(', ')}`,
    );
    const folder = manifest.replace(/manifest\.json$/, '');
    expect(keys).toEqual(
      [...DEFAULT_VARIANTS.map((v) => `${folder}${v.name}.${v.format === 'jpeg' ? 'jpg' : v.format}`), manifest].sort(),
    );
  }, 400_000);

  test('cdktf destroy leaves no bucket, queue, function, mapping or role of the stack', async () => {
    for (const bucket of [outputs.source_bucket_name, outputs.output_bucket_name])
      await runAws(awsCli!.path, up!.endpoint, ['s3', 'rm', '--recursive', `s3://${bucket}`]);
    const destroy = await cdktf(cdktfDestroyArgs(output()));
    const line = summaryLine(destroy, /Destroy complete! Resources: .*/);
    console.log(`cdktf destroy: ${line} (${destroy.seconds} s)`);
    expect(line).toBe('Destroy complete! Resources: 53 destroyed.');
    expect(await stackLeftovers()).toEqual({ buckets: [], queues: [], functions: [], mappings: [], roles: [] });
  }, 900_000);

  test('resize-chain deploy-local --example cdktf --destroy runs cdktf deploy, the sample and cdktf destroy', async () => {
    const dir = join(work, 'deploy-local');
    const run = await runCli(
      ['deploy-local', '--example', 'cdktf', '--destroy', '--endpoint', up!.endpoint, '--dir', dir],
      1_500_000,
    );
    const out = run.stdout;
    console.log(
      out
        .split('\n')
        .filter((l) => /^ {2}(cdktf \w+|sample image): |complete!|^timings: |^nothing left/.test(l))
        .join('\n'),
    );
    expect({ code: run.code, stderr: run.stderr.split('\n').filter((l) => l.includes('"level":"error"')) }).toEqual({
      code: 0,
      stderr: [],
    });
    expect(out).toContain(`deploying cdktf to ${up!.endpoint}`);
    expect(out).toContain('Apply complete! Resources: 53 added, 0 changed, 0 destroyed.');
    expect(out).toContain('created 53 resources:');
    expect(out).toContain('  aws_lambda_function.chain_resize_function');
    expect(out).toContain('manifest and variants written: s3://');
    expect(out).toContain('Destroy complete! Resources: 53 destroyed.');
    expect(out).toContain('nothing left: no bucket or queue of the deployment remains');
    expect(out).toMatch(
      /^timings: cdktf deploy [\d.]+ s, sample image [\d.]+ s, cdktf destroy [\d.]+ s; total [\d.]+ s$/m,
    );
    expect(await stackLeftovers()).toEqual({ buckets: [], queues: [], functions: [], mappings: [], roles: [] });
  }, 1_600_000);

  /** What the local cloud still lists of the stack (named by the module's default name). */
  async function stackLeftovers(): Promise<Record<string, string[]>> {
    const ours = (names: Array<string | undefined>): string[] =>
      names.filter((n): n is string => Boolean(n) && n!.includes(STACK_NAME));
    const buckets = (await aws(['s3api', 'list-buckets'])) as { Buckets?: Array<{ Name?: string }> };
    const queues = (await aws(['sqs', 'list-queues'])) as { QueueUrls?: string[] } | null;
    const functions = (await aws(['lambda', 'list-functions'])) as { Functions?: Array<{ FunctionName?: string }> };
    const mappings = (await aws(['lambda', 'list-event-source-mappings'])) as {
      EventSourceMappings?: Array<{ FunctionArn?: string }>;
    };
    const roles = (await aws(['iam', 'list-roles'])) as { Roles?: Array<{ RoleName?: string }> };
    return {
      buckets: ours((buckets.Buckets ?? []).map((b) => b.Name)),
      queues: ours(queues?.QueueUrls ?? []),
      functions: ours((functions.Functions ?? []).map((f) => f.FunctionName)),
      mappings: ours((mappings.EventSourceMappings ?? []).map((m) => m.FunctionArn)),
      roles: ours((roles.Roles ?? []).map((r) => r.RoleName)),
    };
  }
});
