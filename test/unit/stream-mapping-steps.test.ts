// The Kinesis mapping's steps one by one, each against the behaviour AWS documents for Kinesis
// event source mappings (partial batch responses, BisectBatchOnFunctionError, MaximumRetryAttempts,
// MaximumRecordAgeInSeconds, the on-failure invocation record). The whole loop runs in stream-mapping.test.ts.
import type { StreamRecord } from '../../src/local/cloud/kinesis/stream';
import {
  bisectBatch,
  expiredRecordCount,
  judgeStreamBatch,
  kinesisFailureRecord,
  nextCheckpoint,
  planNextStep,
  planRetry,
  withinPayloadLimit,
  type StreamBatchOutcome,
} from '../../src/local/cloud/lambda/stream-mapping';
import type { InvokeResult } from '../../src/local/cloud/lambda/invoke-contract';

const SHARD = 'shardId-000000000000';
const STREAM_ARN = 'arn:aws:kinesis:us-east-1:000000000000:stream/s';

/** A record of shard 0; sequence numbers are 56 digits and grow with `n`, as the stream's do. */
function record(n: number, arrivalSeconds = 1_700_000_000, bytes = 10): StreamRecord {
  return {
    shardId: SHARD,
    sequenceNumber: String(n).padStart(56, '0'),
    partitionKey: 'p',
    data: Buffer.alloc(bytes, 'x'),
    approximateArrivalTimestamp: arrivalSeconds,
  };
}

const batch = [1, 2, 3, 4, 5].map((n) => record(n));
const seq = (r: StreamRecord): string => r.sequenceNumber;
const ok = (payload: unknown): InvokeResult => ({ ok: true, requestId: 'req-1', payload, durationMs: 3 });
const handledError: Extract<InvokeResult, { ok: false }> = {
  ok: false,
  requestId: 'req-2',
  kind: 'handled',
  error: { errorType: 'Error', errorMessage: 'boom' },
  durationMs: 3,
};
const failures = (...ids: unknown[]): unknown => ({
  batchItemFailures: ids.map((itemIdentifier) => ({ itemIdentifier })),
});

describe('judgeStreamBatch: how Lambda reads a stream batch response', () => {
  test.each([
    ['a null response', null],
    ['an empty response', undefined],
    ['an object without batchItemFailures', {}],
    ['a null batchItemFailures', { batchItemFailures: null }],
    ['an empty batchItemFailures', { batchItemFailures: [] }],
  ])('%s is complete success', (_, payload) => {
    expect(judgeStreamBatch(batch, ok(payload), true)).toEqual({ kind: 'success' });
  });

  test.each([
    ['an empty-string itemIdentifier', failures('')],
    ['a null itemIdentifier', failures(null)],
    ['a misspelt key', { batchItemFailures: [{ itemIdentifer: batch[1].sequenceNumber }] }],
    ['a sequence number not in the batch', failures(record(9).sequenceNumber)],
    ['a response that is not an object', 'done'],
    ['batchItemFailures that is not a list', { batchItemFailures: 'all' }],
  ])('%s fails the whole batch', (_, payload) => {
    expect(judgeStreamBatch(batch, ok(payload), true)).toMatchObject({
      kind: 'invalid_response',
      reason: expect.any(String),
    });
  });

  test('several failures: the batch resumes from the lowest sequence number, wherever it is listed', () => {
    const outcome = judgeStreamBatch(batch, ok(failures(seq(batch[3]), seq(batch[1]), seq(batch[4]))), true);
    expect(outcome).toEqual({ kind: 'partial', lowestFailed: 1, failures: 3 });
  });

  test('without ReportBatchItemFailures a listed failure is not read: the batch succeeded', () => {
    expect(judgeStreamBatch(batch, ok(failures(seq(batch[0]))), false)).toEqual({ kind: 'success' });
    expect(judgeStreamBatch(batch, ok('not even an object'), false)).toEqual({ kind: 'success' });
  });

  test('a failed invoke fails the whole batch, whatever the response types', () => {
    expect(judgeStreamBatch(batch, handledError, true)).toEqual({ kind: 'invoke_error', result: handledError });
    expect(judgeStreamBatch(batch, handledError, false)).toEqual({ kind: 'invoke_error', result: handledError });
  });
});

describe('nextCheckpoint', () => {
  test('a complete success checkpoints at the highest sequence number of the batch', () => {
    expect(nextCheckpoint(batch, { kind: 'success' })).toBe(batch[4]);
  });

  test('a partial response checkpoints just before the lowest failed record', () => {
    expect(nextCheckpoint(batch, { kind: 'partial', lowestFailed: 3, failures: 1 })).toBe(batch[2]);
  });

  test('nothing moves when the first record failed, or on a failed invoke or invalid response', () => {
    expect(nextCheckpoint(batch, { kind: 'partial', lowestFailed: 0, failures: 2 })).toBeUndefined();
    expect(nextCheckpoint(batch, { kind: 'invoke_error', result: handledError })).toBeUndefined();
    expect(nextCheckpoint(batch, { kind: 'invalid_response', result: ok('x'), reason: 'r' })).toBeUndefined();
  });
});

describe('planRetry: MaximumRetryAttempts', () => {
  test('the first invoke is not a retry: with 2 attempts, retries 1 and 2 run and the third failure gives up', () => {
    const policy = { maximumRetryAttempts: 2, retryDelayMs: 50 };
    expect(planRetry(1, policy).kind).toBe('retry');
    expect(planRetry(2, policy).kind).toBe('retry');
    expect(planRetry(3, policy)).toEqual({ kind: 'give_up', retries: 3 });
  });

  test('0 gives up after the first failed invoke; -1 retries until the record expires', () => {
    expect(planRetry(1, { maximumRetryAttempts: 0, retryDelayMs: 50 }).kind).toBe('give_up');
    expect(planRetry(10_001, { maximumRetryAttempts: -1, retryDelayMs: 50 }).kind).toBe('retry');
  });

  test('the wait doubles per retry from retryDelayMs and stops growing at 2 s', () => {
    const delays = [1, 2, 3, 4, 5, 6, 7].map((retries) => {
      const plan = planRetry(retries, { maximumRetryAttempts: -1, retryDelayMs: 50 });
      return plan.kind === 'retry' ? plan.delayMs : undefined;
    });
    expect(delays).toEqual([50, 100, 200, 400, 800, 1600, 2000]);
    expect(planRetry(1, { maximumRetryAttempts: -1, retryDelayMs: 0 })).toEqual({
      kind: 'retry',
      retries: 1,
      delayMs: 0,
    });
  });
});

describe('bisectBatch', () => {
  test('splits in two, the first half taking the odd record, order kept', () => {
    expect(bisectBatch([1, 2, 3, 4, 5])).toEqual([
      [1, 2, 3],
      [4, 5],
    ]);
    expect(bisectBatch([1, 2])).toEqual([[1], [2]]);
  });
});

describe('planNextStep', () => {
  const noBisect = { maximumRetryAttempts: 2, retryDelayMs: 50, bisectBatchOnFunctionError: false };
  const bisect = { ...noBisect, bisectBatchOnFunctionError: true };
  const error: StreamBatchOutcome = { kind: 'invoke_error', result: handledError };

  test('success: done, checkpointed at the last record', () => {
    expect(planNextStep(batch, { kind: 'success' }, 0, noBisect)).toEqual({ kind: 'done', checkpoint: batch[4] });
  });

  test('partial: checkpoint before the lowest failure, retry from it (a retry counted)', () => {
    expect(planNextStep(batch, { kind: 'partial', lowestFailed: 2, failures: 1 }, 0, noBisect)).toEqual({
      kind: 'retry',
      checkpoint: batch[1],
      records: batch.slice(2),
      retries: 1,
      delayMs: 50,
    });
  });

  test('partial past the retries: the remaining records are given up, with no function error to report', () => {
    const step = planNextStep(batch, { kind: 'partial', lowestFailed: 2, failures: 1 }, 2, noBisect);
    expect(step).toEqual({ kind: 'give_up', checkpoint: batch[1], records: batch.slice(2), retries: 3 });
  });

  test('with bisect on too, a partial response splits at the lowest failure: only the records from it are retried', () => {
    expect(planNextStep(batch, { kind: 'partial', lowestFailed: 2, failures: 1 }, 0, bisect)).toMatchObject({
      kind: 'retry',
      checkpoint: batch[1],
      records: batch.slice(2),
    });
  });

  test('function error without bisect: the whole batch is retried, then given up with the last error', () => {
    expect(planNextStep(batch, error, 0, noBisect)).toEqual({
      kind: 'retry',
      checkpoint: undefined,
      records: batch,
      retries: 1,
      delayMs: 50,
    });
    expect(planNextStep(batch, error, 2, noBisect)).toEqual({
      kind: 'give_up',
      checkpoint: undefined,
      records: batch,
      retries: 3,
      last: handledError,
    });
  });

  test('function error with bisect: split in two even with the retries used up (splitting is not a retry)', () => {
    expect(planNextStep(batch, error, 2, bisect)).toEqual({
      kind: 'bisect',
      halves: [batch.slice(0, 3), batch.slice(3)],
    });
  });

  test('an invalid response is a function error: it bisects too', () => {
    expect(planNextStep(batch, { kind: 'invalid_response', result: ok('x'), reason: 'r' }, 0, bisect).kind).toBe(
      'bisect',
    );
  });

  test('a single record cannot be split: it is retried, then given up', () => {
    const one = [batch[0]];
    expect(planNextStep(one, error, 0, bisect).kind).toBe('retry');
    expect(planNextStep(one, error, 2, bisect).kind).toBe('give_up');
  });
});

describe('expiredRecordCount: MaximumRecordAgeInSeconds', () => {
  const now = 1_700_000_000_000;
  const aged = [120, 61, 60, 0].map((age, i) => record(i + 1, now / 1000 - age));

  test('records older than the maximum age at the head of the batch are expired; one exactly at it is not', () => {
    expect(expiredRecordCount(aged, now, 60)).toBe(2);
  });

  test('all expired, none expired, and -1 (never)', () => {
    expect(expiredRecordCount(aged, now + 3_600_000, 60)).toBe(4);
    expect(expiredRecordCount(aged, now, 600)).toBe(0);
    expect(expiredRecordCount(aged, now + 3_600_000, -1)).toBe(0);
  });
});

describe('withinPayloadLimit', () => {
  // Each 300-byte record counts as its base64 (400) plus 500 bytes of JSON: 900.
  const records = [1, 2, 3].map((n) => record(n, 1_700_000_000, 300));

  test('keeps the head of the batch whose event fits the limit', () => {
    expect(withinPayloadLimit(records, 1800)).toEqual(records.slice(0, 2));
    expect(withinPayloadLimit(records, 1799)).toEqual(records.slice(0, 1));
    expect(withinPayloadLimit(records)).toEqual(records);
  });

  test('a record above the limit still goes, alone, so a shard never stalls', () => {
    expect(withinPayloadLimit(records, 100)).toEqual(records.slice(0, 1));
    expect(withinPayloadLimit([], 100)).toEqual([]);
  });
});

describe('kinesisFailureRecord', () => {
  test("describes the records as AWS's invocation record for stream sources", () => {
    const records = [record(7, 1_700_000_000.5), record(8, 1_700_000_001.25)];
    const described = kinesisFailureRecord(records, {
      condition: 'RetryAttemptsExhausted',
      invokeCount: 4,
      last: { ...handledError, kind: 'timeout' },
      functionArn: 'arn:aws:lambda:us-east-1:000000000000:function:resize',
      streamArn: STREAM_ARN,
      nowMs: Date.UTC(2026, 0, 2, 3, 4, 5),
    });
    expect(described).toEqual({
      requestContext: {
        requestId: 'req-2',
        functionArn: 'arn:aws:lambda:us-east-1:000000000000:function:resize',
        condition: 'RetryAttemptsExhausted',
        approximateInvokeCount: 4,
      },
      responseContext: { statusCode: 200, executedVersion: '$LATEST', functionError: 'Unhandled' },
      version: '1.0',
      timestamp: '2026-01-02T03:04:05.000Z',
      KinesisBatchInfo: {
        shardId: SHARD,
        startSequenceNumber: records[0].sequenceNumber,
        endSequenceNumber: records[1].sequenceNumber,
        approximateArrivalOfFirstRecord: '2023-11-14T22:13:20.500Z',
        approximateArrivalOfLastRecord: '2023-11-14T22:13:21.250Z',
        batchSize: 2,
        streamArn: STREAM_ARN,
      },
    });
  });

  test('a handled error is `Handled`; records given up for age, or after a partial response, carry no function error', () => {
    const base = { invokeCount: 1, functionArn: 'f', streamArn: STREAM_ARN, nowMs: 0 };
    expect(
      kinesisFailureRecord(batch, { ...base, condition: 'RetryAttemptsExhausted', last: handledError }).responseContext
        .functionError,
    ).toBe('Handled');
    const aged = kinesisFailureRecord(batch, { ...base, condition: 'RecordAgeExceeded', invokeCount: 0 });
    expect(aged.responseContext).toEqual({ statusCode: 200, executedVersion: '$LATEST' });
    expect(aged.requestContext).toEqual({
      requestId: '',
      functionArn: 'f',
      condition: 'RecordAgeExceeded',
      approximateInvokeCount: 0,
    });
  });
});
