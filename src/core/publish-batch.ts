import { createHash } from 'node:crypto';
import { mapWithConcurrency } from './concurrency';
import { toPipelineError, type PipelineError } from './errors';
import { parseImageResizedEvent, type ImageResizedEvent } from './events';
import { manifestKey } from './keys';
import type { PublishFigures } from './metrics';
import type { ResizePorts, SqsMessage, StoredObject } from './resize-batch';

/** The manifest written beside a source's variants: the last write of the chain for that source. */
export interface Manifest {
  version: 1;
  source: ImageResizedEvent['source'];
  variants: ImageResizedEvent['variants'];
  processedAt: string;
  publishedAt: string;
}

export interface PublishPorts {
  headOutput(key: string): Promise<StoredObject | undefined>;
  putManifest(key: string, body: string, metadata: Record<string, string>): Promise<void>;
  /** Present only when a webhook is configured. `eventId` is stable across redeliveries. */
  deliverWebhook?(body: string, eventId: string): Promise<void>;
  log: ResizePorts['log'];
  now(): Date;
}

export interface PublishBatchResult {
  batchItemFailures: Array<{ itemIdentifier: string }>;
  summary: { published: number; duplicate: number; failed: number };
  /** Upload-to-manifest latencies, for the batch's metrics. */
  figures: PublishFigures;
}

/** A stable id for one source version, so webhook receivers can drop duplicate deliveries. */
export function eventIdOf(event: ImageResizedEvent): string {
  const { bucket, key, eTag } = event.source;
  return createHash('sha256').update(`${bucket}\n${key}\n${eTag}`).digest('hex').slice(0, 32);
}

/**
 * The publish stage for one SQS batch of `image.resized` events: write `manifest.json`, then
 * notify the webhook (if any), so a receiver that is told "done" always finds the manifest, and a
 * failure between the two steps never notifies ahead of it. An event whose manifest already names
 * the same source ETag writes nothing; with a webhook it is delivered again, because the manifest
 * alone cannot tell whether the earlier attempt's delivery went out (at least once: receivers
 * drop repeats by `eventIdOf`). An event whose variants now carry another source ETag is stale
 * and does nothing (counted as duplicate). Every failure, including a malformed event, is
 * reported per message: SQS retries it and the DLQ keeps what never succeeds.
 */
export async function processPublishBatch(
  cfg: { outputBucket: string; outputPrefix: string; concurrency: number },
  ports: PublishPorts,
  messages: readonly SqsMessage[],
): Promise<PublishBatchResult> {
  const summary = { published: 0, duplicate: 0, failed: 0 };
  const figures: PublishFigures = { uploadToManifestMs: [] };
  const failures = await mapWithConcurrency(
    messages,
    cfg.concurrency,
    async (message): Promise<PipelineError | undefined> => {
      let event: ImageResizedEvent | undefined;
      try {
        event = parseImageResizedEvent(message.body, message.messageId);
        const key = manifestKey(event.source.key, cfg.outputPrefix);
        const existing = await ports.headOutput(key);
        if (existing?.metadata['source-etag'] === event.source.eTag) {
          summary.duplicate++;
          ports.log('info', 'manifest already published', {
            messageId: message.messageId,
            key,
            webhook: ports.deliverWebhook ? 'delivered again' : 'none',
          });
          if (ports.deliverWebhook) await ports.deliverWebhook(message.body, eventIdOf(event));
          return undefined;
        }
        // The variants are the truth of which version was rendered last: an event for an older
        // version (delivered late, or overtaken by an overwrite) must not put its manifest beside
        // a newer version's variants. A variant that is missing does not decide anything.
        const ours = event.variants.filter((v) => v.bucket === cfg.outputBucket);
        const stored = await Promise.all(ours.map((v) => ports.headOutput(v.key)));
        const newer = stored.find(
          (s) =>
            s !== undefined &&
            s.metadata['source-etag'] !== undefined &&
            s.metadata['source-etag'] !== event?.source.eTag,
        );
        if (newer) {
          summary.duplicate++;
          ports.log('info', 'event is stale: the variants are of another version; manifest not written', {
            messageId: message.messageId,
            key,
            eTag: event.source.eTag,
            variantsETag: newer.metadata['source-etag'],
          });
          return undefined;
        }
        const manifest: Manifest = {
          version: 1,
          source: event.source,
          variants: event.variants,
          processedAt: event.processedAt,
          publishedAt: ports.now().toISOString(),
        };
        await ports.putManifest(key, JSON.stringify(manifest, null, 2), { 'source-etag': event.source.eTag });
        if (ports.deliverWebhook) await ports.deliverWebhook(message.body, eventIdOf(event));
        summary.published++;
        const uploadedAt = Date.parse(event.source.uploadedAt ?? '');
        if (Number.isFinite(uploadedAt))
          figures.uploadToManifestMs.push(Math.max(0, ports.now().getTime() - uploadedAt));
        ports.log('info', 'manifest published', { messageId: message.messageId, bucket: cfg.outputBucket, key });
        return undefined;
      } catch (err) {
        const error = toPipelineError(err, {
          messageId: message.messageId,
          bucket: event?.source.bucket,
          key: event?.source.key,
        });
        summary.failed++;
        ports.log('error', 'publish failed, will retry', { messageId: message.messageId, error: error.toJSON() });
        return error;
      }
    },
  );
  const batchItemFailures = messages
    .filter((_, i) => failures[i] !== undefined)
    .map((m) => ({ itemIdentifier: m.messageId }));
  return { batchItemFailures, summary, figures };
}
