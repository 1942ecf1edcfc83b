// The local cloud's S3 holds browser POST uploads to their signed policy, as S3 does: real
// multipart POSTs (fetch + FormData) through the gateway, with forms signed by the bundled upload
// handler under aws-lambda-ric (and, for the expired one, by the same presign function with a
// signing time in the past). A refused form leaves no object and sends no notification.
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { S3Client } from '@aws-sdk/client-s3';
import { presignPost } from '../../src/aws/presign';
import { sigV4Signature } from '../../src/aws/sigv4';
import type { LocalFunction } from '../../src/local/cloud/lambda/function-host';
import { synthesizeImage } from '../../src/tools/samples';
import { LOCAL_CREDENTIALS, LOCAL_REGION, localClientConfig } from '../../src/local/client-config';
import {
  exists,
  listKeys,
  receiveAll,
  startTestCloud,
  startUploadFunction,
  uploadApiEvent,
  type TestCloud,
} from '../helpers/local-cloud';

/** The upload function's MAX_UPLOAD_BYTES here. */
const MAX_UPLOAD_BYTES = 20_000;

let cloud: TestCloud;
let upload: LocalFunction;
let png: Buffer;

interface Signed {
  url: string;
  fields: Record<string, string>;
  key: string;
}

/** Asks the upload handler (POST /uploads) to sign a form. */
async function sign(filename: string, size: number, contentType = 'image/png'): Promise<Signed> {
  const result = await upload.invoke(uploadApiEvent({ filename, contentType, size }));
  if (!result.ok) throw new Error(`invoke failed: ${JSON.stringify(result.error)}`);
  const payload = result.payload as APIGatewayProxyStructuredResultV2;
  expect(payload.statusCode).toBe(201);
  return JSON.parse(payload.body ?? '{}') as Signed;
}

interface Answer {
  status: number;
  body: string;
  code?: string;
  message?: string;
}

/** Posts the signed fields (with `changes` applied) and the file, as a browser form does. */
async function post(signed: Signed, file: Buffer, changes: Record<string, string> = {}): Promise<Answer> {
  const form = new FormData();
  for (const [name, value] of Object.entries({ ...signed.fields, ...changes })) form.append(name, value);
  form.append('file', new Blob([file], { type: 'image/png' }), 'photo.png');
  const res = await fetch(signed.url, { method: 'POST', body: form });
  const body = await res.text();
  return {
    status: res.status,
    body,
    code: /<Code>([^<]*)<\/Code>/.exec(body)?.[1],
    message: /<Message>([^<]*)<\/Message>/.exec(body)?.[1],
  };
}

/** A form for any policy conditions, signed with the local cloud's credentials (valid for a minute). */
async function signPolicy(
  key: string,
  conditions: unknown[],
  fields: Record<string, string>,
): Promise<Record<string, string>> {
  const date = new Date()
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '');
  const credential = `${LOCAL_CREDENTIALS.accessKeyId}/${date.slice(0, 8)}/${LOCAL_REGION}/s3/aws4_request`;
  const signedFields = {
    ...fields,
    'X-Amz-Algorithm': 'AWS4-HMAC-SHA256',
    'X-Amz-Credential': credential,
    'X-Amz-Date': date,
  };
  const policy = Buffer.from(
    JSON.stringify({
      expiration: new Date(Date.now() + 60_000).toISOString(),
      conditions: [
        { bucket: cloud.resources.buckets.source },
        { 'x-amz-algorithm': 'AWS4-HMAC-SHA256' },
        { 'x-amz-credential': credential },
        { 'x-amz-date': date },
        ...conditions,
      ],
    }),
  ).toString('base64');
  expect(key).toBe(fields.key);
  const signature = await sigV4Signature(
    LOCAL_CREDENTIALS.secretAccessKey,
    { day: date.slice(0, 8), region: LOCAL_REGION, service: 's3' },
    policy,
  );
  return { ...signedFields, policy, 'x-amz-signature': signature };
}

/** Asserts nothing came of a refused form: no object under `key`, no notification sent. */
async function expectNothingStored(key: string, notificationsBefore: number): Promise<void> {
  expect(await exists(cloud, cloud.resources.buckets.source, key)).toBeUndefined();
  await cloud.gateway.notificationsSettled();
  expect(cloud.gateway.counters().notificationsSent).toBe(notificationsBefore);
}

beforeAll(async () => {
  png = await synthesizeImage({ width: 48, height: 32, seed: 5, format: 'png' });
  cloud = await startTestCloud();
  upload = await startUploadFunction(cloud, MAX_UPLOAD_BYTES);
});

afterAll(async () => {
  await upload?.stop();
  await cloud?.stop();
});

describe('POST policy enforcement in the local cloud', () => {
  it('stores a form that keeps to its policy (204) and notifies the chain with its key', async () => {
    expect(png.length).toBeLessThan(MAX_UPLOAD_BYTES);
    const signed = await sign('photo.png', png.length);
    const answer = await post(signed, png);
    expect(answer.status).toBe(204);
    expect((await exists(cloud, cloud.resources.buckets.source, signed.key))?.contentType).toBe('image/png');
    await cloud.gateway.notificationsSettled();
    const messages = await receiveAll(cloud, cloud.resources.queues.ingest.url, 1, { remove: true });
    expect((JSON.parse(messages[0]?.Body ?? '{}') as { Records: unknown[] }).Records[0]).toMatchObject({
      eventName: 'ObjectCreated:Post',
      s3: { object: { key: signed.key, size: png.length } },
    });
  });

  it('refuses a field the policy does not name, and honours one it does (success_action_status 201)', async () => {
    const key = 'uploads/status/a.png';
    const base = await presignPost({
      client: cloud.s3,
      bucket: cloud.resources.buckets.source,
      key,
      contentType: 'image/png',
      minBytes: 1,
      maxBytes: 1000,
      expiresSeconds: 60,
    });
    const { url } = base;
    const extra = await post({ url, fields: base.fields, key }, png.subarray(0, 10), { success_action_status: '201' });
    expect(extra).toMatchObject({
      status: 403,
      code: 'AccessDenied',
      message: 'Invalid according to Policy: Extra input fields: success_action_status',
    });
    expect(await exists(cloud, cloud.resources.buckets.source, key)).toBeUndefined();

    // A policy that names it (signed here: the core function signs only what the handler needs).
    const fields = await signPolicy(
      key,
      [
        ['starts-with', '$key', 'uploads/status/'],
        { success_action_status: '201' },
        ['starts-with', '$Content-Type', 'image/'],
      ],
      {
        key,
        success_action_status: '201',
        'Content-Type': 'image/png',
      },
    );
    const answer = await post({ url, fields, key }, png.subarray(0, 10));
    expect(answer.status).toBe(201);
    expect(answer.body).toContain(`<Key>${key}</Key>`);
    expect(await exists(cloud, cloud.resources.buckets.source, key)).toBeDefined();
    await cloud.gateway.notificationsSettled();
    await receiveAll(cloud, cloud.resources.queues.ingest.url, 1, { remove: true });
  });

  it('stores a 12 MiB upload signed for it: above the 11 MiB body limit fauxqs has alone', async () => {
    const key = 'uploads/large/a.png';
    const big = Buffer.concat([png, Buffer.alloc(12 * 1024 * 1024, 3)]);
    const { url, fields } = await presignPost({
      client: cloud.s3,
      bucket: cloud.resources.buckets.source,
      key,
      contentType: 'image/png',
      minBytes: 1,
      maxBytes: 16 * 1024 * 1024,
      expiresSeconds: 60,
    });
    const answer = await post({ url, fields, key }, big);
    expect(answer).toMatchObject({ status: 204 });
    expect((await exists(cloud, cloud.resources.buckets.source, key))?.size).toBe(big.length);
    await cloud.gateway.notificationsSettled();
    await receiveAll(cloud, cloud.resources.queues.ingest.url, 1, { remove: true });
  });

  it('refuses a file above the signed size (the upload limit) with 400 EntityTooLarge and stores nothing', async () => {
    const signed = await sign('big.png', MAX_UPLOAD_BYTES);
    const before = cloud.gateway.counters().notificationsSent;
    const answer = await post(signed, Buffer.alloc(MAX_UPLOAD_BYTES + 1, 7));
    expect(answer).toMatchObject({
      status: 400,
      code: 'EntityTooLarge',
      message: 'Your proposed upload exceeds the maximum allowed size',
    });
    expect(answer.body).toContain(
      `<ProposedSize>${MAX_UPLOAD_BYTES + 1}</ProposedSize><MaxSizeAllowed>${MAX_UPLOAD_BYTES}</MaxSizeAllowed>`,
    );
    await expectNothingStored(signed.key, before);
  });

  it('refuses a file far above the signed size before taking all of it, and the answer still arrives', async () => {
    const signed = await sign('huge.png', 1000);
    const before = cloud.gateway.counters().notificationsSent;
    const huge = Buffer.alloc(3 * 1024 * 1024, 9);
    const answer = await post(signed, huge);
    expect(answer).toMatchObject({ status: 400, code: 'EntityTooLarge' });
    expect(answer.body).toContain(`<ProposedSize>${huge.length}</ProposedSize><MaxSizeAllowed>1000</MaxSizeAllowed>`);
    await expectNothingStored(signed.key, before);
    // The connection is still usable afterwards: the next form goes through.
    const next = await sign('next.png', png.length);
    expect((await post(next, png)).status).toBe(204);
    await cloud.gateway.notificationsSettled();
    await receiveAll(cloud, cloud.resources.queues.ingest.url, 1, { remove: true });
  });

  it('refuses a Content-Type other than the signed one with 403 AccessDenied naming the condition', async () => {
    const signed = await sign('page.png', 20);
    const before = cloud.gateway.counters().notificationsSent;
    const answer = await post(signed, Buffer.from('<html>not an image</'), { 'Content-Type': 'text/html' });
    expect(answer).toMatchObject({
      status: 403,
      code: 'AccessDenied',
      message: 'Invalid according to Policy: Policy Condition failed: ["eq", "$Content-Type", "image/png"]',
    });
    await expectNothingStored(signed.key, before);
  });

  it('refuses a policy changed after signing with 403 SignatureDoesNotMatch', async () => {
    const signed = await sign('small.png', 10);
    const before = cloud.gateway.counters().notificationsSent;
    const policy = JSON.parse(Buffer.from(signed.fields.Policy, 'base64').toString('utf8')) as {
      conditions: unknown[];
    };
    policy.conditions = policy.conditions.map((c) =>
      Array.isArray(c) && c[0] === 'content-length-range' ? ['content-length-range', 1, 10_000_000] : c,
    );
    const answer = await post(signed, png, { Policy: Buffer.from(JSON.stringify(policy)).toString('base64') });
    expect(answer).toMatchObject({ status: 403, code: 'SignatureDoesNotMatch' });
    expect(answer.message).toMatch(/^The request signature we calculated does not match the signature you provided/);
    await expectNothingStored(signed.key, before);
  });

  it('refuses a form signed with a policy that has expired with 403 AccessDenied', async () => {
    const before = cloud.gateway.counters().notificationsSent;
    const key = 'uploads/expired/photo.png';
    // A client whose clock runs an hour behind signs a form that expired 55 minutes ago.
    const lateClient = new S3Client({ ...localClientConfig(cloud.gateway.endpoint), systemClockOffset: -3600_000 });
    const expired = await presignPost({
      client: lateClient,
      bucket: cloud.resources.buckets.source,
      key,
      contentType: 'image/png',
      minBytes: 1,
      maxBytes: MAX_UPLOAD_BYTES,
      expiresSeconds: 300,
    });
    lateClient.destroy();
    const answer = await post({ url: expired.url, fields: expired.fields, key }, png);
    expect(answer).toMatchObject({
      status: 403,
      code: 'AccessDenied',
      message: 'Invalid according to Policy: Policy expired.',
    });
    await expectNothingStored(key, before);
  });

  it('refuses a key outside the signed one (and outside the uploads prefix) with 403 AccessDenied', async () => {
    const signed = await sign('photo.png', png.length);
    const before = cloud.gateway.counters().notificationsSent;
    const answer = await post(signed, png, { key: 'elsewhere/photo.png' });
    expect(answer).toMatchObject({ status: 403, code: 'AccessDenied' });
    expect(answer.message).toBe(
      `Invalid according to Policy: Policy Condition failed: ["eq", "$key", "${signed.key}"]`,
    );
    expect(await listKeys(cloud.s3, cloud.resources.buckets.source)).not.toContain('elsewhere/photo.png');
    await expectNothingStored(signed.key, before);
  });

  it('refuses a signed form whose key is over 1,024 bytes with 400 KeyTooLongError, as S3 does', async () => {
    const key = `uploads/${'k'.repeat(1017)}`; // 1,025 bytes: one over S3's limit
    const url = `${cloud.gateway.endpoint}/${cloud.resources.buckets.source}`;
    const fields = await signPolicy(key, [['starts-with', '$key', 'uploads/']], { key });
    const before = cloud.gateway.counters().notificationsSent;
    const answer = await post({ url, fields, key }, png);
    expect({ ...answer, body: undefined }).toEqual({
      status: 400,
      body: undefined,
      code: 'KeyTooLongError',
      message: 'Your key is too long',
    });
    expect(answer.body).toContain('<Size>1025</Size><MaxSizeAllowed>1024</MaxSizeAllowed>');
    // Listed, not HEADed: S3 refuses a HEAD of such a key with the same error.
    expect(await listKeys(cloud.s3, cloud.resources.buckets.source)).not.toContain(key);
    await cloud.gateway.notificationsSettled();
    expect(cloud.gateway.counters().notificationsSent).toBe(before);
  });

  it('refuses a form whose policy is present but whose body is not well-formed multipart', async () => {
    const signed = await sign('photo.png', png.length);
    const res = await fetch(signed.url, {
      method: 'POST',
      headers: { 'content-type': 'multipart/form-data; boundary=abc' },
      body:
        `--abc\r\nContent-Disposition: form-data; ` +
        `name="Policy"\r\n\r\n${signed.fields.Policy}\r\n--abc\r\nBroken-Header\r\n\r\nx\r\n--abc--\r\n`,
    });
    expect(res.status).toBe(400);
    expect(await res.text()).toContain('<Code>MalformedPOSTRequest</Code>');
  });

  it(
    'refuses a form without a policy as S3 refuses an anonymous POST to a private bucket: ' +
      '403 AccessDenied, nothing stored',
    async () => {
      const before = cloud.gateway.counters().notificationsSent;
      const form = new FormData();
      form.append('key', 'uploads/no-policy/${filename}');
      form.append('file', new Blob([png], { type: 'image/png' }), 'plain.png');
      const res = await fetch(`${cloud.gateway.endpoint}/${cloud.resources.buckets.source}`, {
        method: 'POST',
        body: form,
      });
      expect(res.status).toBe(403);
      expect(await res.text()).toMatch(/<Code>AccessDenied<\/Code><Message>Access Denied<\/Message>/);
      expect(await exists(cloud, cloud.resources.buckets.source, 'uploads/no-policy/plain.png')).toBeUndefined();
      await cloud.gateway.notificationsSettled();
      expect(cloud.gateway.counters().notificationsSent).toBe(before);
    },
  );
});
