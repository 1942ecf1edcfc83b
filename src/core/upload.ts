/**
 * The upload API's pure part: its configuration and the validation of one request
 * (`{filename, contentType, size}`) into the object key and limits a presigned POST is signed for.
 */
import { intEnv, requiredEnv, type Env } from './env';
import { configError, PipelineError } from './errors';
import { DEFAULT_LIMITS } from './limits';

/** Content types the API signs uploads for unless ALLOWED_CONTENT_TYPES says otherwise. */
export const DEFAULT_ALLOWED_CONTENT_TYPES: readonly string[] = Object.freeze([
  'image/jpeg',
  'image/png',
  'image/webp',
  'image/gif',
  'image/avif',
]);

/** Longest file name kept in a key (the extension is kept when a name is cut). */
export const MAX_FILE_NAME_CHARS = 100;

export interface UploadConfig {
  readonly sourceBucket: string;
  /** Where uploads land; the chain watches it. Ends in "/" (or is ""). */
  readonly uploadsPrefix: string;
  readonly allowedContentTypes: readonly string[];
  /** Largest declared and uploaded size, bytes. */
  readonly maxUploadBytes: number;
  /** Lifetime of a presigned POST, seconds. */
  readonly expiresSeconds: number;
}

/**
 * Reads the upload handler's configuration at cold start.
 *
 * - `SOURCE_BUCKET` (required), `UPLOADS_PREFIX` (default `uploads/`, must end in "/")
 * - `ALLOWED_CONTENT_TYPES`: comma-separated (default `DEFAULT_ALLOWED_CONTENT_TYPES`)
 * - `MAX_UPLOAD_BYTES`: 1..5 GiB (S3's POST limit), default 50 MiB (the resize stage's MAX_INPUT_BYTES default)
 * - `UPLOAD_EXPIRES_SECONDS`: 60..3600, default 300
 */
export function uploadConfigFromEnv(env: Env): UploadConfig {
  const uploadsPrefix = env.UPLOADS_PREFIX ?? 'uploads/';
  if (uploadsPrefix.startsWith('/') || (uploadsPrefix !== '' && !uploadsPrefix.endsWith('/'))) {
    throw configError(
      'UPLOADS_PREFIX',
      `must not start with "/" and must end with "/", got ${JSON.stringify(uploadsPrefix)}`,
    );
  }
  const rawTypes = env.ALLOWED_CONTENT_TYPES?.trim();
  const allowedContentTypes = rawTypes
    ? rawTypes
        .split(',')
        .map((t) => t.trim().toLowerCase())
        .filter((t) => t !== '')
    : [...DEFAULT_ALLOWED_CONTENT_TYPES];
  for (const type of allowedContentTypes) {
    if (!/^[a-z0-9][a-z0-9!#$&^_.+-]*\/[a-z0-9][a-z0-9!#$&^_.+-]*$/.test(type)) {
      throw configError('ALLOWED_CONTENT_TYPES', `${JSON.stringify(type)} is not a media type such as image/jpeg`);
    }
  }
  if (allowedContentTypes.length === 0) throw configError('ALLOWED_CONTENT_TYPES', 'names no content type');
  return Object.freeze({
    sourceBucket: requiredEnv(env, 'SOURCE_BUCKET'),
    uploadsPrefix,
    allowedContentTypes: Object.freeze(allowedContentTypes),
    maxUploadBytes: intEnv(env, 'MAX_UPLOAD_BYTES', DEFAULT_LIMITS.maxInputBytes, 1, 5 * 1024 * 1024 * 1024),
    expiresSeconds: intEnv(env, 'UPLOAD_EXPIRES_SECONDS', 300, 60, 3600),
  });
}

/** What a presigned POST is signed for: one key, one content type, a size range. */
export interface UploadPlan {
  readonly key: string;
  readonly contentType: string;
  readonly minBytes: number;
  readonly maxBytes: number;
}

function invalid(
  code: 'INVALID_EVENT' | 'UNSUPPORTED_FORMAT' | 'TOO_LARGE' | 'EMPTY' | 'INVALID_KEY',
  field: string,
  message: string,
): PipelineError {
  return new PipelineError(code, `${field}: ${message}`, { field });
}

/**
 * A file name safe as the last segment of a key: the base name only (no folders, no `..`),
 * letters, digits, `.`, `_` and `-` (anything else becomes `-`), no leading dot, at most
 * MAX_FILE_NAME_CHARS characters with the extension kept. Empty after that: INVALID_KEY.
 */
export function sanitiseFileName(name: string): string {
  const base =
    name
      .normalize('NFKD')
      .replace(/[\u0300-\u036f]/g, '')
      .split(/[\\/]/)
      .pop() ?? '';
  let safe = base
    .replace(/[^A-Za-z0-9._-]+/g, '-')
    .replace(/-{2,}/g, '-')
    .replace(/\.{2,}/g, '.')
    .replace(/^[.-]+/, '')
    .replace(/-+$/, '');
  if (safe.length > MAX_FILE_NAME_CHARS) {
    const dot = safe.lastIndexOf('.');
    const ext = dot > 0 && safe.length - dot <= 10 ? safe.slice(dot) : '';
    safe = safe.slice(0, MAX_FILE_NAME_CHARS - ext.length) + ext;
  }
  if (safe === '' || /^[._-]*$/.test(safe))
    throw invalid(
      'INVALID_KEY',
      'filename',
      `${JSON.stringify(name)} has no usable characters (letters, digits, . _ -)`,
    );
  return safe;
}

/**
 * Validates a parsed request body against `config` and names the key: `<uploadsPrefix><id>/<safe name>`,
 * `id` being unique per request (a UUID), so two uploads of `photo.jpg` never overwrite each other.
 * The size range signed is [1, declared size]: S3 refuses a larger body.
 *
 * @throws PipelineError with `subject.field` naming the bad field: INVALID_EVENT (not an object,
 * missing/mistyped field), UNSUPPORTED_FORMAT (content type not allowed), EMPTY (size 0),
 * TOO_LARGE (size above maxUploadBytes), INVALID_KEY (unusable file name).
 */
export function planUpload(body: unknown, config: UploadConfig, id: string): UploadPlan {
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    throw invalid('INVALID_EVENT', 'body', 'must be a JSON object {filename, contentType, size}');
  const { filename, contentType, size } = body as Record<string, unknown>;
  if (typeof filename !== 'string' || filename.length === 0 || filename.length > 1024)
    throw invalid('INVALID_EVENT', 'filename', 'must be a string of 1-1024 characters');
  if (typeof contentType !== 'string') throw invalid('INVALID_EVENT', 'contentType', 'must be a string');
  const type = contentType.trim().toLowerCase();
  if (!config.allowedContentTypes.includes(type)) {
    throw invalid(
      'UNSUPPORTED_FORMAT',
      'contentType',
      `${JSON.stringify(contentType)} is not one of ${config.allowedContentTypes.join(', ')}`,
    );
  }
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0)
    throw invalid('INVALID_EVENT', 'size', `must be a whole number of bytes, got ${JSON.stringify(size)}`);
  if (size === 0) throw invalid('EMPTY', 'size', 'is 0: an empty file is not an image');
  if (size > config.maxUploadBytes)
    throw invalid('TOO_LARGE', 'size', `${size} bytes is above the limit of ${config.maxUploadBytes}`);
  return {
    key: `${config.uploadsPrefix}${id}/${sanitiseFileName(filename)}`,
    contentType: type,
    minBytes: 1,
    maxBytes: size,
  };
}

/** `source` of the module's keep-warm ping: the fixed input of its scheduled EventBridge target. */
export const KEEP_WARM_SOURCE = 'resize-chain.keep-warm';

/** The keep-warm ping exactly as the module's EventBridge target sends it. */
export const KEEP_WARM_PING: KeepWarmPing = Object.freeze({ source: KEEP_WARM_SOURCE });

/** What the keep-warm rule invokes the upload function with. */
export interface KeepWarmPing {
  readonly source: typeof KEEP_WARM_SOURCE;
}

/**
 * True for the keep-warm ping: a plain object whose `source` is KEEP_WARM_SOURCE. An API Gateway
 * request never matches (payload 2.0 has no top-level `source`, and anything carrying a
 * `requestContext` is a request), so a caller of the API cannot dress a request up as a ping.
 */
export function isKeepWarmPing(event: unknown): event is KeepWarmPing {
  if (typeof event !== 'object' || event === null || Array.isArray(event)) return false;
  const record = event as Record<string, unknown>;
  return record.source === KEEP_WARM_SOURCE && !('requestContext' in record);
}

/**
 * One rule of an S3 bucket CORS configuration, in the shape of the S3 API (`PutBucketCors`'s
 * `CORSRules` items), which the Terraform resource and the local cloud both take.
 */
export interface BucketCorsRule {
  AllowedMethods: string[];
  AllowedOrigins: string[];
  AllowedHeaders?: string[];
  ExposeHeaders?: string[];
  MaxAgeSeconds?: number;
}

/**
 * The source bucket's CORS rule for browser uploads: a page on one of `allowedOrigins` may POST the
 * presigned form straight to S3 (S3 answers the preflight from the bucket's own CORS configuration,
 * not the API's) and read the answer's `ETag`. The form carries everything in its fields, so no
 * request header needs allowing. A fresh object each call.
 */
export function uploadCorsRule(allowedOrigins: readonly string[]): BucketCorsRule {
  return {
    AllowedMethods: ['POST'],
    AllowedOrigins: [...allowedOrigins],
    ExposeHeaders: ['ETag'],
    MaxAgeSeconds: 3000,
  };
}
