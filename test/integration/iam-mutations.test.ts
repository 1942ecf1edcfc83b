// IAM mutation tests: `resize-chain up --ui --stream` (IAM enforced; each function acts with the
// module's role), then one small configuration change at a time, made with the real AWS CLI v2
// against the local cloud, and what AWS would do about it:
// (a) the resize role loses s3:PutObject on the output bucket → the upload fails with AccessDenied,
//     is retried, and ends in the ingest DLQ; the log names principal, action and resource;
// (b) the ingest queue's policy loses its allow for the bucket → PutBucketNotificationConfiguration
//     is refused ("Unable to validate the following destination configurations");
// (c) the stream source's read grant is narrowed to uploads/ → the stream record fails with
//     AccessDenied and ends in the on-failure queue;
// (d) the upload function may put under another prefix only → the presigned POST it signs is refused
//     by S3 (AccessDenied).
// Each change is undone after its test. Needs the AWS CLI: skipped loudly without it, failing under CI=true.
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { synthesizeImage } from '../../src/tools/samples';
import { describeWhen } from '../helpers/requires';
import {
  AWS_CLI_MISSING,
  findAwsCli,
  killUp,
  localFetch,
  putRecordArgs,
  runAws,
  startUp,
  type UpProcess,
} from '../helpers/up-process';
import { waitFor } from '../helpers/wait';

const cli = findAwsCli();
const PREFIX = 'image-resize-chain';
const SOURCE = `${PREFIX}-src-local`;
const OUTPUT = `${PREFIX}-out-local`;

describeWhen(cli ? undefined : AWS_CLI_MISSING, 'IAM mutations against up (AWS CLI v2)', () => {
  let up: UpProcess | undefined;
  let work: string;
  let logs: string;
  let jpeg: Buffer;

  const aws = (args: string[]): Promise<string> => runAws(cli!.path, up!.endpoint, args, 60_000);
  /** The CLI's JSON answer (null when it printed nothing, as for an empty listing). */
  const awsJson = async <T>(args: string[]): Promise<T> => {
    const out = await aws([...args, '--output', 'json']);
    return (out.trim() === '' ? null : JSON.parse(out)) as T;
  };
  /** The CLI's error output of a command that must fail. */
  const refusal = async (args: string[]): Promise<string> => {
    try {
      await aws(args);
    } catch (err) {
      return (err as Error).message;
    }
    throw new Error(`aws ${args.join(' ')} succeeded`);
  };
  /** Every JSON log line `up` wrote under --logs, from every file. */
  const logLines = (): Array<Record<string, unknown>> =>
    readdirSync(logs)
      .filter((f) => f.endsWith('.log'))
      .flatMap((f) => readFileSync(join(logs, f), 'utf8').split('\n'))
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  const queueUrl = async (name: string): Promise<string> =>
    (await awsJson<{ QueueUrl: string }>(['sqs', 'get-queue-url', '--queue-name', name])).QueueUrl;
  const depth = async (url: string): Promise<number> => {
    const { Attributes } = await awsJson<{ Attributes: Record<string, string> }>([
      'sqs',
      'get-queue-attributes',
      '--queue-url',
      url,
      '--attribute-names',
      'ApproximateNumberOfMessages',
      'ApproximateNumberOfMessagesNotVisible',
    ]);
    return Number(Attributes.ApproximateNumberOfMessages) + Number(Attributes.ApproximateNumberOfMessagesNotVisible);
  };
  /** The module's role of a function (`<prefix>-<fn>-role`), and its inline policies by name. */
  const roleOf = async (fn: string): Promise<{ roleName: string; policies: Record<string, string> }> => {
    const { Roles } = await awsJson<{ Roles: Array<{ RoleName: string }> }>(['iam', 'list-roles']);
    const role = Roles.find((r) => r.RoleName === `${PREFIX}-${fn}-role`);
    if (!role) throw new Error(`no role for ${fn} among ${Roles.map((r) => r.RoleName).join(', ')}`);
    const { PolicyNames } = await awsJson<{ PolicyNames: string[] }>([
      'iam',
      'list-role-policies',
      '--role-name',
      role.RoleName,
    ]);
    const policies: Record<string, string> = {};
    for (const name of PolicyNames) {
      const { PolicyDocument } = await awsJson<{ PolicyDocument: unknown }>([
        'iam',
        'get-role-policy',
        '--role-name',
        role.RoleName,
        '--policy-name',
        name,
      ]);
      policies[name] = typeof PolicyDocument === 'string' ? PolicyDocument : JSON.stringify(PolicyDocument);
    }
    return { roleName: role.RoleName, policies };
  };
  const putRolePolicy = (roleName: string, policyName: string, document: string) =>
    aws([
      'iam',
      'put-role-policy',
      '--role-name',
      roleName,
      '--policy-name',
      policyName,
      '--policy-document',
      document,
    ]);
  const setQueueAttributes = (queueUrl: string, attributes: Record<string, string>) =>
    aws(['sqs', 'set-queue-attributes', '--queue-url', queueUrl, '--attributes', JSON.stringify(attributes)]);
  /** `document` with every statement's actions and resources mapped by `change` (statements left empty are dropped). */
  type Statement = { Effect: string; Action: string | string[]; Resource: string | string[]; [k: string]: unknown };
  const rewrite = (document: string, change: (s: Statement) => Statement | undefined): string => {
    const parsed = JSON.parse(document) as { Statement: Statement | Statement[] };
    const statements = (Array.isArray(parsed.Statement) ? parsed.Statement : [parsed.Statement]).flatMap(
      (s) => change(s) ?? [],
    );
    return JSON.stringify({ ...parsed, Statement: statements });
  };
  const list = (value: string | string[]): string[] => (Array.isArray(value) ? value : [value]);

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'iam-mutations-'));
    logs = join(work, 'logs');
    jpeg = await synthesizeImage({ width: 640, height: 480, seed: 7, format: 'jpeg' });
    up = await startUp(['--ui', '--stream', '--logs', logs]);
  }, 120_000);

  afterAll(async () => {
    await killUp(up);
    rmSync(work, { recursive: true, force: true });
  });

  it('(a) the resize role without s3:PutObject on the output bucket: AccessDenied, retried, then the ingest DLQ; the log names the permission', async () => {
    const { roleName, policies } = await roleOf('resize');
    const outputArn = `arn:aws:s3:::${OUTPUT}`;
    // The module's statement granting PutObject on the output bucket, with PutObject taken out.
    const [policyName, document] = Object.entries(policies).find(
      ([, d]) => d.includes('s3:PutObject') && d.includes(outputArn),
    )!;
    const narrowed = rewrite(document, (s) => {
      if (!list(s.Resource).some((r) => r.startsWith(outputArn))) return s;
      const actions = list(s.Action).filter((a) => a !== 's3:PutObject');
      return actions.length > 0 ? { ...s, Action: actions } : undefined;
    });
    expect(narrowed).not.toContain('s3:PutObject');
    await putRolePolicy(roleName, policyName, narrowed);
    // Retries quicker than the module's: the message is back after 2 s, and in the DLQ at its 2nd receive.
    const ingest = await queueUrl(`${PREFIX}-ingest`);
    const dlq = await queueUrl(`${PREFIX}-ingest-dlq`);
    const dlqArn = (
      await awsJson<{ Attributes: Record<string, string> }>([
        'sqs',
        'get-queue-attributes',
        '--queue-url',
        dlq,
        '--attribute-names',
        'QueueArn',
      ])
    ).Attributes.QueueArn;
    await setQueueAttributes(ingest, {
      VisibilityTimeout: '2',
      RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlqArn, maxReceiveCount: 2 }),
    });
    try {
      const file = join(work, 'denied.jpg');
      writeFileSync(file, jpeg);
      await aws(['s3', 'cp', file, `s3://${SOURCE}/uploads/denied.jpg`]);
      await waitFor('the upload in the ingest DLQ', async () => (await depth(dlq)) === 1, 120_000, 500);
      const deniedPuts = () =>
        logLines().filter(
          (l) =>
            l.event === 'iam.denied' && l.action === 's3:PutObject' && String(l.resource).startsWith(`${outputArn}/`),
        );
      const denied = await waitFor('the iam.denied lines of the puts', () => deniedPuts().length >= 2 && deniedPuts());
      expect(denied.length).toBeGreaterThanOrEqual(2); // the first try and the retry
      expect(denied[0]).toMatchObject({
        principal: expect.stringMatching(new RegExp(`^arn:aws:sts::\\d{12}:assumed-role/${roleName}/`)),
        decision: 'ImplicitDeny',
        statement: null,
      });
      expect(String(denied[0].message)).toContain('is not authorized to perform: s3:PutObject');
      // No variant of it was written (the output keys are `<output prefix><source key without extension>/…`).
      const listed = await awsJson<{ Contents?: Array<{ Key: string }> } | null>([
        's3api',
        'list-objects-v2',
        '--bucket',
        OUTPUT,
      ]);
      expect((listed?.Contents ?? []).map((o) => o.Key).filter((key) => key.includes('denied/'))).toEqual([]);
      const { Messages } = await awsJson<{ Messages: Array<{ Body: string }> }>([
        'sqs',
        'receive-message',
        '--queue-url',
        dlq,
      ]);
      expect(Messages[0].Body).toContain('uploads/denied.jpg');
    } finally {
      await putRolePolicy(roleName, policyName, document);
    }
  }, 180_000);

  it("(b) the ingest queue's policy without the bucket's allow: PutBucketNotificationConfiguration is refused", async () => {
    const ingest = await queueUrl(`${PREFIX}-ingest`);
    const { Attributes } = await awsJson<{ Attributes: Record<string, string> }>([
      'sqs',
      'get-queue-attributes',
      '--queue-url',
      ingest,
      '--attribute-names',
      'Policy',
    ]);
    const policy = Attributes.Policy;
    expect(policy).toContain('s3.amazonaws.com');
    const withoutS3 = rewrite(policy, (s) => (JSON.stringify(s).includes('s3.amazonaws.com') ? undefined : s));
    await setQueueAttributes(ingest, { Policy: withoutS3 });
    try {
      const configuration = await aws([
        's3api',
        'get-bucket-notification-configuration',
        '--bucket',
        SOURCE,
        '--output',
        'json',
      ]);
      const message = await refusal([
        's3api',
        'put-bucket-notification-configuration',
        '--bucket',
        SOURCE,
        '--notification-configuration',
        configuration,
      ]);
      expect(message).toContain('(InvalidArgument)');
      expect(message).toContain('Unable to validate the following destination configurations');
    } finally {
      await setQueueAttributes(ingest, { Policy: policy });
    }
  }, 120_000);

  it("(c) the stream source's read grant narrowed to uploads/: the stream record fails with AccessDenied and ends in the on-failure queue", async () => {
    const { roleName, policies } = await roleOf('resize');
    const [policyName, document] = Object.entries(policies).find(([name]) => name.endsWith('-resize-stream-objects'))!;
    const narrowed = rewrite(document, (s) => ({ ...s, Resource: `arn:aws:s3:::${SOURCE}/uploads/*` }));
    await putRolePolicy(roleName, policyName, narrowed);
    try {
      const file = join(work, 'streamed.jpg');
      writeFileSync(file, jpeg);
      await aws(['s3', 'cp', file, `s3://${SOURCE}/stream/streamed.jpg`]);
      const failures = await queueUrl(`${PREFIX}-stream-failures`);
      await aws(
        putRecordArgs(`${PREFIX}-uploads`, 'p', JSON.stringify({ bucket: SOURCE, key: 'stream/streamed.jpg' })),
      );
      await waitFor('the record in the on-failure queue', async () => (await depth(failures)) >= 1, 120_000, 500);
      const denied = await waitFor('the iam.denied line of the read', () =>
        logLines().find(
          (l) =>
            l.event === 'iam.denied' &&
            l.action === 's3:GetObject' &&
            l.resource === `arn:aws:s3:::${SOURCE}/stream/streamed.jpg`,
        ),
      );
      expect(denied).toMatchObject({
        principal: expect.stringMatching(new RegExp(`assumed-role/${roleName}/`)),
        statement: null,
      });
      const { Messages } = await awsJson<{ Messages: Array<{ Body: string }> }>([
        'sqs',
        'receive-message',
        '--queue-url',
        failures,
      ]);
      expect(JSON.parse(Messages[0].Body)).toMatchObject({ KinesisBatchInfo: { batchSize: 1 } });
    } finally {
      await putRolePolicy(roleName, policyName, document);
    }
  }, 180_000);

  it('(d) the upload function with s3:PutObject on another prefix: the presigned POST it signs is refused by S3', async () => {
    const { roleName, policies } = await roleOf('upload');
    const [policyName, document] = Object.entries(policies).find(([, d]) => d.includes('s3:PutObject'))!;
    const elsewhere = rewrite(document, (s) =>
      list(s.Action).includes('s3:PutObject') ? { ...s, Resource: `arn:aws:s3:::${SOURCE}/elsewhere/*` } : s,
    );
    await putRolePolicy(roleName, policyName, elsewhere);
    try {
      const res = await localFetch(`${up!.endpoint}/_api/uploads`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ filename: 'posted.jpg', contentType: 'image/jpeg', size: jpeg.length }),
      });
      expect(res.status).toBe(201);
      const signed = (await res.json()) as { url: string; fields: Record<string, string>; key: string };
      const form = new FormData();
      for (const [k, v] of Object.entries(signed.fields)) form.append(k, v);
      form.append('file', new Blob([jpeg], { type: 'image/jpeg' }), 'posted.jpg');
      const posted = await localFetch(signed.url, { method: 'POST', body: form });
      const body = await posted.text();
      expect(posted.status).toBe(403);
      expect(/<Code>([^<]*)<\/Code>/.exec(body)?.[1]).toBe('AccessDenied');
      expect(body).toContain(
        `is not authorized to perform: s3:PutObject on resource: arn:aws:s3:::${SOURCE}/${signed.key}`,
      );
      // up writes its log files as lines come: wait for the line rather than read once.
      const denied = await waitFor('the iam.denied line of the POST', () =>
        logLines().find((l) => l.event === 'iam.denied' && l.operation === 'PostObject'),
      );
      expect(denied).toMatchObject({
        principal: expect.stringMatching(new RegExp(`assumed-role/${roleName}/`)),
      });
    } finally {
      await putRolePolicy(roleName, policyName, document);
    }
  }, 120_000);
});
