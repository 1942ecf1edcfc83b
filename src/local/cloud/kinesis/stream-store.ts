/**
 * A LocalStream's store in a folder, so `resize-chain up --state DIR --stream` keeps the stream
 * across restarts: `stream.json` (name, shard count, creation time), `records.jsonl` (one record per
 * line, appended as records arrive, before the put is acknowledged) and `checkpoints.json` (every
 * consumer's position, rewritten atomically after each move). Writes are synchronous: a record or
 * checkpoint is on disk before the stream goes on, so a SIGTERM (or a crash) between two puts or two
 * batches loses nothing that was acknowledged.
 */
import { appendFileSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { configError } from '../../../core/errors';
import type { StoredCheckpoint, StreamRecord, StreamStore } from './stream';

/** What `stream.json` holds. */
export interface StoredStreamInfo {
  name: string;
  shardCount: number;
  /** ISO 8601: when the stream was first created in this folder. */
  createdAt: string;
}

/** A StreamStore in a folder, and what it says about the stream it holds. */
export interface FileStreamStore extends StreamStore {
  readonly dir: string;
  /** When the stream was first created in this folder (now, for a new folder). */
  readonly createdAt: Date;
  /** True when the folder already held this stream. */
  readonly existed: boolean;
}

interface RecordLine {
  shardId: string;
  sequenceNumber: string;
  partitionKey: string;
  /** base64 */
  data: string;
  approximateArrivalTimestamp: number;
}

function parseRecord(line: string): StreamRecord | undefined {
  let parsed: Partial<RecordLine>;
  try {
    parsed = JSON.parse(line) as Partial<RecordLine>;
  } catch {
    return undefined;
  }
  const { shardId, sequenceNumber, partitionKey, data, approximateArrivalTimestamp } = parsed;
  if (
    typeof shardId !== 'string' ||
    typeof sequenceNumber !== 'string' ||
    !/^\d{56}$/.test(sequenceNumber) ||
    typeof partitionKey !== 'string' ||
    typeof data !== 'string' ||
    typeof approximateArrivalTimestamp !== 'number'
  ) {
    return undefined;
  }
  return { shardId, sequenceNumber, partitionKey, data: Buffer.from(data, 'base64'), approximateArrivalTimestamp };
}

/**
 * Opens (creating when missing) the store of stream `name` in `dir`. Throws INVALID_CONFIG when
 * the folder holds a stream with another name or shard count (a restart cannot reshard), or a
 * records file with a damaged line other than the last. A damaged last line (a write cut off by a
 * crash: its put was never acknowledged) is dropped.
 */
export function fileStreamStore(dir: string, stream: { name: string; shardCount: number }): FileStreamStore {
  mkdirSync(dir, { recursive: true });
  const infoFile = join(dir, 'stream.json');
  const recordsFile = join(dir, 'records.jsonl');
  const checkpointsFile = join(dir, 'checkpoints.json');
  const existed = existsSync(infoFile);
  let info: StoredStreamInfo;
  if (existed) {
    info = JSON.parse(readFileSync(infoFile, 'utf8')) as StoredStreamInfo;
    if (info.name !== stream.name || info.shardCount !== stream.shardCount) {
      throw configError(
        'streamSource',
        `${dir} holds stream ${info.name} with ${info.shardCount} shard(s), ` +
          `not ${stream.name} with ${stream.shardCount}: use the same --stream-shards, or another --state folder`,
      );
    }
  } else {
    info = { name: stream.name, shardCount: stream.shardCount, createdAt: new Date().toISOString() };
    writeFileSync(infoFile, `${JSON.stringify(info)}\n`);
  }

  const writeAtomically = (file: string, text: string): void => {
    const temporary = `${file}.tmp`;
    writeFileSync(temporary, text);
    renameSync(temporary, file);
  };

  return {
    dir,
    createdAt: new Date(info.createdAt),
    existed,
    load() {
      const records: StreamRecord[] = [];
      if (existsSync(recordsFile)) {
        const lines = readFileSync(recordsFile, 'utf8').split('\n');
        // A file written whole ends with a newline, so the last element is ''.
        const complete = lines[lines.length - 1] === '';
        const body = complete ? lines.slice(0, -1) : lines;
        let dropped = false;
        body.forEach((line, i) => {
          const record = parseRecord(line);
          if (record) records.push(record);
          else if (i === body.length - 1) dropped = true;
          else throw configError('streamSource', `${recordsFile} line ${i + 1} is not a stream record`);
        });
        if (dropped || !complete)
          writeAtomically(recordsFile, records.map((r) => `${JSON.stringify(toLine(r))}\n`).join(''));
      }
      const checkpoints = existsSync(checkpointsFile)
        ? (JSON.parse(readFileSync(checkpointsFile, 'utf8')) as StoredCheckpoint[])
        : [];
      return { records, checkpoints };
    },
    append(record) {
      appendFileSync(recordsFile, `${JSON.stringify(toLine(record))}\n`);
    },
    saveCheckpoints(checkpoints) {
      writeAtomically(checkpointsFile, `${JSON.stringify(checkpoints)}\n`);
    },
  };
}

function toLine(record: StreamRecord): RecordLine {
  return {
    shardId: record.shardId,
    sequenceNumber: record.sequenceNumber,
    partitionKey: record.partitionKey,
    data: record.data.toString('base64'),
    approximateArrivalTimestamp: record.approximateArrivalTimestamp,
  };
}
