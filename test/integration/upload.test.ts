// The upload API end to end: the bundled upload handler under aws-lambda-ric signs a presigned
// POST, and a real multipart form (fetch + FormData) lands the file in the stand-in's bucket.
// Then the same API through the local cloud's HTTP adapter, followed to the image's manifest.
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { startLocalChain, type LocalChain } from '../../src/local/chain';
import { startLocalFunction, type LocalFunction } from '../../src/local/cloud/lambda/function-host';
import { synthesizeImage } from '../../src/tools/samples';
import {
  exists,
  HANDLERS_DIR,
  startTestCloud,
  startUploadFunction,
  uploadApiEvent,
  type TestCloud,
} from '../helpers/local-cloud';
import { waitFor } from '../helpers/wait';
import { localFetch, type LocalAnswer } from '../helpers/up-process';

let cloud: TestCloud;
let upload: LocalFunction;
let png: Buffer;

interface Signed {
  url: string;
  fields: Record<string, string>;
  key: string;
  expiresAt: string;
}

async function callApi(body: unknown): Promise<{ statusCode: number; body: Record<string, unknown> }> {
  const result = await upload.invoke(uploadApiEvent(body));
  if (!result.ok) throw new Error(`invoke failed: ${JSON.stringify(result.error)}`);
  const payload = result.payload as APIGatewayProxyStructuredResultV2;
  return { statusCode: payload.statusCode ?? 0, body: JSON.parse(payload.body ?? '{}') as Record<string, unknown> };
}

/** The handler's answer; an invocation failure (crash, timeout) fails the test with its error. */
function answerOf(result: Awaited<ReturnType<LocalFunction['invoke']>>): APIGatewayProxyStructuredResultV2 {
  if (!result.ok) throw new Error(`invoke failed: ${JSON.stringify(result.error)}`);
  return result.payload as APIGatewayProxyStructuredResultV2;
}

function postForm(signed: Signed, file: Buffer, type: string, name: string): Promise<LocalAnswer> {
  const form = new FormData();
  for (const [k, v] of Object.entries(signed.fields)) form.append(k, v);
  form.append('file', new Blob([file], { type }), name);
  return localFetch(signed.url, { method: 'POST', body: form });
}

beforeAll(async () => {
  png = await synthesizeImage({ width: 320, height: 200, seed: 3, format: 'png' });
  cloud = await startTestCloud();
  upload = await startUploadFunction(cloud, 1_000_000);
});

afterAll(async () => {
  await upload?.stop();
  await cloud?.stop();
});

describe('upload handler under aws-lambda-ric', () => {
  it('returns a presigned POST that lands the file under the uploads prefix', async () => {
    const answer = await callApi({
      filename: 'My Holiday/../cat photo.png',
      contentType: 'image/png',
      size: png.length,
    });
    expect(answer.statusCode).toBe(201);
    const signed = answer.body as unknown as Signed;
    expect(signed.key).toMatch(/^uploads\/[0-9a-f-]{36}\/cat-photo\.png$/);
    expect(signed.url).toBe(`${cloud.gateway.endpoint}/${cloud.resources.buckets.source}`);
    expect(signed.fields).toMatchObject({
      key: signed.key,
      'Content-Type': 'image/png',
      'X-Amz-Algorithm': 'AWS4-HMAC-SHA256',
    });
    const policy = JSON.parse(Buffer.from(signed.fields.Policy, 'base64').toString('utf8')) as {
      conditions: unknown[];
      expiration: string;
    };
    expect(policy.conditions).toContainEqual(['content-length-range', 1, png.length]);
    expect(Date.parse(policy.expiration) - Date.now()).toBeLessThanOrEqual(300_000);

    const res = await postForm(signed, png, 'image/png', 'cat photo.png');
    expect(res.status).toBe(204);
    const stored = await exists(cloud, cloud.resources.buckets.source, signed.key);
    expect(stored?.contentType).toBe('image/png');
    // The gateway saw a POST upload under the watched prefix: the chain is notified.
    await cloud.gateway.notificationsSettled();
  });

  it.each([
    [{ filename: 'a.svg', contentType: 'image/svg+xml', size: 10 }, 'UNSUPPORTED_FORMAT', 'contentType'],
    [{ filename: 'big.png', contentType: 'image/png', size: 1_000_001 }, 'TOO_LARGE', 'size'],
    [{ filename: 'a.png', contentType: 'image/png', size: 0 }, 'EMPTY', 'size'],
    [{ filename: '..', contentType: 'image/png', size: 10 }, 'INVALID_KEY', 'filename'],
    ['{not json', 'INVALID_EVENT', 'body'],
  ])('refuses %j with 400 %s', async (body, code, field) => {
    const answer = await callApi(body);
    expect(answer.statusCode).toBe(400);
    expect(answer.body.error).toMatchObject({ code, field });
  });

  it('answers the keep-warm ping without a request to the cloud', async () => {
    const before = cloud.gateway.counters().requests;
    expect(answerOf(await upload.invoke({ source: 'resize-chain.keep-warm' })).statusCode).toBe(200);
    expect(cloud.gateway.counters().requests).toEqual(before);
  });

  // The policy's contents, as signed (asserted above: content-length-range [1, declared size],
  // Content-Type and key fixed); S3's refusals of forms that break it are exercised through the
  // local cloud's policy check in post-policy.test.ts. Here: the handler never signs a range wider
  // than the declared size or the configured maximum.
  it('signs no size range wider than the declared size', async () => {
    const answer = await callApi({ filename: 'small.png', contentType: 'image/png', size: 10 });
    const policy = JSON.parse(
      Buffer.from((answer.body as unknown as Signed).fields.Policy, 'base64').toString('utf8'),
    ) as { conditions: unknown[] };
    expect(policy.conditions).toContainEqual(['content-length-range', 1, 10]);
    expect(policy.conditions).toContainEqual({ 'Content-Type': 'image/png' });
  });
});

// No cloud at all, and no credentials: whatever reaches the SDK (credentials, region, signing)
// fails with a 500, so a 200 to the ping shows it never got there.
describe('keep-warm ping under aws-lambda-ric, with no cloud and no credentials', () => {
  let bare: LocalFunction;
  const lines: Array<Record<string, unknown>> = [];

  beforeAll(async () => {
    bare = await startLocalFunction({
      name: 'upload-bare',
      handler: 'upload.handler',
      taskRoot: HANDLERS_DIR,
      env: { SOURCE_BUCKET: 'no-such-bucket', LOG_LEVEL: 'DEBUG' },
      logSink: (line) => lines.push(line),
    });
  });
  afterAll(async () => {
    await bare?.stop();
  });

  const logged = (message: string): Array<Record<string, unknown>> =>
    lines
      .map((l) => l.line)
      .filter(
        (l): l is Record<string, unknown> =>
          typeof l === 'object' && l !== null && (l as Record<string, unknown>).message === message,
      );

  it('returns 200 {warm: true} at once and logs the ping at DEBUG', async () => {
    const payload = answerOf(await bare.invoke({ source: 'resize-chain.keep-warm' }));
    expect(payload.statusCode).toBe(200);
    expect(JSON.parse(payload.body ?? '')).toEqual({ warm: true });
    await waitFor('the keep-warm ping in the log', () => logged('keep-warm ping').length > 0, 5000, 20);
    expect(logged('keep-warm ping')).toEqual([expect.objectContaining({ level: 'DEBUG', cold_start: true })]);
    expect(logged('upload signing failed')).toEqual([]);
  });

  it('would have failed had it reached the SDK: a real request to the same function gets 500', async () => {
    expect(
      answerOf(await bare.invoke(uploadApiEvent({ filename: 'a.png', contentType: 'image/png', size: 10 }))).statusCode,
    ).toBe(500);
  });

  it('treats a request body that looks like the ping as a request (400, not 200)', async () => {
    expect(answerOf(await bare.invoke(uploadApiEvent({ source: 'resize-chain.keep-warm' }))).statusCode).toBe(400);
  });
});

describe('upload API in the local cloud (start --ui)', () => {
  let chain: LocalChain;

  beforeAll(async () => {
    chain = await startLocalChain({
      handlersDir: HANDLERS_DIR,
      uploadApi: {},
      resize: { concurrency: 1 },
      publish: { concurrency: 1 },
    });
  });
  afterAll(async () => {
    await chain?.stop();
  });

  it('serves POST /uploads, accepts the form, and reports the manifest on /_ui/status', async () => {
    const api = chain.uploadApi;
    expect(api).toBeDefined();
    const res = await fetch(`${api?.apiUrl}/uploads`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ filename: 'local.png', contentType: 'image/png', size: png.length }),
    });
    expect(res.status).toBe(201);
    const signed = (await res.json()) as Signed;
    expect((await postForm(signed, png, 'image/png', 'local.png')).status).toBe(204);

    const statusUrl = `${chain.endpoint}/_ui/status?key=${encodeURIComponent(signed.key)}`;
    type Status = { state: string; manifest?: { variants: Array<{ key: string }> } };
    const status = await waitFor(
      `the status of ${signed.key} to be done`,
      async () => {
        const seen = (await (await fetch(statusUrl)).json()) as Status;
        if (seen.state !== 'done') throw new Error(`state ${JSON.stringify(seen)}`);
        return seen;
      },
      60_000,
      250,
    );
    expect(status.state).toBe('done');
    expect(status.manifest?.variants.length).toBeGreaterThan(0);
    // The page shows variants through the endpoint; the private bucket refuses anonymous reads, as S3 does.
    const variantKey = status.manifest?.variants[0].key ?? '';
    const variant = await fetch(`${chain.endpoint}/_ui/variant/${variantKey}`);
    expect([variant.status, variant.headers.get('content-type')]).toEqual([200, expect.stringMatching(/^image\//)]);
    const anonymous = await fetch(`${chain.endpoint}/${chain.resources.buckets.output}/${variantKey}`);
    expect(anonymous.status).toBe(403);

    const bad = await fetch(`${api?.apiUrl}/uploads`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"filename":"x.txt","contentType":"text/plain","size":3}',
    });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { code: string } }).error.code).toBe('UNSUPPORTED_FORMAT');
  });

  it('serves the page, and redirects a browser from / to it without hiding S3 ListBuckets', async () => {
    const page = await fetch(`${chain.endpoint}/_ui/`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('Upload images');
    const root = await fetch(`${chain.endpoint}/`, { headers: { accept: 'text/html' }, redirect: 'manual' });
    expect(root.status).toBe(302);
    expect(root.headers.get('location')).toBe('/_ui/');
    const listBuckets = await chain.s3.send(new (await import('@aws-sdk/client-s3')).ListBucketsCommand({}));
    expect(listBuckets.Buckets?.map((b) => b.Name)).toContain(chain.resources.buckets.source);
  });
});
