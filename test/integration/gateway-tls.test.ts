// TLS on the local endpoint: one port answers HTTPS (certificate of the per-user local CA) and
// plain HTTP, and `aws:SecureTransport` is true exactly for TLS requests. A bucket with the
// module's DenyInsecureTransport statement refuses the plain request and serves the TLS one, for
// the AWS SDK, Debian's AWS CLI v2 (--ca-bundle / AWS_CA_BUNDLE) and boto3 (verify=<ca.pem>).
import {
  CreateBucketCommand,
  GetObjectCommand,
  PutBucketPolicyCommand,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { spawn } from 'node:child_process';
import { statSync } from 'node:fs';
import { get } from 'node:https';
import { localClientConfig } from '../../src/local/client-config';
import { ensureLocalTls, localTlsDir } from '../../src/local/local-tls';
import { startTestCloud, type TestCloud } from '../helpers/local-cloud';
import { testWhen } from '../helpers/requires';
import { awsCliEnv, AWS_CLI_MISSING, BOTO3_MISSING, findAwsCli, findBoto3Python } from '../helpers/up-process';

const awsCli = findAwsCli();
const boto3Python = findBoto3Python();
const BUCKET = 'tls-only-bucket';

/** The module's DenyInsecureTransport statement on BUCKET. */
const TLS_ONLY_POLICY = JSON.stringify({
  Version: '2012-10-17',
  Statement: [
    {
      Sid: 'DenyInsecureTransport',
      Effect: 'Deny',
      Principal: '*',
      Action: 's3:*',
      Resource: [`arn:aws:s3:::${BUCKET}`, `arn:aws:s3:::${BUCKET}/*`],
      Condition: { Bool: { 'aws:SecureTransport': 'false' } },
    },
  ],
});

let cloud: TestCloud;
let tlsS3: S3Client;
const lines: Record<string, unknown>[] = [];

beforeAll(async () => {
  cloud = await startTestCloud({ logSink: (line) => lines.push(line) });
  tlsS3 = new S3Client(localClientConfig(cloud.gateway.tlsEndpoint));
  await tlsS3.send(new CreateBucketCommand({ Bucket: BUCKET }));
  await tlsS3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'cat.txt', Body: 'cat' }));
  await tlsS3.send(new PutBucketPolicyCommand({ Bucket: BUCKET, Policy: TLS_ONLY_POLICY }));
});
afterAll(async () => {
  tlsS3?.destroy();
  await cloud?.stop();
});

/** Runs `program` with the AWS CLI's environment plus `env`: its exit code and output. */
function run(program: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(program, args, { env: { ...awsCliEnv(), ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code: code ?? 1, out }));
  });
}

describe('the local CA', () => {
  it('is kept per user, its server key owner-only, and reused', () => {
    const tls = ensureLocalTls();
    expect(tls.dir).toBe(localTlsDir());
    expect(statSync(`${tls.dir}/key.pem`).mode & 0o777).toBe(0o600);
    expect(statSync(tls.dir).mode & 0o077).toBe(0);
    expect(ensureLocalTls().cert).toBe(tls.cert);
    expect(cloud.gateway.caPath).toBe(tls.caPath);
  });
});

describe('one port, HTTPS and HTTP', () => {
  it('serves both schemes on the same port', () => {
    expect(new URL(cloud.gateway.tlsEndpoint)).toMatchObject({ protocol: 'https:', port: String(cloud.gateway.port) });
    expect(new URL(cloud.gateway.endpoint)).toMatchObject({ protocol: 'http:', port: String(cloud.gateway.port) });
  });

  it('a client that does not trust the local CA is refused the handshake', async () => {
    const error = await new Promise<NodeJS.ErrnoException>((resolve) => {
      const answered: NodeJS.ErrnoException = new Error('answered');
      get(`${cloud.gateway.tlsEndpoint}/_ui/`, () => resolve(answered)).once('error', resolve);
    });
    expect(error.code).toMatch(/SELF_SIGNED|UNABLE_TO_GET_ISSUER|UNABLE_TO_VERIFY/);
  });

  it('the SDK over TLS reads the TLS-only bucket; over plain HTTP it is AccessDenied by the policy', async () => {
    const read = await tlsS3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'cat.txt' }));
    expect(await read.Body?.transformToString()).toBe('cat');
    const plain = new S3Client({ ...localClientConfig(cloud.gateway.endpoint), maxAttempts: 1 });
    try {
      await expect(plain.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'cat.txt' }))).rejects.toMatchObject({
        name: 'AccessDenied',
        $metadata: { httpStatusCode: 403 },
      });
    } finally {
      plain.destroy();
    }
    expect(lines).toContainEqual(
      expect.objectContaining({ event: 'iam.denied', operation: 'GetObject', decision: 'ExplicitDeny' }),
    );
  });
});

describe('real clients over https', () => {
  testWhen(
    awsCli ? undefined : AWS_CLI_MISSING,
    'AWS CLI v2: --ca-bundle and AWS_CA_BUNDLE over https are served; plain http is AccessDenied',
    async () => {
      const head = ['s3api', 'head-object', '--bucket', BUCKET, '--key', 'cat.txt', '--output', 'json'];
      const tls = await run(awsCli!.path, [
        '--endpoint-url',
        cloud.gateway.tlsEndpoint,
        '--ca-bundle',
        cloud.gateway.caPath,
        ...head,
      ]);
      expect(tls).toMatchObject({ code: 0, out: expect.stringContaining('"ContentLength": 3') });
      const viaEnv = await run(awsCli!.path, ['--endpoint-url', cloud.gateway.tlsEndpoint, ...head], {
        AWS_CA_BUNDLE: cloud.gateway.caPath,
      });
      expect(viaEnv.code).toBe(0);
      const plain = await run(awsCli!.path, ['--endpoint-url', cloud.gateway.endpoint, ...head]);
      expect(plain).toMatchObject({ code: 254, out: expect.stringContaining('403') });
    },
    60_000,
  );

  testWhen(
    boto3Python ? undefined : BOTO3_MISSING,
    'boto3: verify=<ca.pem> over https reads the object; plain http is AccessDenied',
    async () => {
      const script = [
        'import boto3, botocore, sys',
        'def read(endpoint, verify):',
        '    s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", verify=verify,',
        '        config=botocore.config.Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}))',
        '    try:',
        `        return s3.get_object(Bucket=${JSON.stringify(BUCKET)}, Key="cat.txt")["Body"].read().decode()`,
        '    except botocore.exceptions.ClientError as e:',
        '        return e.response["Error"]["Code"]',
        `print(read(${JSON.stringify(cloud.gateway.tlsEndpoint)}, ${JSON.stringify(cloud.gateway.caPath)}))`,
        `print(read(${JSON.stringify(cloud.gateway.endpoint)}, None))`,
      ].join('\n');
      const result = await run(boto3Python!.path, ['-c', script]);
      expect(result).toMatchObject({ code: 0, out: 'cat\nAccessDenied\n' });
    },
    60_000,
  );
});
