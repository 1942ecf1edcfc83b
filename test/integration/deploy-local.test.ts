/**
 * Terraform deploys to the local cloud: `resize-chain up` as a child process, the real terraform
 * binary and the AWS provider from the filesystem mirror, pointed at `up` by the override file
 * `resize-chain tf-override` writes. A small configuration of the module's building blocks (bucket
 * with policy, public access block, encryption and ownership; queues with redrive and a queue
 * policy; a role with an inline and an attached policy) applies, a second plan shows no changes,
 * the AWS CLI sees what was applied, and destroy leaves none of it behind.
 *
 * Needs terraform, the provider mirror and the AWS CLI: skipped loudly without them, failing under CI=true.
 */
import { join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { describeWhen } from '../helpers/requires';
import { AWS_CLI_MISSING, findAwsCli, runAws } from '../helpers/up-process';
import { startTerraformAgainstUp, summaryLine as summary, type TerraformAgainstUp } from '../helpers/terraform-up';
import { findOfflineTerraform } from '../module/terraform-cli';

const ROOT = resolve(__dirname, '..', '..');
const FIXTURE = join(ROOT, 'test', 'fixtures', 'terraform-local', 'main.tf');
const terraform = findOfflineTerraform();
const cli = findAwsCli();
const missing = terraform.missing ?? (cli ? undefined : AWS_CLI_MISSING);

describeWhen(missing, 'terraform apply / plan / destroy against resize-chain up', () => {
  const name = `tfl-${randomBytes(3).toString('hex')}`;
  let deploy: TerraformAgainstUp | undefined;
  const tf: TerraformAgainstUp['tf'] = (args, codes) => deploy!.tf(args, codes);
  const aws = (args: string[]): Promise<unknown> => deploy!.aws(args);

  beforeAll(async () => {
    const found = { bin: terraform.bin!, mirror: terraform.mirror! };
    deploy = await startTerraformAgainstUp(FIXTURE, 'irc-deploy-local-', found, cli!.path);
  }, 180_000);

  afterAll(async () => {
    // Whatever a failed test left applied goes with up's in-memory state.
    await deploy?.stop();
  });

  test('terraform apply creates all 12 resources', async () => {
    const apply = await tf(['apply', '-auto-approve', '-input=false', '-var', `name=${name}`]);
    const line = summary(apply, /Apply complete! Resources: .*/);
    console.log(`apply: ${line} (${apply.seconds} s)`);
    expect(line).toBe('Apply complete! Resources: 12 added, 0 changed, 0 destroyed.');
  }, 600_000);

  test('a second plan shows no changes (terraform plan -detailed-exitcode exits 0)', async () => {
    const plan = await tf(['plan', '-detailed-exitcode', '-input=false', '-var', `name=${name}`], [0, 2]);
    console.log(`plan: ${summary(plan, /No changes\..*|Plan: .*/)} (${plan.seconds} s)`);
    // Exit 2 means changes: the diff is shown as the failure.
    expect({ code: plan.code, diff: plan.code === 0 ? '' : plan.stdout }).toEqual({ code: 0, diff: '' });
    expect(plan.stdout).toContain('No changes. Your infrastructure matches the configuration.');
  }, 600_000);

  test('the AWS CLI sees the bucket, the queue, the role and the log group as applied', async () => {
    const policy = (await aws(['s3api', 'get-bucket-policy', '--bucket', `${name}-uploads`])) as { Policy: string };
    expect(JSON.parse(policy.Policy)).toMatchObject({ Statement: [{ Sid: 'DenyInsecureTransport', Effect: 'Deny' }] });
    expect(await aws(['s3api', 'get-bucket-tagging', '--bucket', `${name}-uploads`])).toEqual({
      TagSet: [{ Key: 'application', Value: 'deploy-local-test' }],
    });
    expect(await aws(['s3api', 'get-bucket-ownership-controls', '--bucket', `${name}-uploads`])).toEqual({
      OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] },
    });

    const { QueueUrl } = (await aws(['sqs', 'get-queue-url', '--queue-name', `${name}-ingest`])) as {
      QueueUrl: string;
    };
    const { Attributes } = (await aws([
      'sqs',
      'get-queue-attributes',
      '--queue-url',
      QueueUrl,
      '--attribute-names',
      'All',
    ])) as { Attributes: Record<string, string> };
    expect(Attributes.VisibilityTimeout).toBe('180');
    expect(JSON.parse(Attributes.RedrivePolicy ?? '{}')).toEqual({
      deadLetterTargetArn: `arn:aws:sqs:us-east-1:000000000000:${name}-ingest-dlq`,
      maxReceiveCount: 5,
    });
    expect(JSON.parse(Attributes.Policy ?? '{}')).toMatchObject({
      Statement: [{ Sid: 'AllowBucketNotifications', Principal: { Service: 's3.amazonaws.com' } }],
    });

    const { Role } = (await aws(['iam', 'get-role', '--role-name', `${name}-resize`])) as {
      Role: { Arn: string; Tags: unknown };
    };
    expect(Role.Arn).toBe(`arn:aws:iam::000000000000:role/${name}-resize`);
    expect(Role.Tags).toEqual([{ Key: 'application', Value: 'deploy-local-test' }]);
    expect(await aws(['iam', 'list-role-policies', '--role-name', `${name}-resize`])).toEqual({
      PolicyNames: ['read-uploads'],
    });
    expect(await aws(['iam', 'list-attached-role-policies', '--role-name', `${name}-resize`])).toEqual({
      AttachedPolicies: [
        {
          PolicyName: 'AWSLambdaBasicExecutionRole',
          PolicyArn: 'arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole',
        },
      ],
    });
    const groups = (await aws(['logs', 'describe-log-groups', '--log-group-name-prefix', `/aws/lambda/${name}`])) as {
      logGroups: Array<Record<string, unknown>>;
    };
    expect(groups.logGroups).toMatchObject([{ logGroupName: `/aws/lambda/${name}-resize`, retentionInDays: 14 }]);
  }, 300_000);

  test('terraform destroy removes all 12; the list APIs show none of them', async () => {
    const destroy = await tf(['destroy', '-auto-approve', '-input=false', '-var', `name=${name}`]);
    const line = summary(destroy, /Destroy complete! Resources: .*/);
    console.log(`destroy: ${line} (${destroy.seconds} s)`);
    expect(line).toBe('Destroy complete! Resources: 12 destroyed.');
    // up's own chain (its buckets and queues) stays: only this configuration's resources must be gone.
    const buckets = (await aws(['s3api', 'list-buckets'])) as { Buckets: Array<{ Name: string }> };
    expect(buckets.Buckets.map((b) => b.Name).filter((n) => n.startsWith(name))).toEqual([]);
    expect(buckets.Buckets.length).toBeGreaterThan(0);
    // list-queues prints nothing at all when no queue matches.
    const queues = await runAws(
      cli!.path,
      deploy!.up.endpoint,
      ['sqs', 'list-queues', '--queue-name-prefix', name, '--output', 'json'],
      60_000,
    );
    expect(queues.trim() === '' ? [] : ((JSON.parse(queues) as { QueueUrls?: string[] }).QueueUrls ?? [])).toEqual([]);
    // up's own functions' roles (IAM enforced) stay too.
    const roles = (await aws(['iam', 'list-roles'])) as { Roles: Array<{ RoleName: string }> };
    expect(roles.Roles.map((r) => r.RoleName).filter((n) => n.startsWith(name))).toEqual([]);
    expect(await aws(['iam', 'list-policies', '--scope', 'Local'])).toEqual({ Policies: [] });
    expect(await aws(['logs', 'describe-log-groups', '--log-group-name-prefix', `/aws/lambda/${name}`])).toEqual({
      logGroups: [],
    });
  }, 600_000);
});
