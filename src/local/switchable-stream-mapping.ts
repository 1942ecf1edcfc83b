/**
 * The Kinesis → Lambda mapping as Lambda's control API sees it: a UUID, its settings, and
 * UpdateEventSourceMapping's `Enabled`. Disabling stops reading (the batch in flight on each shard
 * finishes and is checkpointed); records put meanwhile wait in the stream. Enabling starts reading
 * again from each shard's checkpoint, with the same settings.
 *
 * The starting position is applied once, when the mapping is created, as on AWS: every shard gets a
 * checkpoint then (LATEST on an empty shard is a position before its first record), so neither
 * re-enabling nor a restart on a kept stream skips records that arrived after the mapping existed.
 */
import { randomUUID } from 'node:crypto';
import { startStreamMapping, streamMappingSettings, type StreamMapping, type StreamMappingOptions, type StreamMappingStats } from './stream-mapping';
import type { MappingState } from './switchable-mapping';
import type { LogSink } from './types';

export interface SwitchableStreamMappingOptions extends StreamMappingOptions {
  /** Function the mapping invokes (its name). */
  functionName: string;
  /** @default true */
  enabled?: boolean;
  /** @default random */
  uuid?: string;
  /** ARN of the on-failure destination, for the API's DestinationConfig. @default undefined: none shown */
  onFailureArn?: string;
}

export interface SwitchableStreamMapping extends StreamMapping {
  /** Tells it apart from the SQS mappings in the mappings API. */
  readonly kind: 'kinesis';
  /** Stable for the life of the mapping, like Lambda's UUID. */
  readonly uuid: string;
  readonly functionName: string;
  readonly functionArn: string;
  /** The stream's ARN. */
  readonly eventSourceArn: string;
  readonly onFailureArn: string | undefined;
  /** The settings in force, defaults applied. */
  readonly settings: Readonly<ReturnType<typeof streamMappingSettings> & { bisectBatchOnFunctionError: boolean; functionResponseTypes: 'ReportBatchItemFailures'[] }>;
  state(): MappingState;
  /** When the mapping was created or last enabled/disabled. */
  lastModified(): Date;
  /** Lambda's LastProcessingResult: 'No records processed', 'OK' or 'PROBLEM: Function call failed'. */
  lastProcessingResult(): string;
  /** Enables or disables reading; resolves once the change is complete (disabling waits for batches in flight). Throws after stop(). */
  setEnabled(enabled: boolean): Promise<void>;
}

function addStats(a: StreamMappingStats, b: StreamMappingStats): StreamMappingStats {
  const sum = { ...a };
  for (const key of Object.keys(sum) as (keyof StreamMappingStats)[]) sum[key] += b[key];
  return sum;
}

const emptyStats = (): StreamMappingStats => ({
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
});

/**
 * Creates the mapping (fixing each shard's starting position) and starts reading unless `enabled`
 * is false. Defaults: those of startStreamMapping; `enabled` true; uuid random.
 */
export function startSwitchableStreamMapping(opts: SwitchableStreamMappingOptions): SwitchableStreamMapping {
  const { functionName, enabled = true, uuid = randomUUID(), onFailureArn, ...mappingOptions } = opts;
  const resolved = streamMappingSettings(mappingOptions);
  const { stream } = mappingOptions;
  const consumer = mappingOptions.consumerName ?? 'resize';
  const functionArn = mappingOptions.functionArn ?? `arn:aws:lambda:${stream.region}:000000000000:function:${functionName}`;
  for (const shardId of stream.shardIds) {
    if (stream.checkpointOf(consumer, shardId) !== undefined) continue;
    const latest = resolved.startingPosition === 'LATEST' ? stream.lastSequenceNumber(shardId) : undefined;
    stream.checkpoint(consumer, shardId, latest ?? stream.startingSequenceNumber(shardId));
  }

  let lastResult = 'No records processed';
  const log: LogSink = mappingOptions.logSink ?? ((line) => process.stdout.write(JSON.stringify(line) + '\n'));
  const sink: LogSink = (line) => {
    if (line.event === 'stream.batch') lastResult = line.outcome === 'success' || line.outcome === 'partial' ? 'OK' : 'PROBLEM: Function call failed';
    log(line);
  };
  const start = (): StreamMapping => startStreamMapping({ ...mappingOptions, consumerName: consumer, functionArn, logSink: sink });

  let current: StreamMapping | undefined = enabled ? start() : undefined;
  let state: MappingState = enabled ? 'Enabled' : 'Disabled';
  let modified = new Date();
  let previous = emptyStats();
  let stopped = false;
  // Changes run one after another; stop() waits for the one under way.
  let chain: Promise<void> = Promise.resolve();

  const disable = async (): Promise<void> => {
    const running = current;
    if (!running) return;
    state = 'Disabling';
    await running.stop();
    previous = addStats(previous, running.stats());
    current = undefined;
  };
  const caughtUp = (): boolean =>
    current ? current.caughtUp() : stream.shardIds.every((shardId) => stream.lastSequenceNumber(shardId) === undefined || stream.checkpointOf(consumer, shardId) === stream.lastSequenceNumber(shardId));

  return {
    kind: 'kinesis',
    uuid,
    functionName,
    functionArn,
    eventSourceArn: stream.arn,
    onFailureArn,
    settings: {
      ...resolved,
      bisectBatchOnFunctionError: mappingOptions.bisectBatchOnFunctionError ?? false,
      functionResponseTypes: mappingOptions.functionResponseTypes ?? ['ReportBatchItemFailures'],
    },
    state: () => state,
    lastModified: () => modified,
    lastProcessingResult: () => lastResult,
    setEnabled(on) {
      if (stopped) return Promise.reject(new Error(`event source mapping ${uuid} is stopped`));
      const change = chain.then(async () => {
        if (stopped) return;
        if (on && !current) {
          state = 'Enabling';
          current = start();
          state = 'Enabled';
        } else if (!on && current) {
          await disable();
          state = 'Disabled';
        }
        modified = new Date();
      });
      chain = change.catch(() => undefined);
      return change;
    },
    stop() {
      stopped = true;
      chain = chain.then(disable).then(() => {
        state = 'Disabled';
      });
      return chain;
    },
    stats: () => (current ? addStats(previous, current.stats()) : { ...previous }),
    caughtUp,
    async waitUntilCaughtUp(timeoutMs = 30000) {
      const deadline = Date.now() + timeoutMs;
      while (!caughtUp()) {
        if (Date.now() > deadline) throw new Error(`stream mapping ${uuid} on ${stream.name} not caught up after ${timeoutMs} ms`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    },
  };
}
