// The SQS mapping's steps one by one, each against the behaviour AWS documents for SQS event
// source mappings (ReportBatchItemFailures, failed invokes, batching window, batch APIs of 10).
// The whole mapping runs against the real stand-in in test/integration/event-source-mapping.test.ts.
import type { Message } from '@aws-sdk/client-sqs';
import {
  Backoff,
  GatheringBatch,
  chunksOf,
  invokeOrCrash,
  judgeSqsBatch,
  receiveWaitSeconds,
} from '../../src/local/cloud/lambda/event-source-mapping';
import type { InvokeResult } from '../../src/local/cloud/lambda/invoke-contract';

const message = (id: string, body = `body-${id}`): Message => ({
  MessageId: id,
  ReceiptHandle: `rh-${id}`,
  Body: body,
});
const batch = ['a', 'b', 'c', 'd'].map((id) => message(id));
const ok = (payload: unknown): InvokeResult => ({ ok: true, requestId: 'req-1', payload, durationMs: 2 });
const timedOut: Extract<InvokeResult, { ok: false }> = {
  ok: false,
  requestId: 'req-2',
  kind: 'timeout',
  error: { errorType: 'Sandbox.Timedout', errorMessage: 'Task timed out' },
  durationMs: 2,
};
const ids = (messages: readonly Message[]): (string | undefined)[] => messages.map((m) => m.MessageId);

describe('judgeSqsBatch: which messages the mapping deletes', () => {
  test('with ReportBatchItemFailures, every message but the listed ones is deleted', () => {
    const outcome = judgeSqsBatch(
      batch,
      ok({ batchItemFailures: [{ itemIdentifier: 'c' }, { itemIdentifier: 'a' }] }),
      true,
    );
    expect(outcome).toMatchObject({ kind: 'partial', failed: 2 });
    expect(ids(outcome.toDelete)).toEqual(['b', 'd']);
  });

  test.each([
    ['a null response', null],
    ['an object without batchItemFailures', { statusCode: 200 }],
    ['an empty batchItemFailures', { batchItemFailures: [] }],
  ])('%s deletes the whole batch', (_, payload) => {
    const outcome = judgeSqsBatch(batch, ok(payload), true);
    expect(outcome).toMatchObject({ kind: 'success', failed: 0 });
    expect(ids(outcome.toDelete)).toEqual(['a', 'b', 'c', 'd']);
  });

  test.each([
    ['an empty itemIdentifier', { batchItemFailures: [{ itemIdentifier: '' }] }],
    ['an entry without itemIdentifier', { batchItemFailures: [{ messageId: 'a' }] }],
    ['an id that is not a message of the batch', { batchItemFailures: [{ itemIdentifier: 'z' }] }],
    ['a list instead of an object', [{ itemIdentifier: 'a' }]],
  ])('%s fails the whole batch: nothing is deleted', (_, payload) => {
    expect(judgeSqsBatch(batch, ok(payload), true)).toEqual({
      kind: 'invalid_response',
      reason: expect.any(String),
      toDelete: [],
    });
  });

  test('a failed invoke (error, timeout, crash) keeps the whole batch for the visibility timeout', () => {
    expect(judgeSqsBatch(batch, timedOut, true)).toEqual({ kind: 'invoke_error', result: timedOut, toDelete: [] });
    expect(judgeSqsBatch(batch, timedOut, false)).toEqual({ kind: 'invoke_error', result: timedOut, toDelete: [] });
  });

  test('without ReportBatchItemFailures the response is not read: a returned invoke deletes everything', () => {
    const outcome = judgeSqsBatch(batch, ok({ batchItemFailures: [{ itemIdentifier: 'a' }] }), false);
    expect(outcome).toMatchObject({ kind: 'success', failed: 0 });
    expect(ids(outcome.toDelete)).toEqual(['a', 'b', 'c', 'd']);
  });
});

describe('invokeOrCrash', () => {
  test('returns what the function returned', async () => {
    expect(await invokeOrCrash(async () => ok(1), {})).toEqual(ok(1));
    expect(await invokeOrCrash(async () => timedOut, {})).toBe(timedOut);
  });

  test('an invoke that cannot be made is a crash carrying the error', async () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED'), { name: 'SandboxGone' });
    expect(
      await invokeOrCrash(async () => {
        throw refused;
      }, {}),
    ).toEqual({
      ok: false,
      requestId: '',
      kind: 'crash',
      error: { errorType: 'SandboxGone', errorMessage: 'connect ECONNREFUSED' },
      durationMs: 0,
    });
    expect(
      await invokeOrCrash(async () => {
        // eslint-disable-next-line @typescript-eslint/only-throw-error -- a thrown non-Error is the case under test
        throw 'plain';
      }, {}),
    ).toMatchObject({ kind: 'crash', error: { errorType: 'Error', errorMessage: 'plain' } });
  });
});

describe('chunksOf: the batch APIs take 10 entries at most', () => {
  test('splits 25 into 10, 10, 5 in order; none for none', () => {
    const items = Array.from({ length: 25 }, (_, i) => i);
    expect(chunksOf(items).map((chunk) => chunk.length)).toEqual([10, 10, 5]);
    expect(chunksOf(items).flat()).toEqual(items);
    expect(chunksOf([])).toEqual([]);
    expect(chunksOf([1, 2, 3], 2)).toEqual([[1, 2], [3]]);
  });
});

describe('receiveWaitSeconds', () => {
  test('long-polls for the configured wait while the window is open or not started', () => {
    expect(receiveWaitSeconds(Infinity, 1)).toBe(1);
    expect(receiveWaitSeconds(20_000, 5)).toBe(5);
  });

  test('never waits past the batching window: whole seconds left, a short poll under one', () => {
    expect(receiveWaitSeconds(2_500, 5)).toBe(2);
    expect(receiveWaitSeconds(999, 5)).toBe(0);
  });
});

describe('GatheringBatch', () => {
  test('holds a redelivered message once, its latest copy (the live receipt handle), and counts only new ones', () => {
    const gathering = new GatheringBatch();
    expect(gathering.add([message('a'), message('b')])).toBe(2);
    const again = { ...message('a'), ReceiptHandle: 'rh-a-2' };
    expect(gathering.add([again, message('c')])).toBe(1);
    expect(gathering.size).toBe(3);
    expect(gathering.messages().map((m) => m.ReceiptHandle)).toEqual(['rh-a-2', 'rh-b', 'rh-c']);
  });

  test('counts body bytes (UTF-8) towards the payload limit', () => {
    const gathering = new GatheringBatch();
    gathering.add([message('a', 'ü'.repeat(10)), message('b', '')]);
    expect(gathering.bytes).toBe(20);
  });
});

describe('Backoff', () => {
  test('doubles up to its maximum and starts over after a success', () => {
    const backoff = new Backoff(200, 1000);
    expect([backoff.next(), backoff.next(), backoff.next(), backoff.next()]).toEqual([200, 400, 800, 1000]);
    backoff.reset();
    expect(backoff.next()).toBe(200);
  });
});
