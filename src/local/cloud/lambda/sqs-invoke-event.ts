/**
 * A Lambda SQS event made by hand, for a manual invoke of a handler (`resize-chain event s3-put`):
 * the shape the event source mapping delivers, around one message body.
 */
import { createHash } from 'node:crypto';

/** The body of a Lambda SQS event holding one message, for manual invokes (`resize-chain event`). */
export function sqsEventFor(
  body: string,
  opts: { queueArn?: string; region?: string; messageId?: string } = {},
): { Records: unknown[] } {
  const region = opts.region ?? 'us-east-1';
  const now = String(Date.now());
  return {
    Records: [
      {
        messageId: opts.messageId ?? '00000000-0000-4000-8000-000000000001',
        receiptHandle: 'local-receipt-handle',
        body,
        attributes: {
          ApproximateReceiveCount: '1',
          SentTimestamp: now,
          SenderId: 'LOCAL',
          ApproximateFirstReceiveTimestamp: now,
        },
        messageAttributes: {},
        md5OfBody: createHash('md5').update(body).digest('hex'),
        eventSource: 'aws:sqs',
        eventSourceARN: opts.queueArn ?? `arn:aws:sqs:${region}:000000000000:image-ingest`,
        awsRegion: region,
      },
    ],
  };
}
