/**
 * A bucket notification applied by Terraform routes what it says, against `resize-chain up`: the real
 * terraform binary and the AWS provider from the filesystem mirror apply a bucket, a queue with a
 * redrive policy, the queue policy letting the bucket in and an `aws_s3_bucket_notification` with a
 * prefix/suffix filter; a second plan shows no changes; an AWS CLI upload matching the filter lands
 * an ObjectCreated message in the queue and one that does not match lands nothing; the queue's
 * applied attributes hold when messages are received (visibility, redrive after the applied
 * maxReceiveCount); the same configuration without the queue policy fails to apply with S3's
 * refusal; destroy leaves none of it.
 *
 * Needs terraform, the provider mirror and the AWS CLI: skipped loudly without them, failing under CI=true.
 */
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { S3Event } from 'aws-lambda';
import { describeWhen } from '../helpers/requires';
import { AWS_CLI_MISSING, findAwsCli } from '../helpers/up-process';
import { findOfflineTerraform } from '../module/terraform-cli';
import { startTerraformAgainstUp, summaryLine as summary, type TerraformAgainstUp } from '../helpers/terraform-up';

const ROOT = resolve(__dirname, '..', '..');
const FIXTURE = join(ROOT, 'examples', 'terraform-notifications', 'main.tf');
const terraform = findOfflineTerraform();
const cli = findAwsCli();
const missing = terraform.missing ?? (cli ? undefined : AWS_CLI_MISSING);

interface SqsMessage {
  Body: string;
  ReceiptHandle: string;
  Attributes?: Record<string, string>;
}

describeWhen(missing, 'terraform applies S3 bucket notifications to resize-chain up', () => {
  const name = `tfn-${randomBytes(3).toString('hex')}`;
  let deploy: TerraformAgainstUp | undefined;
  let outputs: { bucket: string; queue_url: string; dead_letter_queue_url: string };

  const aws = (args: string[]): Promise<string> => deploy!.awsText(args);
  // Some commands (receive-message on an empty queue, list-queues with no match) print nothing: {}.
  const json = async <T>(args: string[]): Promise<T> => (await deploy!.aws(args)) as T;
  const receive = async (queueUrl: string, extra: string[] = []): Promise<SqsMessage[]> =>
    (
      await json<{ Messages?: SqsMessage[] }>([
        'sqs',
        'receive-message',
        '--queue-url',
        queueUrl,
        '--max-number-of-messages',
        '10',
        '--wait-time-seconds',
        '1',
        '--attribute-names',
        'ApproximateReceiveCount',
        ...extra,
      ])
    ).Messages ?? [];

  beforeAll(async () => {
    deploy = await startTerraformAgainstUp(
      FIXTURE,
      'irc-deploy-notify-',
      { bin: terraform.bin!, mirror: terraform.mirror! },
      cli!.path,
    );
  }, 180_000);

  afterAll(async () => {
    await deploy?.stop();
  });

  test('terraform apply creates the bucket, the queues, the queue policy and the notification', async () => {
    const apply = await deploy!.tf(['apply', '-auto-approve', '-input=false', '-var', `name=${name}`]);
    const line = summary(apply, /Apply complete! Resources: .*/);
    console.log(`apply: ${line} (${apply.seconds} s)`);
    expect(line).toBe('Apply complete! Resources: 5 added, 0 changed, 0 destroyed.');
    const raw = await deploy!.tf(['output', '-json']);
    outputs = Object.fromEntries(
      Object.entries(JSON.parse(raw.stdout) as Record<string, { value: string }>).map(([k, v]) => [k, v.value]),
    ) as typeof outputs;
    expect(outputs.bucket).toBe(`${name}-uploads`);
  }, 600_000);

  test('a second plan shows no changes', async () => {
    const plan = await deploy!.tf(['plan', '-detailed-exitcode', '-input=false', '-var', `name=${name}`], [0, 2]);
    console.log(`plan: ${summary(plan, /No changes\..*|Plan: .*/)} (${plan.seconds} s)`);
    expect({ code: plan.code, diff: plan.code === 0 ? '' : plan.stdout }).toEqual({ code: 0, diff: '' });
  }, 600_000);

  test('the AWS CLI reads the notification configuration as applied', async () => {
    const config = await json<Record<string, unknown>>([
      's3api',
      'get-bucket-notification-configuration',
      '--bucket',
      outputs.bucket,
    ]);
    expect(config).toEqual({
      QueueConfigurations: [
        {
          Id: 'uploads-jpg',
          QueueArn: `arn:aws:sqs:us-east-1:000000000000:${name}-ingest`,
          Events: ['s3:ObjectCreated:*'],
          Filter: {
            Key: {
              FilterRules: [
                { Name: 'Prefix', Value: 'uploads/' },
                { Name: 'Suffix', Value: '.jpg' },
              ],
            },
          },
        },
      ],
    });
  }, 120_000);

  test('S3 sent the s3:TestEvent on apply; an upload matching the filter lands ObjectCreated, others nothing', async () => {
    const test = await receive(outputs.queue_url);
    expect(test.map((m) => (JSON.parse(m.Body) as { Event?: string }).Event)).toEqual(['s3:TestEvent']);
    for (const m of test)
      await aws(['sqs', 'delete-message', '--queue-url', outputs.queue_url, '--receipt-handle', m.ReceiptHandle]);

    const file = join(deploy!.work, 'photo.jpg');
    writeFileSync(file, 'not really a jpeg');
    for (const key of ['other/photo.jpg', 'uploads/photo.png', 'uploads/photo.jpg'])
      await aws(['s3', 'cp', file, `s3://${outputs.bucket}/${key}`]);
    const messages = await receive(outputs.queue_url);
    const records = messages.flatMap((m) => (JSON.parse(m.Body) as S3Event).Records);
    expect(
      records.map((r) => [r.eventName, r.s3.configurationId, r.s3.bucket.name, r.s3.object.key] as unknown[]),
    ).toEqual([['ObjectCreated:Put', 'uploads-jpg', outputs.bucket, 'uploads/photo.jpg']]);
    for (const m of messages)
      await aws(['sqs', 'delete-message', '--queue-url', outputs.queue_url, '--receipt-handle', m.ReceiptHandle]);
    // Nothing else arrives: the two non-matching uploads were answered before the matching one.
    expect(await receive(outputs.queue_url)).toEqual([]);
  }, 120_000);

  test("the queue's applied attributes hold: visibility timeout, then redrive after maxReceiveCount 2", async () => {
    const { Attributes } = await json<{ Attributes: Record<string, string> }>([
      'sqs',
      'get-queue-attributes',
      '--queue-url',
      outputs.queue_url,
      '--attribute-names',
      'All',
    ]);
    expect(Attributes).toMatchObject({
      VisibilityTimeout: '45',
      MessageRetentionPeriod: '86400',
      ReceiveMessageWaitTimeSeconds: '1',
      SqsManagedSseEnabled: 'true',
    });
    expect(JSON.parse(Attributes.RedrivePolicy)).toEqual({
      deadLetterTargetArn: `arn:aws:sqs:us-east-1:000000000000:${name}-ingest-dlq`,
      maxReceiveCount: 2,
    });

    await aws(['sqs', 'send-message', '--queue-url', outputs.queue_url, '--message-body', 'poison']);
    // First receive: the applied 45 s visibility hides it from the next receive.
    const [first] = await receive(outputs.queue_url);
    expect(first).toMatchObject({ Body: 'poison', Attributes: { ApproximateReceiveCount: '1' } });
    expect(await receive(outputs.queue_url)).toEqual([]);
    // Made visible again (a consumer that failed), received a second time: its last chance.
    await aws([
      'sqs',
      'change-message-visibility',
      '--queue-url',
      outputs.queue_url,
      '--receipt-handle',
      first.ReceiptHandle,
      '--visibility-timeout',
      '0',
    ]);
    const [second] = await receive(outputs.queue_url, ['--visibility-timeout', '0']);
    expect(second).toMatchObject({ Body: 'poison', Attributes: { ApproximateReceiveCount: '2' } });
    // A third receive finds it gone: SQS moved it to the dead-letter queue after 2 receives.
    expect(await receive(outputs.queue_url)).toEqual([]);
    const dead = await receive(outputs.dead_letter_queue_url);
    expect(dead.map((m) => m.Body)).toEqual(['poison']);
  }, 120_000);

  test("without the queue policy the notification fails to apply with S3's refusal", async () => {
    const denied = await deploy!.another();
    const other = `${name}-x`;
    const apply = await denied.tf(
      ['apply', '-auto-approve', '-input=false', '-var', `name=${other}`, '-var', 'allow_bucket=false'],
      [1],
    );
    const errors = apply.stderr.replace(/\s+/g, ' ');
    console.log(`apply without the queue policy: ${errors.slice(0, 400)}`);
    expect(errors).toContain(`creating S3 Bucket (${other}-uploads) Notification`);
    expect(errors).toContain('InvalidArgument: Unable to validate the following destination configurations');
    const destroy = await denied.tf([
      'destroy',
      '-auto-approve',
      '-input=false',
      '-var',
      `name=${other}`,
      '-var',
      'allow_bucket=false',
    ]);
    expect(summary(destroy, /Destroy complete! Resources: .*/)).toBe('Destroy complete! Resources: 3 destroyed.');
  }, 600_000);

  test('terraform destroy removes everything; the list APIs show none of it', async () => {
    const destroy = await deploy!.tf(['destroy', '-auto-approve', '-input=false', '-var', `name=${name}`]);
    const line = summary(destroy, /Destroy complete! Resources: .*/);
    console.log(`destroy: ${line} (${destroy.seconds} s)`);
    expect(line).toBe('Destroy complete! Resources: 5 destroyed.');
    const buckets = await json<{ Buckets: Array<{ Name: string }> }>(['s3api', 'list-buckets']);
    expect(buckets.Buckets.map((b) => b.Name).filter((n) => n.startsWith(name))).toEqual([]);
    const queues = await json<{ QueueUrls?: string[] }>(['sqs', 'list-queues', '--queue-name-prefix', name]);
    expect(queues.QueueUrls ?? []).toEqual([]);
  }, 600_000);
});
