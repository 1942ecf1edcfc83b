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
import { configError, errorMessage } from '../../../core/errors';
import { Backoff, invokeErrorLogFields, invokeOrCrash, readBatchResponse } from './event-source-mapping';
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
  requestContext: {
    requestId: string;
    functionArn: string;
    condition: 'RetryAttemptsExhausted' | 'RecordAgeExceeded';
    approximateInvokeCount: number;
  };
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
  /**
   * Names the mapping's checkpoints on the stream; a mapping started again under it resumes there.
   * @default 'resize'
   */
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
  /**
   * 1..10. Accepted for parity; locally each shard is processed by one batch at a time (stricter ordering).
   * @default 1
   */
  parallelizationFactor?: number;
  /** @default - none: exhausted records are logged (`stream.discarded`) and the shard moves on */
  onFailure?: FailureDestination;
  /** Wait before a retry; doubles per attempt up to 2 s. @default 50 */
  retryDelayMs?: number;
  /** How often an idle shard looks for records when no put woke it. @default 250 */
  pollIntervalMs?: number;
  /**
   * Asked before each read of a shard: the permission the mapping's role lacks to read the stream
   * (Lambda reads as the function's execution role), with the principal, or undefined when it may
   * read. A denied read is logged (`stream.read_denied`) and tried again after the poll interval; the
   * shard's checkpoint stays, so no record is skipped. @default every read allowed
   */
  readDenied?: () => { principal: string; action: string; resource: string } | undefined;
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
export function toKinesisEventRecord(
  record: StreamRecord,
  streamArn: string,
  region: string,
  invokeIdentityArn = 'arn:aws:iam::000000000000:role/local-resize-role',
): KinesisEventRecord {
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
  if (maximumRecordAgeSeconds !== -1 && maximumRecordAgeSeconds < 60)
    throw configError(
      'maximumRecordAgeSeconds',
      `${maximumRecordAgeSeconds} is neither -1 nor an integer in 60..604800`,
    );
  const parallelizationFactor = checkInt('parallelizationFactor', opts.parallelizationFactor ?? 1, 1, 10);
  const startingPosition = opts.startingPosition ?? 'LATEST';
  if (startingPosition !== 'LATEST' && startingPosition !== 'TRIM_HORIZON')
    throw configError('startingPosition', `must be LATEST or TRIM_HORIZON, got ${JSON.stringify(startingPosition)}`);
  const retryDelayMs = checkInt('retryDelayMs', opts.retryDelayMs ?? 50, 0, 60000);
  const pollIntervalMs = checkInt('pollIntervalMs', opts.pollIntervalMs ?? 250, 1, 60000);
  return {
    batchSize,
    maximumRetryAttempts,
    maximumRecordAgeSeconds,
    parallelizationFactor,
    startingPosition,
    retryDelayMs,
    pollIntervalMs,
  };
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Thrown inside a shard loop when stop() interrupts a retry: the checkpoint stays where it is. */
class Stopping extends Error {}

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

/** Why the mapping gives records up, in AWS's words (the failure record's `condition`). */
export type GiveUpCondition = KinesisFailureRecord['requestContext']['condition'];

/** What one invoke of a batch came to. `lowestFailed` indexes the batch (records are in sequence order). */
export type StreamBatchOutcome =
  | { kind: 'success' }
  | { kind: 'partial'; lowestFailed: number; failures: number }
  | { kind: 'invoke_error'; result: Extract<InvokeResult, { ok: false }> }
  | { kind: 'invalid_response'; result: InvokeResult; reason: string };

/**
 * Reads one invoke's result as Lambda reads a stream batch's. A failed invoke fails the whole
 * batch. Without ReportBatchItemFailures any returned payload is success; with it, a malformed
 * response fails the whole batch, and listed sequence numbers make it partial from the lowest one.
 */
export function judgeStreamBatch(
  records: readonly StreamRecord[],
  result: InvokeResult,
  reportItemFailures: boolean,
): StreamBatchOutcome {
  if (!result.ok) return { kind: 'invoke_error', result };
  if (!reportItemFailures) return { kind: 'success' };
  const verdict = readBatchResponse(result.payload, new Set(records.map((r) => r.sequenceNumber)));
  if (!verdict.valid) return { kind: 'invalid_response', result, reason: verdict.reason };
  if (verdict.failedIds.size === 0) return { kind: 'success' };
  // Lambda resumes from the lowest failed sequence number: everything before it succeeded.
  const lowestFailed = records.findIndex((r) => verdict.failedIds.has(r.sequenceNumber));
  return { kind: 'partial', lowestFailed, failures: verdict.failedIds.size };
}

/**
 * How many records at the head of `records` (in arrival order) are older than
 * `maximumRecordAgeSeconds` at `nowMs`; -1 means none ever are.
 */
export function expiredRecordCount(
  records: readonly StreamRecord[],
  nowMs: number,
  maximumRecordAgeSeconds: number,
): number {
  if (maximumRecordAgeSeconds === -1) return 0;
  // Records arrive in order, so the expired ones are a prefix.
  const limit = nowMs / 1000 - maximumRecordAgeSeconds;
  const firstFresh = records.findIndex((r) => r.approximateArrivalTimestamp >= limit);
  return firstFresh === -1 ? records.length : firstFresh;
}

/** Splits a failing batch in two, the first half the larger: BisectBatchOnFunctionError's halves. */
export function bisectBatch<T>(records: readonly T[]): [T[], T[]] {
  const middle = Math.ceil(records.length / 2);
  return [records.slice(0, middle), records.slice(middle)];
}

/** The retry rules of a stream mapping. */
export interface RetryPolicy {
  /** -1: until the record expires. */
  maximumRetryAttempts: number;
  /** First wait; it doubles per retry up to 2 s. */
  retryDelayMs: number;
}

/** The longest wait between two retries of a batch. */
const MAX_RETRY_DELAY_MS = 2000;

/**
 * After a failed attempt: `retries` counts it (the first invoke is not a retry, as in
 * MaximumRetryAttempts). Gives up once retries exceed the maximum; otherwise waits `retryDelayMs`
 * doubled per earlier retry, up to 2 s.
 */
export function planRetry(
  retries: number,
  policy: RetryPolicy,
): { kind: 'retry'; retries: number; delayMs: number } | { kind: 'give_up'; retries: number } {
  if (policy.maximumRetryAttempts !== -1 && retries > policy.maximumRetryAttempts) return { kind: 'give_up', retries };
  return {
    kind: 'retry',
    retries,
    delayMs: Math.min(policy.retryDelayMs * 2 ** Math.max(0, retries - 1), MAX_RETRY_DELAY_MS),
  };
}

/**
 * Where the shard's checkpoint moves after an outcome: the last record on success, the record
 * before the lowest failed one on a partial response (none when the first failed), else nowhere.
 */
export function nextCheckpoint<T>(records: readonly T[], outcome: StreamBatchOutcome): T | undefined {
  if (outcome.kind === 'success') return records[records.length - 1];
  if (outcome.kind === 'partial' && outcome.lowestFailed > 0) return records[outcome.lowestFailed - 1];
  return undefined;
}

/** What the mapping does after an invoke of `records`. */
export type StreamStep<T> =
  | { kind: 'done'; checkpoint: T | undefined }
  | { kind: 'bisect'; halves: [T[], T[]] }
  | { kind: 'retry'; checkpoint: T | undefined; records: T[]; retries: number; delayMs: number }
  | { kind: 'give_up'; checkpoint: T | undefined; records: T[]; retries: number; last?: InvokeResult };

/**
 * The mapping's rule for the next step, as AWS documents it: success checkpoints the batch; a
 * partial response checkpoints before the lowest failure and retries from there; a function error
 * or invalid response bisects (when on and the batch has two or more records, not counted as a
 * retry) or retries the whole batch; past MaximumRetryAttempts the remaining records are given up.
 */
export function planNextStep<T>(
  records: readonly T[],
  outcome: StreamBatchOutcome,
  retries: number,
  policy: RetryPolicy & { bisectBatchOnFunctionError: boolean },
): StreamStep<T> {
  const checkpoint = nextCheckpoint(records, outcome);
  if (outcome.kind === 'success') return { kind: 'done', checkpoint };
  if (outcome.kind === 'partial')
    return { ...planRetry(retries + 1, policy), checkpoint, records: records.slice(outcome.lowestFailed) };
  if (policy.bisectBatchOnFunctionError && records.length > 1) return { kind: 'bisect', halves: bisectBatch(records) };
  const retry = planRetry(retries + 1, policy);
  return retry.kind === 'give_up'
    ? { ...retry, checkpoint, records: [...records], last: outcome.result }
    : { ...retry, checkpoint, records: [...records] };
}

/** Lambda's estimate of one record in the event: base64 grows data by a third; the rest is about 500 bytes of JSON. */
function eventBytes(record: StreamRecord): number {
  return Math.ceil((record.data.length * 4) / 3) + 500;
}

/** The head of `records` whose event stays under `maxBytes` (at least one record). */
export function withinPayloadLimit(records: readonly StreamRecord[], maxBytes = MAX_PAYLOAD_BYTES): StreamRecord[] {
  let bytes = 0;
  const batch: StreamRecord[] = [];
  for (const record of records) {
    const size = eventBytes(record);
    if (batch.length > 0 && bytes + size > maxBytes) break;
    batch.push(record);
    bytes += size;
  }
  return batch;
}

/** What a failure record says besides the records themselves. */
export interface FailureContext {
  condition: GiveUpCondition;
  /** Invokes made for these records so far. */
  invokeCount: number;
  /** The last failed invoke's result, for `responseContext.functionError`. */
  last?: InvokeResult;
  functionArn: string;
  streamArn: string;
  nowMs: number;
}

/** AWS's invocation record for records given up (one shard, in order, at least one). */
export function kinesisFailureRecord(records: readonly StreamRecord[], context: FailureContext): KinesisFailureRecord {
  const first = records[0];
  const final = records[records.length - 1];
  const { last } = context;
  const iso = (seconds: number): string => new Date(seconds * 1000).toISOString();
  return {
    requestContext: {
      requestId: last?.requestId ?? '',
      functionArn: context.functionArn,
      condition: context.condition,
      approximateInvokeCount: context.invokeCount,
    },
    responseContext: {
      statusCode: 200,
      executedVersion: '$LATEST',
      ...(last && !last.ok ? { functionError: last.kind === 'handled' ? 'Handled' : 'Unhandled' } : {}),
    },
    version: '1.0',
    timestamp: new Date(context.nowMs).toISOString(),
    KinesisBatchInfo: {
      shardId: first.shardId,
      startSequenceNumber: first.sequenceNumber,
      endSequenceNumber: final.sequenceNumber,
      approximateArrivalOfFirstRecord: iso(first.approximateArrivalTimestamp),
      approximateArrivalOfLastRecord: iso(final.approximateArrivalTimestamp),
      batchSize: records.length,
      streamArn: context.streamArn,
    },
  };
}

/** The `stream.batch` log line of an outcome. */
function batchLogLine(
  records: readonly StreamRecord[],
  result: InvokeResult,
  outcome: StreamBatchOutcome,
  streamArn: string,
): Record<string, unknown> {
  const base = {
    event: 'stream.batch',
    streamArn,
    shardId: records[0]?.shardId,
    size: records.length,
    firstSequenceNumber: records[0]?.sequenceNumber,
    lastSequenceNumber: records[records.length - 1]?.sequenceNumber,
    requestId: result.requestId,
    durationMs: result.durationMs,
  };
  switch (outcome.kind) {
    case 'success':
      return { ...base, outcome: 'success' };
    case 'partial':
      return {
        ...base,
        outcome: 'partial',
        failures: outcome.failures,
        retryFrom: records[outcome.lowestFailed]?.sequenceNumber,
      };
    case 'invalid_response':
      return { ...base, level: 'warn', outcome: 'invalid_response', reason: outcome.reason };
    case 'invoke_error':
      return { ...base, ...invokeErrorLogFields(outcome.result) };
  }
}

/** LATEST: a shard without a checkpoint starts after whatever it holds now; TRIM_HORIZON: at its start. */
function applyStartingPosition(
  stream: LocalStream,
  consumer: string,
  startingPosition: 'LATEST' | 'TRIM_HORIZON',
): void {
  for (const shardId of stream.shardIds) {
    if (stream.checkpointOf(consumer, shardId) !== undefined) continue;
    const last = startingPosition === 'LATEST' ? stream.lastSequenceNumber(shardId) : undefined;
    if (last !== undefined) stream.checkpoint(consumer, shardId, last);
  }
}

/** True when the consumer's checkpoint is at the last record of every shard that has records. */
export function consumerCaughtUp(stream: LocalStream, consumer: string): boolean {
  return stream.shardIds.every(
    (shardId) =>
      stream.lastSequenceNumber(shardId) === undefined ||
      stream.checkpointOf(consumer, shardId) === stream.lastSequenceNumber(shardId),
  );
}

/** One running mapping: a loop per shard, each delivering one batch at a time. */
class ShardReaders {
  readonly stats = emptyStreamMappingStats();
  private readonly settings: ReturnType<typeof streamMappingSettings>;
  private readonly stream: LocalStream;
  private readonly consumer: string;
  private readonly functionArn: string;
  private readonly reportItemFailures: boolean;
  private readonly log: LogSink;
  private readonly now: () => number;
  private stopping = false;
  private inFlight = 0;
  private readonly wakers = new Map<string, () => void>();
  private readonly caughtUpWaiters = new Set<() => void>();
  private readonly unsubscribe: () => void;
  private readonly loops: Promise<void>[];
  private stopped: Promise<void> | undefined;

  constructor(private readonly opts: StreamMappingOptions) {
    this.settings = streamMappingSettings(opts);
    this.stream = opts.stream;
    this.consumer = opts.consumerName ?? 'resize';
    this.functionArn = opts.functionArn ?? `arn:aws:lambda:${this.stream.region}:000000000000:function:resize`;
    this.reportItemFailures = (opts.functionResponseTypes ?? ['ReportBatchItemFailures']).includes(
      'ReportBatchItemFailures',
    );
    this.log = opts.logSink ?? ((line) => process.stdout.write(JSON.stringify(line) + '\n'));
    this.now = opts.now ?? Date.now;
    applyStartingPosition(this.stream, this.consumer, this.settings.startingPosition);
    this.unsubscribe = this.stream.onPut((shardId) => this.wakers.get(shardId)?.());
    this.loops = this.stream.shardIds.map((shardId) => this.runShard(shardId));
    const { stream, consumer, settings, reportItemFailures } = this;
    this.log({
      event: 'stream.mapping_started',
      streamArn: stream.arn,
      consumer,
      shards: stream.shardIds.length,
      ...settings,
      reportItemFailures,
      onFailure: !!opts.onFailure,
    });
  }

  isCaughtUp(): boolean {
    return this.inFlight === 0 && consumerCaughtUp(this.stream, this.consumer);
  }

  private notifyIfCaughtUp(): void {
    if (!this.isCaughtUp()) return;
    for (const resolve of this.caughtUpWaiters) resolve();
    this.caughtUpWaiters.clear();
  }

  private checkpoint(record: StreamRecord | undefined): void {
    if (record) this.stream.checkpoint(this.consumer, record.shardId, record.sequenceNumber);
  }

  /** Invokes the function with one batch and reads the outcome (counted and logged). */
  private async invokeBatch(records: StreamRecord[]): Promise<StreamBatchOutcome> {
    this.stats.batches += 1;
    this.stats.recordsInvoked += records.length;
    const result = await invokeOrCrash(this.opts.invoke, {
      Records: records.map((r) => toKinesisEventRecord(r, this.stream.arn, this.stream.region)),
    });
    const outcome = judgeStreamBatch(records, result, this.reportItemFailures);
    if (outcome.kind === 'invoke_error') this.stats.invokeErrors += 1;
    if (outcome.kind === 'invalid_response') this.stats.invalidResponses += 1;
    if (outcome.kind === 'partial') this.stats.partialFailures += 1;
    this.log(batchLogLine(records, result, outcome, this.stream.arn));
    return outcome;
  }

  /** Sends a failure record until the destination takes it; only stop() ends the attempts. */
  private async sendToDestination(destination: FailureDestination, record: KinesisFailureRecord): Promise<void> {
    const backoff = new Backoff(this.settings.retryDelayMs || 50, MAX_RETRY_DELAY_MS);
    for (;;) {
      try {
        await destination(record);
        return;
      } catch (err) {
        this.stats.failureDestinationErrors += 1;
        this.log({
          event: 'stream.failure_destination_error',
          level: 'warn',
          streamArn: this.stream.arn,
          shardId: record.KinesisBatchInfo.shardId,
          error: errorMessage(err),
        });
        if (this.stopping) throw new Stopping();
        await sleep(backoff.next());
      }
    }
  }

  /** Hands records over to the on-failure destination (or logs them discarded without one), then checkpoints them. */
  private async giveUp(
    records: StreamRecord[],
    condition: GiveUpCondition,
    invokeCount: number,
    last?: InvokeResult,
  ): Promise<void> {
    const record = kinesisFailureRecord(records, {
      condition,
      invokeCount,
      last,
      functionArn: this.functionArn,
      streamArn: this.stream.arn,
      nowMs: this.now(),
    });
    const described = { ...record.KinesisBatchInfo, condition, approximateInvokeCount: invokeCount };
    if (this.opts.onFailure) {
      await this.sendToDestination(this.opts.onFailure, record);
      this.stats.recordsToFailureDestination += records.length;
      this.log({ event: 'stream.sent_to_failure_destination', level: 'warn', ...described });
    } else {
      this.stats.recordsDiscarded += records.length;
      this.log({ event: 'stream.discarded', level: 'error', ...described });
    }
    this.checkpoint(records[records.length - 1]);
  }

  private async retryPause(delayMs: number): Promise<void> {
    if (this.stopping) throw new Stopping();
    await sleep(delayMs);
    if (this.stopping) throw new Stopping();
  }

  /** Delivers each half in order, with the retries and invokes so far (a split is not a retry). */
  private async deliverHalves(
    halves: [StreamRecord[], StreamRecord[]],
    retries: number,
    invokes: number,
  ): Promise<void> {
    this.stats.bisections += 1;
    this.log({
      event: 'stream.bisect',
      streamArn: this.stream.arn,
      shardId: halves[0][0]?.shardId,
      halves: [halves[0].length, halves[1].length],
    });
    await this.deliver(halves[0], retries, invokes);
    await this.deliver(halves[1], retries, invokes);
  }

  /** Finishes `records` (one shard, in order): each ends checkpointed as done or given up. */
  private async deliver(records: StreamRecord[], retriesSoFar: number, invokesSoFar: number): Promise<void> {
    const policy = { ...this.settings, bisectBatchOnFunctionError: this.opts.bisectBatchOnFunctionError ?? false };
    let current = records;
    let retries = retriesSoFar;
    let invokes = invokesSoFar;
    while (current.length > 0) {
      const expired = expiredRecordCount(current, this.now(), this.settings.maximumRecordAgeSeconds);
      if (expired > 0) {
        await this.giveUp(current.slice(0, expired), 'RecordAgeExceeded', invokes);
        current = current.slice(expired);
        continue;
      }
      const outcome = await this.invokeBatch(current);
      invokes += 1;
      const step = planNextStep(current, outcome, retries, policy);
      if (step.kind === 'bisect') return this.deliverHalves(step.halves, retries, invokes);
      this.checkpoint(step.checkpoint);
      if (step.kind === 'done') return;
      if (step.kind === 'give_up') return this.giveUp(step.records, 'RetryAttemptsExhausted', invokes, step.last);
      this.stats.retries += 1;
      await this.retryPause(step.delayMs);
      current = step.records;
      retries = step.retries;
    }
  }

  /** Reads the next batch of a shard: up to batchSize records and under the payload limit. */
  private nextBatch(shardId: string): StreamRecord[] {
    return withinPayloadLimit(
      this.stream.read(shardId, this.stream.checkpointOf(this.consumer, shardId), this.settings.batchSize),
    );
  }

  /** Resolves on the next put to the shard, after the poll interval, or on stop(). */
  private waitForPut(shardId: string): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(done, this.settings.pollIntervalMs);
      const wakers = this.wakers;
      function done(): void {
        clearTimeout(timer);
        wakers.delete(shardId);
        resolve();
      }
      wakers.set(shardId, done);
    });
  }

  /** Runs a shard's loop; an unexpected error ends that shard's loop, logged. */
  private async runShard(shardId: string): Promise<void> {
    try {
      await this.shardLoop(shardId);
    } catch (err) {
      this.log({
        event: 'stream.shard_error',
        level: 'error',
        streamArn: this.stream.arn,
        shardId,
        error: errorMessage(err),
      });
    }
  }

  private async shardLoop(shardId: string): Promise<void> {
    while (!this.stopping) {
      const denied = this.opts.readDenied?.();
      if (denied) {
        this.log({ event: 'stream.read_denied', level: 'warn', streamArn: this.stream.arn, shardId, ...denied });
        await this.waitForPut(shardId);
        continue;
      }
      const batch = this.nextBatch(shardId);
      if (batch.length === 0) {
        this.notifyIfCaughtUp();
        await this.waitForPut(shardId);
        continue;
      }
      this.inFlight += 1;
      try {
        await this.deliver(batch, 0, 0);
      } catch (err) {
        if (!(err instanceof Stopping)) throw err;
      } finally {
        this.inFlight -= 1;
      }
    }
  }

  stop(): Promise<void> {
    this.stopped ??= (async () => {
      this.stopping = true;
      for (const wake of [...this.wakers.values()]) wake();
      await Promise.all(this.loops);
      this.unsubscribe();
      this.log({ event: 'stream.mapping_stopped', streamArn: this.stream.arn, ...this.stats });
    })();
    return this.stopped;
  }

  waitUntilCaughtUp(timeoutMs: number): Promise<void> {
    if (this.isCaughtUp()) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const waiters = this.caughtUpWaiters;
      const timer = setTimeout(() => {
        waiters.delete(done);
        reject(new Error(`stream mapping on ${this.stream.name} not caught up after ${timeoutMs} ms`));
      }, timeoutMs);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      waiters.add(done);
    });
  }
}

/**
 * Starts the mapping at once: one loop per shard. Defaults as AWS's: batch 100, LATEST, no bisect,
 * retries until the record expires (-1), partial batch responses on.
 */
export function startStreamMapping(opts: StreamMappingOptions): StreamMapping {
  const readers = new ShardReaders(opts);
  return {
    stop: () => readers.stop(),
    stats: () => ({ ...readers.stats }),
    caughtUp: () => readers.isCaughtUp(),
    waitUntilCaughtUp: (timeoutMs = 30000) => readers.waitUntilCaughtUp(timeoutMs),
  };
}
