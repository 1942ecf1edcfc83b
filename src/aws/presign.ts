/**
 * S3 presigned POST (browser-based upload with a POST policy, Signature Version 4). Written here
 * rather than pulled in as @aws-sdk/s3-presigned-post: it is one HMAC chain over a base64 policy.
 * https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-HTTPPOSTConstructPolicy.html
 */
import { createHmac } from 'node:crypto';

export interface SigningCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  /** Lambda's role credentials carry one; it is then a signed field of the form. */
  readonly sessionToken?: string;
}

export interface PresignPostInput {
  /** Where the form is posted: `https://<bucket>.s3.<region>.amazonaws.com/` or a path-style URL. */
  readonly url: string;
  readonly bucket: string;
  readonly key: string;
  readonly contentType: string;
  readonly minBytes: number;
  readonly maxBytes: number;
  readonly expiresSeconds: number;
  readonly region: string;
  readonly credentials: SigningCredentials;
  /** Signing time. @default new Date() */
  readonly now?: Date;
}

export interface PresignedPost {
  readonly url: string;
  /** Form fields to send, in this order, before the `file` field. */
  readonly fields: Record<string, string>;
  /** ISO 8601; S3 refuses the form after it. */
  readonly expiresAt: string;
}

function hmac(key: Buffer | string, data: string): Buffer {
  return createHmac('sha256', key).update(data, 'utf8').digest();
}

/** A SigV4 credential scope without the access key id: `<day>/<region>/<service>/aws4_request`. */
export interface SigV4Scope {
  /** `YYYYMMDD` (UTC). */
  readonly day: string;
  readonly region: string;
  readonly service: string;
}

/**
 * SigV4's signing key (kSigning): HMAC-SHA256 of `AWS4<secret>` by day, then region, service and
 * `aws4_request`. Exported so the known-answer tests can hold it to AWS's published examples.
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv4_signing.html
 */
export function sigV4SigningKey(secretAccessKey: string, scope: SigV4Scope): Buffer {
  return hmac(hmac(hmac(hmac(`AWS4${secretAccessKey}`, scope.day), scope.region), scope.service), 'aws4_request');
}

/** SigV4 signature (lower-case hex) of `stringToSign`: for a POST form, the base64 policy as sent. */
export function sigV4Signature(secretAccessKey: string, scope: SigV4Scope, stringToSign: string): string {
  return hmac(sigV4SigningKey(secretAccessKey, scope), stringToSign).toString('hex');
}

/** `20261128T164249Z` */
function amzDate(date: Date): string {
  return date.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
}

/**
 * Signs a POST policy that allows exactly one key, one Content-Type and a body of
 * [minBytes, maxBytes] bytes into `bucket`, until now + expiresSeconds.
 */
export function presignPost(input: PresignPostInput): PresignedPost {
  const now = input.now ?? new Date();
  const date = amzDate(now);
  const day = date.slice(0, 8);
  const credential = `${input.credentials.accessKeyId}/${day}/${input.region}/s3/aws4_request`;
  const expiresAt = new Date(now.getTime() + input.expiresSeconds * 1000).toISOString();
  const signed: Record<string, string> = {
    bucket: input.bucket,
    key: input.key,
    'Content-Type': input.contentType,
    'X-Amz-Algorithm': 'AWS4-HMAC-SHA256',
    'X-Amz-Credential': credential,
    'X-Amz-Date': date,
  };
  if (input.credentials.sessionToken) signed['X-Amz-Security-Token'] = input.credentials.sessionToken;
  const policy = {
    expiration: expiresAt,
    conditions: [...Object.entries(signed).map(([name, value]) => ({ [name]: value })), ['content-length-range', input.minBytes, input.maxBytes]],
  };
  const encodedPolicy = Buffer.from(JSON.stringify(policy), 'utf8').toString('base64');
  const signature = sigV4Signature(input.credentials.secretAccessKey, { day, region: input.region, service: 's3' }, encodedPolicy);
  return { url: input.url, fields: { ...signed, Policy: encodedPolicy, 'X-Amz-Signature': signature }, expiresAt };
}

/**
 * The URL a form for `bucket` is posted to: path-style under `endpoint` when one is set (the local
 * cloud, `AWS_ENDPOINT_URL`), else S3's regional virtual-hosted endpoint.
 */
export function postUrl(bucket: string, region: string, endpoint?: string): string {
  if (endpoint) return `${endpoint.replace(/\/+$/, '')}/${bucket}`;
  return `https://${bucket}.s3.${region}.amazonaws.com/`;
}
