/**
 * The part of Kinesis Data Streams' API (2013-12-02, JSON 1.1: `POST /` with
 * `X-Amz-Target: Kinesis_20131202.<Operation>`) that a producer needs against the local streams:
 * PutRecord, PutRecords, DescribeStreamSummary, DescribeStream, ListShards and ListStreams; with the
 * control plane of stream-control.ts also the calls that create and manage streams. Served
 * by the gateway on the same endpoint as S3 and SQS, so `aws kinesis put-record` and SDK clients
 * with only the endpoint set write to the stream the local mapping feeds to the resize function.
 * Errors are Kinesis's: HTTP 400 with
 * `{"__type": "ResourceNotFoundException" | "ValidationException" | ..., "message"}`. Signatures are not checked (as
 * everywhere in the local cloud). Consumers (GetShardIterator, GetRecords) are not served: the local event source
 * mapping reads the stream in process.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { randomBytes, randomUUID } from 'node:crypto';
import { codePointLength } from '../../../core/checks';
import { isPipelineError } from '../../../core/errors';
import { MAX_STREAM_RECORD_BYTES } from '../../../core/stream-event';
import type { GatewayRoute } from '../gateway/gateway';
import { readBody, sendJson } from '../http-io';
import { HASH_SPACE, hashKeyRange, type LocalStream, type PutRecordInput } from './stream';
import type { StreamControl } from './stream-control';

/** The X-Amz-Target prefix of every Kinesis operation. */
export const KINESIS_TARGET_PREFIX = 'Kinesis_20131202.';

/** PutRecords takes at most 5 MiB of data; base64 and JSON add about a third. */
const MAX_REQUEST_BYTES = 8 * 1024 * 1024;

/** A stream the route serves, with what DescribeStreamSummary reports about it. */
export interface ServedStream {
  stream: LocalStream;
  /** @default the time the route was created */
  createdAt?: Date;
  /** @default 24 (the module's default) */
  retentionHours?: number;
  /** CREATING until the stream takes records. @default 'ACTIVE' */
  readonly status?: 'CREATING' | 'ACTIVE';
  /** @default 'PROVISIONED' */
  mode?: 'PROVISIONED' | 'ON_DEMAND';
  /** What the stream reports; records stay in memory unencrypted. @default { type: 'NONE' } */
  encryption?: { type: 'NONE' | 'KMS'; keyId?: string };
  /** @default none */
  shardLevelMetrics?: string[];
}

/** A Kinesis error: HTTP 400 unless `status` says otherwise. */
export class KinesisApiError extends Error {
  constructor(
    readonly type: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

/** Answers in JSON 1.1 with Kinesis's request id headers. */
function send(res: ServerResponse, status: number, body: unknown): void {
  sendJson(res, status, body, {
    'content-type': 'application/x-amz-json-1.1',
    'x-amzn-requestid': randomUUID(),
    'x-amz-id-2': randomBytes(48).toString('base64'),
  });
}

function validation(message: string): KinesisApiError {
  return new KinesisApiError('ValidationException', message);
}

function optionalString(body: Record<string, unknown>, field: string): string | undefined {
  const value = body[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw new KinesisApiError('SerializationException', `${field} must be a string`);
  return value;
}

/** Decodes a blob member (base64 in JSON 1.1), refusing what is not base64. */
function blob(value: unknown, where: string): Buffer {
  if (value === undefined || value === null)
    throw validation(
      `1 validation error detected: Value null at '${where}' failed to satisfy constraint: Member must not be null`,
    );
  if (typeof value !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(value) || value.length % 4 === 1) {
    throw new KinesisApiError('SerializationException', `${where} is not a base64-encoded blob`);
  }
  return Buffer.from(value, 'base64');
}

function recordInput(entry: unknown, where: string): PutRecordInput {
  if (!entry || typeof entry !== 'object' || Array.isArray(entry))
    throw new KinesisApiError('SerializationException', `${where} is not an object`);
  const e = entry as Record<string, unknown>;
  const data = blob(e.Data, `${where}.data`);
  const partitionKey = e.PartitionKey;
  if (typeof partitionKey !== 'string')
    throw validation(
      `1 validation error detected: Value null at '${where}.partitionKey' ` +
        `failed to satisfy constraint: Member must not be null`,
    );
  const length = codePointLength(partitionKey);
  if (length < 1 || length > 256)
    throw validation(
      `1 validation error detected: Value '${partitionKey.slice(0, 40)}' at '${where}.partitionKey' ` +
        `failed to satisfy constraint: Member must have length between 1 and 256`,
    );
  if (data.length > MAX_STREAM_RECORD_BYTES) {
    throw validation(
      `1 validation error detected: Value at '${where}.data' failed to satisfy constraint: ` +
        `Member must have length less than or equal to ${MAX_STREAM_RECORD_BYTES}`,
    );
  }
  const explicitHashKey = e.ExplicitHashKey;
  if (explicitHashKey !== undefined && explicitHashKey !== null) {
    if (typeof explicitHashKey !== 'string' || !/^\d{1,39}$/.test(explicitHashKey)) {
      throw validation(
        `1 validation error detected: Value ` +
          `'${typeof explicitHashKey === 'string' ? explicitHashKey : JSON.stringify(explicitHashKey)}' at ` +
          `'${where}.explicitHashKey' failed to satisfy constraint: ` +
          `Member must satisfy regular expression pattern: 0|([1-9]\\d{0,38})`,
      );
    }
    if (BigInt(explicitHashKey) >= HASH_SPACE)
      throw new KinesisApiError(
        'InvalidArgumentException',
        `ExplicitHashKey ${explicitHashKey} is outside the hash key range 0..2^128-1`,
      );
    return { partitionKey, data, explicitHashKey };
  }
  return { partitionKey, data };
}

/**
 * The route serving the Kinesis API (`POST` with `X-Amz-Target: Kinesis_20131202.*`, any path) for
 * `streams`, looked up per request: the streams may be created after the gateway. With `control`
 * (stream-control.ts), its streams are served too and its operations (CreateStream, …) answered.
 * @default region 'us-east-1', account '000000000000', no control plane
 */
export function kinesisApiRoute(
  given: () => readonly ServedStream[],
  opts: { accountId?: string; control?: StreamControl } = {},
): GatewayRoute {
  const accountId = opts.accountId ?? '000000000000';
  const routeCreated = new Date();
  const streams = (): readonly ServedStream[] => [...given(), ...(opts.control?.list() ?? [])];

  function find(body: Record<string, unknown>): ServedStream {
    const name = optionalString(body, 'StreamName');
    const arn = optionalString(body, 'StreamARN');
    if (name === undefined && arn === undefined)
      throw new KinesisApiError('InvalidArgumentException', 'Neither StreamName nor StreamARN was provided.');
    const served = streams().find(
      (s) => (name === undefined || s.stream.name === name) && (arn === undefined || s.stream.arn === arn),
    );
    if (!served) {
      const which = name ?? arn?.split('/').pop() ?? '';
      throw new KinesisApiError('ResourceNotFoundException', `Stream ${which} under account ${accountId} not found.`);
    }
    return served;
  }

  function shardList(stream: LocalStream): Array<Record<string, unknown>> {
    const ids = stream.shardIds;
    return ids.map((ShardId, index) => ({
      ShardId,
      HashKeyRange: hashKeyRange(index, ids.length),
      SequenceNumberRange: { StartingSequenceNumber: stream.startingSequenceNumber(ShardId) },
    }));
  }

  function summary(served: ServedStream): Record<string, unknown> {
    return {
      StreamName: served.stream.name,
      StreamARN: served.stream.arn,
      StreamStatus: served.status ?? 'ACTIVE',
      StreamModeDetails: { StreamMode: served.mode ?? 'PROVISIONED' },
      RetentionPeriodHours: served.retentionHours ?? 24,
      StreamCreationTimestamp: (served.createdAt ?? routeCreated).getTime() / 1000,
      EnhancedMonitoring: [{ ShardLevelMetrics: served.shardLevelMetrics ?? [] }],
      // Reported as applied; records are kept in memory unencrypted whatever it says.
      EncryptionType: served.encryption?.type ?? 'NONE',
      ...(served.encryption?.keyId ? { KeyId: served.encryption.keyId } : {}),
    };
  }

  /** The stream a put names: Kinesis takes records only once the stream has left CREATING. */
  function writable(body: Record<string, unknown>): ServedStream {
    const served = find(body);
    if ((served.status ?? 'ACTIVE') === 'CREATING')
      throw new KinesisApiError(
        'ResourceNotFoundException',
        `Stream ${served.stream.name} under account ${accountId} not found.`,
      );
    return served;
  }

  const operations: Record<string, (body: Record<string, unknown>) => unknown> = {
    ...opts.control?.operations,
    PutRecord(body) {
      const served = writable(body);
      const put = served.stream.putRecord(recordInput(body, 'putRecordInput'));
      return {
        ShardId: put.shardId,
        SequenceNumber: put.sequenceNumber,
        EncryptionType: served.encryption?.type ?? 'NONE',
      };
    },
    PutRecords(body) {
      const served = writable(body);
      const records = body.Records;
      if (!Array.isArray(records))
        throw validation(
          "1 validation error detected: Value null at 'records' failed to satisfy constraint: Member must not be null",
        );
      if (records.length < 1 || records.length > 500)
        throw validation(
          `1 validation error detected: Value at 'records' failed to satisfy constraint: ` +
            `Member must have length between 1 and 500 (got ${records.length})`,
        );
      const inputs = records.map((entry, i) => recordInput(entry, `records.${i + 1}.member`));
      const put = served.stream.putRecords(inputs);
      return {
        FailedRecordCount: 0,
        Records: put.records.map((r) => ({ ShardId: r.shardId, SequenceNumber: r.sequenceNumber })),
        EncryptionType: served.encryption?.type ?? 'NONE',
      };
    },
    DescribeStreamSummary(body) {
      const served = find(body);
      return {
        StreamDescriptionSummary: {
          ...summary(served),
          OpenShardCount: served.stream.shardIds.length,
          ConsumerCount: 0,
        },
      };
    },
    DescribeStream(body) {
      const served = find(body);
      const after = optionalString(body, 'ExclusiveStartShardId');
      const limit = body.Limit === undefined ? 100 : Number(body.Limit);
      if (!Number.isInteger(limit) || limit < 1 || limit > 10000)
        throw validation(
          `1 validation error detected: Value '${String(body.Limit)}' at 'limit' failed to satisfy constraint: ` +
            `Member must have value between 1 and 10000`,
        );
      const all = shardList(served.stream);
      const from = after === undefined ? 0 : all.findIndex((s) => s.ShardId === after) + 1;
      const page = all.slice(from, from + Math.min(limit, 100));
      return {
        StreamDescription: { ...summary(served), Shards: page, HasMoreShards: from + page.length < all.length },
      };
    },
    ListShards(body) {
      let name: string | undefined;
      let after = optionalString(body, 'ExclusiveStartShardId');
      const token = optionalString(body, 'NextToken');
      if (token !== undefined) {
        try {
          const parsed = JSON.parse(Buffer.from(token, 'base64').toString('utf8')) as {
            stream?: unknown;
            after?: unknown;
          };
          if (typeof parsed.stream !== 'string' || typeof parsed.after !== 'string') throw new Error('bad token');
          name = parsed.stream;
          after = parsed.after;
        } catch {
          throw new KinesisApiError('InvalidArgumentException', 'NextToken is not a token this endpoint gave out.');
        }
        // Kinesis refuses StreamName beside NextToken, yet the AWS CLI's own paginator (--page-size)
        // repeats it on every page: accepted here when both name the same stream.
        const named = optionalString(body, 'StreamName') ?? optionalString(body, 'StreamARN')?.split('/').pop();
        if (named !== undefined && named !== name)
          throw new KinesisApiError(
            'InvalidArgumentException',
            'NextToken and StreamName cannot be provided together.',
          );
      }
      const served = find(name !== undefined ? { StreamName: name } : body);
      const filter = body.ShardFilter as { Type?: unknown; ShardId?: unknown } | undefined;
      if (filter?.Type === 'AFTER_SHARD_ID' && typeof filter.ShardId === 'string') after = filter.ShardId;
      const max = body.MaxResults === undefined ? 1000 : Number(body.MaxResults);
      if (!Number.isInteger(max) || max < 1 || max > 10000)
        throw validation(
          `1 validation error detected: Value '${String(body.MaxResults)}' at 'maxResults' ` +
            `failed to satisfy constraint: Member must have value between 1 and 10000`,
        );
      const all = shardList(served.stream);
      const from = after === undefined ? 0 : all.findIndex((s) => s.ShardId === after) + 1;
      const page = all.slice(from, from + Math.min(max, 1000));
      const last = page[page.length - 1]?.ShardId;
      const more = from + page.length < all.length && typeof last === 'string';
      return {
        Shards: page,
        ...(more
          ? { NextToken: Buffer.from(JSON.stringify({ stream: served.stream.name, after: last })).toString('base64') }
          : {}),
      };
    },
    ListStreams() {
      const all = streams();
      return {
        StreamNames: all.map((s) => s.stream.name),
        HasMoreStreams: false,
        StreamSummaries: all.map((s) => ({
          StreamName: s.stream.name,
          StreamARN: s.stream.arn,
          StreamStatus: s.status ?? 'ACTIVE',
          StreamModeDetails: { StreamMode: s.mode ?? 'PROVISIONED' },
          StreamCreationTimestamp: (s.createdAt ?? routeCreated).getTime() / 1000,
        })),
      };
    },
  };

  return {
    method: 'POST',
    path: '/*',
    constraints: { awsTarget: KINESIS_TARGET_PREFIX.slice(0, -1) },
    handler: (req, res) => handle(req, res, String(req.headers['x-amz-target']).slice(KINESIS_TARGET_PREFIX.length)),
    onError: (res, err) => send(res, 500, { __type: 'InternalFailure', message: err.message }),
  };

  async function handle(req: IncomingMessage, res: ServerResponse, operation: string): Promise<void> {
    try {
      const contentType = req.headers['content-type'] ?? '';
      if (contentType.includes('cbor')) {
        req.resume();
        throw new KinesisApiError(
          'SerializationException',
          'CBOR requests are not served locally: use the JSON 1.1 protocol (application/x-amz-json-1.1)',
        );
      }
      const raw = await readBody(req, MAX_REQUEST_BYTES);
      if (raw === undefined)
        throw new KinesisApiError('ValidationException', `request body is larger than ${MAX_REQUEST_BYTES} bytes`, 413);
      let body: Record<string, unknown> = {};
      const text = raw.toString('utf8').trim();
      if (text) {
        let parsed: unknown;
        try {
          parsed = JSON.parse(text);
        } catch (err) {
          throw new KinesisApiError('SerializationException', `request body is not JSON: ${(err as Error).message}`);
        }
        if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed))
          throw new KinesisApiError('SerializationException', 'request body is not a JSON object');
        body = parsed as Record<string, unknown>;
      }
      const op = Object.hasOwn(operations, operation) ? operations[operation] : undefined;
      if (!op)
        throw new KinesisApiError(
          'UnknownOperationException',
          `${operation} is not served by the local Kinesis API (served: ${Object.keys(operations).join(', ')})`,
        );
      send(res, 200, op(body));
    } catch (err) {
      if (err instanceof KinesisApiError) return send(res, err.status, { __type: err.type, message: err.message });
      // LocalStream refuses bad input with INVALID_CONFIG errors naming the field.
      if (isPipelineError(err) && err.code === 'INVALID_CONFIG')
        return send(res, 400, { __type: 'ValidationException', message: err.message });
      throw err;
    }
  }
}
