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
import { configError } from '../../../core/errors';
import { checkInt } from '../../../core/checks';
import { LOCAL_REGION } from '../../client-config';
import type { InvokeFn, InvokeResult, LogSink } from './invoke-contract';

export interface EventSourceMappingOptions {
  sqs: SQSClient;
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

function validate(opts: EventSourceMappingOptions): Required<Pick<EventSourceMappingOptions, 'batchSize' | 'maximumBatchingWindowSeconds' | 'maximumConcurrency' | 'pollWaitSeconds'>> {
  const batchSize = checkInt('batchSize', opts.batchSize ?? 10, 1, 10000);
  const window = checkInt('maximumBatchingWindowSeconds', opts.maximumBatchingWindowSeconds ?? 0, 0, 300);
  if (batchSize > 10 && window < 1) {
    throw configError('maximumBatchingWindowSeconds', `must be at least 1 when batchSize (${batchSize}) is above 10`);
  }
  const concurrency = checkInt('maximumConcurrency', opts.maximumConcurrency ?? 2, 2, 1000);
  const pollWait = checkInt('pollWaitSeconds', opts.pollWaitSeconds ?? 1, 0, 20);
  return { batchSize, maximumBatchingWindowSeconds: window, maximumConcurrency: concurrency, pollWaitSeconds: pollWait };
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
    return { valid: false, reason: `response is a ${Array.isArray(payload) ? 'array' : typeof payload}, not an object` };
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
  return { received: 0, deleted: 0, failedItems: 0, invokeErrors: 0, invalidResponses: 0, batches: 0, inFlight: 0, receiveErrors: 0, deleteErrors: 0 };
}

/** Starts polling at once. Defaults: batch 10, window 0 s, concurrency 2, partial batch responses on. */
export function startEventSourceMapping(opts: EventSourceMappingOptions): EventSourceMapping {
  const settings = validate(opts);
  const region = opts.region ?? LOCAL_REGION;
  const reportItemFailures = (opts.functionResponseTypes ?? ['ReportBatchItemFailures']).includes('ReportBatchItemFailures');
  const log: LogSink = opts.logSink ?? ((line) => process.stdout.write(JSON.stringify(line) + '\n'));
  const { sqs, queueUrl, queueArn } = opts;
  const stats = emptyMappingStats();
  const slots = new Slots(settings.maximumConcurrency);
  // One poller gathers at a time, so a batching window collects what arrives in it instead of
  // splitting it between pollers; invocations still run up to the concurrency.
  const gatherTurn = new Slots(1);
  const invocations = new Set<Promise<void>>();
  /** Messages received and not yet handed to the function (or released). */
  let heldMessages = 0;
  let stopping = false;

  /** Gathers one batch: until full, the window ends, the payload limit nears, or stop(). */
  async function gather(): Promise<Message[]> {
    const batch = new Map<string, Message>();
    let bytes = 0;
    let deadline: number | undefined;
    let receiveBackoff = 200;
    while (!stopping && batch.size < settings.batchSize && bytes < MAX_PAYLOAD_BYTES) {
      const remaining = deadline === undefined ? Infinity : deadline - Date.now();
      if (remaining <= 0) break;
      const waitSeconds = remaining >= 1000 ? Math.min(settings.pollWaitSeconds, Math.floor(remaining / 1000)) : 0;
      let messages: Message[];
      try {
        const answer = await sqs.send(
          new ReceiveMessageCommand({
            QueueUrl: queueUrl,
            MaxNumberOfMessages: Math.min(10, settings.batchSize - batch.size),
            WaitTimeSeconds: waitSeconds,
            MessageSystemAttributeNames: ['All'],
            MessageAttributeNames: ['All'],
          }),
        );
        messages = answer.Messages ?? [];
        receiveBackoff = 200;
      } catch (err) {
        stats.receiveErrors += 1;
        log({ event: 'esm.receive_error', level: 'warn', queueArn, error: err instanceof Error ? `${err.name}: ${err.message}` : String(err) });
        await sleep(receiveBackoff);
        receiveBackoff = Math.min(receiveBackoff * 2, 5000);
        continue;
      }
      for (const message of messages) {
        stats.received += 1;
        const id = message.MessageId ?? '';
        if (!batch.has(id)) heldMessages += 1;
        batch.set(id, message); // a redelivery within the window replaces the stale copy
        bytes += Buffer.byteLength(message.Body ?? '');
      }
      if (batch.size === 0) continue;
      if (settings.maximumBatchingWindowSeconds === 0) break;
      deadline ??= Date.now() + settings.maximumBatchingWindowSeconds * 1000;
      if (messages.length === 0 && waitSeconds === 0) await sleep(Math.min(50, Math.max(0, deadline - Date.now())));
    }
    return [...batch.values()];
  }

  /**
   * Makes gathered messages visible again at once (stop() before they could be invoked). A message
   * the queue did not take back stays in flight and returns after its visibility timeout, as on
   * AWS: never lost, only later; each such message is logged with its id.
   */
  async function release(messages: Message[]): Promise<void> {
    let released = 0;
    for (let start = 0; start < messages.length; start += 10) {
      const chunk = messages.slice(start, start + 10);
      try {
        const answer = await sqs.send(
          new ChangeMessageVisibilityBatchCommand({
            QueueUrl: queueUrl,
            Entries: chunk.map((message, index) => ({ Id: String(index), ReceiptHandle: message.ReceiptHandle, VisibilityTimeout: 0 })),
          }),
        );
        released += answer.Successful?.length ?? 0;
        for (const failed of answer.Failed ?? []) {
          const messageId = chunk[Number(failed.Id)]?.MessageId;
          log({ event: 'esm.release_error', level: 'warn', queueArn, messageId, code: failed.Code, error: failed.Message, returnsAfter: 'visibility timeout' });
        }
      } catch (err) {
        const messageIds = chunk.map((message) => message.MessageId);
        log({ event: 'esm.release_error', level: 'warn', queueArn, messageIds, error: err instanceof Error ? `${err.name}: ${err.message}` : String(err), returnsAfter: 'visibility timeout' });
      }
    }
    log({ event: 'esm.released', queueArn, released, of: messages.length });
  }

  async function deleteMessages(messages: Message[]): Promise<number> {
    let deleted = 0;
    for (let start = 0; start < messages.length; start += 10) {
      const chunk = messages.slice(start, start + 10);
      try {
        const answer = await sqs.send(
          new DeleteMessageBatchCommand({
            QueueUrl: queueUrl,
            Entries: chunk.map((message, index) => ({ Id: String(index), ReceiptHandle: message.ReceiptHandle })),
          }),
        );
        deleted += answer.Successful?.length ?? 0;
        if (answer.Failed && answer.Failed.length > 0) {
          stats.deleteErrors += answer.Failed.length;
          log({ event: 'esm.delete_error', level: 'warn', queueArn, failed: answer.Failed.map((entry) => entry.Code) });
        }
      } catch (err) {
        // The messages come back after the visibility timeout: at-least-once, as on AWS.
        stats.deleteErrors += chunk.length;
        log({ event: 'esm.delete_error', level: 'warn', queueArn, error: err instanceof Error ? `${err.name}: ${err.message}` : String(err) });
      }
    }
    stats.deleted += deleted;
    return deleted;
  }

  async function processBatch(messages: Message[]): Promise<void> {
    stats.batches += 1;
    stats.inFlight += 1;
    try {
      const event = { Records: messages.map((message) => toSqsEventRecord(message, queueArn, region)) };
      let result: InvokeResult;
      try {
        result = await opts.invoke(event);
      } catch (err) {
        // An invoke that cannot even be made is a failed invoke like any other.
        result = {
          ok: false,
          requestId: '',
          kind: 'crash',
          error: { errorType: err instanceof Error ? err.name : 'Error', errorMessage: err instanceof Error ? err.message : String(err) },
          durationMs: 0,
        };
      }
      const base = { event: 'esm.batch', queueArn, size: messages.length, requestId: result.requestId, durationMs: result.durationMs };
      if (!result.ok) {
        stats.invokeErrors += 1;
        log({ ...base, level: 'warn', outcome: 'invoke_error', kind: result.kind, errorType: result.error.errorType, errorMessage: result.error.errorMessage, failures: messages.length, deleted: 0 });
        return;
      }
      let keep = new Set<string>();
      if (reportItemFailures) {
        const verdict = readBatchResponse(result.payload, new Set(messages.map((message) => message.MessageId ?? '')));
        if (!verdict.valid) {
          stats.invalidResponses += 1;
          log({ ...base, level: 'warn', outcome: 'invalid_response', reason: verdict.reason, failures: messages.length, deleted: 0 });
          return;
        }
        keep = verdict.failedIds;
        stats.failedItems += keep.size;
      }
      const deleted = await deleteMessages(messages.filter((message) => !keep.has(message.MessageId ?? '')));
      log({ ...base, outcome: keep.size > 0 ? 'partial' : 'success', failures: keep.size, deleted });
    } finally {
      stats.inFlight -= 1;
    }
  }

  async function poller(): Promise<void> {
    while (!stopping) {
      await slots.acquire();
      if (stopping) {
        slots.release();
        break;
      }
      await gatherTurn.acquire();
      let messages: Message[];
      try {
        messages = await gather();
      } finally {
        gatherTurn.release();
      }
      if (messages.length === 0) {
        slots.release();
        continue;
      }
      if (stopping) {
        await release(messages);
        heldMessages -= messages.length;
        slots.release();
        break;
      }
      heldMessages -= messages.length;
      const invocation = processBatch(messages).finally(() => {
        slots.release();
        invocations.delete(invocation);
      });
      invocations.add(invocation);
    }
  }

  // AWS starts a handful of pollers; more than the concurrency would only hold messages idle.
  const pollerCount = Math.min(settings.maximumConcurrency, 5);
  const pollers = Array.from({ length: pollerCount }, () => poller());
  log({ event: 'esm.started', queueArn, ...settings, reportItemFailures, pollers: pollerCount });

  let stopped: Promise<void> | undefined;
  return {
    stop() {
      stopped ??= (async () => {
        stopping = true;
        await Promise.all(pollers);
        while (invocations.size > 0) await Promise.allSettled([...invocations]);
        log({ event: 'esm.stopped', queueArn, ...stats });
      })();
      return stopped;
    },
    stats: () => ({ ...stats }),
    idle: () => heldMessages === 0 && stats.inFlight === 0,
  };
}
