/**
 * The ObjectCreated notification S3 sends to a queue, built as S3 builds it: for the local cloud's
 * notification router and for the CLI's `event` and `cost` commands. The handlers only parse these
 * (src/core/s3-event.ts), so the builder lives on the local side.
 */
import { encodeS3Key, stripQuotes } from '../../../core/s3-event';

/** What a notification says about one created object. */
export interface ObjectCreatedInput {
  bucket: string;
  key: string;
  size: number;
  eTag: string;
  versionId?: string;
  sequencer: string;
  eventName?:
    'ObjectCreated:Put' | 'ObjectCreated:Post' | 'ObjectCreated:Copy' | 'ObjectCreated:CompleteMultipartUpload';
  region?: string;
  eventTime?: Date;
  configurationId?: string;
  requestId?: string;
  hostId?: string;
  sourceIp?: string;
}

/**
 * Builds an S3 event notification body exactly as S3 sends it to SQS (event version 2.1), with
 * the key encoded as S3 encodes it. Used by the local cloud's notification router and by
 * `resize-chain event s3-put`.
 */
export function s3ObjectCreatedNotification(input: ObjectCreatedInput): { Records: unknown[] } {
  const region = input.region ?? 'us-east-1';
  const requestId = input.requestId ?? input.sequencer.slice(-16).padStart(16, '0').toUpperCase();
  return {
    Records: [
      {
        eventVersion: '2.1',
        eventSource: 'aws:s3',
        awsRegion: region,
        eventTime: (input.eventTime ?? new Date()).toISOString(),
        eventName: input.eventName ?? 'ObjectCreated:Put',
        userIdentity: { principalId: 'AWS:LOCALPRINCIPAL' },
        requestParameters: { sourceIPAddress: input.sourceIp ?? '127.0.0.1' },
        responseElements: { 'x-amz-request-id': requestId, 'x-amz-id-2': input.hostId ?? requestId },
        s3: {
          s3SchemaVersion: '1.0',
          configurationId: input.configurationId ?? 'resize-chain-uploads',
          bucket: {
            name: input.bucket,
            ownerIdentity: { principalId: 'LOCALOWNER' },
            arn: `arn:aws:s3:::${input.bucket}`,
          },
          object: {
            key: encodeS3Key(input.key),
            size: input.size,
            eTag: stripQuotes(input.eTag),
            ...(input.versionId ? { versionId: input.versionId } : {}),
            sequencer: input.sequencer,
          },
        },
      },
    ],
  };
}
