/**
 * Creates the chain's buckets and queues in the local cloud (or any S3/SQS endpoint): source and
 * output buckets; the ingest, resized and rejected queues, each with a dead-letter queue
 * `<name>-dlq` and a redrive policy, as the module creates them (the rejected queue has no consumer:
 * people or other stacks read it), the ingest queue with a policy that lets the source bucket's
 * notifications in; and the source bucket's notification configuration, put through the S3 API as
 * Terraform puts the module's. Idempotent: existing resources are kept and their attributes brought
 * in line.
 */
import {
  CreateBucketCommand,
  GetBucketNotificationConfigurationCommand,
  HeadBucketCommand,
  PutBucketCorsCommand,
  PutBucketNotificationConfigurationCommand,
  type Event as S3Event,
  type QueueConfiguration,
  type S3Client,
} from '@aws-sdk/client-s3';
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
  await allowS3Notifications(sqs, ingest, names.sourceBucket);
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
 * The queue policy statement the module's `allowS3Notifications` gives a queue: s3.amazonaws.com may
 * send, for this bucket of this account only (S3 refuses a notification configuration to a queue
 * without it).
 */
export async function allowS3Notifications(sqs: SQSClient, queue: QueueRef, bucket: string): Promise<void> {
  await sqs.send(
    new SetQueueAttributesCommand({
      QueueUrl: queue.url,
      Attributes: { Policy: s3NotificationPolicy(queue.arn, bucket) },
    }),
  );
}

/** The queue policy (JSON) that lets `bucket`'s notifications reach the queue `queueArn` (allowS3Notifications). */
export function s3NotificationPolicy(queueArn: string, bucket: string): string {
  const account = queueArn.split(':')[4];
  return JSON.stringify({
    Version: '2012-10-17',
    Statement: [
      {
        Sid: 'AllowS3Notifications',
        Effect: 'Allow',
        Principal: { Service: 's3.amazonaws.com' },
        Action: 'sqs:SendMessage',
        Resource: queueArn,
        Condition: {
          ArnEquals: { 'aws:SourceArn': `arn:aws:s3:::${bucket}` },
          StringEquals: { 'aws:SourceAccount': account },
        },
      },
    ],
  });
}

/** One queue configuration of a bucket's notifications, as the module's `aws_s3_bucket_notification` sets it. */
export interface QueueNotificationSpec {
  bucket: string;
  queueArn: string;
  /** The configuration's id (configurationId in the records). */
  id: string;
  /** @default no prefix filter */
  prefix?: string;
  /** @default ['s3:ObjectCreated:*'] */
  events?: S3Event[];
}

/** What identifies a queue configuration (filter rule names compared as S3 does, case-insensitively). */
function queueConfigurationKey(config: QueueConfiguration): string {
  const rules = (config.Filter?.Key?.FilterRules ?? []).map((r) => `${String(r.Name).toLowerCase()}=${r.Value}`);
  return JSON.stringify([config.Id, config.QueueArn, config.Events, rules]);
}

/**
 * Puts `spec` as the bucket's notification configuration through PutBucketNotificationConfiguration
 * (S3 validates the destination and sends it an s3:TestEvent), unless exactly that is already in
 * force (a restart on kept state: no new s3:TestEvent).
 */
export async function putQueueNotification(s3: S3Client, spec: QueueNotificationSpec): Promise<void> {
  const wanted: QueueConfiguration = {
    Id: spec.id,
    QueueArn: spec.queueArn,
    Events: spec.events ?? ['s3:ObjectCreated:*'],
    ...(spec.prefix ? { Filter: { Key: { FilterRules: [{ Name: 'prefix', Value: spec.prefix }] } } } : {}),
  };
  try {
    const current = await s3.send(new GetBucketNotificationConfigurationCommand({ Bucket: spec.bucket }));
    const applied = current.QueueConfigurations ?? [];
    const same = applied.length === 1 && queueConfigurationKey(applied[0]) === queueConfigurationKey(wanted);
    if (same && !current.TopicConfigurations?.length && !current.LambdaFunctionConfigurations?.length) return;
    await s3.send(
      new PutBucketNotificationConfigurationCommand({
        Bucket: spec.bucket,
        NotificationConfiguration: { QueueConfigurations: [wanted] },
      }),
    );
  } catch (err) {
    throw new PipelineError(
      'S3_ERROR',
      `cannot set the bucket notification configuration (queue ${spec.queueArn}): ${errorNameAndMessage(err)}`,
      { bucket: spec.bucket },
      { cause: err },
    );
  }
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
