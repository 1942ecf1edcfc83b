/**
 * Terraform deploys the module's observability and scheduling resource types to the local cloud:
 * `resize-chain up` as a child process, the real terraform binary and the AWS provider from the
 * filesystem mirror, pointed at `up` by `resize-chain tf-override`. A KMS key with a policy, an SNS
 * topic encrypted with it, two metric alarms whose actions are the topic, a dashboard, and a
 * schedule rule with a Lambda target (a function ARN EventBridge does not check) apply; a second plan
 * shows no changes; the AWS CLI reads them as applied and the topic still carries messages (the
 * stand-in delivers a publish to a subscribed queue); destroy leaves none of them (the key pending
 * deletion, as on AWS).
 *
 * Needs terraform, the provider mirror and the AWS CLI: skipped loudly without them, failing under CI=true.
 */
import { join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { describeWhen } from '../helpers/requires';
import { AWS_CLI_MISSING, findAwsCli } from '../helpers/up-process';
import { startTerraformAgainstUp, summaryLine as summary, type TerraformAgainstUp } from '../helpers/terraform-up';
import { findOfflineTerraform } from '../module/terraform-cli';

const ROOT = resolve(__dirname, '..', '..');
const FIXTURE = join(ROOT, 'test', 'fixtures', 'terraform-local-observability', 'main.tf');
const RESOURCES = 7;
const terraform = findOfflineTerraform();
const cli = findAwsCli();
const missing = terraform.missing ?? (cli ? undefined : AWS_CLI_MISSING);

describeWhen(
  missing,
  'terraform apply / plan / destroy of alarms, dashboard, KMS, SNS and EventBridge against up',
  () => {
    const name = `tfo-${randomBytes(3).toString('hex')}`;
    let deploy: TerraformAgainstUp | undefined;
    let outputs: { key_id: { value: string }; topic_arn: { value: string } };
    const tf: TerraformAgainstUp['tf'] = (args, codes) => deploy!.tf(args, codes);
    const aws = (args: string[]): Promise<unknown> => deploy!.aws(args);
    const awsText = (args: string[]): Promise<string> => deploy!.awsText(args);

    beforeAll(async () => {
      deploy = await startTerraformAgainstUp(
        FIXTURE,
        'irc-deploy-local-obs-',
        {
          bin: terraform.bin!,
          mirror: terraform.mirror!,
        },
        cli!.path,
      );
    }, 180_000);

    afterAll(async () => {
      await deploy?.stop();
    });

    test(`terraform apply creates all ${RESOURCES} resources`, async () => {
      const apply = await tf(['apply', '-auto-approve', '-input=false', '-var', `name=${name}`]);
      const line = summary(apply, /Apply complete! Resources: .*/);
      console.log(`apply: ${line} (${apply.seconds} s)`);
      expect(line).toBe(`Apply complete! Resources: ${RESOURCES} added, 0 changed, 0 destroyed.`);
      outputs = JSON.parse((await tf(['output', '-json'])).stdout) as typeof outputs;
    }, 600_000);

    test('a second plan shows no changes (terraform plan -detailed-exitcode exits 0)', async () => {
      const plan = await tf(['plan', '-detailed-exitcode', '-input=false', '-var', `name=${name}`], [0, 2]);
      console.log(`plan: ${summary(plan, /No changes\..*|Plan: .*/)} (${plan.seconds} s)`);
      // Exit 2 means changes: the diff is shown as the failure.
      expect({ code: plan.code, diff: plan.code === 0 ? '' : plan.stdout }).toEqual({ code: 0, diff: '' });
    }, 600_000);

    test('the AWS CLI reads the alarms, the dashboard, the rule and its target, the key and the topic', async () => {
      const topicArn = `arn:aws:sns:us-east-1:000000000000:${name}-alarms`;
      const alarms = (await aws(['cloudwatch', 'describe-alarms', '--alarm-name-prefix', name])) as {
        MetricAlarms: Array<Record<string, unknown>>;
      };
      expect(alarms.MetricAlarms).toMatchObject([
        {
          AlarmName: `${name}-duration-near-timeout`,
          ExtendedStatistic: 'p99',
          DatapointsToAlarm: 2,
          Threshold: 24000,
        },
        {
          AlarmName: `${name}-ingest-dlq-not-empty`,
          StateValue: 'INSUFFICIENT_DATA',
          AlarmActions: [topicArn],
          OKActions: [topicArn],
          Dimensions: [{ Name: 'QueueName', Value: `${name}-ingest-dlq` }],
        },
      ]);
      const dashboard = (await aws(['cloudwatch', 'get-dashboard', '--dashboard-name', `${name}-chain`])) as {
        DashboardBody: string;
      };
      expect(JSON.parse(dashboard.DashboardBody)).toMatchObject({ widgets: [{ type: 'metric' }] });

      expect(await aws(['events', 'list-rules', '--name-prefix', name])).toMatchObject({
        Rules: [{ Name: `${name}-upload-keep-warm`, ScheduleExpression: 'rate(5 minutes)', State: 'ENABLED' }],
      });
      expect(await aws(['events', 'list-targets-by-rule', '--rule', `${name}-upload-keep-warm`])).toEqual({
        Targets: [
          {
            Id: 'keep-warm-1',
            Arn: `arn:aws:lambda:us-east-1:000000000000:function:${name}-upload`,
            Input: '{"source":"resize-chain.keep-warm"}',
            RetryPolicy: { MaximumRetryAttempts: 0, MaximumEventAgeInSeconds: 60 },
          },
        ],
      });

      const keyId = outputs.key_id.value;
      expect(await aws(['kms', 'describe-key', '--key-id', keyId])).toMatchObject({
        KeyMetadata: { KeyId: keyId, KeyState: 'Enabled', Description: `Encrypts the ${name} alarm topic` },
      });
      expect(await aws(['kms', 'get-key-rotation-status', '--key-id', keyId])).toMatchObject({
        KeyRotationEnabled: true,
      });
      const policy = (await aws(['kms', 'get-key-policy', '--key-id', keyId, '--policy-name', 'default'])) as {
        Policy: string;
      };
      expect(JSON.parse(policy.Policy)).toMatchObject({
        Statement: [{ Sid: 'EnableAccountIamPolicies' }, { Sid: 'AllowCloudWatchAlarms' }],
      });

      expect(outputs.topic_arn.value).toBe(topicArn);
      const topic = (await aws(['sns', 'get-topic-attributes', '--topic-arn', topicArn])) as {
        Attributes: Record<string, string>;
      };
      expect(topic.Attributes).toMatchObject({
        TopicArn: topicArn,
        KmsMasterKeyId: `arn:aws:kms:us-east-1:000000000000:key/${keyId}`,
      });
    }, 300_000);

    test('the applied topic carries messages: a publish reaches a subscribed queue through the stand-in', async () => {
      const topicArn = `arn:aws:sns:us-east-1:000000000000:${name}-alarms`;
      const { QueueUrl } = (await aws(['sqs', 'create-queue', '--queue-name', `${name}-alarm-copies`])) as {
        QueueUrl: string;
      };
      const queueArn = `arn:aws:sqs:us-east-1:000000000000:${name}-alarm-copies`;
      const { SubscriptionArn } = (await aws([
        'sns',
        'subscribe',
        '--topic-arn',
        topicArn,
        '--protocol',
        'sqs',
        '--notification-endpoint',
        queueArn,
      ])) as { SubscriptionArn: string };
      await aws(['sns', 'publish', '--topic-arn', topicArn, '--message', 'alarm test']);
      const received = (await aws([
        'sqs',
        'receive-message',
        '--queue-url',
        QueueUrl,
        '--wait-time-seconds',
        '10',
      ])) as { Messages: Array<{ Body: string }> };
      expect(JSON.parse(received.Messages[0].Body)).toMatchObject({ TopicArn: topicArn, Message: 'alarm test' });
      await aws(['sns', 'unsubscribe', '--subscription-arn', SubscriptionArn]).catch(() => undefined);
      await awsText(['sqs', 'delete-queue', '--queue-url', QueueUrl]);
    }, 300_000);

    test(`terraform destroy removes all ${RESOURCES}; the list APIs show none of them`, async () => {
      const destroy = await tf(['destroy', '-auto-approve', '-input=false', '-var', `name=${name}`]);
      const line = summary(destroy, /Destroy complete! Resources: .*/);
      console.log(`destroy: ${line} (${destroy.seconds} s)`);
      expect(line).toBe(`Destroy complete! Resources: ${RESOURCES} destroyed.`);
      expect(await aws(['cloudwatch', 'describe-alarms', '--alarm-name-prefix', name])).toEqual({
        MetricAlarms: [],
        CompositeAlarms: [],
      });
      expect(await aws(['cloudwatch', 'list-dashboards', '--dashboard-name-prefix', name])).toEqual({
        DashboardEntries: [],
      });
      expect(await aws(['events', 'list-rules', '--name-prefix', name])).toEqual({ Rules: [] });
      const topics = (await aws(['sns', 'list-topics'])) as { Topics: Array<{ TopicArn: string }> };
      expect(topics.Topics.filter((t) => t.TopicArn.includes(name))).toEqual([]);
      // A KMS key is never deleted at once: it waits out its window (30 days here) as PendingDeletion.
      expect(await aws(['kms', 'describe-key', '--key-id', outputs.key_id.value])).toMatchObject({
        KeyMetadata: { KeyState: 'PendingDeletion', Enabled: false },
      });
    }, 600_000);
  },
);
