/**
 * Terraform creates an event source mapping on the local cloud: `resize-chain up` as a child
 * process, the real terraform binary and the AWS provider from the filesystem mirror, pointed at
 * `up` by `resize-chain tf-override`. The fixture (test/fixtures/terraform-local-esm) creates a queue
 * with its DLQ, a role, and an `aws_lambda_event_source_mapping` from the queue into up's resize
 * function (functions are not created through Terraform on the local cloud yet: the mapping names one
 * `up` runs). The provider's waiters pass, a second plan shows no changes, the AWS CLI reads the
 * applied settings, a message on the queue reaches the function (its variants land in the output
 * bucket), a queue whose visibility timeout is below the function timeout is refused with Lambda's
 * message, and destroy removes the mapping.
 *
 * Needs terraform, the provider mirror and the AWS CLI: skipped loudly without them, failing under CI=true.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { describeWhen } from '../helpers/requires';
import { AWS_CLI_MISSING, findAwsCli, killUp, runAws, startUp, type UpProcess } from '../helpers/up-process';
import { findOfflineTerraform, runTerraformAsync, writeCliConfig, type TerraformRun } from '../module/terraform-cli';
import { waitFor } from '../helpers/wait';
import { synthesizeImage } from '../../src/tools/samples';

const ROOT = resolve(__dirname, '..', '..');
const FIXTURE = join(ROOT, 'test', 'fixtures', 'terraform-local-esm', 'main.tf');
const SOURCE = 'image-resize-chain-src-local';
const OUTPUT = 'image-resize-chain-out-local';
const FUNCTION = 'image-resize-chain-resize';
const terraform = findOfflineTerraform();
const cli = findAwsCli();
const missing = terraform.missing ?? (cli ? undefined : AWS_CLI_MISSING);

describeWhen(missing, 'terraform creates an event source mapping on resize-chain up', () => {
  const name = `tfm-${randomBytes(3).toString('hex')}`;
  let up: UpProcess | undefined;
  /** One terraform work folder per configuration (its own state). */
  const works: string[] = [];

  /** A work folder holding the fixture, the override for `up` and an offline CLI config, initialised. */
  async function workFolder(): Promise<{ dir: string; cliConfig: string }> {
    const dir = mkdtempSync(join(tmpdir(), 'irc-deploy-esm-'));
    works.push(dir);
    cpSync(FIXTURE, join(dir, 'main.tf'));
    const cliConfig = writeCliConfig(dir, terraform.mirror!);
    const written = spawnSync(
      process.execPath,
      [join(ROOT, 'dist', 'cli.js'), 'tf-override', '--dir', dir, '--endpoint', up!.endpoint],
      { encoding: 'utf8' },
    );
    expect({ code: written.status, stderr: written.stderr }).toEqual({ code: 0, stderr: '' });
    await tf({ dir, cliConfig }, ['init', '-input=false']);
    return { dir, cliConfig };
  }

  /** Runs terraform; fails with its output unless it exits with one of `codes`. */
  async function tf(
    at: { dir: string; cliConfig: string },
    args: string[],
    codes: number[] = [0],
  ): Promise<TerraformRun & { seconds: number }> {
    const started = Date.now();
    const run = await runTerraformAsync(terraform.bin!, at.cliConfig, at.dir, [...args, '-no-color']);
    const seconds = Math.round((Date.now() - started) / 100) / 10;
    if (!codes.includes(run.code))
      throw new Error(
        `terraform ${args.join(' ')} exited ${run.code} after ${seconds} s:\n${run.stderr}\n${run.stdout.slice(-6000)}`,
      );
    return { ...run, seconds };
  }
  const aws = async (args: string[]): Promise<Record<string, unknown>> =>
    JSON.parse(await runAws(cli!.path, up!.endpoint, [...args, '--output', 'json'], 60_000)) as Record<string, unknown>;
  const summary = (run: TerraformRun, pattern: RegExp): string =>
    pattern.exec(run.stdout)?.[0] ?? `(no summary line)\n${run.stdout.slice(-2000)}`;
  const vars = (extra: string[] = []): string[] => [
    '-var',
    `name=${name}`,
    '-var',
    `function_name=${FUNCTION}`,
    ...extra,
  ];

  let main: { dir: string; cliConfig: string };
  let uuid = '';

  beforeAll(async () => {
    // --no-auth: the image this test sends lies outside uploads/, the only prefix the chain's resize
    // role may read (IAM would refuse the read, rightly); what is tested here is the mapping.
    up = await startUp(['--no-auth']);
    main = await workFolder();
  }, 180_000);

  afterAll(async () => {
    await killUp(up);
    for (const dir of works) rmSync(dir, { recursive: true, force: true });
  });

  test('terraform apply creates the queues, the role and the mapping; a second plan shows no changes', async () => {
    const apply = await tf(main, ['apply', '-auto-approve', '-input=false', ...vars()]);
    const line = summary(apply, /Apply complete! Resources: .*/);
    console.log(`apply: ${line} (${apply.seconds} s)`);
    expect(line).toBe('Apply complete! Resources: 5 added, 0 changed, 0 destroyed.');
    uuid = /mapping_uuid = "([0-9a-f-]{36})"/.exec(apply.stdout)?.[1] ?? '';
    expect(uuid).toMatch(/^[0-9a-f-]{36}$/);

    const plan = await tf(main, ['plan', '-detailed-exitcode', '-input=false', ...vars()], [0, 2]);
    console.log(`plan: ${summary(plan, /No changes\..*|Plan: .*/)} (${plan.seconds} s)`);
    expect({ code: plan.code, diff: plan.code === 0 ? '' : plan.stdout }).toEqual({ code: 0, diff: '' });
  }, 600_000);

  test('the AWS CLI reads the mapping as applied, beside the chain own mapping into the function', async () => {
    expect(await aws(['lambda', 'get-event-source-mapping', '--uuid', uuid])).toMatchObject({
      UUID: uuid,
      State: 'Enabled',
      EventSourceArn: `arn:aws:sqs:us-east-1:000000000000:${name}-jobs`,
      FunctionArn: `arn:aws:lambda:us-east-1:000000000000:function:${FUNCTION}`,
      BatchSize: 5,
      MaximumBatchingWindowInSeconds: 1,
      ScalingConfig: { MaximumConcurrency: 2 },
      FunctionResponseTypes: ['ReportBatchItemFailures'],
    });
    const listed = await aws(['lambda', 'list-event-source-mappings', '--function-name', FUNCTION]);
    const arns = (listed.EventSourceMappings as Array<{ EventSourceArn: string }>).map((m) => m.EventSourceArn);
    expect(arns.sort()).toEqual(
      [
        `arn:aws:sqs:us-east-1:000000000000:${name}-jobs`,
        'arn:aws:sqs:us-east-1:000000000000:image-resize-chain-ingest',
      ].sort(),
    );
  }, 120_000);

  test('a message on the mapped queue reaches the function: the image it names is resized', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'irc-deploy-esm-img-'));
    works.push(dir);
    const file = join(dir, 'esm.jpg');
    writeFileSync(file, await synthesizeImage({ width: 900, height: 600, seed: 7, format: 'jpeg' }));
    // Outside the watched uploads/ prefix: only the mapping created by terraform can bring it to the function.
    await runAws(cli!.path, up!.endpoint, [
      's3api',
      'put-object',
      '--bucket',
      SOURCE,
      '--key',
      'elsewhere/esm.jpg',
      '--body',
      file,
    ]);
    const { QueueUrl } = (await aws(['sqs', 'get-queue-url', '--queue-name', `${name}-jobs`])) as { QueueUrl: string };
    const notification = {
      Records: [
        {
          eventSource: 'aws:s3',
          eventName: 'ObjectCreated:Put',
          s3: { bucket: { name: SOURCE }, object: { key: 'elsewhere/esm.jpg', size: 1 } },
        },
      ],
    };
    await runAws(cli!.path, up!.endpoint, [
      'sqs',
      'send-message',
      '--queue-url',
      QueueUrl,
      '--message-body',
      JSON.stringify(notification),
    ]);
    const keys = await waitFor('the variants of elsewhere/esm.jpg', async () => {
      const listed = (await aws(['s3api', 'list-objects-v2', '--bucket', OUTPUT, '--prefix', 'elsewhere/esm/'])) as {
        Contents?: Array<{ Key: string }>;
      };
      const found = (listed.Contents ?? []).map((c) => c.Key);
      return found.includes('elsewhere/esm/manifest.json') ? found : undefined;
    });
    expect(keys.length).toBeGreaterThan(1);
  }, 180_000);

  test("a queue whose visibility timeout is below the function timeout: apply fails with Lambda's message", async () => {
    const short = await workFolder();
    const apply = await tf(
      short,
      [
        'apply',
        '-auto-approve',
        '-input=false',
        ...vars(['-var', `name=${name}-s`, '-var', 'visibility_timeout_seconds=10']),
      ],
      [1],
    );
    expect(apply.stderr).toMatch(
      /InvalidParameterValueException: Queue visibility timeout: 10 seconds is less than Function timeout: \d+ seconds/,
    );
    const destroy = await tf(short, ['destroy', '-auto-approve', '-input=false', ...vars(['-var', `name=${name}-s`])]);
    expect(summary(destroy, /Destroy complete! Resources: .*/)).toBe('Destroy complete! Resources: 4 destroyed.');
  }, 600_000);

  test('terraform destroy removes the mapping; the chain own mappings stay', async () => {
    const destroy = await tf(main, ['destroy', '-auto-approve', '-input=false', ...vars()]);
    const line = summary(destroy, /Destroy complete! Resources: .*/);
    console.log(`destroy: ${line} (${destroy.seconds} s)`);
    expect(line).toBe('Destroy complete! Resources: 5 destroyed.');
    const listed = await aws(['lambda', 'list-event-source-mappings']);
    const arns = (listed.EventSourceMappings as Array<{ EventSourceArn: string }>).map((m) => m.EventSourceArn);
    expect(arns.filter((arn) => arn.includes(name))).toEqual([]);
    expect(arns).toContain('arn:aws:sqs:us-east-1:000000000000:image-resize-chain-ingest');
  }, 600_000);
});
