// Failure semantics of the chain, end to end through the real pieces: the bundled handlers under
// aws-lambda-ric, the event source mapping emulator, the stand-in's redrive, gateway faults, and
// sandboxes killed mid-invocation.
import type { ImageRejectedEvent, ImageResizedEvent } from '../../src/core/events';
import type { Message } from '@aws-sdk/client-sqs';
import { manifestKey, variantKey } from '../../src/core/keys';
import { DEFAULT_VARIANTS } from '../../src/core/variants';
import { startLocalChain, type LocalChain } from '../../src/local/chain';
import {
  startEventSourceMapping,
  toSqsEventRecord,
  type EventSourceMapping,
} from '../../src/local/cloud/lambda/event-source-mapping';
import { startLocalFunction, type LocalFunction } from '../../src/local/cloud/lambda/function-host';
import { synthesizeImage } from '../../src/tools/samples';
import { corruptImage } from '../helpers/broken-images';
import {
  exists,
  functionEnvFor,
  HANDLERS_DIR,
  listKeys,
  queueCounts,
  receiveAll,
  startTestCloud,
  type TestCloud,
  upload,
} from '../helpers/local-cloud';
import { waitFor } from '../helpers/wait';

jest.setTimeout(120_000);

/**
 * The chain's invariant for one source: either no manifest, or a manifest whose source ETag every
 * variant carries (a manifest never stands beside a partial or older set of variants).
 */
async function sourceState(
  cloud: Pick<TestCloud, 's3'>,
  bucket: string,
  prefix: string,
  key: string,
): Promise<'done' | 'not-done' | 'inconsistent'> {
  const c = cloud as TestCloud;
  const manifest = await exists(c, bucket, manifestKey(key, prefix));
  const variants = await Promise.all(DEFAULT_VARIANTS.map((v) => exists(c, bucket, variantKey(key, prefix, v))));
  if (!manifest) return 'not-done';
  const eTag = manifest.metadata['source-etag'];
  return variants.every((v) => v?.metadata['source-etag'] === eTag) ? 'done' : 'inconsistent';
}

describe('transient and permanent failures through the event source mapping', () => {
  let cloud: TestCloud;
  let resize: LocalFunction;
  let mapping: EventSourceMapping;
  const logs: Array<Record<string, unknown>> = [];

  beforeAll(async () => {
    // Visibility = the function timeout (the least Lambda's CreateEventSourceMapping accepts): no message
    // is received again while an invocation may still run, even when a loaded machine makes it slow.
    cloud = await startTestCloud({ visibilityTimeoutSeconds: 10, maxReceiveCount: 2 });
    resize = await startLocalFunction({
      name: 'resize-semantics',
      handler: 'resize.handler',
      taskRoot: HANDLERS_DIR,
      timeoutSeconds: 10,
      env: functionEnvFor(cloud),
      logSink: (l) => {
        if (typeof l.line === 'object' && l.line !== null) logs.push(l.line as Record<string, unknown>);
      },
    });
    // Every read of this one object fails, beyond the SDK's own 3 attempts, for ever.
    cloud.gateway.faults.add({
      service: 's3',
      operation: 'GetObject',
      key: 'uploads/sem/flaky.jpg',
      rate: 1,
      effect: { status: 503 },
    });
    const good = await synthesizeImage({ width: 300, height: 200, seed: 801, format: 'jpeg' });
    await upload(cloud, 'uploads/sem/flaky.jpg', good);
    await upload(cloud, 'uploads/sem/good.jpg', good);
    await upload(cloud, 'uploads/sem/corrupt.jpg', corruptImage(good));
    await cloud.gateway.notificationsSettled();
    mapping = startEventSourceMapping({
      sqs: cloud.sqs,
      queueUrl: cloud.resources.queues.ingest.url,
      queueArn: cloud.resources.queues.ingest.arn,
      batchSize: 10,
      invoke: resize.invoke,
      logSink: () => undefined,
    });
  });

  afterAll(async () => {
    await mapping?.stop();
    await resize?.stop();
    await cloud?.stop();
  });

  it('retries the transient failure through batchItemFailures, then the DLQ keeps it after maxReceiveCount', async () => {
    const dead = await receiveAll(cloud, cloud.resources.queues.ingestDlq.url, 1, { timeoutMs: 60_000 });
    expect(dead.map((m) => m.Body).join()).toContain('uploads/sem/flaky.jpg');
    const failures = logs.filter((l) => l.message === 'source failed, will retry' && l.key === 'uploads/sem/flaky.jpg');
    expect(failures).toHaveLength(2); // maxReceiveCount = 2
    expect(mapping.stats().failedItems).toBeGreaterThanOrEqual(2);
  });

  it('rejects the permanent failure once, never retried, and processes the good neighbour once', async () => {
    await waitFor('mapping idle', () => mapping.idle(), 60_000, 100);
    // Idle, every rejection has been sent: the queue's count is final, no need to wait for a second one.
    const total = (c: { visible: number; inFlight: number; delayed: number }): number =>
      c.visible + c.inFlight + c.delayed;
    expect(total(await queueCounts(cloud, cloud.resources.queues.rejected.url))).toBe(1);
    const rejected = await receiveAll(cloud, cloud.resources.queues.rejected.url, 1);
    expect(
      rejected.map((m) => JSON.parse(m.Body ?? '') as ImageRejectedEvent).map((e) => [e.source.key, e.code]),
    ).toEqual([['uploads/sem/corrupt.jpg', 'CORRUPT']]);
    const sourceLines = (key: string) =>
      logs.filter((l) => l.key === key && String(l.message).startsWith('source ')).map((l) => l.message);
    expect(sourceLines('uploads/sem/corrupt.jpg')).toEqual(['source rejected']);
    expect(sourceLines('uploads/sem/good.jpg')).toEqual(['source resized']);
    expect(total(await queueCounts(cloud, cloud.resources.queues.ingestDlq.url))).toBe(1); // the flaky one alone
  });
});

describe('duplicates, out-of-order deliveries and overwrites (direct invokes)', () => {
  let cloud: TestCloud;
  let resize: LocalFunction;
  let publish: LocalFunction;
  const env = () => functionEnvFor(cloud);
  const event = (messages: Message[], arn: string) => ({
    Records: messages.map((m) => toSqsEventRecord(m, arn, 'us-east-1')),
  });
  const puts = () => cloud.gateway.counters().requests['s3:PutObject'] ?? 0;
  const ingestOne = async () => (await receiveAll(cloud, cloud.resources.queues.ingest.url, 1, { remove: true }))[0];

  beforeAll(async () => {
    cloud = await startTestCloud();
    resize = await startLocalFunction({
      name: 'resize-dup',
      handler: 'resize.handler',
      taskRoot: HANDLERS_DIR,
      env: env(),
      concurrency: 2,
      timeoutSeconds: 30,
      logSink: () => undefined,
    });
    publish = await startLocalFunction({
      name: 'publish-dup',
      handler: 'publish.handler',
      taskRoot: HANDLERS_DIR,
      env: env(),
      logSink: () => undefined,
    });
  });

  afterAll(async () => {
    await resize?.stop();
    await publish?.stop();
    await cloud?.stop();
  });

  it('writes one set of outputs for duplicate and out-of-order notifications of the same object', async () => {
    const key = 'uploads/dup/photo.jpg';
    const v1 = await synthesizeImage({ width: 400, height: 300, seed: 811, format: 'jpeg' });
    const v2 = await synthesizeImage({ width: 500, height: 250, seed: 812, format: 'jpeg' });
    await upload(cloud, key, v1);
    await cloud.gateway.notificationsSettled();
    const m1 = await ingestOne();
    const eTag2 = await upload(cloud, key, v2);
    await cloud.gateway.notificationsSettled();
    const m2 = await ingestOne();

    const before = puts();
    // The newest first, duplicated inside the batch; then the older one, late; then the newest again.
    expect(await resize.invoke(event([m2, m2], cloud.resources.queues.ingest.arn))).toMatchObject({
      ok: true,
      payload: { batchItemFailures: [] },
    });
    expect(await resize.invoke(event([m1], cloud.resources.queues.ingest.arn))).toMatchObject({
      ok: true,
      payload: { batchItemFailures: [] },
    });
    expect(await resize.invoke(event([m2], cloud.resources.queues.ingest.arn))).toMatchObject({
      ok: true,
      payload: { batchItemFailures: [] },
    });
    expect(puts() - before).toBe(DEFAULT_VARIANTS.length);

    // One resized event from the first run, one resent by the last (its first sending could have been lost).
    const resized = await receiveAll(cloud, cloud.resources.queues.resized.url, 2, { remove: true });
    expect(resized.map((m) => (JSON.parse(m.Body ?? '') as ImageResizedEvent).source.eTag)).toEqual([eTag2, eTag2]);
    const beforePublish = puts();
    expect(await publish.invoke(event(resized, cloud.resources.queues.resized.arn))).toMatchObject({
      ok: true,
      payload: { batchItemFailures: [] },
    });
    expect(await publish.invoke(event(resized, cloud.resources.queues.resized.arn))).toMatchObject({
      ok: true,
      payload: { batchItemFailures: [] },
    });
    // Both copies of the event may race in one batch; at most each writes the same manifest once.
    expect(puts() - beforePublish).toBeLessThanOrEqual(2);
    expect(await sourceState(cloud, cloud.resources.buckets.output, 'v/', key)).toBe('done');
    expect(
      (await exists(cloud, cloud.resources.buckets.output, 'v/uploads/dup/photo/medium.webp'))?.metadata,
    ).toMatchObject({ 'source-etag': eTag2, 'source-width': '500' });
  });

  it('ends with the newest version when the object is overwritten while its variants are being written', async () => {
    const key = 'uploads/race/photo.jpg';
    const v1 = await synthesizeImage({ width: 400, height: 300, seed: 821, format: 'jpeg' });
    const v2 = await synthesizeImage({ width: 600, height: 200, seed: 822, format: 'jpeg' });
    await upload(cloud, key, v1);
    await cloud.gateway.notificationsSettled();
    const m1 = await ingestOne();
    // v1's thumb write is held back long enough for v2 to be uploaded and fully processed first.
    const slow = cloud.gateway.faults.add({
      service: 's3',
      operation: 'PutObject',
      key: 'v/uploads/race/photo/thumb.webp',
      times: 1,
      effect: { delayMs: 2500 },
    });
    const first = resize.invoke(event([m1], cloud.resources.queues.ingest.arn));
    await waitFor('v1 thumb write held', () => slow.hits === 1, 60_000, 100);
    const eTag2 = await upload(cloud, key, v2);
    await cloud.gateway.notificationsSettled();
    const m2 = await ingestOne();
    expect(await resize.invoke(event([m2], cloud.resources.queues.ingest.arn))).toMatchObject({
      ok: true,
      payload: { batchItemFailures: [] },
    });
    expect(await first).toMatchObject({ ok: true, payload: { batchItemFailures: [] } });

    for (const v of DEFAULT_VARIANTS) {
      const head = await exists(cloud, cloud.resources.buckets.output, variantKey(key, 'v/', v));
      expect({ variant: v.name, eTag: head?.metadata['source-etag'], width: head?.metadata['source-width'] }).toEqual({
        variant: v.name,
        eTag: eTag2,
        width: '600',
      });
    }
    const resized = await receiveAll(cloud, cloud.resources.queues.resized.url, 2, { remove: true });
    expect(resized.map((m) => (JSON.parse(m.Body ?? '') as ImageResizedEvent).source.eTag)).toEqual([eTag2, eTag2]);
    await publish.invoke(event(resized, cloud.resources.queues.resized.arn));
    expect(await sourceState(cloud, cloud.resources.buckets.output, 'v/', key)).toBe('done');
  });

  it('does not let a late event of an older version replace the newer manifest', async () => {
    const key = 'uploads/late/photo.jpg';
    await upload(cloud, key, await synthesizeImage({ width: 400, height: 300, seed: 831, format: 'jpeg' }));
    await cloud.gateway.notificationsSettled();
    await resize.invoke(event([await ingestOne()], cloud.resources.queues.ingest.arn));
    const old = await receiveAll(cloud, cloud.resources.queues.resized.url, 1, { remove: true });
    const eTag2 = await upload(
      cloud,
      key,
      await synthesizeImage({ width: 300, height: 300, seed: 832, format: 'jpeg' }),
    );
    await cloud.gateway.notificationsSettled();
    await resize.invoke(event([await ingestOne()], cloud.resources.queues.ingest.arn));
    const newer = await receiveAll(cloud, cloud.resources.queues.resized.url, 1, { remove: true });
    await publish.invoke(event(newer, cloud.resources.queues.resized.arn));
    const putsBefore = puts();
    expect(await publish.invoke(event(old, cloud.resources.queues.resized.arn))).toMatchObject({
      ok: true,
      payload: { batchItemFailures: [] },
    });
    expect(puts()).toBe(putsBefore);
    expect((await exists(cloud, cloud.resources.buckets.output, manifestKey(key, 'v/')))?.metadata['source-etag']).toBe(
      eTag2,
    );
  });
});

describe('a sandbox killed, or timed out, in the middle of a batch', () => {
  let chain: LocalChain;
  const sandboxes: Array<{ fn: unknown; pid: number }> = [];
  const IMAGES = 12;
  const resizePids = () => sandboxes.filter((s) => s.fn === chain.functions.resize.name).map((s) => s.pid);

  beforeAll(async () => {
    chain = await startLocalChain({
      handlersDir: HANDLERS_DIR,
      // Lambda refuses a visibility timeout below the function timeout; equal keeps redelivery after a
      // kill or a timeout quick. 8 s leaves a loaded 2-core machine room to finish a batch in time.
      resize: { concurrency: 1, timeoutSeconds: 8, maximumConcurrency: 2 },
      publish: { concurrency: 1, timeoutSeconds: 8 },
      visibilityTimeoutSeconds: 8,
      maxReceiveCount: 5,
      logSink: (line) => {
        // Sandboxes start before startLocalChain resolves: keep them all, pick the resize ones later.
        if (line.type === 'SANDBOX_START' && typeof line.pid === 'number')
          sandboxes.push({ fn: line.fn, pid: line.pid });
      },
    });
  });

  afterAll(async () => {
    await chain?.stop();
  });

  async function uploadAll(folder: string): Promise<string[]> {
    const keys: string[] = [];
    for (let i = 0; i < IMAGES; i++) {
      const key = `${chain.uploadsPrefix}${folder}/img-${i}.jpg`;
      await upload(
        { s3: chain.s3, resources: chain.resources } as TestCloud,
        key,
        await synthesizeImage({ width: 320, height: 240, seed: 900 + i, format: 'jpeg' }),
      );
      keys.push(key);
    }
    return keys;
  }

  async function expectAllDone(keys: string[]): Promise<void> {
    await chain.waitForIdle(90_000);
    const states = await Promise.all(
      keys.map((k) => sourceState({ s3: chain.s3 }, chain.resources.buckets.output, chain.outputPrefix, k)),
    );
    expect(states.every((s) => s === 'done')).toBe(true);
    const depths = await chain.queueDepths();
    expect([
      depths[chain.resources.queues.ingestDlq.name],
      depths[chain.resources.queues.resizedDlq.name],
      depths[chain.resources.queues.rejected.name],
    ]).toEqual([0, 0, 0]);
  }

  it(
    'kill -9 while a variant write is in flight: ' +
      'no manifest beside partial variants, then every image done once redelivered',
    async () => {
      const slow = chain.gateway.faults.add({
        service: 's3',
        operation: 'PutObject',
        key: /\/crash\/img-3\/thumb\.webp$/,
        times: 1,
        effect: { delayMs: 1500 },
      });
      const keys = await uploadAll('crash');
      await waitFor('a write held in flight', () => slow.hits === 1, 60_000, 100);
      const restartsBefore = chain.functions.resize.stats().restarts;
      process.kill(resizePids().at(-1) as number, 'SIGKILL');
      // Right after the kill, nothing half-written may look done.
      const states = await Promise.all(
        keys.map((k) => sourceState({ s3: chain.s3 }, chain.resources.buckets.output, chain.outputPrefix, k)),
      );
      expect(states.filter((s) => s === 'inconsistent')).toEqual([]);
      await expectAllDone(keys);
      expect(chain.functions.resize.stats().restarts).toBeGreaterThan(restartsBefore);
    },
  );

  it('an invocation past its deadline is killed and its messages are redelivered and finished', async () => {
    const errorsBefore = chain.functions.resize.stats().errors;
    chain.gateway.faults.add({
      service: 's3',
      operation: 'PutObject',
      key: /\/timeout\/img-5\/medium\.webp$/,
      times: 1,
      effect: { delayMs: 10_000 },
    });
    const keys = await uploadAll('timeout');
    await expectAllDone(keys);
    expect(chain.functions.resize.stats().errors).toBeGreaterThan(errorsBefore);
    const outputs = await listKeys(chain.s3, chain.resources.buckets.output);
    expect(outputs.filter((k) => k.includes('/timeout/'))).toHaveLength(IMAGES * (DEFAULT_VARIANTS.length + 1));
  });
});
