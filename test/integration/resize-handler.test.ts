// The bundled resize and publish handlers under the real aws-lambda-ric (Node 22), against the
// stand-in S3 + SQS over real sockets with the real AWS SDK.
import type { Message } from '@aws-sdk/client-sqs';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ImageRejectedEvent, ImageResizedEvent } from '../../src/core/events';
import { SIGNATURE_HEADER, verifyWebhookSignature } from '../../src/core/webhook';
import { DEFAULT_VARIANTS, extensionFor } from '../../src/core/variants';
import { toSqsEventRecord } from '../../src/local/cloud/lambda/event-source-mapping';
import { startLocalFunction, type LocalFunction } from '../../src/local/cloud/lambda/function-host';
import { synthesizeImage } from '../../src/tools/samples';
import { corruptImage } from '../helpers/broken-images';
import {
  exists,
  functionEnvFor,
  HANDLERS_DIR,
  receiveAll,
  startTestCloud,
  type TestCloud,
  upload,
} from '../helpers/local-cloud';

const GOOD = 8;
let cloud: TestCloud;
let resize: LocalFunction;
let publish: LocalFunction;

function sqsEvent(messages: Message[], queueArn: string) {
  return { Records: messages.map((m) => toSqsEventRecord(m, queueArn, 'us-east-1')) };
}

function functionEnv(extra: Record<string, string> = {}) {
  return functionEnvFor(cloud, extra);
}

/** Uploads each source, then receives the ingest queue's messages for them (their S3 notifications). */
async function notifiedUploads(sources: ReadonlyArray<readonly [string, Buffer]>): Promise<Message[]> {
  for (const [key, body] of sources) await upload(cloud, key, body);
  await cloud.gateway.notificationsSettled();
  return receiveAll(cloud, cloud.resources.queues.ingest.url, sources.length);
}

function variantKeys(sourceKey: string): string[] {
  const base = sourceKey.replace(/\.[^./]+$/, '');
  return DEFAULT_VARIANTS.map((v) => `v/${base}/${v.name}.${extensionFor(v.format)}`);
}

beforeAll(async () => {
  cloud = await startTestCloud();
  resize = await startLocalFunction({
    name: 'resize',
    handler: 'resize.handler',
    taskRoot: HANDLERS_DIR,
    env: functionEnv(),
    timeoutSeconds: 60,
    logSink: () => undefined,
  });
  publish = await startLocalFunction({
    name: 'publish',
    handler: 'publish.handler',
    taskRoot: HANDLERS_DIR,
    env: functionEnv(),
    logSink: () => undefined,
  });
});

afterAll(async () => {
  await resize?.stop();
  await publish?.stop();
  await cloud?.stop();
});

describe('resize handler on a batch of 10: 8 good images, 1 corrupt file, 1 text file', () => {
  const keys = Array.from({ length: GOOD }, (_, i) => `uploads/batch/good ${i}.jpg`);
  let batch: Message[];
  let firstPayload: unknown;

  beforeAll(async () => {
    const good = await synthesizeImage({ width: 480, height: 320, seed: 7, format: 'jpeg' });
    batch = await notifiedUploads([
      ...keys.map((key) => [key, good] as const),
      ['uploads/batch/corrupt.jpg', corruptImage(good)],
      ['uploads/batch/readme.jpg', Buffer.from('This is a text file with an image name.\n')],
    ]);
    expect(batch).toHaveLength(10);
    const result = await resize.invoke(sqsEvent(batch, cloud.resources.queues.ingest.arn));
    expect(result).toMatchObject({ ok: true });
    firstPayload = result.ok ? result.payload : undefined;
  });

  it('reports no batch item failures', () => {
    expect(firstPayload).toEqual({ batchItemFailures: [] });
  });

  it('writes every variant of every good image with content type, cache control and source ETag', async () => {
    for (const key of keys) {
      for (const vk of variantKeys(key)) {
        const head = await exists(cloud, cloud.resources.buckets.output, vk);
        expect({ vk, contentType: head?.contentType }).toEqual({
          vk,
          contentType: vk.endsWith('.jpg') ? 'image/jpeg' : 'image/webp',
        });
        expect(head?.cacheControl).toBe('public, max-age=86400');
        expect(head?.metadata['source-etag']).toMatch(/^[0-9a-f]{32}$/);
      }
    }
  });

  it('sends one image.resized event per good image', async () => {
    const events = (await receiveAll(cloud, cloud.resources.queues.resized.url, GOOD, { remove: true })).map(
      (m) => JSON.parse(m.Body ?? '') as ImageResizedEvent,
    );
    expect(events.map((e) => e.source.key).sort()).toEqual([...keys].sort());
    for (const e of events) {
      expect(e).toMatchObject({
        type: 'image.resized',
        version: 1,
        source: { width: 480, height: 320, format: 'jpeg' },
      });
      expect(e.variants.map((v) => [v.name, v.width])).toEqual([
        ['thumb', 320],
        ['medium', 480],
        ['large', 480],
        ['fallback', 480],
      ]);
    }
    expect(await receiveAll(cloud, cloud.resources.queues.resized.url, 1, { timeoutMs: 1500 })).toHaveLength(0);
  });

  it('sends the corrupt and the text file to the rejected queue with their codes', async () => {
    const rejections = (await receiveAll(cloud, cloud.resources.queues.rejected.url, 2, { remove: true })).map(
      (m) => JSON.parse(m.Body ?? '') as ImageRejectedEvent,
    );
    expect(rejections.map((r) => [r.source.key, r.code]).sort()).toEqual([
      ['uploads/batch/corrupt.jpg', 'CORRUPT'],
      ['uploads/batch/readme.jpg', 'NOT_AN_IMAGE'],
    ]);
    for (const r of rejections)
      expect(r).toMatchObject({
        type: 'image.rejected',
        version: 1,
        message: expect.any(String),
        source: { eTag: expect.any(String) },
      });
  });

  it('writes nothing new when the same messages are delivered again', async () => {
    const putsBefore = cloud.gateway.counters().requests['s3:PutObject'] ?? 0;
    const again = await resize.invoke(sqsEvent(batch, cloud.resources.queues.ingest.arn));
    expect(again).toMatchObject({ ok: true, payload: { batchItemFailures: [] } });
    expect(cloud.gateway.counters().requests['s3:PutObject'] ?? 0).toBe(putsBefore);
    // The events are sent again (their first sending may have been lost); the publish stage dedupes.
    await receiveAll(cloud, cloud.resources.queues.resized.url, GOOD, { remove: true });
    await receiveAll(cloud, cloud.resources.queues.rejected.url, 2, { remove: true });
  });
});

describe('transient failures', () => {
  it('reports exactly the record whose S3 read failed, and processes the others', async () => {
    const img = await synthesizeImage({ width: 200, height: 200, seed: 3, format: 'png' });
    const messages = await notifiedUploads([
      ['uploads/transient/flaky.png', img],
      ['uploads/transient/fine.png', img],
    ]);
    // More failures than the SDK's own retries (3 attempts), so the handler sees the fault.
    const fault = cloud.gateway.faults.add({
      service: 's3',
      operation: 'GetObject',
      key: 'uploads/transient/flaky.png',
      times: 5,
      effect: { status: 503, code: 'ServiceUnavailable' },
    });
    const result = await resize.invoke(sqsEvent(messages, cloud.resources.queues.ingest.arn));
    fault.remove();
    const flaky = messages.find((m) => m.Body?.includes('flaky.png'));
    expect(result).toMatchObject({ ok: true, payload: { batchItemFailures: [{ itemIdentifier: flaky?.MessageId }] } });
    expect(await exists(cloud, cloud.resources.buckets.output, 'v/uploads/transient/fine/thumb.webp')).toBeDefined();
    expect(await exists(cloud, cloud.resources.buckets.output, 'v/uploads/transient/flaky/thumb.webp')).toBeUndefined();
    expect(await receiveAll(cloud, cloud.resources.queues.rejected.url, 1, { timeoutMs: 1500 })).toHaveLength(0);
    await receiveAll(cloud, cloud.resources.queues.resized.url, 1, { remove: true });
  });
});

describe('a source read cut short', () => {
  it('is a transient failure of that record (retried), not a rejected image, and the retry renders it', async () => {
    const img = await synthesizeImage({ width: 400, height: 300, seed: 5, format: 'jpeg' });
    const messages = await notifiedUploads([['uploads/cut/reset.jpg', img]]);
    const fault = cloud.gateway.faults.add({
      service: 's3',
      operation: 'GetObject',
      key: 'uploads/cut/reset.jpg',
      effect: { cutAfterBytes: Math.floor(img.length / 2) },
    });
    const cut = await resize.invoke(sqsEvent(messages, cloud.resources.queues.ingest.arn));
    expect(fault.hits).toBe(1);
    fault.remove();
    expect(cut).toMatchObject({
      ok: true,
      payload: { batchItemFailures: [{ itemIdentifier: messages[0].MessageId }] },
    });
    expect(await exists(cloud, cloud.resources.buckets.output, 'v/uploads/cut/reset/thumb.webp')).toBeUndefined();
    expect(await receiveAll(cloud, cloud.resources.queues.rejected.url, 1, { timeoutMs: 1500 })).toHaveLength(0);
    const retried = await resize.invoke(sqsEvent(messages, cloud.resources.queues.ingest.arn));
    expect(retried).toMatchObject({ ok: true, payload: { batchItemFailures: [] } });
    expect(await exists(cloud, cloud.resources.buckets.output, 'v/uploads/cut/reset/thumb.webp')).toBeDefined();
    await receiveAll(cloud, cloud.resources.queues.resized.url, 1, { remove: true });
  });
});

describe('publish handler', () => {
  it('writes manifest.json beside the variants, and a redelivery is a no-op', async () => {
    const img = await synthesizeImage({ width: 640, height: 480, seed: 9, format: 'jpeg' });
    const ingest = await notifiedUploads([['uploads/pub/é t.jpg', img]]);
    await resize.invoke(sqsEvent(ingest, cloud.resources.queues.ingest.arn));
    const resized = await receiveAll(cloud, cloud.resources.queues.resized.url, 1, { remove: true });
    const first = await publish.invoke(sqsEvent(resized, cloud.resources.queues.resized.arn));
    expect(first).toMatchObject({ ok: true, payload: { batchItemFailures: [] } });
    const manifest = await exists(cloud, cloud.resources.buckets.output, 'v/uploads/pub/é t/manifest.json');
    expect(manifest).toMatchObject({
      contentType: 'application/json',
      metadata: { 'source-etag': expect.any(String) },
    });
    const puts = cloud.gateway.counters().requests['s3:PutObject'] ?? 0;
    await publish.invoke(sqsEvent(resized, cloud.resources.queues.resized.arn));
    expect(cloud.gateway.counters().requests['s3:PutObject'] ?? 0).toBe(puts);
  });
});

describe('publish webhook', () => {
  it('POSTs each event with a verifiable HMAC-SHA256 signature after writing the manifest', async () => {
    const received: Array<{ headers: IncomingHttpHeaders; body: string }> = [];
    const server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString('utf8')));
      req.on('end', () => {
        received.push({ headers: req.headers, body });
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    const hooked = await startLocalFunction({
      name: 'publish-webhook',
      handler: 'publish.handler',
      taskRoot: HANDLERS_DIR,
      env: functionEnv({
        WEBHOOK_URL: `http://127.0.0.1:${port}/hook`,
        WEBHOOK_SECRET: 'test-secret',
        WEBHOOK_ALLOW_HTTP: 'true',
      }),
      logSink: () => undefined,
    });
    try {
      const event = {
        type: 'image.resized',
        version: 1,
        source: { bucket: 'b', key: 'uploads/hook.jpg', eTag: 'abc', size: 1, width: 1, height: 1, format: 'jpeg' },
        variants: [
          {
            name: 'thumb',
            bucket: cloud.resources.buckets.output,
            key: 'v/uploads/hook/thumb.webp',
            width: 1,
            height: 1,
            format: 'webp',
            bytes: 1,
          },
        ],
        processedAt: new Date().toISOString(),
      };
      const body = JSON.stringify(event);
      const result = await hooked.invoke({ Records: [{ messageId: 'm-hook', body }] });
      expect(result).toMatchObject({ ok: true, payload: { batchItemFailures: [] } });
      expect(received).toHaveLength(1);
      const delivery = received[0];
      expect(delivery.body).toBe(body);
      expect(
        verifyWebhookSignature(
          'test-secret',
          String(delivery.headers[SIGNATURE_HEADER]),
          delivery.body,
          Math.floor(Date.now() / 1000),
        ),
      ).toBe(true);
      expect(
        verifyWebhookSignature(
          'wrong-secret',
          String(delivery.headers[SIGNATURE_HEADER]),
          delivery.body,
          Math.floor(Date.now() / 1000),
        ),
      ).toBe(false);
      expect(await exists(cloud, cloud.resources.buckets.output, 'v/uploads/hook/manifest.json')).toBeDefined();

      // A receiver that fails makes the message a batch item failure; the manifest is already written.
      server.removeAllListeners('request');
      server.on('request', (_req, res) => res.writeHead(500).end());
      const failed = await hooked.invoke({
        Records: [
          {
            messageId: 'm-hook-2',
            body: JSON.stringify({ ...event, source: { ...event.source, key: 'uploads/hook2.jpg' } }),
          },
        ],
      });
      expect(failed).toMatchObject({ ok: true, payload: { batchItemFailures: [{ itemIdentifier: 'm-hook-2' }] } });
      expect(await exists(cloud, cloud.resources.buckets.output, 'v/uploads/hook2/manifest.json')).toBeDefined();
    } finally {
      await hooked.stop();
      server.close();
    }
  });
});

describe('runtime path', () => {
  it('returns an error response for an event that is not an SQS event', async () => {
    const result = await resize.invoke({ hello: 'world' });
    expect(result).toMatchObject({
      ok: false,
      kind: 'handled',
      error: { errorType: 'PipelineError', errorMessage: expect.stringContaining('expected an SQS event') },
    });
  });

  it('reports a bad variant spec as an init error on /init/error', async () => {
    const platform: Array<Record<string, unknown>> = [];
    const bad = await startLocalFunction({
      name: 'resize-bad-spec',
      handler: 'resize.handler',
      taskRoot: HANDLERS_DIR,
      env: functionEnv({ VARIANTS: '[{"name":"thumb","width":0,"format":"webp"}]' }),
      logSink: (line) => platform.push(line),
    });
    try {
      const result = await bad.invoke({ Records: [] });
      expect(result).toMatchObject({
        ok: false,
        kind: 'init',
        error: { errorMessage: expect.stringContaining('VARIANTS[0].width') },
      });
      expect(platform).toContainEqual(expect.objectContaining({ type: 'INIT_ERROR' }));
    } finally {
      await bad.stop();
    }
  });
});
