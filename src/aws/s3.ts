import { GetObjectCommand, HeadObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { Readable } from 'node:stream';
import { PipelineError } from '../core/errors';
import { stripQuotes } from '../core/s3-event';
import { classifyAwsError, httpStatusOf } from './errors';

/**
 * Reads an object into memory, refusing it as `TOO_LARGE` as soon as its length passes
 * `maxBytes` (before downloading when S3 states the length). A missing object is `NOT_FOUND`.
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
  try {
    const res = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    eTag = stripQuotes(res.ETag ?? '');
    body = res.Body as Readable;
    if ((res.ContentLength ?? 0) > maxBytes) {
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
  const chunks: Buffer[] = [];
  let length = 0;
  try {
    for await (const chunk of body) {
      length += (chunk as Buffer).length;
      if (length > maxBytes) {
        body.destroy();
        throw new PipelineError('TOO_LARGE', `object is larger than the limit of ${maxBytes} bytes`, subject);
      }
      chunks.push(chunk as Buffer);
    }
  } catch (err) {
    throw classifyAwsError('S3', err, subject);
  }
  return { data: Buffer.concat(chunks, length), eTag };
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
