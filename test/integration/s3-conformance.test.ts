// S3 behaviours the stand-in lacks and the gateway supplies, checked with clients nobody here
// wrote (Debian's AWS CLI v2 and python3-boto3) beside the SDK, over real sockets: presigned URLs
// held to their expiry (SigV4 and SigV2), SSE-S3 reported as S3 reports it, S3's refusals of long
// keys and invalid bucket names, and objects whose media type is application/x-www-form-urlencoded.
import {
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { startTestCloud, type TestCloud } from '../helpers/local-cloud';
import { testWhen } from '../helpers/requires';
import { awsCliEnv, AWS_CLI_MISSING, BOTO3_MISSING, findAwsCli, runAws } from '../helpers/up-process';
import { waitFor } from '../helpers/wait';

const BUCKET = 'conformance-bucket';
const PYTHON = '/usr/bin/python3';
const hasBoto3 = existsSync(PYTHON) && spawnSync(PYTHON, ['-c', 'import boto3'], { timeout: 30_000 }).status === 0;
const awsCli = findAwsCli();
const NO_BOTO3 = hasBoto3 ? undefined : BOTO3_MISSING;
const CLI_MISSING = awsCli ? undefined : AWS_CLI_MISSING;

let cloud: TestCloud;

beforeAll(async () => {
  // Unsigned requests and SigV2 presigns probe S3's own refusals here: signature checks and
  // authorization (iam-enforcement.test.ts) are switched off, as `--no-auth` does.
  cloud = await startTestCloud({ auth: false });
  await cloud.s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
});
afterAll(async () => {
  await cloud?.stop();
});

/** Runs a boto3 script with Debian's python3 against the cloud; resolves with its stdout (JSON). */
function boto3(script: string): Promise<unknown> {
  const prelude = [
    'import boto3, botocore, json, sys, urllib.request, urllib.error',
    'from botocore.config import Config',
    `ENDPOINT = ${JSON.stringify(cloud.gateway.endpoint)}`,
    `BUCKET = ${JSON.stringify(BUCKET)}`,
    'def client(**config): return boto3.client("s3", endpoint_url=ENDPOINT, ' +
      'config=Config(s3={"addressing_style": "path"}, **config))',
    'def fetch(url):',
    '    try:',
    '        with urllib.request.urlopen(url) as res: return {"status": res.status, "body": res.read().decode()}',
    '    except urllib.error.HTTPError as err: return {"status": err.code, "body": err.read().decode()}',
  ].join('\n');
  return new Promise((resolve, reject) => {
    const child = spawn(PYTHON, ['-c', `${prelude}\n${script}`], {
      env: awsCliEnv(),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (err += c));
    child.once('error', reject);
    child.once('close', (code) =>
      code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`python3 exited ${code}: ${err}`)),
    );
  });
}

/** The elements of an S3 XML error body, by name. */
/** An `aws s3api` call against the local cloud, its JSON answer parsed. */
async function s3apiJson(args: string[]): Promise<Record<string, unknown>> {
  return JSON.parse(
    await runAws(awsCli!.path, cloud.gateway.endpoint, ['s3api', ...args, '--output', 'json']),
  ) as Record<string, unknown>;
}

function errorFields(xml: string): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const m of xml.matchAll(/<([A-Za-z-]+)>([^<]*)<\/\1>/g)) fields[m[1]] = m[2]!;
  return fields;
}

const ISO_SECONDS = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/;

describe('presigned URLs are held to their expiry', () => {
  beforeAll(async () => {
    await cloud.s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'presigned.txt', Body: 'presigned body' }));
  });

  testWhen(
    NO_BOTO3,
    'boto3 SigV4: a URL signed 10 s ago for 1 s answers 403 ' +
      'AccessDenied "Request has expired"; a fresh one answers 200',
    async () => {
      const result = (await boto3(`
import datetime
real = datetime.datetime
class Earlier(real):
    @classmethod
    def utcnow(cls): return real.utcnow() - datetime.timedelta(seconds=10)
s3 = client(signature_version="s3v4")
botocore.auth.datetime.datetime = Earlier
old = s3.generate_presigned_url("get_object", Params={"Bucket": BUCKET, "Key": "presigned.txt"}, ExpiresIn=1)
botocore.auth.datetime.datetime = real
fresh = s3.generate_presigned_url("get_object", Params={"Bucket": BUCKET, "Key": "presigned.txt"}, ExpiresIn=3600)
print(json.dumps({"old": old, "expired": fetch(old), "fresh": fetch(fresh)}))
`)) as { old: string; expired: { status: number; body: string }; fresh: { status: number; body: string } };
      expect(result.old).toContain('X-Amz-Expires=1');
      expect(result.fresh).toEqual({ status: 200, body: 'presigned body' });
      expect(result.expired.status).toBe(403);
      const fields = errorFields(result.expired.body);
      expect(fields).toMatchObject({ Code: 'AccessDenied', Message: 'Request has expired', 'X-Amz-Expires': '1' });
      expect(fields.Expires).toMatch(ISO_SECONDS);
      expect(fields.ServerTime).toMatch(ISO_SECONDS);
      expect(Date.parse(fields.ServerTime)).toBeGreaterThan(Date.parse(fields.Expires));
      expect(Object.keys(fields)).toEqual([
        'Code',
        'Message',
        'X-Amz-Expires',
        'Expires',
        'ServerTime',
        'RequestId',
        'HostId',
      ]);
    },
  );

  testWhen(
    NO_BOTO3,
    'boto3 SigV2 (query Expires): a URL past its time answers 403 "Request has expired" with Expires and ServerTime',
    async () => {
      const result = (await boto3(`
s3 = client(signature_version="s3")
old = s3.generate_presigned_url("get_object", Params={"Bucket": BUCKET, "Key": "presigned.txt"}, ExpiresIn=-10)
fresh = s3.generate_presigned_url("get_object", Params={"Bucket": BUCKET, "Key": "presigned.txt"}, ExpiresIn=3600)
print(json.dumps({"old": old, "expired": fetch(old), "fresh": fetch(fresh)}))
`)) as { old: string; expired: { status: number; body: string }; fresh: { status: number; body: string } };
      expect(result.old).toMatch(/[?&]Expires=\d+/);
      expect(result.old).toContain('AWSAccessKeyId=');
      expect(result.fresh).toEqual({ status: 200, body: 'presigned body' });
      expect(result.expired.status).toBe(403);
      const fields = errorFields(result.expired.body);
      expect(Object.keys(fields)).toEqual(['Code', 'Message', 'Expires', 'ServerTime', 'RequestId', 'HostId']);
      expect(fields).toMatchObject({ Code: 'AccessDenied', Message: 'Request has expired' });
    },
  );

  testWhen(CLI_MISSING, 'AWS CLI `s3 presign --expires-in 1`: the URL stops working once it expires', async () => {
    const url = (
      await runAws(awsCli!.path, cloud.gateway.endpoint, [
        's3',
        'presign',
        `s3://${BUCKET}/presigned.txt`,
        '--expires-in',
        '1',
      ])
    ).trim();
    expect(url).toContain('X-Amz-Expires=1');
    const refused = await waitFor(
      'the presigned URL to expire',
      async () => {
        const res = await fetch(url);
        const body = await res.text();
        return res.status === 200 ? undefined : { status: res.status, body };
      },
      30_000,
      250,
    );
    expect(refused.status).toBe(403);
    expect(errorFields(refused.body)).toMatchObject({
      Code: 'AccessDenied',
      Message: 'Request has expired',
      'X-Amz-Expires': '1',
    });
  });

  it('a SigV4 presign asking for more than 7 days is refused as S3 refuses it; unsigned requests still pass', async () => {
    const url =
      `${cloud.gateway.endpoint}/${BUCKET}/presigned.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256` +
      `&X-Amz-Date=20261206T000000Z&X-Amz-Expires=604801&X-Amz-SignedHeaders=host&X-Amz-Signature=00`;
    const res = await fetch(url);
    expect(res.status).toBe(400);
    expect(errorFields(await res.text())).toMatchObject({ Code: 'AuthorizationQueryParametersError' });
    const plain = await fetch(`${cloud.gateway.endpoint}/${BUCKET}/presigned.txt`);
    expect(plain.status).toBe(200);
  });
});

describe('SSE-S3 is reported as S3 reports it by default', () => {
  it(
    'PutObject, HeadObject, GetObject, ' +
      'CopyObject and CompleteMultipartUpload answer x-amz-server-side-encryption: AES256 (SDK)',
    async () => {
      const put = await cloud.s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'sse/a.txt', Body: 'a' }));
      const head = await cloud.s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'sse/a.txt' }));
      const get = await cloud.s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'sse/a.txt' }));
      await get.Body?.transformToString();
      const copy = await cloud.s3.send(
        new CopyObjectCommand({ Bucket: BUCKET, Key: 'sse/b.txt', CopySource: `${BUCKET}/sse/a.txt` }),
      );
      const created = await cloud.s3.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: 'sse/multi.bin' }));
      const part = await cloud.s3.send(
        new UploadPartCommand({
          Bucket: BUCKET,
          Key: 'sse/multi.bin',
          UploadId: created.UploadId,
          PartNumber: 1,
          Body: Buffer.alloc(1024, 1),
        }),
      );
      const done = await cloud.s3.send(
        new CompleteMultipartUploadCommand({
          Bucket: BUCKET,
          Key: 'sse/multi.bin',
          UploadId: created.UploadId,
          MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part.ETag }] },
        }),
      );
      expect({
        put: put.ServerSideEncryption,
        head: head.ServerSideEncryption,
        get: get.ServerSideEncryption,
        copy: copy.ServerSideEncryption,
        create: created.ServerSideEncryption,
        part: part.ServerSideEncryption,
        complete: done.ServerSideEncryption,
      }).toEqual({
        put: 'AES256',
        head: 'AES256',
        get: 'AES256',
        copy: 'AES256',
        create: 'AES256',
        part: 'AES256',
        complete: 'AES256',
      });
    },
  );

  testWhen(CLI_MISSING, 'the AWS CLI sees it on put-object and head-object', async () => {
    const put = await s3apiJson(['put-object', '--bucket', BUCKET, '--key', 'sse/cli.txt']);
    const head = await s3apiJson(['head-object', '--bucket', BUCKET, '--key', 'sse/cli.txt']);
    expect([put.ServerSideEncryption, head.ServerSideEncryption]).toEqual(['AES256', 'AES256']);
  });
});

describe("S3's refusals of keys and bucket names", () => {
  it('a key of 1,025 bytes is KeyTooLongError (Size, MaxSizeAllowed); 1,024 bytes is stored', async () => {
    const longest = 'k/' + 'é'.repeat(511); // 2 + 1022 = 1024 bytes
    await cloud.s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: longest, Body: 'ok' }));
    const err = await cloud.s3
      .send(new PutObjectCommand({ Bucket: BUCKET, Key: `${longest}x`, Body: 'no' }))
      .catch((e: unknown) => e as Error & { $metadata?: { httpStatusCode?: number } });
    expect(err).toMatchObject({
      name: 'KeyTooLongError',
      message: 'Your key is too long',
      $metadata: { httpStatusCode: 400 },
    });
    const res = await fetch(`${cloud.gateway.endpoint}/${BUCKET}/${'k'.repeat(1025)}`, { method: 'PUT', body: 'no' });
    expect(res.status).toBe(400);
    expect(errorFields(await res.text())).toMatchObject({
      Code: 'KeyTooLongError',
      Size: '1025',
      MaxSizeAllowed: '1024',
    });
  });

  testWhen(NO_BOTO3, 'boto3: bucket names S3 refuses are InvalidBucketName; a valid one is created', async () => {
    const refused = [
      'xn--bucket',
      'bucket-s3alias',
      'bucket--ol-s3',
      'bucket.mrap',
      'bucket--x-s3',
      'sthree-bucket',
      '192.168.5.4',
      'ab',
      'a'.repeat(64),
      'bucket..dots',
      '-bucket',
      'bucket-',
    ];
    const result = (await boto3(`
s3 = client()
out = {}
for name in ${JSON.stringify(refused)} + ["valid.bucket-name-1"]:
    try:
        s3.create_bucket(Bucket=name)
        out[name] = "created"
    except botocore.exceptions.ClientError as err:
        error, metadata = err.response["Error"], err.response["ResponseMetadata"]
        out[name] = [error["Code"], error.get("BucketName"), metadata["HTTPStatusCode"]]
print(json.dumps(out))
`)) as Record<string, unknown>;
    expect(result).toEqual({
      ...Object.fromEntries(refused.map((name) => [name, ['InvalidBucketName', name, 400]])),
      'valid.bucket-name-1': 'created',
    });
  });

  it('the SDK gets InvalidBucketName for upper case and underscores', async () => {
    for (const name of ['Upper-Case', 'under_score']) {
      const err = await cloud.s3.send(new CreateBucketCommand({ Bucket: name })).catch((e: unknown) => e as Error);
      expect([name, (err as Error).name]).toEqual([name, 'InvalidBucketName']);
    }
  });
});

describe('objects whose media type is application/x-www-form-urlencoded', () => {
  it('are stored and served as sent (SDK PutObject, then GetObject)', async () => {
    const body = 'a=1&b=two+words&c=%26';
    await cloud.s3.send(
      new PutObjectCommand({
        Bucket: BUCKET,
        Key: 'form/data.txt',
        Body: body,
        ContentType: 'application/x-www-form-urlencoded',
      }),
    );
    const got = await cloud.s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'form/data.txt' }));
    expect({ body: await got.Body?.transformToString(), type: got.ContentType }).toEqual({
      body,
      type: 'application/x-www-form-urlencoded',
    });
    expect(cloud.gateway.counters().requests['s3:PutObject']).toBeGreaterThan(0);
  });

  testWhen(CLI_MISSING, 'the AWS CLI uploads one with --content-type', async () => {
    await runAws(awsCli!.path, cloud.gateway.endpoint, [
      's3api',
      'put-object',
      '--bucket',
      BUCKET,
      '--key',
      'form/cli.txt',
      '--content-type',
      'application/x-www-form-urlencoded',
      '--body',
      '/etc/hostname',
    ]);
    const head = await s3apiJson(['head-object', '--bucket', BUCKET, '--key', 'form/cli.txt']);
    expect(head.ContentType).toBe('application/x-www-form-urlencoded');
  });
});
