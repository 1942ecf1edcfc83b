// IAM enforced by the local endpoint, through real sockets with clients nobody here wrote (the AWS
// SDK, Debian's AWS CLI v2 and boto3): signatures that do not hold are refused in each protocol's
// shape, a role session is held to its role's policies (PutObject, HeadObject, ListObjectsV2,
// SendMessage), a resource policy's explicit deny refuses even the account's own key pair, the
// S3 → SQS notification is held to the queue policy, and `auth: false` (--no-auth) allows it all.
import {
  CreateBucketCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutBucketPolicyCommand,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  SendMessageCommand,
  SetQueueAttributesCommand,
  SQSClient,
  PurgeQueueCommand,
} from '@aws-sdk/client-sqs';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { SignatureV4 } from '@smithy/signature-v4';
import { spawn } from 'node:child_process';
import http from 'node:http';
import { LOCAL_CREDENTIALS, localClientConfig } from '../../src/local/client-config';
import { putQueueNotification } from '../../src/local/resources';
import { NodeSha256 } from '../../src/local/cloud/iam/sigv4-verify';
import { queueCounts, startTestCloud, type TestCloud } from '../helpers/local-cloud';
import { s3NotificationQueuePolicy } from '../../src/local/resources';
import { testWhen } from '../helpers/requires';
import { awsCliEnv, AWS_CLI_MISSING, BOTO3_MISSING, findAwsCli, findBoto3Python } from '../helpers/up-process';
import { waitFor } from '../helpers/wait';
import { presignPost } from '../../src/aws/presign';

const awsCli = findAwsCli();
const boto3Python = findBoto3Python();
const BUCKET = 'iam-bucket';

let cloud: TestCloud;
const lines: Record<string, unknown>[] = [];

beforeAll(async () => {
  cloud = await startTestCloud({ logSink: (line) => lines.push(line) });
  await cloud.s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
  await cloud.s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'uploads/cat.txt', Body: 'cat' }));
  await cloud.s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'private/dog.txt', Body: 'dog' }));
});
afterAll(async () => {
  await cloud?.stop();
});

/** An S3 client of the gateway with other credentials (and other client settings). */
function s3With(
  credentials: { accessKeyId: string; secretAccessKey: string; sessionToken?: string },
  extra: Partial<ConstructorParameters<typeof S3Client>[0]> = {},
): S3Client {
  return new S3Client({ ...localClientConfig(cloud.gateway.endpoint), credentials, maxAttempts: 1, ...extra });
}

/** What a rejected call threw: its name and HTTP status. */
async function refusal(call: Promise<unknown>): Promise<{ name: string; status: number | undefined; message: string }> {
  const err = await call.then(
    () => undefined,
    (e: unknown) => e as Error & { $metadata?: { httpStatusCode?: number } },
  );
  if (!err) throw new Error('the call succeeded; a refusal was expected');
  return { name: err.name, status: err.$metadata?.httpStatusCode, message: err.message };
}

/** Runs a client program with the local endpoint's environment plus `env`; resolves with its exit code and output. */
function runWith(
  program: string,
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(program, args, { env: { ...awsCliEnv(), ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (err += c));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, out, err }));
  });
}

/** A role in the gateway's IAM with one inline policy, and a session of it. */
function roleSession(
  name: string,
  statements: object[],
): { accessKeyId: string; secretAccessKey: string; sessionToken: string } {
  const role = cloud.gateway.iam.createRole({
    name,
    assumeRolePolicyDocument: JSON.stringify({
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' }],
    }),
  });
  cloud.gateway.iam.putRolePolicy(
    name,
    `${name}-policy`,
    JSON.stringify({ Version: '2012-10-17', Statement: statements }),
  );
  return cloud.gateway.sessionCredentialsForRole(role.arn, name);
}

const deniedLines = (action: string): Record<string, unknown>[] =>
  lines.filter((l) => l.event === 'iam.denied' && l.action === action);

describe('signatures: the endpoint verifies SigV4 with the credentials it knows', () => {
  it('the SDK with an unknown key is InvalidAccessKeyId (S3) and InvalidClientTokenId (SQS), both 403', async () => {
    const wrong = { accessKeyId: 'AKIAUNKNOWNKEY000000', secretAccessKey: 'local' };
    expect(
      await refusal(s3With(wrong).send(new GetObjectCommand({ Bucket: BUCKET, Key: 'uploads/cat.txt' }))),
    ).toMatchObject({ name: 'InvalidAccessKeyId', status: 403 });
    const sqs = new SQSClient({ ...localClientConfig(cloud.gateway.endpoint), credentials: wrong, maxAttempts: 1 });
    expect(
      await refusal(sqs.send(new GetQueueAttributesCommand({ QueueUrl: cloud.resources.queues.ingest.url }))),
    ).toMatchObject({ name: 'InvalidClientTokenId', status: 403 });
    sqs.destroy();
  });

  it('a wrong secret, and a signature tampered with on the way, are SignatureDoesNotMatch', async () => {
    const wrongSecret = s3With({ accessKeyId: LOCAL_CREDENTIALS.accessKeyId, secretAccessKey: 'not-the-secret' });
    expect(
      await refusal(wrongSecret.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'uploads/cat.txt' }))),
    ).toMatchObject({ name: 'SignatureDoesNotMatch', status: 403 });
    // The right keys, the signature's last digit changed after signing.
    const inner = new NodeHttpHandler();
    const tampering = s3With(LOCAL_CREDENTIALS, {
      requestHandler: {
        handle: (request: Parameters<NodeHttpHandler['handle']>[0], options?: { abortSignal?: AbortSignal }) => {
          const auth = request.headers.authorization;
          request.headers.authorization = auth.replace(/.$/, (c) => (c === '0' ? '1' : '0'));
          return inner.handle(request, options);
        },
      } as unknown as NodeHttpHandler, // only handle() is called by the client
    });
    expect(
      await refusal(tampering.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'uploads/cat.txt' }))),
    ).toMatchObject({ name: 'SignatureDoesNotMatch', status: 403 });
    // The same client, untouched, is let in.
    const good = s3With(LOCAL_CREDENTIALS);
    const body = await (
      await good.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'uploads/cat.txt' }))
    ).Body?.transformToString();
    expect(body).toBe('cat');
    for (const c of [wrongSecret, tampering, good]) c.destroy();
  });

  it('a request signed 16 minutes ahead (a replay past the 15-minute skew) is RequestTimeTooSkewed', async () => {
    const skewed = s3With(LOCAL_CREDENTIALS, { systemClockOffset: 16 * 60 * 1000 });
    expect(await refusal(skewed.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'uploads/cat.txt' })))).toMatchObject({
      name: 'RequestTimeTooSkewed',
      status: 403,
    });
    skewed.destroy();
  });

  it('an expired presigned URL is 403 AccessDenied "Request has expired"; a fresh one works', async () => {
    const url = new URL(cloud.gateway.endpoint);
    const presign = async (signingDate: Date): Promise<string> => {
      const signer = new SignatureV4({
        credentials: LOCAL_CREDENTIALS,
        region: 'us-east-1',
        service: 's3',
        uriEscapePath: false,
        sha256: NodeSha256,
      });
      const signed = await signer.presign(
        {
          method: 'GET',
          protocol: 'http:',
          hostname: url.hostname,
          port: Number(url.port),
          path: `/${BUCKET}/uploads/cat.txt`,
          query: {},
          // S3 presigns sign UNSIGNED-PAYLOAD (the SDK's presigner sets it the same way).
          headers: { host: url.host, 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' },
        },
        { signingDate, expiresIn: 60, unsignableHeaders: new Set(), signableHeaders: new Set(['host']) },
      );
      const query = new URLSearchParams(signed.query as Record<string, string>).toString();
      return `${cloud.gateway.endpoint}${signed.path}?${query}`;
    };
    const expired = await fetch(await presign(new Date(Date.now() - 120_000)));
    expect(expired.status).toBe(403);
    const text = await expired.text();
    expect(text).toContain('<Code>AccessDenied</Code>');
    expect(text).toContain('<Message>Request has expired</Message>');
    const fresh = await fetch(await presign(new Date()));
    expect([fresh.status, await fresh.text()]).toEqual([200, 'cat']);
  });

  testWhen(
    awsCli ? undefined : AWS_CLI_MISSING,
    'the AWS CLI with an unknown key is told InvalidAccessKeyId',
    async () => {
      const run = await runWith(
        awsCli!.path,
        ['--endpoint-url', cloud.gateway.endpoint, 's3api', 'head-bucket', '--bucket', BUCKET],
        { AWS_ACCESS_KEY_ID: 'AKIAUNKNOWNKEY000000' },
      );
      expect(run.code).not.toBe(0);
      const listed = await runWith(
        awsCli!.path,
        ['--endpoint-url', cloud.gateway.endpoint, 's3api', 'list-objects-v2', '--bucket', BUCKET],
        { AWS_ACCESS_KEY_ID: 'AKIAUNKNOWNKEY000000' },
      );
      expect(listed.code).not.toBe(0);
      expect(listed.err).toContain('InvalidAccessKeyId');
      const ok = await runWith(
        awsCli!.path,
        ['--endpoint-url', cloud.gateway.endpoint, 's3api', 'list-objects-v2', '--bucket', BUCKET],
        {},
      );
      expect([ok.code, ok.err]).toEqual([0, '']);
    },
  );

  testWhen(
    boto3Python ? undefined : BOTO3_MISSING,
    "boto3 (SQS's Query protocol) with a wrong secret is told SignatureDoesNotMatch",
    async () => {
      const script = [
        'import boto3, botocore, sys',
        `sqs = boto3.client("sqs", endpoint_url=${JSON.stringify(cloud.gateway.endpoint)}, region_name="us-east-1",`,
        '    aws_access_key_id="local", aws_secret_access_key="wrong")',
        'try:',
        `    sqs.get_queue_attributes(QueueUrl=${JSON.stringify(cloud.resources.queues.ingest.url)})`,
        '    print("allowed")',
        'except botocore.exceptions.ClientError as e:',
        '    print(e.response["Error"]["Code"], e.response["ResponseMetadata"]["HTTPStatusCode"])',
      ].join('\n');
      const run = await runWith(boto3Python!.path, ['-c', script], {});
      expect(run.out.trim()).toBe('SignatureDoesNotMatch 403');
    },
  );
});

describe("authorization: a role session is held to its role's policies", () => {
  let role: S3Client;
  let sqs: SQSClient;
  beforeAll(() => {
    const credentials = roleSession('reader-role', [
      { Sid: 'ReadUploads', Effect: 'Allow', Action: 's3:GetObject', Resource: `arn:aws:s3:::${BUCKET}/uploads/*` },
    ]);
    role = s3With(credentials);
    sqs = new SQSClient({ ...localClientConfig(cloud.gateway.endpoint), credentials, maxAttempts: 1 });
  });
  afterAll(() => {
    role?.destroy();
    sqs?.destroy();
  });

  it('what the policy grants works with the session (GetObject under uploads/)', async () => {
    const got = await role.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'uploads/cat.txt' }));
    expect(await got.Body?.transformToString()).toBe('cat');
  });

  it('PutObject without s3:PutObject is AccessDenied, and the log names principal, action, resource and no statement', async () => {
    const denied = await refusal(
      role.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'uploads/new.txt', Body: 'x' })),
    );
    expect(denied).toMatchObject({ name: 'AccessDenied', status: 403 });
    expect(denied.message).toContain('s3:PutObject');
    expect(deniedLines('s3:PutObject')).toEqual([
      expect.objectContaining({
        principal: 'arn:aws:sts::000000000000:assumed-role/reader-role/reader-role',
        resource: `arn:aws:s3:::${BUCKET}/uploads/new.txt`,
        decision: 'ImplicitDeny',
        statement: null,
      }),
    ]);
    // Nothing was written.
    expect(
      await refusal(cloud.s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'uploads/new.txt' }))),
    ).toMatchObject({
      status: 404,
    });
  });

  it('HeadObject without s3:GetObject on the key is 403', async () => {
    expect(await refusal(role.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'private/dog.txt' })))).toMatchObject({
      status: 403,
    });
    expect(deniedLines('s3:GetObject')).toContainEqual(
      expect.objectContaining({ resource: `arn:aws:s3:::${BUCKET}/private/dog.txt`, operation: 'HeadObject' }),
    );
  });

  it('a missing key the role may read is 403 without s3:ListBucket (S3 hides whether it exists), 404 for the root', async () => {
    expect(
      await refusal(role.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'uploads/missing.txt' }))),
    ).toMatchObject({ status: 403 });
    expect(
      await refusal(role.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'uploads/missing.txt' }))),
    ).toMatchObject({ name: 'AccessDenied', status: 403 });
    expect(deniedLines('s3:ListBucket')).toContainEqual(
      expect.objectContaining({ operation: 'GetObject', resource: `arn:aws:s3:::${BUCKET}` }),
    );
    expect(
      await refusal(cloud.s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'uploads/missing.txt' }))),
    ).toMatchObject({ status: 404 });
  });

  it('ListObjectsV2 without s3:ListBucket is AccessDenied on the bucket', async () => {
    expect(await refusal(role.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'uploads/' })))).toMatchObject({
      name: 'AccessDenied',
      status: 403,
    });
    expect(deniedLines('s3:ListBucket')).toContainEqual(
      expect.objectContaining({ resource: `arn:aws:s3:::${BUCKET}` }),
    );
  });

  it('SendMessage without sqs:SendMessage is AccessDenied (SQS JSON protocol)', async () => {
    const denied = await refusal(
      sqs.send(new SendMessageCommand({ QueueUrl: cloud.resources.queues.resized.url, MessageBody: 'x' })),
    );
    expect(denied).toMatchObject({ name: 'AccessDenied', status: 403 });
    expect(deniedLines('sqs:SendMessage')).toContainEqual(
      expect.objectContaining({ resource: cloud.resources.queues.resized.arn, decision: 'ImplicitDeny' }),
    );
  });
});

describe('chunk signatures: an S3 body signed chunk by chunk (STREAMING-AWS4-HMAC-SHA256-PAYLOAD)', () => {
  /**
   * PUTs `chunks` as an aws-chunked body over a plain socket, signed by the SDK's own signer
   * (@smithy/signature-v4: the request for the seed, each chunk as a message chained from the one
   * before); `tamper` may change a chunk's bytes after it was signed.
   */
  async function chunkedPut(
    key: string,
    chunks: Buffer[],
    tamper: (index: number, chunk: Buffer) => Buffer = (_index, chunk) => chunk,
  ): Promise<{ status: number; body: string }> {
    const signer = new SignatureV4({
      credentials: LOCAL_CREDENTIALS,
      region: 'us-east-1',
      service: 's3',
      sha256: NodeSha256,
    });
    const { port } = new URL(cloud.gateway.endpoint);
    const all = [...chunks, Buffer.alloc(0)];
    const framedLength = all.reduce(
      (sum, chunk) => sum + chunk.length.toString(16).length + ';chunk-signature='.length + 64 + 2 + chunk.length + 2,
      0,
    );
    const signingDate = new Date();
    const request = {
      method: 'PUT',
      protocol: 'http:',
      hostname: '127.0.0.1',
      port: Number(port),
      path: `/${BUCKET}/${key}`,
      headers: {
        host: `127.0.0.1:${port}`,
        'content-encoding': 'aws-chunked',
        'content-length': String(framedLength),
        'x-amz-content-sha256': 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD',
        'x-amz-decoded-content-length': String(chunks.reduce((sum, chunk) => sum + chunk.length, 0)),
      },
      query: {},
    };
    const signed = await signer.sign(request, { signingDate });
    let previous = /Signature=([0-9a-f]{64})/.exec(signed.headers.authorization)![1];
    const framed: Buffer[] = [];
    for (const [index, chunk] of all.entries()) {
      previous = await signer.sign(
        { headers: new Uint8Array(0), payload: chunk },
        { signingDate, priorSignature: previous },
      );
      framed.push(
        Buffer.from(`${chunk.length.toString(16)};chunk-signature=${previous}\r\n`),
        tamper(index, chunk),
        Buffer.from('\r\n'),
      );
    }
    return new Promise((resolve, reject) => {
      const req = http.request(
        { host: '127.0.0.1', port: Number(port), method: 'PUT', path: signed.path, headers: signed.headers },
        (res) => {
          let body = '';
          res.setEncoding('utf8').on('data', (c: string) => (body += c));
          res.once('end', () => resolve({ status: res.statusCode ?? 0, body }));
        },
      );
      req.once('error', reject);
      req.end(Buffer.concat(framed));
    });
  }

  const threeChunks = (): Buffer[] => [Buffer.alloc(65536, 'a'), Buffer.alloc(65536, 'b'), Buffer.alloc(1000, 'c')];

  it('a body whose every chunk is signed in the chain is stored, decoded', async () => {
    expect(await chunkedPut('uploads/chunked.bin', threeChunks())).toMatchObject({ status: 200 });
    const got = await cloud.s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'uploads/chunked.bin' }));
    expect(Buffer.from(await got.Body!.transformToByteArray()).equals(Buffer.concat(threeChunks()))).toBe(true);
  });

  it('a chunk changed after signing (the second) is SignatureDoesNotMatch, nothing is stored, and it is logged', async () => {
    const answer = await chunkedPut('uploads/tampered.bin', threeChunks(), (index, chunk) =>
      index === 1 ? Buffer.from(chunk).fill('x', 0, 1) : chunk,
    );
    expect(answer.status).toBe(403);
    expect(/<Code>([^<]*)<\/Code>/.exec(answer.body)?.[1]).toBe('SignatureDoesNotMatch');
    expect(
      await refusal(cloud.s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'uploads/tampered.bin' }))),
    ).toMatchObject({ status: 404 });
    expect(lines.some((l) => l.event === 'auth.refused' && l.step === 'chunk-signature')).toBe(true);
  });
});

describe('browser POST uploads are made as the principal that signed their policy', () => {
  let uploader: S3Client;
  beforeAll(() => {
    uploader = s3With(
      roleSession('post-uploader-role', [
        { Effect: 'Allow', Action: 's3:PutObject', Resource: `arn:aws:s3:::${BUCKET}/uploads/*` },
      ]),
      { forcePathStyle: true },
    );
  });
  afterAll(() => uploader?.destroy());

  /** Signs a form for `key` with the uploader's session (its token becomes a signed field), posts it with `changes`. */
  async function postAs(
    key: string,
    changes: Record<string, string> = {},
  ): Promise<{ status: number; code?: string; message?: string }> {
    const { url, fields } = await presignPost({
      client: uploader,
      bucket: BUCKET,
      key,
      contentType: 'text/plain',
      minBytes: 1,
      maxBytes: 1024,
      expiresSeconds: 60,
    });
    const form = new FormData();
    for (const [name, value] of Object.entries({ ...fields, ...changes })) form.append(name, value);
    form.append('file', new Blob(['posted'], { type: 'text/plain' }), 'posted.txt');
    const res = await fetch(url, { method: 'POST', body: form });
    const body = await res.text();
    return {
      status: res.status,
      code: /<Code>([^<]*)<\/Code>/.exec(body)?.[1],
      message: /<Message>([^<]*)<\/Message>/.exec(body)?.[1],
    };
  }

  it('a form signed by a role that may put under uploads/ stores its object there', async () => {
    expect(await postAs('uploads/posted.txt')).toMatchObject({ status: 204 });
    const got = await cloud.s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'uploads/posted.txt' }));
    expect(await got.Body?.transformToString()).toBe('posted');
  });

  it("a form for a key outside its role's prefix is AccessDenied in S3's XML, stores nothing, and is logged", async () => {
    const answer = await postAs('private/posted.txt');
    expect(answer).toMatchObject({ status: 403, code: 'AccessDenied' });
    expect(answer.message).toContain('is not authorized to perform: s3:PutObject');
    expect(
      await refusal(cloud.s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'private/posted.txt' }))),
    ).toMatchObject({ status: 404 });
    expect(deniedLines('s3:PutObject').find((l) => l.operation === 'PostObject')).toMatchObject({
      principal: expect.stringContaining('assumed-role/post-uploader-role/'),
      resource: `arn:aws:s3:::${BUCKET}/private/posted.txt`,
      statement: null,
    });
  });

  it('a form signed with a session key but carrying another session token is InvalidToken', async () => {
    expect(await postAs('uploads/token.txt', { 'X-Amz-Security-Token': 'not-the-token' })).toMatchObject({
      status: 400,
      code: 'InvalidToken',
    });
  });
});

describe('resource policies', () => {
  it("a bucket policy's explicit Deny (DenyInsecureTransport) refuses even the account's own key pair over plain HTTP", async () => {
    const bucket = 'iam-tls-only';
    await cloud.s3.send(new CreateBucketCommand({ Bucket: bucket }));
    await cloud.s3.send(
      new PutBucketPolicyCommand({
        Bucket: bucket,
        Policy: JSON.stringify({
          Version: '2012-10-17',
          Statement: [
            {
              Sid: 'DenyInsecureTransport',
              Effect: 'Deny',
              Principal: '*',
              Action: 's3:*',
              Resource: [`arn:aws:s3:::${bucket}`, `arn:aws:s3:::${bucket}/*`],
              Condition: { Bool: { 'aws:SecureTransport': 'false' } },
            },
          ],
        }),
      }),
    );
    expect(
      await refusal(cloud.s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'a.txt', Body: 'a' }))),
    ).toMatchObject({ name: 'AccessDenied', status: 403 });
    expect(deniedLines('s3:PutObject')).toContainEqual(
      expect.objectContaining({
        principal: 'arn:aws:iam::000000000000:root',
        decision: 'ExplicitDeny',
        statement: expect.objectContaining({ kind: 'resource', sid: 'DenyInsecureTransport' }),
      }),
    );
  });

  it('the S3 → SQS notification is refused once the queue policy no longer allows the bucket, and logged', async () => {
    const bucket = 'iam-notified';
    await cloud.s3.send(new CreateBucketCommand({ Bucket: bucket }));
    const queue = await cloud.sqs.send(new CreateQueueCommand({ QueueName: 'iam-notified' }));
    const queueUrl = queue.QueueUrl!;
    const queueArn = 'arn:aws:sqs:us-east-1:000000000000:iam-notified';
    // S3 validates the policy when the configuration is put; the delivery is checked again later.
    await cloud.sqs.send(
      new SetQueueAttributesCommand({
        QueueUrl: queueUrl,
        Attributes: { Policy: s3NotificationQueuePolicy(bucket, queueArn) },
      }),
    );
    await putQueueNotification(cloud.s3, { bucket, queueArn, id: 'iam-notified' });
    await cloud.gateway.notificationsSettled();
    await cloud.sqs.send(new PurgeQueueCommand({ QueueUrl: queueUrl }));
    // Now the policy lets another bucket in, not this one.
    await cloud.sqs.send(
      new SetQueueAttributesCommand({
        QueueUrl: queueUrl,
        Attributes: { Policy: s3NotificationQueuePolicy('other-bucket', queueArn) },
      }),
    );
    await cloud.s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'refused.txt', Body: 'x' }));
    await cloud.gateway.notificationsSettled();
    expect(await queueCounts(cloud, queueUrl)).toEqual({ visible: 0, inFlight: 0, delayed: 0 });
    expect(lines).toContainEqual(expect.objectContaining({ event: 'notification.denied', bucket, key: 'refused.txt' }));
    expect(deniedLines('sqs:SendMessage')).toContainEqual(
      expect.objectContaining({ principal: 's3.amazonaws.com', resource: queueArn, decision: 'ImplicitDeny' }),
    );
    // With the bucket allowed, the next write is delivered.
    await cloud.sqs.send(
      new SetQueueAttributesCommand({
        QueueUrl: queueUrl,
        Attributes: { Policy: s3NotificationQueuePolicy(bucket, queueArn) },
      }),
    );
    await cloud.s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'allowed.txt', Body: 'x' }));
    await waitFor('the allowed notification', async () =>
      (await queueCounts(cloud, queueUrl)).visible === 1 ? true : undefined,
    );
  });
});

describe('auth: false (--no-auth)', () => {
  it('any key pair, any signature and any role may do anything', async () => {
    const open = await startTestCloud({ auth: false });
    try {
      const stranger = new S3Client({
        ...localClientConfig(open.gateway.endpoint),
        credentials: { accessKeyId: 'AKIAUNKNOWNKEY000000', secretAccessKey: 'whatever' },
        maxAttempts: 1,
      });
      await stranger.send(new PutObjectCommand({ Bucket: open.resources.buckets.source, Key: 'any.txt', Body: 'x' }));
      const listed = await stranger.send(new ListObjectsV2Command({ Bucket: open.resources.buckets.source }));
      expect(listed.Contents?.map((o) => o.Key)).toContain('any.txt');
      stranger.destroy();
    } finally {
      await open.stop();
    }
  });
});
