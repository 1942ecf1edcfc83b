/**
 * S3 presigned POST (browser-based upload with a POST policy, Signature Version 4). Written here
 * rather than pulled in as @aws-sdk/s3-presigned-post: it is one HMAC chain over a base64 policy.
 * https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-HTTPPOSTConstructPolicy.html
 */
import { getSigningKey, SignatureV4 } from '@smithy/signature-v4';
import type { Checksum, SourceData } from '@smithy/types';
import { createHash, createHmac, type Hash, type Hmac } from 'node:crypto';

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

/**
 * SHA-256 as the Smithy signer takes it (an HMAC when given a secret), over node:crypto: what
 * @smithy/hash-node does, without another dependency.
 */
class NodeSha256 implements Checksum {
  private hash: Hash | Hmac;
  constructor(private readonly secret?: SourceData) {
    this.hash = this.fresh();
  }
  private fresh(): Hash | Hmac {
    return this.secret === undefined ? createHash('sha256') : createHmac('sha256', toBytes(this.secret));
  }
  update(data: Uint8Array): void {
    this.hash.update(data);
  }
  digest(): Promise<Uint8Array> {
    return Promise.resolve(this.hash.digest());
  }
  reset(): void {
    this.hash = this.fresh();
  }
}

function toBytes(data: SourceData): Uint8Array {
  if (typeof data === 'string') return Buffer.from(data, 'utf8');
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  return new Uint8Array(data);
}

/** A SigV4 credential scope without the access key id: `<day>/<region>/<service>/aws4_request`. */
export interface SigV4Scope {
  /** `YYYYMMDD` (UTC). */
  readonly day: string;
  readonly region: string;
  readonly service: string;
}

/**
 * SigV4's signing key (kSigning: HMAC-SHA256 of `AWS4<secret>` by day, then region, service and
 * `aws4_request`), derived by the AWS SDK's own signer (@smithy/signature-v4, which caches it).
 * Exported so the known-answer tests can hold it to AWS's published examples.
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv4_signing.html
 */
export async function sigV4SigningKey(secretAccessKey: string, scope: SigV4Scope): Promise<Buffer> {
  // The access key id only names the cache entry; the key depends on the secret and scope alone.
  const key = await getSigningKey(NodeSha256, { accessKeyId: '', secretAccessKey }, scope.day, scope.region, scope.service);
  return Buffer.from(key);
}

/**
 * SigV4 signature (lower-case hex) of `stringToSign` under `scope`, by the AWS SDK's signer: for a
 * POST form the string to sign is the base64 policy as sent.
 */
export function sigV4Signature(secretAccessKey: string, scope: SigV4Scope, stringToSign: string): Promise<string> {
  const signer = new SignatureV4({ credentials: { accessKeyId: '', secretAccessKey }, region: scope.region, service: scope.service, sha256: NodeSha256 });
  // The signer reads only the day of the date it is given.
  const signingDate = new Date(`${scope.day.slice(0, 4)}-${scope.day.slice(4, 6)}-${scope.day.slice(6, 8)}T00:00:00Z`);
  return signer.sign(stringToSign, { signingDate, signingRegion: scope.region, signingService: scope.service });
}

/** `20261128T164249Z` */
function amzDate(date: Date): string {
  return date.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
}

/**
 * Signs a POST policy that allows exactly one key, one Content-Type and a body of
 * [minBytes, maxBytes] bytes into `bucket`, until now + expiresSeconds.
 */
export async function presignPost(input: PresignPostInput): Promise<PresignedPost> {
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
  const signature = await sigV4Signature(input.credentials.secretAccessKey, { day, region: input.region, service: 's3' }, encodedPolicy);
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
