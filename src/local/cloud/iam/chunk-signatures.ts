/**
 * The chunk signatures of an S3 body signed chunk by chunk (`x-amz-content-sha256:
 * STREAMING-AWS4-HMAC-SHA256-PAYLOAD`, `Content-Encoding: aws-chunked`): each chunk is framed as
 * `<hex size>;chunk-signature=<64 hex>\r\n<data>\r\n`, its signature chained from the previous one
 * (the request's own signature, the seed, for the first), and the body ends with an empty chunk,
 * signed too. S3 refuses a body whose chunk signature does not match with SignatureDoesNotMatch
 * (403), and a body whose framing breaks off with IncompleteBody (400).
 * https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-streaming.html
 *
 * Not checked: the trailing checksum's own signature of the `-TRAILER` variant (its chunks are).
 */
import { chunkSignature, type SigV4Error, type SigV4Verified } from './sigv4-verify';

/** Every chunk's signature held, or S3's error for the first that did not (or for a broken frame). */
export type ChunkVerdict = { readonly ok: true } | { readonly ok: false; readonly error: SigV4Error };

const CHUNK_HEADER = /^([0-9a-fA-F]+);chunk-signature=([0-9a-f]{64})$/;

const INCOMPLETE_BODY: SigV4Error = {
  code: 'IncompleteBody',
  status: 400,
  message: 'The request body terminated unexpectedly',
};

/** S3's SignatureDoesNotMatch for a chunk (its details name the signature provided). */
function chunkMismatch(verified: SigV4Verified, provided: string): SigV4Error {
  return {
    code: 'SignatureDoesNotMatch',
    status: 403,
    message:
      'The request signature we calculated does not match the signature you provided. ' +
      'Check your key and signing method.',
    details: { AWSAccessKeyId: verified.accessKeyId, SignatureProvided: provided },
  };
}

/**
 * Verifies every chunk signature of `body` (the whole aws-chunked body) from `verified.seedSignature`,
 * in order; stops at the final empty chunk (what follows it, a trailer, is not signed by a chunk).
 */
export async function verifyChunkSignatures(body: Buffer, verified: SigV4Verified): Promise<ChunkVerdict> {
  let previous = verified.seedSignature ?? verified.signature;
  let offset = 0;
  for (;;) {
    const lineEnd = body.indexOf('\r\n', offset);
    if (lineEnd < 0) return { ok: false, error: INCOMPLETE_BODY };
    const header = CHUNK_HEADER.exec(body.subarray(offset, lineEnd).toString('latin1'));
    if (!header) return { ok: false, error: INCOMPLETE_BODY };
    const size = parseInt(header[1], 16);
    const dataStart = lineEnd + 2;
    const dataEnd = dataStart + size;
    if (dataEnd + 2 > body.length && size > 0) return { ok: false, error: INCOMPLETE_BODY };
    const expected = await chunkSignature(verified, previous, body.subarray(dataStart, dataEnd));
    if (expected !== header[2]) return { ok: false, error: chunkMismatch(verified, header[2]) };
    if (size === 0) return { ok: true };
    previous = expected;
    offset = dataEnd + 2;
  }
}
