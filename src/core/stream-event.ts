/**
 * The stream-source contract: a stream record's data is a small JSON reference to an S3 object,
 * never the image bytes (a Kinesis record holds at most 1 MB). Two shapes are accepted:
 * - an S3 event notification, exactly as in an SQS body (SNS envelope and `s3:TestEvent` included);
 * - a plain reference `{"bucket","key","eTag"?,"size"?,"versionId"?}`, with the key NOT URL-encoded.
 * Without `eTag` the resize stage cannot recognise earlier work for the same object version, so a
 * replayed record renders again (idempotent writes, but more work): producers should send it.
 */
import { PipelineError } from './errors';
import {
  assertSafeKey,
  encodeS3Key,
  parseS3Notification,
  stripQuotes,
  type S3Notification,
  type S3ObjectRef,
} from './s3-event';

/** The plain reference shape of a stream record. */
export interface StreamObjectReference {
  readonly bucket: string;
  /** The object key as stored (not URL-encoded). */
  readonly key: string;
  readonly eTag?: string;
  readonly size?: number;
  readonly versionId?: string;
}

/** The largest record data Kinesis accepts (1 MiB). */
export const MAX_STREAM_RECORD_BYTES = 1024 * 1024;

const REFERENCE_FIELDS = new Set(['bucket', 'key', 'eTag', 'size', 'versionId']);

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function invalid(message: string, recordId?: string): PipelineError {
  return new PipelineError('INVALID_EVENT', message, { messageId: recordId });
}

/** True when a parsed document looks like an S3 notification (or its SNS envelope, or S3's test event). */
function looksLikeNotification(doc: Record<string, unknown>): boolean {
  return 'Records' in doc || 'Event' in doc || doc.Type === 'Notification';
}

/**
 * Checks the shape of a plain reference (not the key's safety: see `parseStreamRecordData`).
 * Unknown fields are refused, so a typo such as `etag` is an error rather than a silently
 * missing ETag. Throws `INVALID_EVENT` naming the field.
 */
export function streamReferenceOf(doc: unknown, recordId?: string): StreamObjectReference {
  if (!isRecord(doc)) throw invalid('stream record data is not a JSON object', recordId);
  const unknown = Object.keys(doc).filter((name) => !REFERENCE_FIELDS.has(name));
  if (unknown.length > 0)
    throw invalid(
      `stream record reference has unknown field ${JSON.stringify(unknown[0])} (accepted: ` +
        `bucket, key, eTag, size, versionId)`,
      recordId,
    );
  const { bucket, key, eTag, size, versionId } = doc;
  if (typeof bucket !== 'string' || bucket === '')
    throw invalid('stream record reference needs "bucket", a non-empty string', recordId);
  if (typeof key !== 'string' || key === '')
    throw invalid('stream record reference needs "key", a non-empty string', recordId);
  if (eTag !== undefined && typeof eTag !== 'string')
    throw invalid('stream record reference "eTag" must be a string', recordId);
  if (size !== undefined && (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0)) {
    throw invalid(`stream record reference "size" must be a byte count, got ${JSON.stringify(size)}`, recordId);
  }
  if (versionId !== undefined && (typeof versionId !== 'string' || versionId === ''))
    throw invalid('stream record reference "versionId" must be a non-empty string', recordId);
  return {
    bucket,
    key,
    ...(eTag !== undefined ? { eTag: stripQuotes(eTag) } : {}),
    ...(size !== undefined ? { size } : {}),
    ...(versionId !== undefined ? { versionId } : {}),
  };
}

function parseJson(text: string, recordId?: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw invalid(
      `stream record data is not JSON (${Buffer.byteLength(text)} bytes; ` +
        `records carry a reference to an S3 object, never its bytes)`,
      recordId,
    );
  }
}

/**
 * Parses a stream record's data (already decoded from base64) into the objects it names, the same
 * result `parseS3Notification` gives for an SQS body. Keys are checked with `assertSafeKey`.
 * A reference without `size` is taken as size 0 (unknown): the size limit is then enforced while
 * reading the object. Throws `INVALID_EVENT` (or `INVALID_KEY`), both permanent.
 */
export function parseStreamRecordData(text: string, recordId?: string): S3Notification {
  const doc = parseJson(text, recordId);
  if (isRecord(doc) && looksLikeNotification(doc)) return parseS3Notification(text, recordId);
  const ref = streamReferenceOf(doc, recordId);
  assertSafeKey(ref.key, ref.bucket);
  const record: S3ObjectRef = {
    bucket: ref.bucket,
    key: ref.key,
    size: ref.size ?? 0,
    eTag: ref.eTag ?? '',
    eventName: 'ObjectCreated:Put',
    ...(ref.versionId ? { versionId: ref.versionId } : {}),
  };
  return { kind: 'records', records: [record] };
}

/**
 * The SQS-body equivalent of a stream record's data, for the resize batch (which parses S3
 * notifications): a notification passes through unchanged, a plain reference becomes a one-record
 * `ObjectCreated:Put` notification (key encoded as S3 encodes it, so the batch's own parser checks
 * its safety and a rejection names the object). Data that is neither is returned as it is: the
 * batch refuses it as `INVALID_EVENT` and sends it to the rejected queue. `arrivedAt` (the record's
 * arrival in the stream) becomes the made-up notification's `eventTime`: for a reference it is when
 * the object entered the chain.
 */
export function streamDataAsNotificationBody(text: string, arrivedAt?: Date): string {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    return text;
  }
  if (!isRecord(doc) || looksLikeNotification(doc)) return text;
  let ref: StreamObjectReference;
  try {
    ref = streamReferenceOf(doc);
  } catch {
    return text;
  }
  const object = {
    key: encodeS3Key(ref.key),
    size: ref.size ?? 0,
    eTag: ref.eTag ?? '',
    ...(ref.versionId ? { versionId: ref.versionId } : {}),
  };
  const eventTime = arrivedAt && Number.isFinite(arrivedAt.getTime()) ? { eventTime: arrivedAt.toISOString() } : {};
  return JSON.stringify({
    Records: [
      {
        eventSource: 'aws:kinesis',
        ...eventTime,
        eventName: 'ObjectCreated:Put',
        s3: { bucket: { name: ref.bucket }, object },
      },
    ],
  });
}
