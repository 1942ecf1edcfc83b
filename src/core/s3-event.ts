import { PipelineError } from './errors';

/** One S3 object named by an ObjectCreated notification, with its key already URL-decoded. */
export interface S3ObjectRef {
  readonly bucket: string;
  readonly key: string;
  readonly size: number;
  /** Without surrounding quotes, as S3 notifications carry it. */
  readonly eTag: string;
  readonly versionId?: string;
  readonly sequencer?: string;
  readonly eventName: string;
  readonly eventTime?: string;
}

/** What one SQS message body holds: S3's setup test event, or object records. */
export type S3Notification = { readonly kind: 'test' } | { readonly kind: 'records'; readonly records: S3ObjectRef[] };

/** S3's limit on key length, in UTF-8 bytes. */
const MAX_KEY_BYTES = 1024;

/**
 * Decodes an S3 notification key: notifications URL-encode keys with '+' for a space
 * (form encoding), so '+' must become ' ' before percent-decoding.
 */
export function decodeS3Key(encoded: string): string {
  try {
    return decodeURIComponent(encoded.replace(/\+/g, ' '));
  } catch {
    throw new PipelineError('INVALID_KEY', `object key is not valid URL encoding: ${JSON.stringify(encoded)}`, {
      key: encoded,
    });
  }
}

/**
 * Encodes a key the way S3 notifications do (the inverse of `decodeS3Key`): form encoding, so a
 * space is '+', '/' stays as it is, and only letters, digits and `-_.*` are left unescaped.
 */
export function encodeS3Key(key: string): string {
  return encodeURIComponent(key)
    .replace(/%20/g, '+')
    .replace(/%2F/g, '/')
    .replace(/[!'()~]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/**
 * Refuses keys we will not derive output keys from: control characters, the noncharacters
 * U+FFFE/U+FFFF, `.`/`..` segments (they become path traversal the moment anyone syncs the bucket
 * to a filesystem) and over-long keys.
 */
export function assertSafeKey(key: string, bucket?: string): void {
  const subject = { bucket, key };
  if (key.length === 0) throw new PipelineError('INVALID_KEY', 'object key is empty', subject);
  if (Buffer.byteLength(key, 'utf8') > MAX_KEY_BYTES) {
    throw new PipelineError('INVALID_KEY', `object key is longer than ${MAX_KEY_BYTES} bytes`, subject);
  }
  // eslint-disable-next-line no-control-regex -- matching control characters is what this check is for
  if (/[\u0000-\u001f\u007f]/.test(key)) {
    throw new PipelineError('INVALID_KEY', `object key contains a control character: ${JSON.stringify(key)}`, subject);
  }
  // Noncharacters: SQS refuses them in a message body (the key travels in every event) and XML 1.0
  // (S3's listings) cannot carry them. Lone surrogates cannot get here: decodeS3Key rejects them.
  if (/[\uFFFE\uFFFF]/.test(key)) {
    // The message must not carry the character either: it travels in the rejection event.
    const shown = JSON.stringify(key).replace(
      /[\uFFFE\uFFFF]/g,
      (c) => `\\u${c.charCodeAt(0).toString(16).toUpperCase()}`,
    );
    throw new PipelineError('INVALID_KEY', `object key contains the noncharacter U+FFFE or U+FFFF: ${shown}`, subject);
  }
  if (key.split('/').some((segment) => segment === '.' || segment === '..')) {
    throw new PipelineError('INVALID_KEY', `object key has a '.' or '..' segment: ${JSON.stringify(key)}`, subject);
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function invalid(message: string, messageId?: string): PipelineError {
  return new PipelineError('INVALID_EVENT', message, { messageId });
}

/**
 * Parses an SQS message body holding an S3 event notification (directly, or wrapped in an SNS
 * envelope when the bucket notifies a topic that fans out to the queue).
 *
 * Only `ObjectCreated:*` records are returned; other event types are skipped. Keys are decoded
 * and checked with `assertSafeKey`. A body that is not a notification is a permanent
 * `INVALID_EVENT` error: retrying it cannot help.
 */
export function parseS3Notification(body: string, messageId?: string): S3Notification {
  let doc: unknown;
  try {
    doc = JSON.parse(body);
  } catch {
    throw invalid(`message body is not JSON (${body.length} bytes)`, messageId);
  }
  if (isRecord(doc) && doc.Type === 'Notification' && typeof doc.Message === 'string') {
    return parseS3Notification(doc.Message, messageId);
  }
  if (!isRecord(doc)) throw invalid('message body is not a JSON object', messageId);
  if (doc.Event === 's3:TestEvent') return { kind: 'test' };
  if (!Array.isArray(doc.Records)) throw invalid('message body has no "Records" array', messageId);

  const records: S3ObjectRef[] = [];
  doc.Records.forEach((raw: unknown, i: number) => {
    const where = `Records[${i}]`;
    if (!isRecord(raw)) throw invalid(`${where} is not an object`, messageId);
    const eventName = raw.eventName;
    if (typeof eventName !== 'string') throw invalid(`${where}.eventName is missing`, messageId);
    if (!eventName.startsWith('ObjectCreated:')) return;
    const s3 = raw.s3;
    if (!isRecord(s3) || !isRecord(s3.bucket) || !isRecord(s3.object))
      throw invalid(`${where}.s3 is missing bucket or object`, messageId);
    const bucket = s3.bucket.name;
    const object = s3.object;
    if (typeof bucket !== 'string' || bucket === '') throw invalid(`${where}.s3.bucket.name is missing`, messageId);
    if (typeof object.key !== 'string') throw invalid(`${where}.s3.object.key is missing`, messageId);
    const key = decodeS3Key(object.key);
    assertSafeKey(key, bucket);
    const size = typeof object.size === 'number' ? object.size : Number(object.size ?? NaN);
    if (!Number.isFinite(size) || size < 0) throw invalid(`${where}.s3.object.size is not a byte count`, messageId);
    const eTag = typeof object.eTag === 'string' ? stripQuotes(object.eTag) : '';
    records.push({
      bucket,
      key,
      size,
      eTag,
      versionId: typeof object.versionId === 'string' && object.versionId !== '' ? object.versionId : undefined,
      sequencer: typeof object.sequencer === 'string' ? object.sequencer : undefined,
      eventName,
      eventTime: typeof raw.eventTime === 'string' ? raw.eventTime : undefined,
    });
  });
  return { kind: 'records', records };
}

/** ETags arrive quoted from S3 APIs and unquoted in notifications; compare them unquoted. */
export function stripQuotes(eTag: string): string {
  return eTag.replace(/^"|"$/g, '');
}
