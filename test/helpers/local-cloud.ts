// Starts the real stand-in S3 + SQS behind the gateway for a test file, with the chain's
// resources, and offers the few queue/bucket helpers the integration tests share.
import { HeadObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import {
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  PurgeQueueCommand,
  ReceiveMessageCommand,
  SQSClient,
  type Message,
} from '@aws-sdk/client-sqs';
import { join } from 'node:path';
import { startLocalFunction, type LocalFunction } from '../../src/local/cloud/lambda/function-host';
import { startGateway, type Gateway, type GatewayOptions } from '../../src/local/cloud/gateway/gateway';
import { createChainResources, putQueueNotification, type ChainResources } from '../../src/local/resources';
import { localAwsEnv, localClientConfig } from '../../src/local/client-config';
import { startStandIn, type StandIn } from '../../src/local/cloud/standin/standin';

export const HANDLERS_DIR = join(__dirname, '..', '..', 'dist', 'handlers');

export interface TestCloud {
  gateway: Gateway;
  s3: S3Client;
  sqs: SQSClient;
  resources: ChainResources;
  awsEnv: Record<string, string>;
  stop(): Promise<void>;
}

export async function startTestCloud(
  opts: {
    visibilityTimeoutSeconds?: number;
    maxReceiveCount?: number;
    allowedOrigins?: readonly string[];
    functionInvoker?: GatewayOptions['functionInvoker'];
    /** GatewayOptions.auth. @default true */
    auth?: boolean;
    /** Receives the gateway's log lines. @default none */
    logSink?: (line: Record<string, unknown>) => void;
  } = {},
): Promise<TestCloud> {
  const standIn: StandIn = await startStandIn();
  const gateway = await startGateway({
    upstream: standIn.endpoint,
    allowedOrigins: opts.allowedOrigins,
    functionInvoker: opts.functionInvoker,
    auth: opts.auth,
    logSink: opts.logSink,
  });
  const s3 = new S3Client(localClientConfig(gateway.endpoint));
  const sqs = new SQSClient(localClientConfig(gateway.endpoint));
  const resources = await createChainResources(
    sqs,
    s3,
    {
      sourceBucket: 'uploads-bucket',
      outputBucket: 'variants-bucket',
      ingestQueue: 'ingest',
      resizedQueue: 'resized',
      rejectedQueue: 'rejected',
    },
    { visibilityTimeoutSeconds: opts.visibilityTimeoutSeconds ?? 30, maxReceiveCount: opts.maxReceiveCount ?? 3 },
  );
  await putQueueNotification(s3, {
    bucket: resources.buckets.source,
    queueArn: resources.queues.ingest.arn,
    prefix: 'uploads/',
    id: 'test-uploads',
  });
  // S3 sent the ingest queue its s3:TestEvent: tests start from an empty queue.
  await gateway.notificationsSettled();
  await sqs.send(new PurgeQueueCommand({ QueueUrl: resources.queues.ingest.url }));
  return {
    gateway,
    s3,
    sqs,
    resources,
    awsEnv: localAwsEnv(gateway.endpoint),
    async stop() {
      s3.destroy();
      sqs.destroy();
      await gateway.stop();
      await standIn.stop();
    },
  };
}

export async function upload(cloud: TestCloud, key: string, body: Buffer): Promise<string> {
  const res = await cloud.s3.send(
    new PutObjectCommand({ Bucket: cloud.resources.buckets.source, Key: key, Body: body }),
  );
  return (res.ETag ?? '').replace(/"/g, '');
}

/**
 * What a queue holds, from its attributes: visible, in flight (received, not deleted) and delayed.
 * Read it once the work that could have sent a message is over (a mapping caught up or idle): the
 * count is then final, so "nothing was sent" needs no waiting.
 */
export async function queueCounts(
  cloud: Pick<TestCloud, 'sqs'>,
  queueUrl: string,
): Promise<{ visible: number; inFlight: number; delayed: number }> {
  const answer = await cloud.sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: queueUrl,
      AttributeNames: [
        'ApproximateNumberOfMessages',
        'ApproximateNumberOfMessagesNotVisible',
        'ApproximateNumberOfMessagesDelayed',
      ],
    }),
  );
  const count = (name: string): number => Number(answer.Attributes?.[name as keyof typeof answer.Attributes] ?? 0);
  return {
    visible: count('ApproximateNumberOfMessages'),
    inFlight: count('ApproximateNumberOfMessagesNotVisible'),
    delayed: count('ApproximateNumberOfMessagesDelayed'),
  };
}

/** The counts of a queue that holds nothing. */
export const EMPTY_QUEUE = { visible: 0, inFlight: 0, delayed: 0 };

/** Receives until `count` messages arrived (or `timeoutMs` passed); deletes them when `remove`. */
export async function receiveAll(
  cloud: TestCloud,
  queueUrl: string,
  count: number,
  opts: { remove?: boolean; timeoutMs?: number } = {},
): Promise<Message[]> {
  const got: Message[] = [];
  const deadline = Date.now() + (opts.timeoutMs ?? 15000);
  while (got.length < count && Date.now() < deadline) {
    const res = await cloud.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: Math.min(10, count - got.length),
        WaitTimeSeconds: 1,
        MessageSystemAttributeNames: ['All'],
      }),
    );
    const messages = res.Messages ?? [];
    if (opts.remove && messages.length) {
      await cloud.sqs.send(
        new DeleteMessageBatchCommand({
          QueueUrl: queueUrl,
          Entries: messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle })),
        }),
      );
    }
    got.push(...messages);
  }
  return got;
}

export async function exists(
  cloud: TestCloud,
  bucket: string,
  key: string,
): Promise<
  { contentType?: string; metadata: Record<string, string>; cacheControl?: string; size?: number } | undefined
> {
  try {
    const res = await cloud.s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    return {
      contentType: res.ContentType,
      metadata: res.Metadata ?? {},
      cacheControl: res.CacheControl,
      size: res.ContentLength,
    };
  } catch (err) {
    if ((err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404) return undefined;
    throw err;
  }
}

/** Every key of a bucket, following continuation tokens. */
export async function listKeys(s3: S3Client, bucket: string): Promise<string[]> {
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const res = await s3.send(new ListObjectsV2Command({ Bucket: bucket, ContinuationToken: token }));
    keys.push(...(res.Contents ?? []).map((o) => o.Key as string));
    token = res.NextContinuationToken;
  } while (token);
  return keys;
}

/**
 * The environment of a resize or publish function wired to this cloud: local AWS settings, the
 * output bucket under `outputPrefix` (default 'v/'), the resized and rejected queues, then `extra`.
 */
export function functionEnvFor(
  cloud: TestCloud,
  extra: Record<string, string> = {},
  outputPrefix = 'v/',
): Record<string, string> {
  return {
    ...cloud.awsEnv,
    OUTPUT_BUCKET: cloud.resources.buckets.output,
    OUTPUT_PREFIX: outputPrefix,
    RESIZED_QUEUE_URL: cloud.resources.queues.resized.url,
    REJECTED_QUEUE_URL: cloud.resources.queues.rejected.url,
    ...extra,
  };
}

/** The bundled upload handler under aws-lambda-ric, signing forms for the cloud's source bucket under uploads/. */
export function startUploadFunction(cloud: TestCloud, maxUploadBytes: number): Promise<LocalFunction> {
  return startLocalFunction({
    name: 'upload',
    handler: 'upload.handler',
    taskRoot: HANDLERS_DIR,
    env: {
      ...cloud.awsEnv,
      SOURCE_BUCKET: cloud.resources.buckets.source,
      UPLOADS_PREFIX: 'uploads/',
      MAX_UPLOAD_BYTES: String(maxUploadBytes),
    },
    logSink: () => undefined,
  });
}

/** An API Gateway HTTP API (payload 2.0) event for `POST /uploads` with `body` (JSON-encoded unless a string). */
export function uploadApiEvent(body: unknown): Record<string, unknown> {
  return {
    version: '2.0',
    routeKey: 'POST /uploads',
    rawPath: '/uploads',
    rawQueryString: '',
    headers: { 'content-type': 'application/json' },
    requestContext: {
      http: { method: 'POST', path: '/uploads' },
      stage: '$default',
      requestId: 'r',
      timeEpoch: Date.now(),
    },
    body: typeof body === 'string' ? body : JSON.stringify(body),
    isBase64Encoded: false,
  };
}
