// The stream source end to end: a local Kinesis stream (2 ordered shards) and its event source
// mapping driving the real bundled resize handler under aws-lambda-ric, against the stand-in S3 +
// SQS. The same assertions as the queue path where they apply: every variant written, permanent
// failures in the rejected queue once, transient ones retried (here from the failed sequence
// number), and what never succeeds described to the on-failure queue while the shard moves on.
import type { ImageRejectedEvent, ImageResizedEvent } from '../../src/core/events';
import { CreateQueueCommand } from '@aws-sdk/client-sqs';
import { s3ObjectCreatedNotification } from '../../src/local/cloud/s3/object-created-event';
import { DEFAULT_VARIANTS, extensionFor } from '../../src/core/variants';
import { startLocalFunction, type LocalFunction } from '../../src/local/cloud/lambda/function-host';
import { synthesizeImage } from '../../src/tools/samples';
import { corruptImage } from '../helpers/broken-images';
import { LocalStream } from '../../src/local/cloud/kinesis/stream';
import {
  sqsFailureDestination,
  startStreamMapping,
  type KinesisEventRecord,
  type KinesisFailureRecord,
  type StreamMapping,
  type StreamMappingOptions,
} from '../../src/local/cloud/lambda/stream-mapping';
import {
  EMPTY_QUEUE,
  exists,
  functionEnvFor,
  HANDLERS_DIR,
  queueCounts,
  receiveAll,
  startTestCloud,
  type TestCloud,
  upload,
} from '../helpers/local-cloud';

let cloud: TestCloud;
let resize: LocalFunction;
let failureQueueUrl: string;
const mappings: StreamMapping[] = [];

function variantKeys(sourceKey: string): string[] {
  const base = sourceKey.replace(/\.[^./]+$/, '');
  return DEFAULT_VARIANTS.map((v) => `v/${base}/${v.name}.${extensionFor(v.format)}`);
}

async function allVariantsExist(sourceKey: string): Promise<boolean> {
  for (const key of variantKeys(sourceKey))
    if (!(await exists(cloud, cloud.resources.buckets.output, key))) return false;
  return true;
}

/** A stream and its mapping to the resize function; every invocation's records are kept, in call order. */
function streamToResize(name: string, options: Partial<StreamMappingOptions>) {
  const stream = new LocalStream({ name, shardCount: 2 });
  const calls: KinesisEventRecord[][] = [];
  const mapping = startStreamMapping({
    stream,
    invoke: (event) => {
      calls.push((event as { Records: KinesisEventRecord[] }).Records);
      return resize.invoke(event);
    },
    bisectBatchOnFunctionError: true,
    maximumRetryAttempts: 3,
    onFailure: sqsFailureDestination(cloud.sqs, failureQueueUrl),
    retryDelayMs: 20,
    pollIntervalMs: 50,
    logSink: () => undefined,
    ...options,
  });
  mappings.push(mapping);
  return { stream, mapping, calls };
}

const reference = (key: string, eTag: string, size?: number): string =>
  JSON.stringify({ bucket: cloud.resources.buckets.source, key, eTag, ...(size !== undefined ? { size } : {}) });
const sequenceNumbers = (records: KinesisEventRecord[]): string[] => records.map((r) => r.kinesis.sequenceNumber);

beforeAll(async () => {
  cloud = await startTestCloud();
  failureQueueUrl = (
    await cloud.sqs.send(
      new CreateQueueCommand({ QueueName: 'stream-failures', Attributes: { SqsManagedSseEnabled: 'true' } }),
    )
  ).QueueUrl as string;
  resize = await startLocalFunction({
    name: 'resize',
    handler: 'resize.handler',
    taskRoot: HANDLERS_DIR,
    env: functionEnvFor(cloud),
    timeoutSeconds: 60,
    logSink: () => undefined,
  });
});

afterAll(async () => {
  await Promise.all(mappings.map((m) => m.stop()));
  await resize?.stop();
  await cloud?.stop();
});

describe('6 good images and 1 corrupt one across 2 shards', () => {
  const good = Array.from({ length: 6 }, (_, i) => `stream/good ${i}.jpg`);
  const corrupt = 'stream/corrupt.jpg';
  let run: ReturnType<typeof streamToResize>;
  let corruptSequenceNumber: string;

  beforeAll(async () => {
    run = streamToResize('images', { batchSize: 3 });
    const image = await synthesizeImage({ width: 480, height: 320, seed: 11, format: 'jpeg' });
    const entries = [];
    for (const [i, key] of good.entries()) {
      const eTag = await upload(cloud, key, image);
      // Both shapes of the contract: a plain reference, and an S3 notification as in an SQS body.
      const data =
        i % 2 === 0
          ? reference(key, eTag, image.length)
          : JSON.stringify(
              s3ObjectCreatedNotification({
                bucket: cloud.resources.buckets.source,
                key,
                size: image.length,
                eTag,
                sequencer: `0${i}`,
              }),
            );
      entries.push({ partitionKey: key, data });
    }
    const bad = corruptImage(image);
    entries.push({ partitionKey: corrupt, data: reference(corrupt, await upload(cloud, corrupt, bad), bad.length) });
    const put = run.stream.putRecords(entries);
    corruptSequenceNumber = put.records[6].sequenceNumber;
    expect(new Set(put.records.map((r) => r.shardId)).size).toBe(2);
    await run.mapping.waitUntilCaughtUp(60000);
  });

  it('writes every variant of every good image', async () => {
    for (const key of good) expect({ key, written: await allVariantsExist(key) }).toEqual({ key, written: true });
  });

  it('sends one image.resized event per good image', async () => {
    const events = (await receiveAll(cloud, cloud.resources.queues.resized.url, 6, { remove: true })).map(
      (m) => JSON.parse(m.Body ?? '') as ImageResizedEvent,
    );
    expect(events.map((e) => e.source.key).sort()).toEqual([...good].sort());
    for (const e of events)
      expect(e).toMatchObject({
        type: 'image.resized',
        version: 1,
        source: { width: 480, height: 320, format: 'jpeg' },
      });
    expect(await queueCounts(cloud, cloud.resources.queues.resized.url)).toEqual(EMPTY_QUEUE);
  });

  it('sends the corrupt image to the rejected queue once, naming its sequence number', async () => {
    // Caught up, every rejection has been sent: the queue's count is final.
    expect(await queueCounts(cloud, cloud.resources.queues.rejected.url)).toEqual({ ...EMPTY_QUEUE, visible: 1 });
    const rejections = (await receiveAll(cloud, cloud.resources.queues.rejected.url, 1, { remove: true })).map(
      (m) => JSON.parse(m.Body ?? '') as ImageRejectedEvent,
    );
    expect(rejections[0]).toMatchObject({
      type: 'image.rejected',
      version: 1,
      code: 'CORRUPT',
      source: { key: corrupt, messageId: corruptSequenceNumber },
    });
  });

  it('keeps order per shard: each batch is one shard in order, and each shard is delivered in order, once', () => {
    for (const batch of run.calls) {
      expect(new Set(batch.map((r) => r.eventID.split(':')[0])).size).toBe(1);
      expect(batch.length).toBeLessThanOrEqual(3);
    }
    for (const shardId of run.stream.shardIds) {
      const delivered = run.calls.flat().filter((r) => r.eventID.startsWith(`${shardId}:`));
      expect(sequenceNumbers(delivered)).toEqual(run.stream.records(shardId).map((r) => r.sequenceNumber));
    }
    expect(run.mapping.stats()).toMatchObject({ retries: 0, invokeErrors: 0, recordsToFailureDestination: 0 });
  });

  it('puts nothing in the on-failure queue', async () => {
    expect(await queueCounts(cloud, failureQueueUrl)).toEqual(EMPTY_QUEUE);
  });
});

describe('a transient S3 fault on one object', () => {
  it('retries that record from its sequence number, then it succeeds', async () => {
    const run = streamToResize('transient', { batchSize: 10 });
    const image = await synthesizeImage({ width: 200, height: 200, seed: 5, format: 'png' });
    const keys = ['stream/t/before.png', 'stream/t/flaky.png', 'stream/t/after.png'];
    const data = [];
    for (const key of keys) data.push(reference(key, await upload(cloud, key, image)));
    // More failures than the SDK's own attempts (3), so the first invocation reports the record.
    const fault = cloud.gateway.faults.add({
      service: 's3',
      operation: 'GetObject',
      key: 'stream/t/flaky.png',
      times: 5,
      effect: { status: 503, code: 'ServiceUnavailable' },
    });
    const put = run.stream
      .putRecords(data.map((d) => ({ partitionKey: 'one shard', data: d })))
      .records.map((r) => r.sequenceNumber);
    await run.mapping.waitUntilCaughtUp(60000);
    fault.remove();
    expect(run.calls.map(sequenceNumbers)).toEqual([put, put.slice(1)]);
    for (const key of keys) expect({ key, written: await allVariantsExist(key) }).toEqual({ key, written: true });
    expect(run.mapping.stats()).toMatchObject({ partialFailures: 1, retries: 1, recordsToFailureDestination: 0 });
    expect(await queueCounts(cloud, cloud.resources.queues.rejected.url)).toEqual(EMPTY_QUEUE);
    expect(await queueCounts(cloud, failureQueueUrl)).toEqual(EMPTY_QUEUE);
    await receiveAll(cloud, cloud.resources.queues.resized.url, 5, { remove: true, timeoutMs: 3000 });
  });
});

describe('a fault that never clears', () => {
  it('after maximumRetryAttempts the record is described to the on-failure queue and the shard moves on', async () => {
    const run = streamToResize('doomed', { batchSize: 1, maximumRetryAttempts: 1 });
    const image = await synthesizeImage({ width: 200, height: 200, seed: 6, format: 'png' });
    const doomed = 'stream/d/doomed.png';
    const next = 'stream/d/next.png';
    const fault = cloud.gateway.faults.add({
      service: 's3',
      operation: 'GetObject',
      key: doomed,
      rate: 1,
      effect: { status: 503, code: 'ServiceUnavailable' },
    });
    try {
      const refs = [
        reference(doomed, await upload(cloud, doomed, image)),
        reference(next, await upload(cloud, next, image)),
      ];
      const put = run.stream.putRecords(refs.map((d) => ({ partitionKey: 'one shard', data: d }))).records;
      await run.mapping.waitUntilCaughtUp(60000);
      const failures = (await receiveAll(cloud, failureQueueUrl, 1, { remove: true })).map(
        (m) => JSON.parse(m.Body ?? '') as KinesisFailureRecord,
      );
      expect(failures).toHaveLength(1);
      expect(failures[0]).toMatchObject({
        requestContext: { condition: 'RetryAttemptsExhausted', approximateInvokeCount: 2 },
        version: '1.0',
        KinesisBatchInfo: {
          shardId: put[0].shardId,
          startSequenceNumber: put[0].sequenceNumber,
          endSequenceNumber: put[0].sequenceNumber,
          batchSize: 1,
          streamArn: run.stream.arn,
        },
      });
      expect(run.calls.map(sequenceNumbers)).toEqual([
        [put[0].sequenceNumber],
        [put[0].sequenceNumber],
        [put[1].sequenceNumber],
      ]);
      expect(await allVariantsExist(next)).toBe(true);
      expect(await exists(cloud, cloud.resources.buckets.output, variantKeys(doomed)[0])).toBeUndefined();
      // A transient failure is never a rejection.
      expect(await queueCounts(cloud, cloud.resources.queues.rejected.url)).toEqual(EMPTY_QUEUE);
      expect(run.stream.checkpointOf('resize', put[1].shardId)).toBe(put[1].sequenceNumber);
    } finally {
      fault.remove();
    }
  });
});
