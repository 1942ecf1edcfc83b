/**
 * Terraform creates an event source mapping on the local cloud: `resize-chain up` as a child
 * process, the real terraform binary and the AWS provider from the filesystem mirror, pointed at
 * `up` by `resize-chain tf-override`. The fixture (test/fixtures/terraform-local-esm) creates a queue
 * with its DLQ, a grant on the function's own role, and an `aws_lambda_event_source_mapping` from the queue into up's
 * resize function (functions are not created through Terraform on the local cloud yet: the mapping names one `up`
 * runs). The provider's waiters pass, a second plan shows no changes, the AWS CLI reads the applied settings, a message
 * on the queue reaches the function (its variants land in the output bucket), a queue whose visibility timeout is below
 * the function timeout is refused with Lambda's message, and destroy removes the mapping. IAM is enforced throughout,
 * as on AWS.
 *
 * Needs terraform, the provider mirror and the AWS CLI: skipped loudly without them, failing under CI=true.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { describeWhen } from '../helpers/requires';
import { AWS_CLI_MISSING, findAwsCli } from '../helpers/up-process';
import { findOfflineTerraform } from '../module/terraform-cli';
import { startTerraformAgainstUp, summaryLine as summary, type TerraformAgainstUp } from '../helpers/terraform-up';
import { waitFor } from '../helpers/wait';
import { synthesizeImage } from '../../src/tools/samples';

const ROOT = resolve(__dirname, '..', '..');
const FIXTURE = join(ROOT, 'test', 'fixtures', 'terraform-local-esm', 'main.tf');
const SOURCE = 'image-resize-chain-src-local';
const OUTPUT = 'image-resize-chain-out-local';
const FUNCTION = 'image-resize-chain-resize';
/** The function's execution role in up's chain: it may read only uploads/ and consume only its ingest queue. */
const FUNCTION_ROLE = 'image-resize-chain-resize-role';
const terraform = findOfflineTerraform();
const cli = findAwsCli();
const missing = terraform.missing ?? (cli ? undefined : AWS_CLI_MISSING);

describeWhen(missing, 'terraform creates an event source mapping on resize-chain up', () => {
  const name = `tfm-${randomBytes(3).toString('hex')}`;
  let deploy: TerraformAgainstUp | undefined;
  /** Folders of the images this test writes. */
  const works: string[] = [];
  const aws = async (args: string[]): Promise<Record<string, unknown>> =>
    (await deploy!.aws(args)) as Record<string, unknown>;
  const vars = (extra: string[] = []): string[] => [
    '-var',
    `name=${name}`,
    '-var',
    `function_name=${FUNCTION}`,
    '-var',
    `function_role_name=${FUNCTION_ROLE}`,
    '-var',
    `source_bucket=${SOURCE}`,
    ...extra,
  ];

  let uuid = '';

  beforeAll(async () => {
    // IAM enforced: the fixture grants the function's role the queue and elsewhere/ (see main.tf).
    deploy = await startTerraformAgainstUp(
      FIXTURE,
      'irc-deploy-esm-',
      { bin: terraform.bin!, mirror: terraform.mirror! },
      cli!.path,
    );
  }, 180_000);

  afterAll(async () => {
    await deploy?.stop();
    for (const dir of works) rmSync(dir, { recursive: true, force: true });
  });

  test('terraform apply creates the queues, the grant on the function role and the mapping; a second plan shows no changes', async () => {
    const apply = await deploy!.tf(['apply', '-auto-approve', '-input=false', ...vars()]);
    const line = summary(apply, /Apply complete! Resources: .*/);
    console.log(`apply: ${line} (${apply.seconds} s)`);
    expect(line).toBe('Apply complete! Resources: 4 added, 0 changed, 0 destroyed.');
    uuid = /mapping_uuid = "([0-9a-f-]{36})"/.exec(apply.stdout)?.[1] ?? '';
    expect(uuid).toMatch(/^[0-9a-f-]{36}$/);

    const plan = await deploy!.tf(['plan', '-detailed-exitcode', '-input=false', ...vars()], [0, 2]);
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
    await deploy!.awsText(['s3api', 'put-object', '--bucket', SOURCE, '--key', 'elsewhere/esm.jpg', '--body', file]);
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
    await deploy!.awsText([
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
    const short = await deploy!.another();
    const apply = await short.tf(
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
    const destroy = await short.tf(['destroy', '-auto-approve', '-input=false', ...vars(['-var', `name=${name}-s`])]);
    expect(summary(destroy, /Destroy complete! Resources: .*/)).toBe('Destroy complete! Resources: 3 destroyed.');
  }, 600_000);

  test('terraform destroy removes the mapping; the chain own mappings stay', async () => {
    const destroy = await deploy!.tf(['destroy', '-auto-approve', '-input=false', ...vars()]);
    const line = summary(destroy, /Destroy complete! Resources: .*/);
    console.log(`destroy: ${line} (${destroy.seconds} s)`);
    expect(line).toBe('Destroy complete! Resources: 4 destroyed.');
    const listed = await aws(['lambda', 'list-event-source-mappings']);
    const arns = (listed.EventSourceMappings as Array<{ EventSourceArn: string }>).map((m) => m.EventSourceArn);
    expect(arns.filter((arn) => arn.includes(name))).toEqual([]);
    expect(arns).toContain('arn:aws:sqs:us-east-1:000000000000:image-resize-chain-ingest');
  }, 600_000);
});
