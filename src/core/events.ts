import { PipelineError, type ErrorCode } from './errors';
import type { OutputFormat } from './variants';

/** The source image as the `image.resized` event describes it. */
export interface ResizedSource {
  bucket: string;
  key: string;
  eTag: string;
  versionId?: string;
  /**
   * When S3 reported the upload (the notification's event time), when known: the start of the upload-to-manifest
   * latency.
   */
  uploadedAt?: string;
  size: number;
  width: number;
  height: number;
  format: string;
}

export interface ResizedVariant {
  name: string;
  bucket: string;
  key: string;
  width: number;
  height: number;
  format: OutputFormat;
  bytes: number;
}

/** Emitted by the resize stage for every processed source (docs/ARCHITECTURE.md, "Contracts"). Versioned. */
export interface ImageResizedEvent {
  type: 'image.resized';
  version: 1;
  source: ResizedSource;
  variants: ResizedVariant[];
  processedAt: string;
}

/** Sent to the rejected queue for every input that can never succeed (docs/ARCHITECTURE.md, "Contracts"). */
export interface ImageRejectedEvent {
  type: 'image.rejected';
  version: 1;
  source: { bucket: string; key: string; eTag: string; messageId?: string };
  code: ErrorCode;
  message: string;
  rejectedAt: string;
}

export function imageResizedEvent(
  source: ResizedSource,
  variants: ResizedVariant[],
  processedAt: Date,
): ImageResizedEvent {
  return { type: 'image.resized', version: 1, source, variants, processedAt: processedAt.toISOString() };
}

export function imageRejectedEvent(
  source: ImageRejectedEvent['source'],
  error: { code: ErrorCode; message: string },
  rejectedAt: Date,
): ImageRejectedEvent {
  return {
    type: 'image.rejected',
    version: 1,
    source,
    code: error.code,
    message: error.message,
    rejectedAt: rejectedAt.toISOString(),
  };
}

const VARIANT_FIELDS: Array<[keyof ResizedVariant, 'string' | 'number']> = [
  ['name', 'string'],
  ['bucket', 'string'],
  ['key', 'string'],
  ['width', 'number'],
  ['height', 'number'],
  ['format', 'string'],
  ['bytes', 'number'],
];

/**
 * Parses and checks an `image.resized` event from an SQS body. Unknown versions and malformed
 * bodies are permanent `INVALID_EVENT` errors naming the bad field.
 */
export function parseImageResizedEvent(body: string, messageId?: string): ImageResizedEvent {
  const fail = (what: string) => new PipelineError('INVALID_EVENT', `image.resized event: ${what}`, { messageId });
  let doc: unknown;
  try {
    doc = JSON.parse(body);
  } catch {
    throw fail('body is not JSON');
  }
  if (typeof doc !== 'object' || doc === null) throw fail('body is not an object');
  const ev = doc as Record<string, unknown>;
  if (ev.type !== 'image.resized') throw fail(`type is ${JSON.stringify(ev.type)}, expected "image.resized"`);
  if (ev.version !== 1) throw fail(`version ${JSON.stringify(ev.version)} is not supported (supported: 1)`);
  const source = ev.source as Record<string, unknown> | undefined;
  if (
    !source ||
    typeof source.bucket !== 'string' ||
    typeof source.key !== 'string' ||
    typeof source.eTag !== 'string'
  ) {
    throw fail('source.bucket, source.key and source.eTag are required strings');
  }
  if (!Array.isArray(ev.variants) || ev.variants.length === 0) throw fail('variants must be a non-empty array');
  ev.variants.forEach((v: unknown, i: number) => {
    if (typeof v !== 'object' || v === null) throw fail(`variants[${i}] is not an object`);
    for (const [field, type] of VARIANT_FIELDS) {
      if (typeof (v as Record<string, unknown>)[field] !== type)
        throw fail(`variants[${i}].${field} must be a ${type}`);
    }
  });
  if (typeof ev.processedAt !== 'string') throw fail('processedAt must be an ISO timestamp');
  return doc as ImageResizedEvent;
}
