import type { S3Client } from '@aws-sdk/client-s3';
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { PublishConfig, ResizeQueues } from '../core/config';
import type { PublishPorts } from '../core/publish-batch';
import type { ResizeConfig, ResizePorts } from '../core/resize-batch';
import { getObjectBytes, headObject, putObject } from './s3';
import { asciiJson, sendMessages } from './sqs';
import { deliverWebhook } from './webhook';

type Log = ResizePorts['log'];

/** The resize stage's side effects on S3 and SQS. */
export function resizePorts(s3: S3Client, sqs: SQSClient, cfg: ResizeConfig & ResizeQueues, log: Log): ResizePorts {
  const toBodies = <E>(entries: ReadonlyArray<{ id: string; event: E }>) =>
    entries.map((e) => ({ id: e.id, body: asciiJson(e.event) }));
  return {
    getSource: (ref, maxBytes) => getObjectBytes(s3, ref.bucket, ref.key, maxBytes),
    headSource: async (ref) => {
      const head = await headObject(s3, ref.bucket, ref.key);
      return head && { eTag: head.eTag };
    },
    headOutput: (key) => headObject(s3, cfg.outputBucket, key),
    putOutput: (key, body, contentType, cacheControl, metadata) =>
      putObject(s3, { bucket: cfg.outputBucket, key, body, contentType, cacheControl, metadata }),
    sendResized: (entries) => sendMessages(sqs, cfg.resizedQueueUrl, toBodies(entries)),
    sendRejected: (entries) => sendMessages(sqs, cfg.rejectedQueueUrl, toBodies(entries)),
    log,
    now: () => new Date(),
  };
}

/**
 * The publish stage's side effects: S3 manifests and the optional signed webhook. The signing
 * secret is fetched once, on the first delivery, and kept for the life of the sandbox.
 */
export function publishPorts(
  s3: S3Client,
  cfg: PublishConfig,
  webhookSecret: () => Promise<string>,
  log: Log,
): PublishPorts {
  const webhook = cfg.webhook;
  let secret: Promise<string> | undefined;
  const signingSecret = () => {
    secret ??= webhookSecret().catch((err: unknown) => {
      secret = undefined;
      throw err;
    });
    return secret;
  };
  return {
    headOutput: (key) => headObject(s3, cfg.outputBucket, key),
    putManifest: (key, body, metadata) =>
      putObject(s3, {
        bucket: cfg.outputBucket,
        key,
        body,
        contentType: 'application/json',
        cacheControl: 'no-cache',
        metadata,
      }),
    deliverWebhook: webhook
      ? async (body, eventId) =>
          deliverWebhook({
            url: webhook.url,
            secret: await signingSecret(),
            timeoutMs: webhook.timeoutMs,
            body,
            eventId,
            now: new Date(),
          })
      : undefined,
    log,
    now: () => new Date(),
  };
}
