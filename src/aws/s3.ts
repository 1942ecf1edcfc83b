import { GetObjectCommand, HeadObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { Readable } from 'node:stream';
import { PipelineError } from '../core/errors';
import { stripQuotes } from '../core/s3-event';
import { classifyAwsError, httpStatusOf } from './errors';

/**
 * Reads an object into memory, refusing it as `TOO_LARGE` as soon as its length passes
 * `maxBytes` (before downloading when S3 states the length). A missing object is `NOT_FOUND`.
 * When S3 states the length (it always does for GetObject), the body is copied into one buffer of
 * that size as it arrives: no chunk list and concatenated copy of the whole source side by side,
 * which halves the memory a source takes while it is read. A body that ends short of, or runs past,
 * its stated length is `S3_ERROR` (transient: the read is retried).
 */
export async function getObjectBytes(
  s3: S3Client,
  bucket: string,
  key: string,
  maxBytes: number,
): Promise<{ data: Buffer; eTag: string }> {
  const subject = { bucket, key };
  let body: Readable;
  let eTag: string;
  let stated: number | undefined;
  try {
    const res = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    eTag = stripQuotes(res.ETag ?? '');
    body = res.Body as Readable;
    stated = res.ContentLength;
    if ((stated ?? 0) > maxBytes) {
      body.destroy();
      throw new PipelineError(
        'TOO_LARGE',
        `object is ${res.ContentLength} bytes, above the limit of ${maxBytes}`,
        subject,
      );
    }
  } catch (err) {
    if (httpStatusOf(err) === 404 || (err as Error).name === 'NoSuchKey') {
      throw new PipelineError('NOT_FOUND', 'object no longer exists', subject, { cause: err });
    }
    throw classifyAwsError('S3', err, subject);
  }
  // Every byte of `into` is written before it is returned (the length check below).
  const into = stated === undefined ? undefined : Buffer.allocUnsafe(stated);
  const chunks: Buffer[] = [];
  let length = 0;
  try {
    for await (const chunk of body) {
      const bytes = chunk as Buffer;
      if (into && length + bytes.length > into.length) {
        body.destroy();
        throw new PipelineError('S3_ERROR', `object body runs past its stated length of ${into.length} bytes`, subject);
      }
      if (length + bytes.length > maxBytes) {
        body.destroy();
        throw new PipelineError('TOO_LARGE', `object is larger than the limit of ${maxBytes} bytes`, subject);
      }
      if (into) bytes.copy(into, length);
      else chunks.push(bytes);
      length += bytes.length;
    }
  } catch (err) {
    throw classifyAwsError('S3', err, subject);
  }
  if (into && length !== into.length)
    throw new PipelineError('S3_ERROR', `object body ended after ${length} of its ${into.length} bytes`, subject);
  return { data: into ?? Buffer.concat(chunks, length), eTag };
}

/** HEADs an object: its size and user metadata, or `undefined` when it does not exist. */
export async function headObject(
  s3: S3Client,
  bucket: string,
  key: string,
): Promise<{ bytes: number; eTag: string; metadata: Record<string, string> } | undefined> {
  try {
    const res = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    return { bytes: res.ContentLength ?? 0, eTag: stripQuotes(res.ETag ?? ''), metadata: res.Metadata ?? {} };
  } catch (err) {
    if (httpStatusOf(err) === 404 || (err as Error).name === 'NotFound') return undefined;
    throw classifyAwsError('S3', err, { bucket, key });
  }
}

export interface PutObjectInput {
  bucket: string;
  key: string;
  body: Buffer | string;
  contentType: string;
  cacheControl?: string;
  metadata?: Record<string, string>;
}

export async function putObject(s3: S3Client, input: PutObjectInput): Promise<void> {
  try {
    await s3.send(
      new PutObjectCommand({
        Bucket: input.bucket,
        Key: input.key,
        Body: input.body,
        ContentType: input.contentType,
        CacheControl: input.cacheControl,
        Metadata: input.metadata,
      }),
    );
  } catch (err) {
    throw classifyAwsError('S3', err, { bucket: input.bucket, key: input.key });
  }
}
