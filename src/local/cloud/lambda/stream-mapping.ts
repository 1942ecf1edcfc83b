/**
 * The Kinesis → Lambda event source mapping, as AWS runs it: per shard, in order, one batch in
 * flight; batches of up to `batchSize` records (and under the 6 MB invoke limit) invoked with the
 * real Kinesis event. A record is never skipped silently: after a batch the shard's checkpoint
 * moves past records that succeeded, and every other record is either retried or, once
 * `maximumRetryAttempts` or `maximumRecordAgeSeconds` is exhausted, described to the on-failure
 * destination (AWS's invocation record with `KinesisBatchInfo`) before the shard moves on.
 *
 * - A partial batch response (`batchItemFailures` by sequence number) checkpoints just before the
 *   lowest failed sequence number and retries from there.
 * - A function error (handler error, init error, timeout, crash) or an invalid response retries the
 *   whole batch; with `bisectBatchOnFunctionError` the batch is split in two first and each half
 *   retried in order (splitting does not count as a retry, as on AWS).
 */
import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { checkInt } from '../../../core/checks';
import { configError } from '../../../core/errors';
import { readBatchResponse } from './event-source-mapping';
import type { LocalStream, StreamRecord } from '../kinesis/stream';
import type { InvokeFn, InvokeResult, LogSink } from './invoke-contract';

/** Lambda's Kinesis event record. */
export interface KinesisEventRecord {
  kinesis: {
    kinesisSchemaVersion: '1.0';
    partitionKey: string;
    sequenceNumber: string;
    /** base64 */
    data: string;
    approximateArrivalTimestamp: number;
  };
  eventSource: 'aws:kinesis';
  eventVersion: '1.0';
  eventID: string;
  eventName: 'aws:kinesis:record';
  invokeIdentityArn: string;
  awsRegion: string;
  eventSourceARN: string;
}

/** What the mapping sends to its on-failure destination: AWS's invocation record for stream sources. */
export interface KinesisFailureRecord {
  requestContext: { requestId: string; functionArn: string; condition: 'RetryAttemptsExhausted' | 'RecordAgeExceeded'; approximateInvokeCount: number };
  responseContext: { statusCode: number; executedVersion: string; functionError?: string };
  version: '1.0';
  timestamp: string;
  KinesisBatchInfo: {
    shardId: string;
    startSequenceNumber: string;
    endSequenceNumber: string;
    approximateArrivalOfFirstRecord: string;
    approximateArrivalOfLastRecord: string;
    batchSize: number;
    streamArn: string;
  };
}

/** Delivers a failure record; throws when it could not (the mapping retries it). */
export type FailureDestination = (record: KinesisFailureRecord) => Promise<void>;

/** An on-failure destination that is an SQS queue (through the stand-in, or any SQS endpoint). */
export function sqsFailureDestination(sqs: SQSClient, queueUrl: string): FailureDestination {
  return async (record) => {
    await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: JSON.stringify(record) }));
  };
}

export interface StreamMappingOptions {
  stream: LocalStream;
  invoke: InvokeFn;
  /** Names the mapping's checkpoints on the stream; a mapping started again under it resumes there. @default 'resize' */
  consumerName?: string;
  /** For failure records. @default 'arn:aws:lambda:<region>:000000000000:function:resize' */
  functionArn?: string;
  /** Records per invoke, 1..10000. @default 100 (AWS's default for Kinesis) */
  batchSize?: number;
  /** Where a shard without a checkpoint starts. @default 'LATEST' */
  startingPosition?: 'LATEST' | 'TRIM_HORIZON';
  /** Split a batch in two on a function error. @default false (AWS's default; the module sets true) */
  bisectBatchOnFunctionError?: boolean;
  /** -1 (until the record expires) or 0..10000. @default -1 */
  maximumRetryAttempts?: number;
  /** -1 (never) or 60..604800. @default -1 */
  maximumRecordAgeSeconds?: number;
  /** @default ['ReportBatchItemFailures'] */
  functionResponseTypes?: 'ReportBatchItemFailures'[];
  /** 1..10. Accepted for parity; locally each shard is processed by one batch at a time (stricter ordering). @default 1 */
  parallelizationFactor?: number;
  /** @default - none: exhausted records are logged (`stream.discarded`) and the shard moves on */
  onFailure?: FailureDestination;
  /** Wait before a retry; doubles per attempt up to 2 s. @default 50 */
  retryDelayMs?: number;
  /** How often an idle shard looks for records when no put woke it. @default 250 */
  pollIntervalMs?: number;
  /** @default one JSON line per event on stdout */
  logSink?: LogSink;
  /** Clock, for record age. @default Date.now */
  now?: () => number;
}

export interface StreamMappingStats {
  /** Invokes made (retries included). */
  batches: number;
  /** Records handed to the function (a retried record counts again). */
  recordsInvoked: number;
  invokeErrors: number;
  invalidResponses: number;
  /** Batches answered with a non-empty batchItemFailures. */
  partialFailures: number;
  retries: number;
  bisections: number;
  /** Records described to the on-failure destination. */
  recordsToFailureDestination: number;
  /** Records given up without a destination (logged). */
  recordsDiscarded: number;
  failureDestinationErrors: number;
}

export interface StreamMapping {
  /** Stops reading; the batch in flight on each shard finishes (its outcome is checkpointed). */
  stop(): Promise<void>;
  stats(): StreamMappingStats;
  /** True when every shard's checkpoint is at its last record and nothing is in flight. */
  caughtUp(): boolean;
  /** Resolves once `caughtUp()`, or rejects after `timeoutMs`. */
  waitUntilCaughtUp(timeoutMs?: number): Promise<void>;
}

/** Lambda's invoke payload limit. */
const MAX_PAYLOAD_BYTES = 6 * 1024 * 1024;

/** Builds one record of Lambda's Kinesis event. */
export function toKinesisEventRecord(record: StreamRecord, streamArn: string, region: string, invokeIdentityArn = 'arn:aws:iam::000000000000:role/local-resize-role'): KinesisEventRecord {
  return {
    kinesis: {
      kinesisSchemaVersion: '1.0',
      partitionKey: record.partitionKey,
      sequenceNumber: record.sequenceNumber,
      data: record.data.toString('base64'),
      approximateArrivalTimestamp: record.approximateArrivalTimestamp,
    },
    eventSource: 'aws:kinesis',
    eventVersion: '1.0',
    eventID: `${record.shardId}:${record.sequenceNumber}`,
    eventName: 'aws:kinesis:record',
    invokeIdentityArn,
    awsRegion: region,
    eventSourceARN: streamArn,
  };
}

/** The mapping's settings with defaults applied; throws INVALID_CONFIG naming the first bad one. */
export function streamMappingSettings(opts: Omit<StreamMappingOptions, 'stream' | 'invoke'>) {
  const batchSize = checkInt('batchSize', opts.batchSize ?? 100, 1, 10000);
  const maximumRetryAttempts = checkInt('maximumRetryAttempts', opts.maximumRetryAttempts ?? -1, -1, 10000);
  const maximumRecordAgeSeconds = checkInt('maximumRecordAgeSeconds', opts.maximumRecordAgeSeconds ?? -1, -1, 604800);
  if (maximumRecordAgeSeconds !== -1 && maximumRecordAgeSeconds < 60) throw configError('maximumRecordAgeSeconds', `${maximumRecordAgeSeconds} is neither -1 nor an integer in 60..604800`);
  const parallelizationFactor = checkInt('parallelizationFactor', opts.parallelizationFactor ?? 1, 1, 10);
  const startingPosition = opts.startingPosition ?? 'LATEST';
  if (startingPosition !== 'LATEST' && startingPosition !== 'TRIM_HORIZON') throw configError('startingPosition', `must be LATEST or TRIM_HORIZON, got ${JSON.stringify(startingPosition)}`);
  const retryDelayMs = checkInt('retryDelayMs', opts.retryDelayMs ?? 50, 0, 60000);
  const pollIntervalMs = checkInt('pollIntervalMs', opts.pollIntervalMs ?? 250, 1, 60000);
  return { batchSize, maximumRetryAttempts, maximumRecordAgeSeconds, parallelizationFactor, startingPosition, retryDelayMs, pollIntervalMs };
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Thrown inside a shard loop when stop() interrupts a retry: the checkpoint stays where it is. */
class Stopping extends Error {}

type BatchOutcome = { kind: 'success' } | { kind: 'partial'; lowestFailed: number } | { kind: 'error'; result: InvokeResult; reason: string };

/** Every counter of a stream mapping at zero. */
export function emptyStreamMappingStats(): StreamMappingStats {
  return {
    batches: 0,
    recordsInvoked: 0,
    invokeErrors: 0,
    invalidResponses: 0,
    partialFailures: 0,
    retries: 0,
    bisections: 0,
    recordsToFailureDestination: 0,
    recordsDiscarded: 0,
    failureDestinationErrors: 0,
  };
}

/**
 * Starts the mapping at once: one loop per shard. Defaults as AWS's: batch 100, LATEST, no bisect,
 * retries until the record expires (-1), partial batch responses on.
 */
export function startStreamMapping(opts: StreamMappingOptions): StreamMapping {
  const settings = streamMappingSettings(opts);
  const { stream } = opts;
  const consumer = opts.consumerName ?? 'resize';
  const functionArn = opts.functionArn ?? `arn:aws:lambda:${stream.region}:000000000000:function:resize`;
  const reportItemFailures = (opts.functionResponseTypes ?? ['ReportBatchItemFailures']).includes('ReportBatchItemFailures');
  const log: LogSink = opts.logSink ?? ((line) => process.stdout.write(JSON.stringify(line) + '\n'));
  const now = opts.now ?? Date.now;
  const stats = emptyStreamMappingStats();
  let stopping = false;
  let inFlight = 0;
  const wakers = new Map<string, () => void>();
  const caughtUpWaiters = new Set<() => void>();

  // LATEST: a shard without a checkpoint starts after whatever it holds now.
  for (const shardId of stream.shardIds) {
    if (stream.checkpointOf(consumer, shardId) !== undefined) continue;
    const last = settings.startingPosition === 'LATEST' ? stream.lastSequenceNumber(shardId) : undefined;
    if (last !== undefined) stream.checkpoint(consumer, shardId, last);
  }

  const isCaughtUp = (): boolean => inFlight === 0 && stream.shardIds.every((shardId) => stream.lastSequenceNumber(shardId) === undefined || stream.checkpointOf(consumer, shardId) === stream.lastSequenceNumber(shardId));
  const notifyIfCaughtUp = (): void => {
    if (!isCaughtUp()) return;
    for (const resolve of caughtUpWaiters) resolve();
    caughtUpWaiters.clear();
  };

  const unsubscribe = stream.onPut((shardId) => wakers.get(shardId)?.());

  function checkpoint(record: StreamRecord): void {
    stream.checkpoint(consumer, record.shardId, record.sequenceNumber);
  }

  async function invokeBatch(records: StreamRecord[]): Promise<BatchOutcome> {
    stats.batches += 1;
    stats.recordsInvoked += records.length;
    const event = { Records: records.map((r) => toKinesisEventRecord(r, stream.arn, stream.region)) };
    let result: InvokeResult;
    try {
      result = await opts.invoke(event);
    } catch (err) {
      result = { ok: false, requestId: '', kind: 'crash', error: { errorType: err instanceof Error ? err.name : 'Error', errorMessage: err instanceof Error ? err.message : String(err) }, durationMs: 0 };
    }
    const base = {
      event: 'stream.batch',
      streamArn: stream.arn,
      shardId: records[0]?.shardId,
      size: records.length,
      firstSequenceNumber: records[0]?.sequenceNumber,
      lastSequenceNumber: records[records.length - 1]?.sequenceNumber,
      requestId: result.requestId,
      durationMs: result.durationMs,
    };
    if (!result.ok) {
      stats.invokeErrors += 1;
      log({ ...base, level: 'warn', outcome: 'invoke_error', kind: result.kind, errorType: result.error.errorType, errorMessage: result.error.errorMessage });
      return { kind: 'error', result, reason: `${result.kind}: ${result.error.errorType}` };
    }
    if (!reportItemFailures) {
      log({ ...base, outcome: 'success' });
      return { kind: 'success' };
    }
    const verdict = readBatchResponse(result.payload, new Set(records.map((r) => r.sequenceNumber)));
    if (!verdict.valid) {
      stats.invalidResponses += 1;
      log({ ...base, level: 'warn', outcome: 'invalid_response', reason: verdict.reason });
      return { kind: 'error', result, reason: `invalid response: ${verdict.reason}` };
    }
    if (verdict.failedIds.size === 0) {
      log({ ...base, outcome: 'success' });
      return { kind: 'success' };
    }
    stats.partialFailures += 1;
    // AWS resumes from the lowest failed sequence number: everything before it succeeded.
    const lowestFailed = records.findIndex((r) => verdict.failedIds.has(r.sequenceNumber));
    log({ ...base, outcome: 'partial', failures: verdict.failedIds.size, retryFrom: records[lowestFailed]?.sequenceNumber });
    return { kind: 'partial', lowestFailed };
  }

  function failureRecord(records: StreamRecord[], condition: KinesisFailureRecord['requestContext']['condition'], invokeCount: number, last?: InvokeResult): KinesisFailureRecord {
    const first = records[0] as StreamRecord;
    const final = records[records.length - 1] as StreamRecord;
    const iso = (seconds: number): string => new Date(seconds * 1000).toISOString();
    return {
      requestContext: { requestId: last?.requestId ?? '', functionArn, condition, approximateInvokeCount: invokeCount },
      responseContext: { statusCode: 200, executedVersion: '$LATEST', ...(last && !last.ok ? { functionError: last.kind === 'handled' ? 'Handled' : 'Unhandled' } : {}) },
      version: '1.0',
      timestamp: new Date(now()).toISOString(),
      KinesisBatchInfo: {
        shardId: first.shardId,
        startSequenceNumber: first.sequenceNumber,
        endSequenceNumber: final.sequenceNumber,
        approximateArrivalOfFirstRecord: iso(first.approximateArrivalTimestamp),
        approximateArrivalOfLastRecord: iso(final.approximateArrivalTimestamp),
        batchSize: records.length,
        streamArn: stream.arn,
      },
    };
  }

  /** Hands records over to the on-failure destination (retrying the send until stop()), then checkpoints them. */
  async function giveUp(records: StreamRecord[], condition: KinesisFailureRecord['requestContext']['condition'], invokeCount: number, last?: InvokeResult): Promise<void> {
    const record = failureRecord(records, condition, invokeCount, last);
    if (opts.onFailure) {
      let delay = settings.retryDelayMs || 50;
      for (;;) {
        try {
          await opts.onFailure(record);
          break;
        } catch (err) {
          stats.failureDestinationErrors += 1;
          log({ event: 'stream.failure_destination_error', level: 'warn', streamArn: stream.arn, shardId: record.KinesisBatchInfo.shardId, error: err instanceof Error ? err.message : String(err) });
          if (stopping) throw new Stopping();
          await sleep(delay);
          delay = Math.min(delay * 2, 2000);
        }
      }
      stats.recordsToFailureDestination += records.length;
      log({ event: 'stream.sent_to_failure_destination', level: 'warn', ...record.KinesisBatchInfo, condition, approximateInvokeCount: invokeCount });
    } else {
      stats.recordsDiscarded += records.length;
      log({ event: 'stream.discarded', level: 'error', ...record.KinesisBatchInfo, condition, approximateInvokeCount: invokeCount });
    }
    checkpoint(records[records.length - 1] as StreamRecord);
  }

  const exhausted = (retries: number): boolean => settings.maximumRetryAttempts !== -1 && retries > settings.maximumRetryAttempts;

  async function retryPause(retries: number): Promise<void> {
    if (stopping) throw new Stopping();
    await sleep(Math.min(settings.retryDelayMs * 2 ** Math.max(0, retries - 1), 2000));
    if (stopping) throw new Stopping();
  }

  /** Finishes `records` (one shard, in order): each ends checkpointed as done or given up. */
  async function deliver(records: StreamRecord[], retriesSoFar: number, invokesSoFar: number): Promise<void> {
    let current = records;
    let retries = retriesSoFar;
    let invokes = invokesSoFar;
    while (current.length > 0) {
      if (settings.maximumRecordAgeSeconds !== -1) {
        // Records arrive in order, so the expired ones are a prefix.
        const limit = now() / 1000 - settings.maximumRecordAgeSeconds;
        const expired = current.findIndex((r) => r.approximateArrivalTimestamp >= limit);
        const count = expired === -1 ? current.length : expired;
        if (count > 0) {
          await giveUp(current.slice(0, count), 'RecordAgeExceeded', invokes);
          current = current.slice(count);
          continue;
        }
      }
      const outcome = await invokeBatch(current);
      invokes += 1;
      if (outcome.kind === 'success') {
        checkpoint(current[current.length - 1] as StreamRecord);
        return;
      }
      if (outcome.kind === 'partial') {
        if (outcome.lowestFailed > 0) checkpoint(current[outcome.lowestFailed - 1] as StreamRecord);
        current = current.slice(outcome.lowestFailed);
        retries += 1;
        if (exhausted(retries)) {
          await giveUp(current, 'RetryAttemptsExhausted', invokes);
          return;
        }
        stats.retries += 1;
        await retryPause(retries);
        continue;
      }
      if (opts.bisectBatchOnFunctionError && current.length > 1) {
        stats.bisections += 1;
        const middle = Math.ceil(current.length / 2);
        log({ event: 'stream.bisect', streamArn: stream.arn, shardId: current[0]?.shardId, halves: [middle, current.length - middle] });
        await deliver(current.slice(0, middle), retries, invokes);
        await deliver(current.slice(middle), retries, invokes);
        return;
      }
      retries += 1;
      if (exhausted(retries)) {
        await giveUp(current, 'RetryAttemptsExhausted', invokes, outcome.result);
        return;
      }
      stats.retries += 1;
      await retryPause(retries);
    }
  }

  /** Reads the next batch of a shard: up to batchSize records and under the payload limit. */
  function nextBatch(shardId: string): StreamRecord[] {
    const records = stream.read(shardId, stream.checkpointOf(consumer, shardId), settings.batchSize);
    let bytes = 0;
    const batch: StreamRecord[] = [];
    for (const record of records) {
      // base64 grows data by a third; the rest of the record is about 500 bytes of JSON.
      const size = Math.ceil((record.data.length * 4) / 3) + 500;
      if (batch.length > 0 && bytes + size > MAX_PAYLOAD_BYTES) break;
      batch.push(record);
      bytes += size;
    }
    return batch;
  }

  async function shardLoop(shardId: string): Promise<void> {
    while (!stopping) {
      const batch = nextBatch(shardId);
      if (batch.length === 0) {
        notifyIfCaughtUp();
        await new Promise<void>((resolve) => {
          const timer = setTimeout(done, settings.pollIntervalMs);
          function done(): void {
            clearTimeout(timer);
            wakers.delete(shardId);
            resolve();
          }
          wakers.set(shardId, done);
        });
        continue;
      }
      inFlight += 1;
      try {
        await deliver(batch, 0, 0);
      } catch (err) {
        if (!(err instanceof Stopping)) throw err;
      } finally {
        inFlight -= 1;
      }
    }
  }

  const loops = stream.shardIds.map((shardId) =>
    shardLoop(shardId).catch((err: unknown) => {
      log({ event: 'stream.shard_error', level: 'error', streamArn: stream.arn, shardId, error: err instanceof Error ? err.message : String(err) });
    }),
  );
  log({ event: 'stream.mapping_started', streamArn: stream.arn, consumer, shards: stream.shardIds.length, ...settings, reportItemFailures, onFailure: !!opts.onFailure });

  let stopped: Promise<void> | undefined;
  return {
    stop() {
      stopped ??= (async () => {
        stopping = true;
        for (const wake of [...wakers.values()]) wake();
        await Promise.all(loops);
        unsubscribe();
        log({ event: 'stream.mapping_stopped', streamArn: stream.arn, ...stats });
      })();
      return stopped;
    },
    stats: () => ({ ...stats }),
    caughtUp: isCaughtUp,
    waitUntilCaughtUp(timeoutMs = 30000) {
      if (isCaughtUp()) return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => {
          caughtUpWaiters.delete(done);
          reject(new Error(`stream mapping on ${stream.name} not caught up after ${timeoutMs} ms`));
        }, timeoutMs);
        function done(): void {
          clearTimeout(timer);
          resolve();
        }
        caughtUpWaiters.add(done);
      });
    },
  };
}
