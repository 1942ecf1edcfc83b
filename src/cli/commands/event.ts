import { createHash } from 'node:crypto';
import { configError } from '../../core/errors';
import { s3ObjectCreatedNotification } from '../../local/cloud/s3/object-created-event';
import { sqsEventFor } from '../../local/cloud/lambda/sqs-invoke-event';
import type { CommandUsage } from '../usage';

/** `resize-chain event s3-put`: the options it reads (after the kind) and the help shown for them. */
export const EVENT_USAGE = {
  name: 'event',
  allowPositionals: false,
  options: {
    bucket: { type: 'string', shown: 'B', required: true },
    key: { type: 'string', shown: 'K', required: true },
    size: { type: 'string', shown: 'N' },
    etag: { type: 'string', shown: 'E' },
    region: { type: 'string', shown: 'R' },
    raw: { type: 'boolean' },
  },
  forms: [
    {
      positionals: 's3-put',
      shows: ['bucket', 'key', 'size', 'etag', 'region', 'raw'],
      description: 'Print a Lambda SQS event holding an S3 ObjectCreated notification, for manual invokes.',
    },
  ],
} satisfies CommandUsage;

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
