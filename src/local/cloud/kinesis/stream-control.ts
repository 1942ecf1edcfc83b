/**
 * Kinesis's control plane for streams a client creates (what the AWS provider calls for
 * `aws_kinesis_stream`, and `aws kinesis create-stream`): CreateStream (PROVISIONED with its shard
 * count, ON_DEMAND with the 4 shards Kinesis opens for one), DeleteStream, the tag calls, retention
 * increase/decrease, StartStreamEncryption/StopStreamEncryption, Enable/DisableEnhancedMonitoring,
 * UpdateShardCount, UpdateStreamMode and DescribeLimits, with Kinesis's errors and messages. A new
 * stream is CREATING for `activationMs`, then ACTIVE, as the provider's waiter expects; the Describe,
 * List and Put operations of kinesis-api.ts serve these streams beside the chain's own.
 *
 * Locally, records stay in memory unencrypted whatever the encryption setting says (it is stored and
 * reported so that Terraform reads back what it applied); metrics are not emitted.
 */
import { LOCAL_ACCOUNT_ID, LOCAL_REGION } from '../../client-config';
import { KinesisApiError, type ServedStream } from './kinesis-api';
import { LocalStream } from './stream';

/** The shard count Kinesis gives a new ON_DEMAND stream. */
export const ON_DEMAND_SHARDS = 4;

/** The shard-level metrics `ALL` stands for. */
const ALL_METRICS = [
  'IncomingBytes',
  'IncomingRecords',
  'OutgoingBytes',
  'OutgoingRecords',
  'WriteProvisionedThroughputExceeded',
  'ReadProvisionedThroughputExceeded',
  'IteratorAgeMilliseconds',
];

/** Kinesis's per-account limits in us-east-1, as DescribeLimits reports them. */
const SHARD_LIMIT = 500;
const ON_DEMAND_STREAM_LIMIT = 50;

/** A stream created through the API: what DescribeStreamSummary reports beside the data. */
export interface ManagedStream extends ServedStream {
  mode: 'PROVISIONED' | 'ON_DEMAND';
  retentionHours: number;
  encryption: { type: 'NONE' | 'KMS'; keyId?: string };
  shardLevelMetrics: string[];
  tags: Map<string, string>;
  readonly status: 'CREATING' | 'ACTIVE';
}

export interface StreamControlOptions {
  /** @default '000000000000' */
  accountId?: string;
  /** @default 'us-east-1' */
  region?: string;
  /** How long a new stream stays CREATING. @default 500 */
  activationMs?: number;
  /** @default Date.now */
  now?: () => number;
}

/** The streams created through the API, and the operations that manage them. */
export interface StreamControl {
  /** Every stream created and not deleted, in creation order. */
  list(): readonly ManagedStream[];
  /** The stream with this ARN (for an event source mapping), or undefined. */
  byArn(arn: string): ManagedStream | undefined;
  /** Kinesis operations by name: each takes the request body and returns the answer's body. */
  readonly operations: Readonly<Record<string, (body: Record<string, unknown>) => unknown>>;
}

function invalidArgument(message: string): KinesisApiError {
  return new KinesisApiError('InvalidArgumentException', message);
}

function validation(message: string): KinesisApiError {
  return new KinesisApiError('ValidationException', `1 validation error detected: ${message}`);
}

function stringField(body: Record<string, unknown>, field: string): string | undefined {
  const value = body[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw new KinesisApiError('SerializationException', `${field} must be a string`);
  return value;
}

function intField(body: Record<string, unknown>, field: string, wire: string): number | undefined {
  const value = body[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value))
    throw new KinesisApiError('SerializationException', `${field} must be an integer`);
  if (value < 1)
    throw validation(
      `Value '${value}' at '${wire}' failed to satisfy constraint: Member must have value greater than or equal to 1`,
    );
  return value;
}

function tagsOf(value: unknown): Array<[string, string]> {
  if (value === undefined || value === null) return [];
  if (typeof value !== 'object' || Array.isArray(value))
    throw new KinesisApiError('SerializationException', 'Tags must be a map of strings');
  return Object.entries(value as Record<string, unknown>).map(([k, v]) => [k, String(v)]);
}

function metricsOf(value: unknown): string[] {
  if (!Array.isArray(value) || value.length === 0)
    throw validation("Value null at 'shardLevelMetrics' failed to satisfy constraint: Member must not be null");
  const names = value.map(String);
  for (const name of names)
    if (name !== 'ALL' && !ALL_METRICS.includes(name))
      throw validation(
        `Value '[${names.join(', ')}]' at 'shardLevelMetrics' failed to satisfy constraint: ` +
          `Member must satisfy constraint: ` +
          `[Member must satisfy enum value set: [${[...ALL_METRICS, 'ALL'].join(', ')}]]`,
      );
  return names.includes('ALL') ? [...ALL_METRICS] : names;
}

/** The Kinesis control plane of the local cloud (see the file comment). */
export function createStreamControl(opts: StreamControlOptions = {}): StreamControl {
  const accountId = opts.accountId ?? LOCAL_ACCOUNT_ID;
  const region = opts.region ?? LOCAL_REGION;
  const now = opts.now ?? Date.now;
  const activationMs = opts.activationMs ?? 500;
  const streams = new Map<string, ManagedStream>();

  function notFound(name: string): KinesisApiError {
    return new KinesisApiError('ResourceNotFoundException', `Stream ${name} under account ${accountId} not found.`);
  }

  /** The stream a call names (StreamName or StreamARN); a CREATING one only when `whileCreating`. */
  function named(body: Record<string, unknown>, whileCreating = false): ManagedStream {
    const name = stringField(body, 'StreamName') ?? stringField(body, 'StreamARN')?.split('/').pop();
    if (name === undefined) throw invalidArgument('Neither StreamName nor StreamARN was provided.');
    const found = streams.get(name);
    if (!found) throw notFound(name);
    if (!whileCreating && found.status !== 'ACTIVE')
      throw new KinesisApiError(
        'ResourceInUseException',
        `Stream ${name} under account ${accountId} not ACTIVE, instead in state ${found.status}`,
      );
    return found;
  }

  function newStream(name: string, shardCount: number): LocalStream {
    return new LocalStream({ name, shardCount, region, accountId });
  }

  function checkRetention(hours: number): void {
    if (hours < 24)
      throw invalidArgument(
        `Minimum allowed retention period is 24 hours. Requested retention period (${hours} hours) is too short.`,
      );
    if (hours > 8760)
      throw invalidArgument(
        `Maximum allowed retention period is 8760 hours. Requested retention period (${hours} hours) is too long.`,
      );
  }

  function monitoringAnswer(stream: ManagedStream, before: string[]): Record<string, unknown> {
    return {
      StreamName: stream.stream.name,
      StreamARN: stream.stream.arn,
      CurrentShardLevelMetrics: before,
      DesiredShardLevelMetrics: stream.shardLevelMetrics,
    };
  }

  const operations: Record<string, (body: Record<string, unknown>) => unknown> = {
    CreateStream(body) {
      const name = stringField(body, 'StreamName');
      if (name === undefined)
        throw validation("Value null at 'streamName' failed to satisfy constraint: Member must not be null");
      if (!/^[a-zA-Z0-9_.-]{1,128}$/.test(name))
        throw validation(
          `Value '${name}' at 'streamName' failed to satisfy constraint: ` +
            `Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+`,
        );
      const details = body.StreamModeDetails as { StreamMode?: unknown } | undefined;
      const mode = details?.StreamMode ?? 'PROVISIONED';
      if (mode !== 'PROVISIONED' && mode !== 'ON_DEMAND')
        throw validation(
          `Value '${JSON.stringify(mode)}' at 'streamModeDetails.streamMode' failed to satisfy constraint: ` +
            `Member must satisfy enum value set: [PROVISIONED, ON_DEMAND]`,
        );
      const requested = intField(body, 'ShardCount', 'shardCount');
      if (mode === 'ON_DEMAND' && requested !== undefined)
        throw validation('ShardCount is not expected for ON_DEMAND streams');
      if (mode === 'PROVISIONED' && requested === undefined)
        throw validation('ShardCount is required for PROVISIONED streams');
      const shardCount = requested ?? ON_DEMAND_SHARDS;
      if (shardCount > 100)
        throw new KinesisApiError(
          'LimitExceededException',
          `This request would exceed the shard limit of the local cloud (100 shards per stream): ` +
            `requested ${shardCount}.`,
        );
      if (streams.has(name))
        throw new KinesisApiError(
          'ResourceInUseException',
          `Stream ${name} under account ${accountId} already exists.`,
        );
      const activeAt = now() + activationMs;
      streams.set(name, {
        stream: newStream(name, shardCount),
        createdAt: new Date(now()),
        mode,
        retentionHours: 24,
        encryption: { type: 'NONE' },
        shardLevelMetrics: [],
        tags: new Map(tagsOf(body.Tags)),
        get status() {
          return now() < activeAt ? 'CREATING' : 'ACTIVE';
        },
      });
      return {};
    },
    DeleteStream(body) {
      const stream = named(body, true);
      streams.delete(stream.stream.name);
      return {};
    },
    AddTagsToStream(body) {
      const stream = named(body, true);
      const added = tagsOf(body.Tags);
      if (added.length === 0)
        throw validation("Value null at 'tags' failed to satisfy constraint: Member must not be null");
      for (const [key, value] of added) stream.tags.set(key, value);
      if (stream.tags.size > 50)
        throw invalidArgument(
          `Failed to add tags to stream ${stream.stream.name} under account ${accountId} ` +
            `because a given stream cannot have more than 50 tags.`,
        );
      return {};
    },
    RemoveTagsFromStream(body) {
      const stream = named(body, true);
      const keys = body.TagKeys;
      if (!Array.isArray(keys))
        throw validation("Value null at 'tagKeys' failed to satisfy constraint: Member must not be null");
      for (const key of keys) stream.tags.delete(String(key));
      return {};
    },
    ListTagsForStream(body) {
      const stream = named(body, true);
      const after = stringField(body, 'ExclusiveStartTagKey');
      const limit = intField(body, 'Limit', 'limit') ?? 50;
      const sorted = [...stream.tags.entries()].sort(([a], [b]) => a.localeCompare(b));
      const from = after === undefined ? 0 : sorted.findIndex(([key]) => key > after);
      const page = from < 0 ? [] : sorted.slice(from, from + limit);
      return {
        Tags: page.map(([Key, Value]) => ({ Key, Value })),
        HasMoreTags: from >= 0 && from + page.length < sorted.length,
      };
    },
    IncreaseStreamRetentionPeriod(body) {
      const stream = named(body);
      const hours = intField(body, 'RetentionPeriodHours', 'retentionPeriodHours') ?? 0;
      checkRetention(hours);
      if (hours < stream.retentionHours)
        throw invalidArgument(
          `Requested retention period (${hours} hours) for stream ${stream.stream.name} can not be shorter than ` +
            `existing retention period (${stream.retentionHours} hours). Use DecreaseRetentionPeriod API.`,
        );
      stream.retentionHours = hours;
      return {};
    },
    DecreaseStreamRetentionPeriod(body) {
      const stream = named(body);
      const hours = intField(body, 'RetentionPeriodHours', 'retentionPeriodHours') ?? 0;
      checkRetention(hours);
      if (hours > stream.retentionHours)
        throw invalidArgument(
          `Requested retention period (${hours} hours) for stream ${stream.stream.name} can not be longer than ` +
            `existing retention period (${stream.retentionHours} hours). Use IncreaseRetentionPeriod API.`,
        );
      stream.retentionHours = hours;
      return {};
    },
    StartStreamEncryption(body) {
      const stream = named(body);
      if (body.EncryptionType !== 'KMS')
        throw validation(
          `Value '${String(body.EncryptionType)}' at 'encryptionType' failed to satisfy constraint: ` +
            `Member must satisfy enum value set: [KMS]`,
        );
      const keyId = stringField(body, 'KeyId');
      if (!keyId) throw validation("Value null at 'keyId' failed to satisfy constraint: Member must not be null");
      stream.encryption = { type: 'KMS', keyId };
      return {};
    },
    StopStreamEncryption(body) {
      const stream = named(body);
      stream.encryption = { type: 'NONE' };
      return {};
    },
    EnableEnhancedMonitoring(body) {
      const stream = named(body);
      const before = stream.shardLevelMetrics;
      stream.shardLevelMetrics = [...new Set([...before, ...metricsOf(body.ShardLevelMetrics)])];
      return monitoringAnswer(stream, before);
    },
    DisableEnhancedMonitoring(body) {
      const stream = named(body);
      const before = stream.shardLevelMetrics;
      const removed = new Set(metricsOf(body.ShardLevelMetrics));
      stream.shardLevelMetrics = before.filter((metric) => !removed.has(metric));
      return monitoringAnswer(stream, before);
    },
    UpdateShardCount(body) {
      const stream = named(body);
      const target = intField(body, 'TargetShardCount', 'targetShardCount');
      if (target === undefined)
        throw validation("Value null at 'targetShardCount' failed to satisfy constraint: Member must not be null");
      if (stream.mode === 'ON_DEMAND')
        throw validation('UpdateShardCount is not supported for stream in ON_DEMAND mode.');
      const current = stream.stream.shardIds.length;
      if (target > 100)
        throw new KinesisApiError(
          'LimitExceededException',
          `This request would exceed the shard limit of the local cloud (100 shards per stream): requested ${target}.`,
        );
      if (target !== current) reshard(stream, target);
      return {
        StreamName: stream.stream.name,
        StreamARN: stream.stream.arn,
        CurrentShardCount: current,
        TargetShardCount: target,
      };
    },
    UpdateStreamMode(body) {
      const arn = stringField(body, 'StreamARN');
      const stream = named({ StreamARN: arn });
      const mode = (body.StreamModeDetails as { StreamMode?: unknown } | undefined)?.StreamMode;
      if (mode !== 'PROVISIONED' && mode !== 'ON_DEMAND')
        throw validation(
          `Value '${JSON.stringify(mode)}' at 'streamModeDetails.streamMode' failed to satisfy constraint: ` +
            `Member must satisfy enum value set: [PROVISIONED, ON_DEMAND]`,
        );
      stream.mode = mode;
      return {};
    },
    DescribeLimits() {
      const all = [...streams.values()];
      return {
        ShardLimit: SHARD_LIMIT,
        OpenShardCount: all.reduce((sum, s) => sum + s.stream.shardIds.length, 0),
        OnDemandStreamCount: all.filter((s) => s.mode === 'ON_DEMAND').length,
        OnDemandStreamCountLimit: ON_DEMAND_STREAM_LIMIT,
      };
    },
  };

  /**
   * Kinesis splits and merges shards, keeping the parents readable; locally a stream is resharded
   * only while it holds no records (a new stream of `target` shards under the same name and ARN).
   */
  function reshard(stream: ManagedStream, target: number): void {
    const held = stream.stream.shardIds.some((id) => stream.stream.records(id).length > 0);
    if (held)
      throw new KinesisApiError(
        'LimitExceededException',
        `Resharding stream ${stream.stream.name}, which already holds records, is not emulated by the local cloud: ` +
          `create the stream with ${target} shard(s) instead.`,
      );
    stream.stream = newStream(stream.stream.name, target);
  }

  return {
    list: () => [...streams.values()],
    byArn: (arn) => [...streams.values()].find((s) => s.stream.arn === arn),
    operations,
  };
}
