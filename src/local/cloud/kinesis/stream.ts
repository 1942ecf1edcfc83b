/**
 * An in-process Kinesis data stream for the local cloud: N shards splitting the 128-bit hash key
 * space evenly, records routed by the MD5 of their partition key (as Kinesis does), per-shard
 * strictly increasing sequence numbers, PutRecord/PutRecords, reads after a sequence number, and
 * named checkpoints so a consumer that restarts resumes where it stopped. Records are kept in
 * memory for the stream's life (no retention trimming); with a `store` they are also written out
 * as they arrive, and checkpoints as they move, so a stream opened again on the same store goes on
 * where it stopped (same records, same checkpoints, sequence numbers still increasing).
 */
import { createHash } from 'node:crypto';
import { checkInt, codePointLength } from '../../../core/checks';
import { configError } from '../../../core/errors';
import { MAX_STREAM_RECORD_BYTES } from '../../../core/stream-event';
import { LOCAL_REGION } from '../../client-config';

/** One record as a shard stores it. */
export interface StreamRecord {
  readonly shardId: string;
  /** A 56-digit decimal string; within a shard, later records have larger numbers (and compare larger as strings). */
  readonly sequenceNumber: string;
  readonly partitionKey: string;
  readonly data: Buffer;
  /** Arrival time in seconds since the epoch, with milliseconds (as Lambda's event carries it). */
  readonly approximateArrivalTimestamp: number;
}

export interface PutRecordInput {
  /** 1..256 Unicode characters; its MD5 picks the shard. */
  partitionKey: string;
  /** At most 1 MiB together with the partition key. */
  data: Buffer | string;
  /** A decimal 128-bit hash key that overrides the partition key's hash. */
  explicitHashKey?: string;
}

export interface PutRecordOutput {
  shardId: string;
  sequenceNumber: string;
}

export interface LocalStreamOptions {
  /** Stream name: 1..128 of a-z, A-Z, 0-9, '_', '-', '.'. */
  name: string;
  /** 1..100. @default 1 */
  shardCount?: number;
  /** @default 'us-east-1' */
  region?: string;
  /** @default '000000000000' */
  accountId?: string;
  /** Clock, for tests of record age. @default Date.now */
  now?: () => number;
  /** Keeps records and checkpoints beyond this process (see stream-store.ts). @default undefined: memory only */
  store?: StreamStore;
}

/** A consumer's position on a shard, as a store keeps it. */
export interface StoredCheckpoint {
  consumer: string;
  shardId: string;
  sequenceNumber: string;
}

/**
 * Where a stream keeps what must outlive the process. `load()` is called once, by the constructor;
 * `append` before a put is acknowledged; `saveCheckpoints` after every checkpoint move, with all of them.
 */
export interface StreamStore {
  load(): { records: StreamRecord[]; checkpoints: StoredCheckpoint[] };
  append(record: StreamRecord): void;
  saveCheckpoints(checkpoints: StoredCheckpoint[]): void;
}

/** Kinesis hash keys are 128-bit: 0..HASH_SPACE-1. */
export const HASH_SPACE = 1n << 128n;

/** The shard id Kinesis gives the n-th shard of a new stream. */
export function shardIdOf(index: number): string {
  return `shardId-${String(index).padStart(12, '0')}`;
}

/** Kinesis's partition-key hash: MD5 as an unsigned 128-bit integer. */
export function partitionKeyHash(partitionKey: string): bigint {
  return BigInt(`0x${createHash('md5').update(partitionKey, 'utf8').digest('hex')}`);
}

/**
 * The hash-key range of shard `index` of `count`, as ListShards reports it: exactly the keys
 * `shardFor` routes there (floor(hash * count / 2^128)).
 */
export function hashKeyRange(index: number, count: number): { StartingHashKey: string; EndingHashKey: string } {
  const n = BigInt(count);
  const start = (BigInt(index) * HASH_SPACE + n - 1n) / n;
  const end = (BigInt(index + 1) * HASH_SPACE + n - 1n) / n - 1n;
  return { StartingHashKey: start.toString(), EndingHashKey: end.toString() };
}

/**
 * A position before every record of shard `index` (sequence numbers are `49` + 6-digit shard index + 48-digit counter).
 */
export function startingSequenceNumberOf(index: number): string {
  return `49${String(index).padStart(6, '0')}${'0'.repeat(48)}`;
}

/** Orders two sequence numbers of one shard: negative when `a` comes first. */
export function compareSequenceNumbers(a: string, b: string): number {
  const x = BigInt(a);
  const y = BigInt(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

interface Shard {
  readonly id: string;
  readonly index: number;
  readonly records: StreamRecord[];
  counter: number;
}

/** An in-process Kinesis data stream. Listeners hear of every put, so consumers need not poll hard. */
export class LocalStream {
  readonly name: string;
  readonly arn: string;
  readonly region: string;
  private readonly shards: Shard[];
  private readonly checkpoints = new Map<string, string>();
  private readonly listeners = new Set<(shardId: string) => void>();
  private readonly now: () => number;
  private readonly store: StreamStore | undefined;

  constructor(opts: LocalStreamOptions) {
    if (!/^[a-zA-Z0-9_.-]{1,128}$/.test(opts.name))
      throw configError('name', `${JSON.stringify(opts.name)} is not 1..128 of a-z, A-Z, 0-9, '_', '-', '.'`);
    const shardCount = checkInt('shardCount', opts.shardCount ?? 1, 1, 100);
    this.name = opts.name;
    this.region = opts.region ?? LOCAL_REGION;
    this.arn = `arn:aws:kinesis:${this.region}:${opts.accountId ?? '000000000000'}:stream/${opts.name}`;
    this.now = opts.now ?? Date.now;
    this.shards = Array.from({ length: shardCount }, (_, index) => ({
      id: shardIdOf(index),
      index,
      records: [],
      counter: 0,
    }));
    this.store = opts.store;
    if (this.store) this.restore(this.store);
  }

  /** Takes back what the store kept; the counters go on after the last record of each shard. */
  private restore(store: StreamStore): void {
    const kept = store.load();
    for (const record of kept.records) {
      const shard = this.shard(record.shardId);
      const last = shard.records[shard.records.length - 1];
      if (last && compareSequenceNumbers(record.sequenceNumber, last.sequenceNumber) <= 0) {
        throw configError(
          'store',
          `record ${record.sequenceNumber} of ${record.shardId} comes after ${last.sequenceNumber}: ` +
            `the stored stream is out of order`,
        );
      }
      shard.records.push(record);
      shard.counter = Number(BigInt(record.sequenceNumber) % 10n ** 48n);
    }
    for (const c of kept.checkpoints) {
      this.shard(c.shardId);
      this.checkpoints.set(`${c.consumer}\u0000${c.shardId}`, c.sequenceNumber);
    }
  }

  /** Shard ids in hash-key order. */
  get shardIds(): string[] {
    return this.shards.map((s) => s.id);
  }

  /** The shard a partition key (or explicit hash key) lands on. */
  shardFor(partitionKey: string, explicitHashKey?: string): string {
    return this.shardOf(partitionKey, explicitHashKey).id;
  }

  private shardOf(partitionKey: string, explicitHashKey?: string): Shard {
    let hash: bigint;
    if (explicitHashKey !== undefined) {
      if (!/^\d{1,39}$/.test(explicitHashKey) || BigInt(explicitHashKey) >= HASH_SPACE)
        throw configError('explicitHashKey', `${JSON.stringify(explicitHashKey)} is not a decimal in 0..2^128-1`);
      hash = BigInt(explicitHashKey);
    } else {
      hash = partitionKeyHash(partitionKey);
    }
    return this.shards[Number((hash * BigInt(this.shards.length)) / HASH_SPACE)];
  }

  /** Appends one record to its shard (PutRecord). Throws INVALID_CONFIG for a bad key or an oversized record. */
  putRecord(input: PutRecordInput): PutRecordOutput {
    const data = typeof input.data === 'string' ? Buffer.from(input.data, 'utf8') : input.data;
    if (
      typeof input.partitionKey !== 'string' ||
      input.partitionKey.length < 1 ||
      codePointLength(input.partitionKey) > 256
    ) {
      throw configError('partitionKey', 'must be 1..256 characters');
    }
    const size = data.length + Buffer.byteLength(input.partitionKey, 'utf8');
    if (size > MAX_STREAM_RECORD_BYTES)
      throw configError(
        'data',
        `record is ${size} bytes with its partition key, above Kinesis's ${MAX_STREAM_RECORD_BYTES}`,
      );
    const shard = this.shardOf(input.partitionKey, input.explicitHashKey);
    shard.counter += 1;
    const sequenceNumber = `49${String(shard.index).padStart(6, '0')}${String(shard.counter).padStart(48, '0')}`;
    const record: StreamRecord = {
      shardId: shard.id,
      sequenceNumber,
      partitionKey: input.partitionKey,
      data: Buffer.from(data),
      approximateArrivalTimestamp: this.now() / 1000,
    };
    // Kept before it is acknowledged: a put that answered survives a stop.
    this.store?.append(record);
    shard.records.push(record);
    for (const listener of this.listeners) listener(shard.id);
    return { shardId: shard.id, sequenceNumber };
  }

  /**
   * Appends records in order (PutRecords, at most 500). Every entry succeeds or the call throws before any is written.
   */
  putRecords(inputs: readonly PutRecordInput[]): { failedRecordCount: 0; records: PutRecordOutput[] } {
    checkInt('records', inputs.length, 1, 500, `${inputs.length} records`);
    for (const input of inputs) {
      const bytes =
        (typeof input.data === 'string' ? Buffer.byteLength(input.data) : input.data.length) +
        Buffer.byteLength(input.partitionKey ?? '');
      if (bytes > MAX_STREAM_RECORD_BYTES)
        throw configError(
          'data',
          `a record is ${bytes} bytes with its partition key, above Kinesis's ${MAX_STREAM_RECORD_BYTES}`,
        );
    }
    return { failedRecordCount: 0, records: inputs.map((input) => this.putRecord(input)) };
  }

  /** Up to `limit` records of a shard after `afterSequenceNumber` (from the start when undefined). */
  read(shardId: string, afterSequenceNumber: string | undefined, limit: number): StreamRecord[] {
    const shard = this.shard(shardId);
    let start = 0;
    if (afterSequenceNumber !== undefined) {
      // Records are in order: a binary search finds the first one after the position.
      let lo = 0;
      let hi = shard.records.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (compareSequenceNumbers(shard.records[mid].sequenceNumber, afterSequenceNumber) <= 0) lo = mid + 1;
        else hi = mid;
      }
      start = lo;
    }
    return shard.records.slice(start, start + limit);
  }

  /** The last record's sequence number of a shard (LATEST), undefined while it is empty. */
  lastSequenceNumber(shardId: string): string | undefined {
    const records = this.shard(shardId).records;
    return records[records.length - 1]?.sequenceNumber;
  }

  /** Every record of a shard, in order (for tests and inspection). */
  records(shardId: string): readonly StreamRecord[] {
    return this.shard(shardId).records;
  }

  /** Records a consumer's position: it has finished every record up to and including `sequenceNumber`. */
  checkpoint(consumer: string, shardId: string, sequenceNumber: string): void {
    this.shard(shardId);
    const key = `${consumer}\u0000${shardId}`;
    const previous = this.checkpoints.get(key);
    if (previous !== undefined && compareSequenceNumbers(sequenceNumber, previous) < 0) {
      throw configError(
        'sequenceNumber',
        `checkpoint ${sequenceNumber} of ${consumer} on ${shardId} is before its current ${previous}`,
      );
    }
    if (previous === sequenceNumber) return;
    this.checkpoints.set(key, sequenceNumber);
    this.store?.saveCheckpoints(this.storedCheckpoints());
  }

  /** Every consumer's position on every shard. */
  storedCheckpoints(): StoredCheckpoint[] {
    return [...this.checkpoints].map(([key, sequenceNumber]) => {
      const [consumer = '', shardId = ''] = key.split('\u0000');
      return { consumer, shardId, sequenceNumber };
    });
  }

  /** A position before every record of a shard: a consumer checkpointed there reads the shard from its start. */
  startingSequenceNumber(shardId: string): string {
    return startingSequenceNumberOf(this.shard(shardId).index);
  }

  /** A consumer's last checkpoint on a shard, undefined when it has none. */
  checkpointOf(consumer: string, shardId: string): string | undefined {
    return this.checkpoints.get(`${consumer}\u0000${shardId}`);
  }

  /** Calls `listener(shardId)` after every put; returns the unsubscribe function. */
  onPut(listener: (shardId: string) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private shard(shardId: string): Shard {
    const shard = this.shards.find((s) => s.id === shardId);
    if (!shard)
      throw configError(
        'shardId',
        `${JSON.stringify(shardId)} is not a shard of ${this.name} (${this.shardIds.join(', ')})`,
      );
    return shard;
  }
}
