/**
 * Creates the chain's buckets and queues in the local cloud (or any S3/SQS endpoint): source and
 * output buckets; the ingest, resized and rejected queues, each with a dead-letter queue
 * `<name>-dlq` and a redrive policy, as the module creates them (the rejected queue has no consumer:
 * people or other stacks read it). Idempotent: existing resources are kept and their attributes
 * brought in line.
 */
import { CreateBucketCommand, HeadBucketCommand, PutBucketCorsCommand, type S3Client } from '@aws-sdk/client-s3';
import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  SetQueueAttributesCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { checkInt } from '../core/checks';
import { PipelineError, configError, errorNameAndMessage } from '../core/errors';
import { uploadCorsRule } from '../core/upload';

export interface ChainResourceNames {
  sourceBucket: string;
  outputBucket: string;
  ingestQueue: string;
  resizedQueue: string;
  rejectedQueue: string;
}

export interface ChainResourceOptions {
  /** Receives before a message moves to the DLQ. @default 3 */
  maxReceiveCount?: number;
  /** Visibility timeout of the ingest and resized queues (≥ 6× the function timeout on AWS). @default 30 */
  visibilityTimeoutSeconds?: number;
}

export interface QueueRef {
  name: string;
  url: string;
  arn: string;
}

export interface ChainResources {
  queues: {
    ingest: QueueRef;
    ingestDlq: QueueRef;
    resized: QueueRef;
    resizedDlq: QueueRef;
    rejected: QueueRef;
    rejectedDlq: QueueRef;
  };
  buckets: { source: string; output: string };
}

/** 14 days, the SQS maximum: dead letters and rejections wait for a person. */
const KEEP_LONGEST_SECONDS = '1209600';

/** Creates (or updates) the chain's resources. Defaults: maxReceiveCount 3, visibility 30 s. */
export async function createChainResources(
  sqs: SQSClient,
  s3: S3Client,
  names: ChainResourceNames,
  opts: ChainResourceOptions = {},
): Promise<ChainResources> {
  const maxReceiveCount = checkInt('maxReceiveCount', opts.maxReceiveCount ?? 3, 1, 1000);
  const visibility = checkInt('visibilityTimeoutSeconds', opts.visibilityTimeoutSeconds ?? 30, 0, 43200);
  if (names.sourceBucket === names.outputBucket) {
    // Outputs written into the watched bucket would notify again, forever.
    throw configError('outputBucket', `must differ from the source bucket '${names.sourceBucket}'`);
  }

  await ensureBucket(s3, names.sourceBucket);
  await ensureBucket(s3, names.outputBucket);

  const base = { SqsManagedSseEnabled: 'true' };
  const ingestDlq = await ensureQueue(sqs, `${names.ingestQueue}-dlq`, {
    ...base,
    MessageRetentionPeriod: KEEP_LONGEST_SECONDS,
  });
  const resizedDlq = await ensureQueue(sqs, `${names.resizedQueue}-dlq`, {
    ...base,
    MessageRetentionPeriod: KEEP_LONGEST_SECONDS,
  });
  const redrive = (dlq: QueueRef): string => JSON.stringify({ deadLetterTargetArn: dlq.arn, maxReceiveCount });
  const ingest = await ensureQueue(sqs, names.ingestQueue, {
    ...base,
    VisibilityTimeout: String(visibility),
    RedrivePolicy: redrive(ingestDlq),
  });
  const resized = await ensureQueue(sqs, names.resizedQueue, {
    ...base,
    VisibilityTimeout: String(visibility),
    RedrivePolicy: redrive(resizedDlq),
  });
  const rejectedDlq = await ensureQueue(sqs, `${names.rejectedQueue}-dlq`, {
    ...base,
    MessageRetentionPeriod: KEEP_LONGEST_SECONDS,
  });
  const rejected = await ensureQueue(sqs, names.rejectedQueue, {
    ...base,
    MessageRetentionPeriod: KEEP_LONGEST_SECONDS,
    RedrivePolicy: redrive(rejectedDlq),
  });

  return {
    queues: { ingest, ingestDlq, resized, resizedDlq, rejected, rejectedDlq },
    buckets: { source: names.sourceBucket, output: names.outputBucket },
  };
}

/**
 * Lets pages on `allowedOrigins` POST presigned forms to the source bucket: the bucket CORS rule the
 * module's upload API sets (`uploadCorsRule`), put through the S3 API.
 */
export async function allowBrowserUploads(
  s3: S3Client,
  bucket: string,
  allowedOrigins: readonly string[],
): Promise<void> {
  try {
    await s3.send(
      new PutBucketCorsCommand({ Bucket: bucket, CORSConfiguration: { CORSRules: [uploadCorsRule(allowedOrigins)] } }),
    );
  } catch (err) {
    throw new PipelineError(
      'S3_ERROR',
      `cannot set the bucket CORS configuration: ${errorNameAndMessage(err)}`,
      { bucket },
      { cause: err },
    );
  }
}

async function ensureBucket(s3: S3Client, bucket: string): Promise<void> {
  try {
    await s3.send(new HeadBucketCommand({ Bucket: bucket }));
    return;
  } catch (err) {
    if (!(err instanceof Error) || (err.name !== 'NotFound' && err.name !== 'NoSuchBucket')) {
      throw new PipelineError(
        'S3_ERROR',
        `cannot check bucket: ${errorNameAndMessage(err)}`,
        { bucket },
        { cause: err },
      );
    }
  }
  try {
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  } catch (err) {
    if (err instanceof Error && err.name === 'BucketAlreadyOwnedByYou') return;
    throw new PipelineError(
      'S3_ERROR',
      `cannot create bucket: ${errorNameAndMessage(err)}`,
      { bucket },
      { cause: err },
    );
  }
}

/**
 * Creates a queue, or keeps an existing one and sets these attributes (reruns converge), and returns its URL and ARN.
 */
export async function ensureQueue(sqs: SQSClient, name: string, attributes: Record<string, string>): Promise<QueueRef> {
  let url: string | undefined;
  try {
    url = (await sqs.send(new CreateQueueCommand({ QueueName: name, Attributes: attributes }))).QueueUrl;
  } catch (err) {
    // Exists with other attributes: keep it and bring the attributes in line below. The SDK names
    // the error by its Query-protocol code when the server sends one, with or without SQS's
    // "AWS.SimpleQueueService." prefix.
    const code = err instanceof Error ? err.name.replace(/^AWS\.SimpleQueueService\./, '') : '';
    if (code !== 'QueueNameExists' && code !== 'QueueAlreadyExists') {
      throw new PipelineError(
        'SQS_ERROR',
        `cannot create queue ${name}: ${errorNameAndMessage(err)}`,
        {},
        { cause: err },
      );
    }
    url = (await sqs.send(new GetQueueUrlCommand({ QueueName: name }))).QueueUrl;
  }
  if (!url) throw new PipelineError('SQS_ERROR', `no URL returned for queue ${name}`);
  // CreateQueue leaves an existing queue's attributes alone; set them so reruns converge.
  await sqs.send(new SetQueueAttributesCommand({ QueueUrl: url, Attributes: attributes }));
  const arn = (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['QueueArn'] })))
    .Attributes?.QueueArn;
  if (!arn) throw new PipelineError('SQS_ERROR', `no ARN returned for queue ${name}`);
  return { name, url, arn };
}
