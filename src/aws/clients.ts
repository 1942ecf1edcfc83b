import { S3Client } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';

/**
 * Clients are built once per process (per Lambda sandbox) and reused across invocations.
 * Endpoint and region come from the SDK's own environment variables (`AWS_ENDPOINT_URL`,
 * `AWS_REGION`), so the same bundle talks to AWS or to the local cloud. `S3_FORCE_PATH_STYLE=true`
 * selects path-style addressing, which local endpoints need.
 */
let s3: S3Client | undefined;
let sqs: SQSClient | undefined;

export function s3Client(): S3Client {
  s3 ??= new S3Client({ forcePathStyle: process.env.S3_FORCE_PATH_STYLE === 'true' });
  return s3;
}

export function sqsClient(): SQSClient {
  sqs ??= new SQSClient({});
  return sqs;
}
