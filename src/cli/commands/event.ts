import { createHash } from 'node:crypto';
import { configError } from '../../core/errors';
import { s3ObjectCreatedNotification, sqsEventFor } from '../../core/s3-event';

export interface S3PutEventOptions {
  bucket: string;
  key: string;
  size?: number;
  eTag?: string;
  region?: string;
  /** Print the bare S3 notification instead of the Lambda SQS event around it. */
  raw?: boolean;
}

/**
 * `resize-chain event s3-put`: a ready Lambda SQS event holding the S3 notification for one
 * object, for manual invokes (`curl` against the RIE endpoint, or `docker run` + RIE).
 */
export function s3PutEvent(opts: S3PutEventOptions): string {
  if (!opts.bucket) throw configError('--bucket', 'is required');
  if (!opts.key) throw configError('--key', 'is required');
  const notification = s3ObjectCreatedNotification({
    bucket: opts.bucket,
    key: opts.key,
    size: opts.size ?? 0,
    eTag: opts.eTag ?? '',
    sequencer: createHash('sha256').update(`${opts.bucket}/${opts.key}`).digest('hex').slice(0, 16).toUpperCase(),
    region: opts.region,
    eventTime: new Date(),
  });
  const body = JSON.stringify(notification);
  return JSON.stringify(opts.raw ? notification : sqsEventFor(body, { region: opts.region }), null, 2);
}
