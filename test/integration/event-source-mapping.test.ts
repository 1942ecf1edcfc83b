/**
 * The SQS event source mapping emulator and the chain's queues, against the real stand-in through
 * the gateway. The invoke functions are plain async functions returning InvokeResult: that is the
 * mapping's contract with a function, not a stand-in for AWS.
 */
import { S3Client } from '@aws-sdk/client-s3';
import {
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { startStandIn, type StandIn } from '../../src/local/cloud/standin/standin';
import { startGateway, type Gateway } from '../../src/local/cloud/gateway/gateway';
import { localClientConfig } from '../../src/local/client-config';
import { createChainResources, type ChainResources } from '../../src/local/resources';
import {
  readBatchResponse,
  startEventSourceMapping,
  type EventSourceMapping,
  type EventSourceMappingOptions,
  type SqsEventRecord,
} from '../../src/local/cloud/lambda/event-source-mapping';
import type { InvokeFn, InvokeResult } from '../../src/local/cloud/lambda/invoke-contract';
import { waitFor } from '../helpers/wait';

let standIn: StandIn;
let gateway: Gateway;
let s3: S3Client;
let sqs: SQSClient;
const mappings: EventSourceMapping[] = [];
let setCounter = 0;

beforeAll(async () => {
  standIn = await startStandIn();
  gateway = await startGateway({ upstream: standIn.endpoint });
  s3 = new S3Client(localClientConfig(gateway.endpoint));
  sqs = new SQSClient(localClientConfig(gateway.endpoint));
});

afterEach(async () => {
  await Promise.all(mappings.splice(0).map((mapping) => mapping.stop()));
});

afterAll(async () => {
  s3?.destroy();
  sqs?.destroy();
  await gateway?.stop();
  await standIn?.stop();
});

/** A fresh set of chain resources: 1 s visibility (unless told), 2 receives before the DLQ. */
async function freshResources(visibilityTimeoutSeconds = 1): Promise<ChainResources> {
  setCounter += 1;
  const n = setCounter;
  return createChainResources(
    sqs,
    s3,
    {
      sourceBucket: `src-${n}`,
      outputBucket: `out-${n}`,
      ingestQueue: `ingest-${n}`,
      resizedQueue: `resized-${n}`,
      rejectedQueue: `rejected-${n}`,
    },
    { maxReceiveCount: 2, visibilityTimeoutSeconds },
  );
}

function ok(payload: unknown = null): InvokeResult {
  return { ok: true, requestId: `req-${Math.random().toString(16).slice(2)}`, payload, durationMs: 1 };
}

/** A function that succeeds and keeps the bodies of each batch it is given, in `batches`. */
function bodiesInto(batches: string[][]): InvokeFn {
  return async (event) => {
    batches.push((event as { Records: SqsEventRecord[] }).Records.map((record) => record.body));
    return ok();
  };
}

function mapping(
  opts: Omit<EventSourceMappingOptions, 'sqs' | 'logSink'> & { logs?: Record<string, unknown>[] },
): EventSourceMapping {
  const logs = opts.logs;
  const started = startEventSourceMapping({ ...opts, sqs, logSink: (line) => logs?.push(line) });
  mappings.push(started);
  return started;
}

async function queueDepth(url: string): Promise<number> {
  const answer = await sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: url,
      AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
    }),
  );
  return (
    Number(answer.Attributes?.ApproximateNumberOfMessages ?? 0) +
    Number(answer.Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0)
  );
}

async function sendBodies(url: string, bodies: string[]): Promise<void> {
  for (let start = 0; start < bodies.length; start += 10) {
    await sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: url,
        Entries: bodies.slice(start, start + 10).map((body, index) => ({ Id: String(index), MessageBody: body })),
      }),
    );
  }
}

describe('chain resources', () => {
  it('creates buckets and queues idempotently, and the queue redrives to its DLQ after maxReceiveCount', async () => {
    const first = await freshResources();
    const again = await createChainResources(
      sqs,
      s3,
      {
        sourceBucket: `src-${setCounter}`,
        outputBucket: `out-${setCounter}`,
        ingestQueue: `ingest-${setCounter}`,
        resizedQueue: `resized-${setCounter}`,
        rejectedQueue: `rejected-${setCounter}`,
      },
      { maxReceiveCount: 2, visibilityTimeoutSeconds: 1 },
    );
    expect(again).toEqual(first);
    expect(first.queues.ingestDlq.name).toBe(`ingest-${setCounter}-dlq`);
    const attributes = await sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: first.queues.ingest.url, AttributeNames: ['All'] }),
    );
    expect(JSON.parse(attributes.Attributes!.RedrivePolicy!)).toEqual({
      deadLetterTargetArn: first.queues.ingestDlq.arn,
      maxReceiveCount: 2,
    });
    expect(attributes.Attributes!.VisibilityTimeout).toBe('1');

    await sqs.send(new SendMessageCommand({ QueueUrl: first.queues.ingest.url, MessageBody: 'doomed' }));
    const counts: string[] = [];
    for (let attempt = 0; attempt < 3; attempt += 1) {
      const answer = await sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: first.queues.ingest.url,
          WaitTimeSeconds: 2,
          MessageSystemAttributeNames: ['ApproximateReceiveCount'],
        }),
      );
      for (const message of answer.Messages ?? []) counts.push(message.Attributes!.ApproximateReceiveCount!);
    }
    expect(counts).toEqual(['1', '2']);
    const dead = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: first.queues.ingestDlq.url, WaitTimeSeconds: 1 }),
    );
    expect(dead.Messages?.map((message) => message.Body)).toEqual(['doomed']);
  });

  it('refuses an output bucket that would loop', async () => {
    await expect(
      createChainResources(
        sqs,
        s3,
        { sourceBucket: 'same', outputBucket: 'same', ingestQueue: 'a', resizedQueue: 'b', rejectedQueue: 'c' },
        {},
      ),
    ).rejects.toMatchObject({ code: 'INVALID_CONFIG' });
  });
});

describe('event source mapping', () => {
  it('validates its settings as Lambda does', () => {
    const base = { queueUrl: 'x', queueArn: 'arn:aws:sqs:us-east-1:000000000000:x', invoke: async () => ok() };
    expect(() => startEventSourceMapping({ ...base, sqs, batchSize: 11 })).toThrow(/maximumBatchingWindowSeconds/);
    expect(() => startEventSourceMapping({ ...base, sqs, maximumConcurrency: 1 })).toThrow(/maximumConcurrency/);
    expect(() => startEventSourceMapping({ ...base, sqs, batchSize: 0 })).toThrow(/batchSize/);
  });

  it('delivers and deletes all of 25 messages in batches of at most 10, within the concurrency', async () => {
    const { queues } = await freshResources();
    await sqs.send(
      new SendMessageCommand({
        QueueUrl: queues.ingest.url,
        MessageBody: 'with-attributes',
        MessageAttributes: {
          kind: { DataType: 'String', StringValue: 'upload' },
          raw: { DataType: 'Binary', BinaryValue: Buffer.from([1, 2]) },
        },
      }),
    );
    await sendBodies(
      queues.ingest.url,
      Array.from({ length: 24 }, (_, index) => `m-${index}`),
    );
    const seen: SqsEventRecord[] = [];
    const sizes: number[] = [];
    let running = 0;
    let maxRunning = 0;
    const logs: Record<string, unknown>[] = [];
    const esm = mapping({
      queueUrl: queues.ingest.url,
      queueArn: queues.ingest.arn,
      batchSize: 10,
      logs,
      invoke: async (event) => {
        running += 1;
        maxRunning = Math.max(maxRunning, running);
        const records = (event as { Records: SqsEventRecord[] }).Records;
        sizes.push(records.length);
        seen.push(...records);
        await new Promise((resolve) => setTimeout(resolve, 100));
        running -= 1;
        return ok({ batchItemFailures: [] });
      },
    });
    await waitFor('25 deletions', () => esm.stats().deleted === 25 && esm.idle(), 15_000, 50);
    expect(seen.map((record) => record.body).sort()).toEqual(
      ['with-attributes', ...Array.from({ length: 24 }, (_, index) => `m-${index}`)].sort(),
    );
    expect(Math.max(...sizes)).toBeLessThanOrEqual(10);
    expect(maxRunning).toBeLessThanOrEqual(2);
    expect(await queueDepth(queues.ingest.url)).toBe(0);

    const record = seen.find((candidate) => candidate.body === 'with-attributes')!;
    expect(record).toMatchObject({
      eventSource: 'aws:sqs',
      eventSourceARN: queues.ingest.arn,
      awsRegion: 'us-east-1',
      md5OfBody: expect.stringMatching(/^[0-9a-f]{32}$/),
      attributes: {
        ApproximateReceiveCount: '1',
        SentTimestamp: expect.any(String),
        SenderId: expect.any(String),
        ApproximateFirstReceiveTimestamp: expect.any(String),
      },
      messageAttributes: {
        kind: { stringValue: 'upload', stringListValues: [], binaryListValues: [], dataType: 'String' },
        raw: { binaryValue: Buffer.from([1, 2]).toString('base64'), dataType: 'Binary' },
      },
    });
    expect(record.receiptHandle).toEqual(expect.any(String));
    expect(logs.filter((line) => line.event === 'esm.batch').every((line) => line.outcome === 'success')).toBe(true);
  });

  it('keeps exactly the reported failures, which return after the visibility timeout and then go to the DLQ', async () => {
    const { queues } = await freshResources();
    await sendBodies(queues.ingest.url, ['ok-1', 'fail-1', 'ok-2', 'fail-2', 'ok-3']);
    const deliveries = new Map<string, string[]>();
    const esm = mapping({
      queueUrl: queues.ingest.url,
      queueArn: queues.ingest.arn,
      invoke: async (event) => {
        const records = (event as { Records: SqsEventRecord[] }).Records;
        for (const record of records)
          deliveries.set(record.body, [
            ...(deliveries.get(record.body) ?? []),
            record.attributes.ApproximateReceiveCount,
          ]);
        return ok({
          batchItemFailures: records
            .filter((record) => record.body.startsWith('fail'))
            .map((record) => ({ itemIdentifier: record.messageId })),
        });
      },
    });
    await waitFor(
      'two dead letters',
      async () => (await queueDepth(queues.ingestDlq.url)) === 2 && esm.idle(),
      15_000,
      50,
    );
    await esm.stop();
    expect(Object.fromEntries(deliveries)).toEqual({
      'ok-1': ['1'],
      'ok-2': ['1'],
      'ok-3': ['1'],
      'fail-1': ['1', '2'],
      'fail-2': ['1', '2'],
    });
    expect(esm.stats()).toMatchObject({ deleted: 3, failedItems: 4 });
    const dead = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: queues.ingestDlq.url, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }),
    );
    expect(dead.Messages?.map((message) => message.Body).sort()).toEqual(['fail-1', 'fail-2']);
    expect(await queueDepth(queues.ingest.url)).toBe(0);
  });

  const wholeBatchFailures: [
    string,
    (records: SqsEventRecord[]) => InvokeResult,
    'invalidResponses' | 'invokeErrors',
  ][] = [
    ['an empty itemIdentifier', () => ok({ batchItemFailures: [{ itemIdentifier: '' }] }), 'invalidResponses'],
    [
      'an itemIdentifier not in the batch',
      () => ok({ batchItemFailures: [{ itemIdentifier: 'nope' }] }),
      'invalidResponses',
    ],
    [
      'a failed invoke',
      () => ({
        ok: false,
        requestId: 'r',
        kind: 'handled',
        error: { errorType: 'Error', errorMessage: 'boom' },
        durationMs: 1,
      }),
      'invokeErrors',
    ],
  ];
  it.each(wholeBatchFailures)('keeps the whole batch after %s', async (_name, firstAnswer, counter) => {
    const { queues } = await freshResources();
    await sendBodies(queues.ingest.url, ['a', 'b', 'c']);
    const firstBatch: string[] = [];
    const redelivered: string[] = [];
    let calls = 0;
    const esm = mapping({
      queueUrl: queues.ingest.url,
      queueArn: queues.ingest.arn,
      invoke: async (event) => {
        calls += 1;
        const records = (event as { Records: SqsEventRecord[] }).Records;
        if (calls === 1) {
          firstBatch.push(...records.map((record) => record.body));
          return firstAnswer(records);
        }
        redelivered.push(
          ...records.filter((record) => record.attributes.ApproximateReceiveCount === '2').map((record) => record.body),
        );
        return ok();
      },
    });
    await waitFor('all three deleted', () => esm.stats().deleted === 3 && esm.idle(), 15_000, 50);
    expect(firstBatch.length).toBeGreaterThan(0);
    expect(redelivered.sort()).toEqual([...firstBatch].sort());
    expect(esm.stats()[counter]).toBe(1);
  });

  it('deletes everything on success when partial batch responses are off', async () => {
    const { queues } = await freshResources();
    await sendBodies(queues.ingest.url, ['x', 'y']);
    const esm = mapping({
      queueUrl: queues.ingest.url,
      queueArn: queues.ingest.arn,
      functionResponseTypes: [],
      invoke: async (event) =>
        ok({
          batchItemFailures: (event as { Records: SqsEventRecord[] }).Records.map((record) => ({
            itemIdentifier: record.messageId,
          })),
        }),
    });
    await waitFor('both deleted', () => esm.stats().deleted === 2 && esm.idle(), 15_000, 50);
    expect(esm.stats().failedItems).toBe(0);
  });

  it('holds what it received for the batching window and groups what arrives meanwhile into one batch', async () => {
    // Each message is sent only once the mapping holds the ones before (its receive counter says so,
    // and it has invoked nothing), so no send has to land within some seconds. The batch size ends the
    // gathering; the window (5 min, below the 10 min visibility timeout so held messages do not
    // reappear meanwhile) never does.
    const { queues } = await freshResources(600);
    const batches: string[][] = [];
    const esm = mapping({
      queueUrl: queues.ingest.url,
      queueArn: queues.ingest.arn,
      batchSize: 3,
      maximumBatchingWindowSeconds: 300,
      invoke: bodiesInto(batches),
    });
    for (const [index, body] of ['w-1', 'w-2'].entries()) {
      await sqs.send(new SendMessageCommand({ QueueUrl: queues.ingest.url, MessageBody: body }));
      await waitFor(
        `the mapping holding ${index + 1} message(s)`,
        () => esm.stats().received === index + 1,
        15_000,
        50,
      );
      expect({ batches: esm.stats().batches, idle: esm.idle() }).toEqual({ batches: 0, idle: false });
    }
    await sqs.send(new SendMessageCommand({ QueueUrl: queues.ingest.url, MessageBody: 'w-3' }));
    await waitFor('the full batch', () => esm.stats().deleted === 3 && esm.idle(), 15_000, 50);
    expect(batches.map((batch) => batch.sort())).toEqual([['w-1', 'w-2', 'w-3']]);
  });

  it('invokes what it holds when the batching window ends, though the batch is not full', async () => {
    const { queues } = await freshResources(10);
    await sendBodies(queues.ingest.url, ['alone']);
    const batches: string[][] = [];
    const esm = mapping({
      queueUrl: queues.ingest.url,
      queueArn: queues.ingest.arn,
      batchSize: 20,
      maximumBatchingWindowSeconds: 1,
      invoke: bodiesInto(batches),
    });
    await waitFor('the batch of one', () => esm.stats().deleted === 1 && esm.idle(), 15_000, 50);
    expect(batches).toEqual([['alone']]);
  });

  it('stops promptly and leaves unprocessed messages in the queue', async () => {
    const { queues } = await freshResources();
    const esm = mapping({ queueUrl: queues.ingest.url, queueArn: queues.ingest.arn, invoke: async () => ok() });
    await esm.stop();
    await sqs.send(new SendMessageCommand({ QueueUrl: queues.ingest.url, MessageBody: 'later' }));
    expect(await queueDepth(queues.ingest.url)).toBe(1);
    expect(esm.stats().received).toBe(0);
  });
});

describe('readBatchResponse', () => {
  const ids = new Set(['m1', 'm2']);
  it.each([
    [null, true],
    [undefined, true],
    [{}, true],
    [{ batchItemFailures: null }, true],
    [{ batchItemFailures: [] }, true],
    [{ batchItemFailures: [{ itemIdentifier: 'm2' }] }, true],
    ['ok', false],
    [[], false],
    [{ batchItemFailures: {} }, false],
    [{ batchItemFailures: [{ itemIdentifier: null }] }, false],
    [{ batchItemFailures: [{ id: 'm1' }] }, false],
    [{ batchItemFailures: [{ itemIdentifier: 'm3' }] }, false],
  ])('reads %j as valid=%s', (payload, valid) => {
    expect(readBatchResponse(payload, ids).valid).toBe(valid);
  });
});
