/**
 * The SQS → Lambda event source mapping, as AWS runs it: pollers long-poll the queue, gather a
 * batch (batch size, batching window, 6 MB payload), invoke the function with the real SQS event,
 * and delete what succeeded. With ReportBatchItemFailures only the listed messages stay; a
 * malformed response or a failed invoke keeps the whole batch. Messages left in the queue come
 * back after the visibility timeout; receive counts and DLQ redrive are the queue's business.
 */
import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageBatchCommand,
  ReceiveMessageCommand,
  type Message,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { configError, errorMessage, errorNameAndMessage } from '../../../core/errors';
import { checkInt } from '../../../core/checks';
import { LOCAL_REGION } from '../../client-config';
import type { InvokeFn, InvokeResult, LogSink } from './invoke-contract';

export interface EventSourceMappingOptions {
  /** Receives and deletes (Lambda's poller: with the function's role, where IAM is enforced). */
  sqs: SQSClient;
  /**
   * Makes messages gathered but not yet invoked visible again when the mapping stops (a local
   * nicety: Lambda's pollers need no sqs:ChangeMessageVisibility, the module grants none, and on AWS
   * such messages wait out their visibility timeout). @default `sqs`
   */
  releaseSqs?: SQSClient;
  queueUrl: string;
  queueArn: string;
  /** @default 'us-east-1' */
  region?: string;
  /** Records per invoke, 1..10000; above 10 needs a batching window. @default 10 */
  batchSize?: number;
  /** How long to gather a batch, 0..300 s. @default 0 */
  maximumBatchingWindowSeconds?: number;
  /** Batches in flight at once, 2..1000 (AWS's minimum is 2). @default 2 */
  maximumConcurrency?: number;
  /** @default ['ReportBatchItemFailures'] */
  functionResponseTypes?: 'ReportBatchItemFailures'[];
  invoke: InvokeFn;
  /** @default one JSON line per event on stdout */
  logSink?: LogSink;
  /** Long-poll wait per ReceiveMessage call, 0..20 s; short so stop() is quick. @default 1 */
  pollWaitSeconds?: number;
}

export interface EventSourceMappingStats {
  /** Messages received (a redelivered message counts again). */
  received: number;
  deleted: number;
  /** Messages the function listed in batchItemFailures. */
  failedItems: number;
  /** Invokes that failed (handler error, init error, timeout, crash). */
  invokeErrors: number;
  /** Responses that failed the whole batch (bad itemIdentifier, malformed shape). */
  invalidResponses: number;
  /** Batches handed to the function. */
  batches: number;
  /** Batches being invoked right now. */
  inFlight: number;
  /** ReceiveMessage / DeleteMessageBatch calls that failed. */
  receiveErrors: number;
  deleteErrors: number;
}

export interface EventSourceMapping {
  /** Stops polling, releases gathered-but-uninvoked messages, waits for batches in flight. */
  stop(): Promise<void>;
  stats(): EventSourceMappingStats;
  /** True when no message is held in a gathering batch and no batch is being invoked. */
  idle(): boolean;
}

/** Lambda's SQS event record. */
export interface SqsEventRecord {
  messageId: string;
  receiptHandle: string;
  body: string;
  attributes: Record<string, string>;
  messageAttributes: Record<string, SqsEventMessageAttribute>;
  md5OfMessageAttributes?: string;
  md5OfBody: string;
  eventSource: 'aws:sqs';
  eventSourceARN: string;
  awsRegion: string;
}

export interface SqsEventMessageAttribute {
  stringValue?: string;
  binaryValue?: string;
  stringListValues: string[];
  binaryListValues: string[];
  dataType: string;
}

/** Lambda's invoke payload limit for synchronous invokes. */
const MAX_PAYLOAD_BYTES = 6 * 1024 * 1024;

/** System attributes Lambda passes on in `attributes`. */
const LAMBDA_ATTRIBUTES = [
  'ApproximateReceiveCount',
  'SentTimestamp',
  'SenderId',
  'ApproximateFirstReceiveTimestamp',
  'AWSTraceHeader',
  'SequenceNumber',
  'MessageGroupId',
  'MessageDeduplicationId',
  'DeadLetterQueueSourceArn',
];

function validate(
  opts: EventSourceMappingOptions,
): Required<
  Pick<
    EventSourceMappingOptions,
    'batchSize' | 'maximumBatchingWindowSeconds' | 'maximumConcurrency' | 'pollWaitSeconds'
  >
> {
  const batchSize = checkInt('batchSize', opts.batchSize ?? 10, 1, 10000);
  const window = checkInt('maximumBatchingWindowSeconds', opts.maximumBatchingWindowSeconds ?? 0, 0, 300);
  if (batchSize > 10 && window < 1) {
    throw configError('maximumBatchingWindowSeconds', `must be at least 1 when batchSize (${batchSize}) is above 10`);
  }
  const concurrency = checkInt('maximumConcurrency', opts.maximumConcurrency ?? 2, 2, 1000);
  const pollWait = checkInt('pollWaitSeconds', opts.pollWaitSeconds ?? 1, 0, 20);
  return {
    batchSize,
    maximumBatchingWindowSeconds: window,
    maximumConcurrency: concurrency,
    pollWaitSeconds: pollWait,
  };
}

/** Builds one record of Lambda's SQS event from a received message. */
export function toSqsEventRecord(message: Message, queueArn: string, region: string): SqsEventRecord {
  const attributes: Record<string, string> = {};
  for (const name of LAMBDA_ATTRIBUTES) {
    const value = message.Attributes?.[name as keyof typeof message.Attributes];
    if (value !== undefined) attributes[name] = value;
  }
  const messageAttributes: Record<string, SqsEventMessageAttribute> = {};
  for (const [name, value] of Object.entries(message.MessageAttributes ?? {})) {
    const attribute: SqsEventMessageAttribute = {
      stringListValues: value.StringListValues ?? [],
      binaryListValues: (value.BinaryListValues ?? []).map((bytes) => Buffer.from(bytes).toString('base64')),
      dataType: value.DataType ?? 'String',
    };
    if (value.StringValue !== undefined) attribute.stringValue = value.StringValue;
    if (value.BinaryValue !== undefined) attribute.binaryValue = Buffer.from(value.BinaryValue).toString('base64');
    messageAttributes[name] = attribute;
  }
  const record: SqsEventRecord = {
    messageId: message.MessageId ?? '',
    receiptHandle: message.ReceiptHandle ?? '',
    body: message.Body ?? '',
    attributes,
    messageAttributes,
    md5OfBody: message.MD5OfBody ?? '',
    eventSource: 'aws:sqs',
    eventSourceARN: queueArn,
    awsRegion: region,
  };
  if (message.MD5OfMessageAttributes) record.md5OfMessageAttributes = message.MD5OfMessageAttributes;
  return record;
}

export type BatchResponseVerdict = { valid: true; failedIds: Set<string> } | { valid: false; reason: string };

/**
 * Reads a function's partial batch response as Lambda does. Success: null/undefined payload, an
 * object without `batchItemFailures`, or a null/empty list. Whole-batch failure: anything not an
 * object, a non-array list, an entry without a non-empty `itemIdentifier`, or an id not in the batch.
 */
export function readBatchResponse(payload: unknown, batchIds: ReadonlySet<string>): BatchResponseVerdict {
  if (payload === null || payload === undefined) return { valid: true, failedIds: new Set() };
  if (typeof payload !== 'object' || Array.isArray(payload)) {
    return {
      valid: false,
      reason: `response is a ${Array.isArray(payload) ? 'array' : typeof payload}, not an object`,
    };
  }
  const failures = (payload as { batchItemFailures?: unknown }).batchItemFailures;
  if (failures === null || failures === undefined) return { valid: true, failedIds: new Set() };
  if (!Array.isArray(failures)) return { valid: false, reason: 'batchItemFailures is not a list' };
  const failedIds = new Set<string>();
  for (const entry of failures as unknown[]) {
    const id = entry && typeof entry === 'object' ? (entry as { itemIdentifier?: unknown }).itemIdentifier : undefined;
    if (typeof id !== 'string' || id === '') {
      return { valid: false, reason: `batchItemFailures entry ${JSON.stringify(entry)} has no itemIdentifier` };
    }
    if (!batchIds.has(id)) return { valid: false, reason: `itemIdentifier '${id}' is not a message of this batch` };
    failedIds.add(id);
  }
  return { valid: true, failedIds };
}

/** A counting semaphore: at most `limit` holders. */
class Slots {
  private free: number;
  private readonly waiters: (() => void)[] = [];
  constructor(limit: number) {
    this.free = limit;
  }
  async acquire(): Promise<void> {
    if (this.free > 0) {
      this.free -= 1;
      return;
    }
    await new Promise<void>((resolve) => this.waiters.push(resolve));
  }
  release(): void {
    const next = this.waiters.shift();
    if (next) next();
    else this.free += 1;
  }
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Counters of a mapping that has not polled yet. */
export function emptyMappingStats(): EventSourceMappingStats {
  return {
    received: 0,
    deleted: 0,
    failedItems: 0,
    invokeErrors: 0,
    invalidResponses: 0,
    batches: 0,
    inFlight: 0,
    receiveErrors: 0,
    deleteErrors: 0,
  };
}

/** Invokes the function; an invoke that cannot even be made is a failed invoke like any other (`crash`). */
export async function invokeOrCrash(invoke: InvokeFn, event: unknown): Promise<InvokeResult> {
  try {
    return await invoke(event);
  } catch (err) {
    return {
      ok: false,
      requestId: '',
      kind: 'crash',
      error: {
        errorType: err instanceof Error ? err.name : 'Error',
        errorMessage: errorMessage(err),
      },
      durationMs: 0,
    };
  }
}

/**
 * What a batch's invoke means for its messages: which ones the mapping deletes (the others return
 * after the visibility timeout).
 */
export type SqsBatchOutcome =
  | { kind: 'invoke_error'; result: Extract<InvokeResult, { ok: false }>; toDelete: [] }
  | { kind: 'invalid_response'; reason: string; toDelete: [] }
  | { kind: 'success' | 'partial'; failed: number; toDelete: Message[] };

/**
 * Reads one invoke's result as Lambda's SQS mapping does. A failed invoke or (with
 * ReportBatchItemFailures) a malformed response keeps the whole batch; otherwise every message
 * but those listed in `batchItemFailures` is deleted (without ReportBatchItemFailures, all of them).
 */
export function judgeSqsBatch(
  messages: readonly Message[],
  result: InvokeResult,
  reportItemFailures: boolean,
): SqsBatchOutcome {
  if (!result.ok) return { kind: 'invoke_error', result, toDelete: [] };
  let keep = new Set<string>();
  if (reportItemFailures) {
    const verdict = readBatchResponse(result.payload, new Set(messages.map((message) => message.MessageId ?? '')));
    if (!verdict.valid) return { kind: 'invalid_response', reason: verdict.reason, toDelete: [] };
    keep = verdict.failedIds;
  }
  const toDelete = messages.filter((message) => !keep.has(message.MessageId ?? ''));
  return { kind: keep.size > 0 ? 'partial' : 'success', failed: keep.size, toDelete };
}

/** SQS's batch APIs take at most 10 entries: `items` in runs of `size`. */
export function chunksOf<T>(items: readonly T[], size = 10): T[][] {
  const chunks: T[][] = [];
  for (let start = 0; start < items.length; start += size) chunks.push(items.slice(start, start + size));
  return chunks;
}

/**
 * The long-poll wait of the next ReceiveMessage while gathering: the configured wait, cut to the
 * whole seconds left of the batching window; 0 (a short poll) with under a second left.
 */
export function receiveWaitSeconds(remainingMs: number, pollWaitSeconds: number): number {
  return remainingMs >= 1000 ? Math.min(pollWaitSeconds, Math.floor(remainingMs / 1000)) : 0;
}

/** Messages gathered for one batch, by message id: a redelivery within the window replaces the stale copy. */
export class GatheringBatch {
  private readonly byId = new Map<string, Message>();
  /** Body bytes received, redeliveries included (the payload estimate). */
  bytes = 0;

  get size(): number {
    return this.byId.size;
  }

  /** Adds received messages; returns how many of them were not held yet. */
  add(messages: readonly Message[]): number {
    let added = 0;
    for (const message of messages) {
      const id = message.MessageId ?? '';
      if (!this.byId.has(id)) added += 1;
      this.byId.set(id, message);
      this.bytes += Buffer.byteLength(message.Body ?? '');
    }
    return added;
  }

  messages(): Message[] {
    return [...this.byId.values()];
  }
}

/** A delay that doubles after each failure, up to `max`, and starts over after a success. */
export class Backoff {
  private current: number;
  constructor(
    private readonly first: number,
    private readonly max: number,
  ) {
    this.current = first;
  }

  /** The delay to wait now; the next one is twice as long. */
  next(): number {
    const delay = this.current;
    this.current = Math.min(delay * 2, this.max);
    return delay;
  }

  reset(): void {
    this.current = this.first;
  }
}

/** The log fields of a failed invocation, shared by the SQS and the stream mappings' batch lines. */
export function invokeErrorLogFields(result: Extract<InvokeResult, { ok: false }>): Record<string, unknown> {
  const { kind, error } = result;
  return { level: 'warn', outcome: 'invoke_error', kind, errorType: error.errorType, errorMessage: error.errorMessage };
}

/** The `esm.batch` log line of an outcome. */
function batchLogLine(
  base: Record<string, unknown>,
  outcome: SqsBatchOutcome,
  size: number,
  deleted: number,
): Record<string, unknown> {
  switch (outcome.kind) {
    case 'invoke_error':
      return { ...base, ...invokeErrorLogFields(outcome.result), failures: size, deleted: 0 };
    case 'invalid_response':
      return {
        ...base,
        level: 'warn',
        outcome: 'invalid_response',
        reason: outcome.reason,
        failures: size,
        deleted: 0,
      };
    default:
      return { ...base, outcome: outcome.kind, failures: outcome.failed, deleted };
  }
}

/** One running mapping: pollers that gather batches in turn and invoke them up to the concurrency. */
class QueuePollers {
  readonly stats = emptyMappingStats();
  private readonly settings: ReturnType<typeof validate>;
  private readonly region: string;
  private readonly reportItemFailures: boolean;
  private readonly log: LogSink;
  private readonly slots: Slots;
  // One poller gathers at a time, so a batching window collects what arrives in it instead of
  // splitting it between pollers; invocations still run up to the concurrency.
  private readonly gatherTurn = new Slots(1);
  private readonly invocations = new Set<Promise<void>>();
  /** Messages received and not yet handed to the function (or released). */
  private heldMessages = 0;
  private stopping = false;
  private readonly pollers: Promise<void>[];
  private stopped: Promise<void> | undefined;

  constructor(private readonly opts: EventSourceMappingOptions) {
    this.settings = validate(opts);
    this.region = opts.region ?? LOCAL_REGION;
    this.reportItemFailures = (opts.functionResponseTypes ?? ['ReportBatchItemFailures']).includes(
      'ReportBatchItemFailures',
    );
    this.log = opts.logSink ?? ((line) => process.stdout.write(JSON.stringify(line) + '\n'));
    this.slots = new Slots(this.settings.maximumConcurrency);
    // AWS starts a handful of pollers; more than the concurrency would only hold messages idle.
    const pollerCount = Math.min(this.settings.maximumConcurrency, 5);
    this.pollers = Array.from({ length: pollerCount }, () => this.poller());
    this.log({
      event: 'esm.started',
      queueArn: opts.queueArn,
      ...this.settings,
      reportItemFailures: this.reportItemFailures,
      pollers: pollerCount,
    });
  }

  idle(): boolean {
    return this.heldMessages === 0 && this.stats.inFlight === 0;
  }

  /** One ReceiveMessage call; undefined when it failed (logged, and waited out with `backoff`). */
  private async receive(maxMessages: number, waitSeconds: number, backoff: Backoff): Promise<Message[] | undefined> {
    try {
      const answer = await this.opts.sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: this.opts.queueUrl,
          MaxNumberOfMessages: maxMessages,
          WaitTimeSeconds: waitSeconds,
          MessageSystemAttributeNames: ['All'],
          MessageAttributeNames: ['All'],
        }),
      );
      backoff.reset();
      return answer.Messages ?? [];
    } catch (err) {
      this.stats.receiveErrors += 1;
      this.log({
        event: 'esm.receive_error',
        level: 'warn',
        queueArn: this.opts.queueArn,
        error: errorNameAndMessage(err),
      });
      await sleep(backoff.next());
      return undefined;
    }
  }

  /** Gathers one batch: until full, the window ends, the payload limit nears, or stop(). */
  private async gather(): Promise<Message[]> {
    const { batchSize, maximumBatchingWindowSeconds, pollWaitSeconds } = this.settings;
    const batch = new GatheringBatch();
    const backoff = new Backoff(200, 5000);
    let deadline: number | undefined;
    while (!this.stopping && batch.size < batchSize && batch.bytes < MAX_PAYLOAD_BYTES) {
      const remaining = deadline === undefined ? Infinity : deadline - Date.now();
      if (remaining <= 0) break;
      const waitSeconds = receiveWaitSeconds(remaining, pollWaitSeconds);
      const messages = await this.receive(Math.min(10, batchSize - batch.size), waitSeconds, backoff);
      if (messages === undefined) continue;
      this.stats.received += messages.length;
      this.heldMessages += batch.add(messages);
      if (batch.size === 0) continue;
      if (maximumBatchingWindowSeconds === 0) break;
      deadline ??= Date.now() + maximumBatchingWindowSeconds * 1000;
      if (messages.length === 0 && waitSeconds === 0) await sleep(Math.min(50, Math.max(0, deadline - Date.now())));
    }
    return batch.messages();
  }

  /** Makes one chunk visible again at once; returns how many the queue took back. */
  private async releaseChunk(chunk: Message[]): Promise<number> {
    const queueArn = this.opts.queueArn;
    try {
      const answer = await (this.opts.releaseSqs ?? this.opts.sqs).send(
        new ChangeMessageVisibilityBatchCommand({
          QueueUrl: this.opts.queueUrl,
          Entries: chunk.map((message, index) => ({
            Id: String(index),
            ReceiptHandle: message.ReceiptHandle,
            VisibilityTimeout: 0,
          })),
        }),
      );
      for (const failed of answer.Failed ?? []) {
        const messageId = chunk[Number(failed.Id)]?.MessageId;
        this.log({
          event: 'esm.release_error',
          level: 'warn',
          queueArn,
          messageId,
          code: failed.Code,
          error: failed.Message,
          returnsAfter: 'visibility timeout',
        });
      }
      return answer.Successful?.length ?? 0;
    } catch (err) {
      const messageIds = chunk.map((message) => message.MessageId);
      this.log({
        event: 'esm.release_error',
        level: 'warn',
        queueArn,
        messageIds,
        error: errorNameAndMessage(err),
        returnsAfter: 'visibility timeout',
      });
      return 0;
    }
  }

  /**
   * Makes gathered messages visible again at once (stop() before they could be invoked). A message
   * the queue did not take back stays in flight and returns after its visibility timeout, as on
   * AWS: never lost, only later; each such message is logged with its id.
   */
  private async release(messages: Message[]): Promise<void> {
    let released = 0;
    for (const chunk of chunksOf(messages)) released += await this.releaseChunk(chunk);
    this.log({ event: 'esm.released', queueArn: this.opts.queueArn, released, of: messages.length });
  }

  /** Deletes one chunk; returns how many were deleted. */
  private async deleteChunk(chunk: Message[]): Promise<number> {
    try {
      const answer = await this.opts.sqs.send(
        new DeleteMessageBatchCommand({
          QueueUrl: this.opts.queueUrl,
          Entries: chunk.map((message, index) => ({ Id: String(index), ReceiptHandle: message.ReceiptHandle })),
        }),
      );
      if (answer.Failed && answer.Failed.length > 0) {
        this.stats.deleteErrors += answer.Failed.length;
        this.log({
          event: 'esm.delete_error',
          level: 'warn',
          queueArn: this.opts.queueArn,
          failed: answer.Failed.map((entry) => entry.Code),
        });
      }
      return answer.Successful?.length ?? 0;
    } catch (err) {
      // The messages come back after the visibility timeout: at-least-once, as on AWS.
      this.stats.deleteErrors += chunk.length;
      this.log({
        event: 'esm.delete_error',
        level: 'warn',
        queueArn: this.opts.queueArn,
        error: errorNameAndMessage(err),
      });
      return 0;
    }
  }

  private async deleteMessages(messages: Message[]): Promise<number> {
    let deleted = 0;
    for (const chunk of chunksOf(messages)) deleted += await this.deleteChunk(chunk);
    this.stats.deleted += deleted;
    return deleted;
  }

  /** Invokes the function with one batch and deletes what it finished. */
  private async processBatch(messages: Message[]): Promise<void> {
    this.stats.batches += 1;
    this.stats.inFlight += 1;
    try {
      const { queueArn } = this.opts;
      const result = await invokeOrCrash(this.opts.invoke, {
        Records: messages.map((message) => toSqsEventRecord(message, queueArn, this.region)),
      });
      const outcome = judgeSqsBatch(messages, result, this.reportItemFailures);
      if (outcome.kind === 'invoke_error') this.stats.invokeErrors += 1;
      else if (outcome.kind === 'invalid_response') this.stats.invalidResponses += 1;
      else this.stats.failedItems += outcome.failed;
      const deleted = outcome.toDelete.length > 0 ? await this.deleteMessages(outcome.toDelete) : 0;
      this.log(
        batchLogLine(
          {
            event: 'esm.batch',
            queueArn,
            size: messages.length,
            requestId: result.requestId,
            durationMs: result.durationMs,
          },
          outcome,
          messages.length,
          deleted,
        ),
      );
    } finally {
      this.stats.inFlight -= 1;
    }
  }

  /** Gathers a batch while holding the gathering turn. */
  private async gatherInTurn(): Promise<Message[]> {
    await this.gatherTurn.acquire();
    try {
      return await this.gather();
    } finally {
      this.gatherTurn.release();
    }
  }

  /** Hands a gathered batch to the function; its slot is freed when the invoke and deletes end. */
  private startInvocation(messages: Message[]): void {
    this.heldMessages -= messages.length;
    const invocation = this.processBatch(messages).finally(() => {
      this.slots.release();
      this.invocations.delete(invocation);
    });
    this.invocations.add(invocation);
  }

  private async poller(): Promise<void> {
    while (!this.stopping) {
      await this.slots.acquire();
      if (this.stopping) {
        this.slots.release();
        break;
      }
      const messages = await this.gatherInTurn();
      if (messages.length === 0) {
        this.slots.release();
        continue;
      }
      if (this.stopping) {
        await this.release(messages);
        this.heldMessages -= messages.length;
        this.slots.release();
        break;
      }
      this.startInvocation(messages);
    }
  }

  stop(): Promise<void> {
    this.stopped ??= (async () => {
      this.stopping = true;
      await Promise.all(this.pollers);
      while (this.invocations.size > 0) await Promise.allSettled([...this.invocations]);
      this.log({ event: 'esm.stopped', queueArn: this.opts.queueArn, ...this.stats });
    })();
    return this.stopped;
  }
}

/** Starts polling at once. Defaults: batch 10, window 0 s, concurrency 2, partial batch responses on. */
export function startEventSourceMapping(opts: EventSourceMappingOptions): EventSourceMapping {
  const pollers = new QueuePollers(opts);
  return {
    stop: () => pollers.stop(),
    stats: () => ({ ...pollers.stats }),
    idle: () => pollers.idle(),
  };
}
