// The local Kinesis stream and its event source mapping, driven by a scripted function (the
// mapping's rules are pure logic; the real resize handler drives it in test/integration/stream-source.test.ts).
import { createHash } from 'node:crypto';
import { LocalStream, compareSequenceNumbers, partitionKeyHash } from '../../src/local/cloud/kinesis/stream';
import {
  startStreamMapping,
  type KinesisEventRecord,
  type KinesisFailureRecord,
  type StreamMapping,
  type StreamMappingOptions,
} from '../../src/local/cloud/lambda/stream-mapping';
import type { InvokeResult } from '../../src/local/cloud/lambda/invoke-contract';

type Script = (records: KinesisEventRecord[], call: number) => InvokeResult;

const ok = (payload: unknown = { batchItemFailures: [] }): InvokeResult => ({
  ok: true,
  requestId: 'r',
  payload,
  durationMs: 1,
});
const fail = (): InvokeResult => ({
  ok: false,
  requestId: 'r',
  kind: 'handled',
  error: { errorType: 'Error', errorMessage: 'boom' },
  durationMs: 1,
});
const seqs = (records: KinesisEventRecord[]): string[] => records.map((r) => r.kinesis.sequenceNumber);
const dataOf = (r: KinesisEventRecord): string => Buffer.from(r.kinesis.data, 'base64').toString('utf8');

const running: StreamMapping[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((m) => m.stop()));
});

function start(stream: LocalStream, script: Script, extra: Partial<StreamMappingOptions> = {}) {
  const calls: KinesisEventRecord[][] = [];
  const failures: KinesisFailureRecord[] = [];
  const mapping = startStreamMapping({
    stream,
    invoke: async (event) => {
      const records = (event as { Records: KinesisEventRecord[] }).Records;
      calls.push(records);
      return script(records, calls.length);
    },
    onFailure: async (record) => {
      failures.push(record);
    },
    retryDelayMs: 0,
    pollIntervalMs: 20,
    logSink: () => undefined,
    ...extra,
  });
  running.push(mapping);
  return { mapping, calls, failures };
}

describe('LocalStream', () => {
  test('routes by the MD5 of the partition key over even hash-key ranges, as Kinesis does', () => {
    const stream = new LocalStream({ name: 's', shardCount: 4 });
    for (const key of ['a', 'b', 'image-1', 'ü']) {
      const hash = BigInt(`0x${createHash('md5').update(key).digest('hex')}`);
      expect(partitionKeyHash(key)).toBe(hash);
      expect(stream.shardFor(key)).toBe(`shardId-${String(Number((hash * 4n) >> 128n)).padStart(12, '0')}`);
    }
    expect(stream.shardFor('x', '0')).toBe('shardId-000000000000');
    expect(stream.shardFor('x', String((1n << 128n) - 1n))).toBe('shardId-000000000003');
  });

  test('sequence numbers grow per shard; reads start after a position', () => {
    const stream = new LocalStream({ name: 's', shardCount: 1 });
    const put = stream.putRecords(Array.from({ length: 5 }, (_, i) => ({ partitionKey: `k${i}`, data: `d${i}` })));
    const numbers = put.records.map((r) => r.sequenceNumber);
    for (let i = 1; i < numbers.length; i++) expect(compareSequenceNumbers(numbers[i - 1], numbers[i])).toBe(-1);
    expect(stream.read('shardId-000000000000', numbers[1], 2).map((r) => r.data.toString())).toEqual(['d2', 'd3']);
    expect(stream.read('shardId-000000000000', undefined, 10)).toHaveLength(5);
  });

  test('refuses records above 1 MiB, bad partition keys and unknown shards', () => {
    const stream = new LocalStream({ name: 's' });
    expect(() => stream.putRecord({ partitionKey: 'k', data: Buffer.alloc(1024 * 1024) })).toThrow(
      /above Kinesis's 1048576/,
    );
    expect(() => stream.putRecord({ partitionKey: '', data: 'x' })).toThrow(/partitionKey/);
    expect(() => stream.read('shardId-000000000009', undefined, 1)).toThrow(/not a shard/);
    expect(() => new LocalStream({ name: 's', shardCount: 0 })).toThrow(/shardCount/);
  });
});

describe('stream mapping', () => {
  test('delivers every record once, per shard in order, in batches of batchSize, with the real event shape', async () => {
    const stream = new LocalStream({ name: 'orders', shardCount: 2 });
    const { mapping, calls } = start(stream, () => ok(), { batchSize: 3 });
    const put = stream.putRecords(
      Array.from({ length: 20 }, (_, i) => ({ partitionKey: `key-${i}`, data: JSON.stringify({ i }) })),
    );
    await mapping.waitUntilCaughtUp(5000);
    expect(new Set(put.records.map((r) => r.shardId)).size).toBe(2);
    for (const batch of calls) {
      expect(batch.length).toBeLessThanOrEqual(3);
      expect(new Set(batch.map((r) => r.eventID.split(':')[0])).size).toBe(1);
    }
    for (const shardId of stream.shardIds) {
      const delivered = calls.flat().filter((r) => r.eventID.startsWith(`${shardId}:`));
      expect(seqs(delivered)).toEqual(stream.records(shardId).map((r) => r.sequenceNumber));
      expect(stream.checkpointOf('resize', shardId)).toBe(stream.lastSequenceNumber(shardId));
    }
    const first = calls[0][0];
    expect(first).toEqual({
      kinesis: {
        kinesisSchemaVersion: '1.0',
        partitionKey: expect.any(String),
        sequenceNumber: expect.stringMatching(/^\d{56}$/),
        data: expect.any(String),
        approximateArrivalTimestamp: expect.any(Number),
      },
      eventSource: 'aws:kinesis',
      eventVersion: '1.0',
      eventID: `${first.eventID.split(':')[0]}:${first.kinesis.sequenceNumber}`,
      eventName: 'aws:kinesis:record',
      invokeIdentityArn: expect.stringMatching(/^arn:aws:iam::/),
      awsRegion: 'us-east-1',
      eventSourceARN: 'arn:aws:kinesis:us-east-1:000000000000:stream/orders',
    });
    expect(JSON.parse(dataOf(first))).toEqual({ i: expect.any(Number) });
    expect(mapping.stats()).toMatchObject({ recordsInvoked: 20, retries: 0, invokeErrors: 0 });
  });

  test('a partial batch response checkpoints before the lowest failed sequence number and retries from it', async () => {
    const stream = new LocalStream({ name: 's' });
    const { mapping, calls, failures } = start(
      stream,
      (records, call) =>
        call === 1
          ? ok({
              batchItemFailures: [
                { itemIdentifier: records[3].kinesis.sequenceNumber },
                { itemIdentifier: records[2].kinesis.sequenceNumber },
              ],
            })
          : ok(),
      {
        batchSize: 5,
      },
    );
    const put = stream
      .putRecords(Array.from({ length: 5 }, (_, i) => ({ partitionKey: 'p', data: `r${i}` })))
      .records.map((r) => r.sequenceNumber);
    await mapping.waitUntilCaughtUp(5000);
    expect(calls.map(seqs)).toEqual([put, put.slice(2)]);
    expect(failures).toEqual([]);
    expect(mapping.stats()).toMatchObject({ partialFailures: 1, retries: 1 });
  });

  test(
    'maximumRetryAttempts: after 1 + N invokes the failed range ' +
      'goes to the on-failure destination and the shard moves on',
    async () => {
      const stream = new LocalStream({ name: 's' });
      const { mapping, calls, failures } = start(
        stream,
        (records) => {
          const bad = records.find((r) => dataOf(r) === 'bad');
          return ok({ batchItemFailures: bad ? [{ itemIdentifier: bad.kinesis.sequenceNumber }] : [] });
        },
        { batchSize: 10, maximumRetryAttempts: 2 },
      );
      const put = stream
        .putRecords(['a', 'bad', 'c'].map((data) => ({ partitionKey: 'p', data })))
        .records.map((r) => r.sequenceNumber);
      await mapping.waitUntilCaughtUp(5000);
      expect(calls.map(seqs)).toEqual([put, put.slice(1), put.slice(1)]);
      expect(failures).toHaveLength(1);
      expect(failures[0]).toMatchObject({
        requestContext: { condition: 'RetryAttemptsExhausted', approximateInvokeCount: 3 },
        version: '1.0',
        KinesisBatchInfo: {
          shardId: 'shardId-000000000000',
          startSequenceNumber: put[1],
          endSequenceNumber: put[2],
          batchSize: 2,
          streamArn: stream.arn,
        },
      });
      // The shard is not stuck: a later record is delivered.
      const later = stream.putRecord({ partitionKey: 'p', data: 'later' });
      await mapping.waitUntilCaughtUp(5000);
      expect(seqs(calls[calls.length - 1])).toEqual([later.sequenceNumber]);
    },
  );

  test('bisect on function error isolates the poison record; the others succeed in order', async () => {
    const stream = new LocalStream({ name: 's' });
    const { mapping, calls, failures } = start(
      stream,
      (records) => (records.some((r) => dataOf(r) === 'poison') ? fail() : ok()),
      {
        batchSize: 8,
        bisectBatchOnFunctionError: true,
        maximumRetryAttempts: 1,
      },
    );
    const data = ['a', 'b', 'c', 'd', 'e', 'poison', 'g', 'h'];
    const put = stream
      .putRecords(data.map((d) => ({ partitionKey: 'p', data: d })))
      .records.map((r) => r.sequenceNumber);
    await mapping.waitUntilCaughtUp(5000);
    expect(
      failures.map((f) => [
        f.KinesisBatchInfo.startSequenceNumber,
        f.KinesisBatchInfo.endSequenceNumber,
        f.responseContext.functionError,
      ]),
    ).toEqual([[put[5], put[5], 'Handled']]);
    const succeeded = calls.filter((batch) => !batch.some((r) => dataOf(r) === 'poison')).flatMap(seqs);
    expect(succeeded).toEqual(put.filter((_, i) => i !== 5));
    expect(mapping.stats().bisections).toBeGreaterThanOrEqual(3);
  });

  test('without bisect a function error retries the whole batch, then sends the whole batch to the destination', async () => {
    const stream = new LocalStream({ name: 's' });
    const { mapping, calls, failures } = start(stream, () => fail(), { batchSize: 3, maximumRetryAttempts: 0 });
    const put = stream
      .putRecords(['a', 'b'].map((d) => ({ partitionKey: 'p', data: d })))
      .records.map((r) => r.sequenceNumber);
    await mapping.waitUntilCaughtUp(5000);
    expect(calls.map(seqs)).toEqual([put]);
    expect(failures[0]?.KinesisBatchInfo).toMatchObject({
      startSequenceNumber: put[0],
      endSequenceNumber: put[1],
      batchSize: 2,
    });
  });

  test('maximumRecordAgeSeconds sends expired records to the destination without invoking', async () => {
    let clock = 1_000_000_000_000;
    const stream = new LocalStream({ name: 's', now: () => clock });
    // A first mapping that stops before any record arrives leaves no checkpoint behind.
    const { mapping, calls, failures } = start(stream, () => ok(), { maximumRecordAgeSeconds: 60, now: () => clock });
    await mapping.stop();
    const old = stream.putRecord({ partitionKey: 'p', data: 'old' });
    clock += 61_000;
    const fresh = stream.putRecord({ partitionKey: 'p', data: 'fresh' });
    const again = start(stream, () => ok(), {
      maximumRecordAgeSeconds: 60,
      now: () => clock,
      startingPosition: 'TRIM_HORIZON',
    });
    await again.mapping.waitUntilCaughtUp(5000);
    expect(calls).toEqual([]);
    expect(failures).toEqual([]);
    expect(again.failures.map((f) => [f.requestContext.condition, f.KinesisBatchInfo.startSequenceNumber])).toEqual([
      ['RecordAgeExceeded', old.sequenceNumber],
    ]);
    expect(again.calls.map(seqs)).toEqual([[fresh.sequenceNumber]]);
  });

  test('LATEST skips what the stream held before; TRIM_HORIZON reads it; a restarted mapping resumes at its checkpoint', async () => {
    const stream = new LocalStream({ name: 's' });
    const before = stream.putRecord({ partitionKey: 'p', data: 'before' });
    const latest = start(stream, () => ok(), { consumerName: 'a' });
    const horizon = start(stream, () => ok(), { consumerName: 'b', startingPosition: 'TRIM_HORIZON' });
    await Promise.all([latest.mapping.waitUntilCaughtUp(5000), horizon.mapping.waitUntilCaughtUp(5000)]);
    expect(latest.calls).toEqual([]);
    expect(horizon.calls.map(seqs)).toEqual([[before.sequenceNumber]]);
    await latest.mapping.stop();
    const after = stream.putRecord({ partitionKey: 'p', data: 'after' });
    const resumed = start(stream, () => ok(), { consumerName: 'a' });
    await resumed.mapping.waitUntilCaughtUp(5000);
    expect(resumed.calls.map(seqs)).toEqual([[after.sequenceNumber]]);
  });

  test('a failing destination is retried: the records are never checkpointed without it', async () => {
    const stream = new LocalStream({ name: 's' });
    let attempts = 0;
    const delivered: KinesisFailureRecord[] = [];
    const { mapping } = start(stream, () => fail(), {
      maximumRetryAttempts: 0,
      onFailure: async (record) => {
        attempts += 1;
        if (attempts < 3) throw new Error('queue down');
        delivered.push(record);
      },
    });
    stream.putRecord({ partitionKey: 'p', data: 'x' });
    await mapping.waitUntilCaughtUp(5000);
    expect(attempts).toBe(3);
    expect(delivered).toHaveLength(1);
    expect(mapping.stats()).toMatchObject({ failureDestinationErrors: 2, recordsToFailureDestination: 1 });
  });

  test.each([
    [{ batchSize: 0 }, /batchSize: 0 is not an integer in 1\.\.10000/],
    [{ batchSize: 10001 }, /batchSize/],
    [{ maximumRetryAttempts: -2 }, /maximumRetryAttempts: -2 is not an integer in -1\.\.10000/],
    [{ maximumRecordAgeSeconds: 30 }, /maximumRecordAgeSeconds: 30 is neither -1 nor/],
    [{ parallelizationFactor: 11 }, /parallelizationFactor/],
  ])('refuses %j', (bad, message) => {
    const stream = new LocalStream({ name: 's' });
    expect(() => startStreamMapping({ stream, invoke: async () => ok(), logSink: () => undefined, ...bad })).toThrow(
      message,
    );
  });
});
