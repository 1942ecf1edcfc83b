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
import { mappingSwitch, type MappingState } from './mapping-enabled-state';
import {
  consumerCaughtUp,
  emptyStreamMappingStats,
  startStreamMapping,
  streamMappingSettings,
  type StreamMapping,
  type StreamMappingOptions,
} from './stream-mapping';
import type { LogSink } from './invoke-contract';

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
  readonly settings: Readonly<
    ReturnType<typeof streamMappingSettings> & {
      bisectBatchOnFunctionError: boolean;
      functionResponseTypes: 'ReportBatchItemFailures'[];
    }
  >;
  state(): MappingState;
  /** When the mapping was created or last enabled/disabled. */
  lastModified(): Date;
  /** Lambda's LastProcessingResult: 'No records processed', 'OK' or 'PROBLEM: Function call failed'. */
  lastProcessingResult(): string;
  /**
   * Enables or disables reading; resolves once the change is complete (disabling waits for batches in flight). Throws
   * after stop().
   */
  setEnabled(enabled: boolean): Promise<void>;
}

/**
 * Creates the mapping (fixing each shard's starting position) and starts reading unless `enabled`
 * is false. Defaults: those of startStreamMapping; `enabled` true; uuid random.
 */
export function startSwitchableStreamMapping(opts: SwitchableStreamMappingOptions): SwitchableStreamMapping {
  const { functionName, enabled = true, uuid = randomUUID(), onFailureArn, ...mappingOptions } = opts;
  const resolved = streamMappingSettings(mappingOptions);
  const { stream } = mappingOptions;
  const consumer = mappingOptions.consumerName ?? 'resize';
  const functionArn =
    mappingOptions.functionArn ?? `arn:aws:lambda:${stream.region}:000000000000:function:${functionName}`;
  for (const shardId of stream.shardIds) {
    if (stream.checkpointOf(consumer, shardId) !== undefined) continue;
    const latest = resolved.startingPosition === 'LATEST' ? stream.lastSequenceNumber(shardId) : undefined;
    stream.checkpoint(consumer, shardId, latest ?? stream.startingSequenceNumber(shardId));
  }

  let lastResult = 'No records processed';
  const log: LogSink = mappingOptions.logSink ?? ((line) => process.stdout.write(JSON.stringify(line) + '\n'));
  const sink: LogSink = (line) => {
    if (line.event === 'stream.batch')
      lastResult = line.outcome === 'success' || line.outcome === 'partial' ? 'OK' : 'PROBLEM: Function call failed';
    log(line);
  };
  const start = (): StreamMapping =>
    startStreamMapping({ ...mappingOptions, consumerName: consumer, functionArn, logSink: sink });

  const mapping = mappingSwitch({ name: uuid, enabled, start, emptyStats: emptyStreamMappingStats });
  const caughtUp = (): boolean => mapping.current()?.caughtUp() ?? consumerCaughtUp(stream, consumer);

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
    state: mapping.state,
    lastModified: mapping.lastModified,
    lastProcessingResult: () => lastResult,
    setEnabled: mapping.setEnabled,
    stop: mapping.stop,
    stats: mapping.stats,
    caughtUp,
    async waitUntilCaughtUp(timeoutMs = 30000) {
      const deadline = Date.now() + timeoutMs;
      while (!caughtUp()) {
        if (Date.now() > deadline)
          throw new Error(`stream mapping ${uuid} on ${stream.name} not caught up after ${timeoutMs} ms`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    },
  };
}
