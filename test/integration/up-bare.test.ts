/**
 * `resize-chain up --bare`: the local cloud with no chain of its own. Every list API is empty until a
 * client creates something (what Terraform tests rely on to see what a destroy left), the control
 * plane answers as with a chain, and a signal stops it with exit 0. IAM stays enforced unless
 * --no-auth is given. Needs the AWS CLI: skipped loudly without it, failing under CI=true.
 */
import { describeWhen } from '../helpers/requires';
import { AWS_CLI_MISSING, findAwsCli, killUp, runAws, startUp, type UpProcess } from '../helpers/up-process';

const cli = findAwsCli();

describeWhen(cli ? undefined : AWS_CLI_MISSING, 'resize-chain up --bare', () => {
  let up: UpProcess | undefined;
  const aws = async <T>(args: string[]): Promise<T> => {
    const out = await runAws(cli!.path, up!.endpoint, [...args, '--output', 'json'], 60_000);
    return (out.trim() === '' ? {} : JSON.parse(out)) as T;
  };

  beforeAll(async () => {
    up = await startUp(['--bare']);
  }, 120_000);

  afterAll(async () => {
    await killUp(up);
  });

  test('the banner names the endpoint and no bucket, queue, function or mapping of its own', () => {
    const banner = up!.stdout.join('\n');
    expect(banner).toMatch(/^resize-chain up --bare: local cloud on https:\/\/127\.0\.0\.1:\d+, no chain of its own/m);
    expect(banner).toContain('IAM              enforced');
    expect(banner).not.toMatch(/source bucket|ingest queue|mappings {9}/);
    expect(up!.mappings).toEqual({});
  });

  test('every list API is empty; what a client creates is listed, and only that', async () => {
    expect((await aws<{ Buckets: unknown[] }>(['s3api', 'list-buckets'])).Buckets).toEqual([]);
    expect(await aws(['sqs', 'list-queues'])).toEqual({});
    expect((await aws<{ Functions: unknown[] }>(['lambda', 'list-functions'])).Functions).toEqual([]);
    expect(
      (await aws<{ EventSourceMappings: unknown[] }>(['lambda', 'list-event-source-mappings'])).EventSourceMappings,
    ).toEqual([]);
    expect((await aws<{ Roles: unknown[] }>(['iam', 'list-roles'])).Roles).toEqual([]);
    expect((await aws<{ logGroups: unknown[] }>(['logs', 'describe-log-groups'])).logGroups).toEqual([]);

    await aws(['sqs', 'create-queue', '--queue-name', 'bare-jobs']);
    await runAws(cli!.path, up!.endpoint, ['s3', 'mb', 's3://bare-bucket']);
    expect(await aws(['sqs', 'list-queues'])).toEqual({ QueueUrls: [expect.stringMatching(/\/bare-jobs$/)] });
    expect(
      (await aws<{ Buckets: Array<{ Name: string }> }>(['s3api', 'list-buckets'])).Buckets.map((b) => b.Name),
    ).toEqual(['bare-bucket']);
  }, 120_000);

  test('a signal stops it with exit 0', async () => {
    up!.child.kill('SIGTERM');
    expect(await up!.exited).toBe(0);
    expect(up!.stderr.join('\n')).toMatch(/^stopped$/m);
  }, 60_000);
});
