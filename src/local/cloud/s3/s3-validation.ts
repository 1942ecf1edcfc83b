/**
 * Refusals S3 makes from a request's line and headers alone, which the stand-in does not make:
 * object keys over 1,024 bytes (`KeyTooLongError`, on every object-level request) and bucket
 * names S3's naming rules refuse (`InvalidBucketName`, on CreateBucket: no such bucket can exist,
 * so every other request to one ends in NoSuchBucket anyway); with s3Refusal() also object bodies
 * larger than the stand-in takes and expired presigned URLs (presign-expiry.ts). The gateway
 * answers these before anything reaches the stand-in.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { AwsRequestInfo } from '../gateway/aws-request';
import { entityTooLarge, type S3ErrorShape } from './post-policy';
import { presignRefusal } from './presign-expiry';
import { MAX_LOCAL_OBJECT_BYTES } from '../standin/standin';

/** S3's limit on an object key, in UTF-8 bytes. */
export const MAX_S3_KEY_BYTES = 1024;

/** Prefixes and suffixes S3 reserves (general purpose buckets). */
const RESERVED_PREFIXES = ['xn--', 'sthree-', 'amzn-s3-demo-'];
const RESERVED_SUFFIXES = ['-s3alias', '--ol-s3', '.mrap', '--x-s3', '--table-s3'];

/**
 * Why S3 refuses `name` as a general purpose bucket name, or undefined when it is valid: 3 to 63
 * characters of lowercase letters, digits, dots and hyphens, beginning and ending with a letter
 * or digit, no two adjacent dots, not an IPv4 address, none of S3's reserved prefixes/suffixes.
 */
export function bucketNameProblem(name: string): string | undefined {
  if (name.length < 3 || name.length > 63) return 'must be 3 to 63 characters long';
  if (!/^[a-z0-9.-]+$/.test(name)) return 'may hold only lowercase letters, digits, dots and hyphens';
  if (!/^[a-z0-9]/.test(name) || !/[a-z0-9]$/.test(name)) return 'must begin and end with a letter or digit';
  if (name.includes('..')) return 'must not contain two adjacent dots';
  if (/^\d+\.\d+\.\d+\.\d+$/.test(name)) return 'must not be formatted as an IP address';
  const prefix = RESERVED_PREFIXES.find((p) => name.startsWith(p));
  if (prefix) return `must not start with the reserved prefix ${prefix}`;
  const suffix = RESERVED_SUFFIXES.find((s) => name.endsWith(s));
  if (suffix) return `must not end with the reserved suffix ${suffix}`;
  return undefined;
}

/** S3's InvalidBucketName for a CreateBucket of a name S3 refuses, else undefined. */
export function invalidBucketName(info: AwsRequestInfo): S3ErrorShape | undefined {
  if (info.service !== 's3' || info.operation !== 'CreateBucket' || info.bucket === undefined) return undefined;
  if (bucketNameProblem(info.bucket) === undefined) return undefined;
  return {
    code: 'InvalidBucketName',
    status: 400,
    message: 'The specified bucket is not valid.',
    details: { BucketName: info.bucket },
  };
}

/** S3's KeyTooLongError for an object-level request whose key passes MAX_S3_KEY_BYTES, else undefined. */
export function keyTooLong(info: AwsRequestInfo): S3ErrorShape | undefined {
  if (info.service !== 's3' || !info.key) return undefined;
  return keyTooLongError(info.key);
}

/** S3's KeyTooLongError for an object key (a request's or a POST form's) over MAX_S3_KEY_BYTES, else undefined. */
export function keyTooLongError(key: string): S3ErrorShape | undefined {
  const size = Buffer.byteLength(key, 'utf8');
  if (size <= MAX_S3_KEY_BYTES) return undefined;
  return {
    code: 'KeyTooLongError',
    status: 400,
    message: 'Your key is too long',
    details: { Size: String(size), MaxSizeAllowed: String(MAX_S3_KEY_BYTES) },
  };
}

/** The first refusal S3 would make of this request from its line and headers, else undefined. */
export function s3RequestRefusal(info: AwsRequestInfo): S3ErrorShape | undefined {
  return invalidBucketName(info) ?? keyTooLong(info);
}

/** S3 operations whose body becomes (part of) an object: held to MAX_LOCAL_OBJECT_BYTES. */
const OBJECT_BODY_OPERATIONS = new Set(['PutObject', 'UploadPart']);

/** S3's EntityTooLarge for an object body above what the stand-in takes (from its headers), else undefined. */
export function objectTooLarge(headers: IncomingHttpHeaders, info: AwsRequestInfo): S3ErrorShape | undefined {
  if (info.service !== 's3' || !OBJECT_BODY_OPERATIONS.has(info.operation)) return undefined;
  // aws-chunked bodies (streaming signatures) declare the object's own size apart from the framing.
  const size = Number(headers['x-amz-decoded-content-length'] ?? headers['content-length']);
  if (!(size > MAX_LOCAL_OBJECT_BYTES)) return undefined;
  return entityTooLarge(
    size,
    MAX_LOCAL_OBJECT_BYTES,
    `the local cloud takes ${MAX_LOCAL_OBJECT_BYTES} bytes per request; use a multipart upload`,
  );
}

/**
 * The refusal S3 makes of this request before reading its body, else undefined: an object too
 * large, an expired presigned URL, a bucket name or key S3 refuses (in that order).
 */
export function s3Refusal(
  req: { url?: string; headers: IncomingHttpHeaders },
  info: AwsRequestInfo,
  now: Date,
): S3ErrorShape | undefined {
  if (info.service !== 's3') return undefined;
  return objectTooLarge(req.headers, info) ?? presignRefusal(req.url ?? '/', now) ?? s3RequestRefusal(info);
}
