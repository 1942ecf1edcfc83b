/**
 * SigV4 signing of a string under a credential scope, by the AWS SDK's own signer
 * (@smithy/signature-v4): the key derivation and the HMAC are the SDK's. The local cloud's S3
 * checks browser POST forms with it (their signature is this over the base64 policy).
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv4_signing.html
 */
import { getSigningKey, SignatureV4 } from '@smithy/signature-v4';
import type { Checksum, SourceData } from '@smithy/types';
import { createHash, createHmac, type Hash } from 'node:crypto';

/**
 * SHA-256 as the Smithy signer takes it (an HMAC when given a secret), over node:crypto: what
 * @smithy/hash-node does, without another dependency.
 */
class NodeSha256 implements Checksum {
  private hash: Hash | ReturnType<typeof createHmac>;
  constructor(private readonly secret?: SourceData) {
    this.hash = this.fresh();
  }
  private fresh(): Hash | ReturnType<typeof createHmac> {
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
  const key = await getSigningKey(
    NodeSha256,
    { accessKeyId: '', secretAccessKey },
    scope.day,
    scope.region,
    scope.service,
  );
  return Buffer.from(key);
}

/**
 * SigV4 signature (lower-case hex) of `stringToSign` under `scope`, by the AWS SDK's signer: for a
 * POST form the string to sign is the base64 policy as sent.
 */
export function sigV4Signature(secretAccessKey: string, scope: SigV4Scope, stringToSign: string): Promise<string> {
  const signer = new SignatureV4({
    credentials: { accessKeyId: '', secretAccessKey },
    region: scope.region,
    service: scope.service,
    sha256: NodeSha256,
  });
  // The signer reads only the day of the date it is given.
  const signingDate = new Date(`${scope.day.slice(0, 4)}-${scope.day.slice(4, 6)}-${scope.day.slice(6, 8)}T00:00:00Z`);
  return signer.sign(stringToSign, { signingDate, signingRegion: scope.region, signingService: scope.service });
}
