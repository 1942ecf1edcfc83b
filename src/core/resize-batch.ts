import { mapWithConcurrency } from './concurrency';
import { PipelineError, toPipelineError } from './errors';
import {
  imageRejectedEvent,
  imageResizedEvent,
  type ImageRejectedEvent,
  type ImageResizedEvent,
  type ResizedVariant,
} from './events';
import { manifestKey, variantKey } from './keys';
import type { ImageLimits } from './limits';
import type { ResizeFigures } from './metrics';
import { resizeImage, type ResizeResult } from './pipeline';
import { parseS3Notification, stripQuotes, type S3ObjectRef } from './s3-event';
import type { VariantSpec } from './variants';

/** What the resize stage needs to know; read once at cold start. */
export interface ResizeConfig {
  readonly outputBucket: string;
  readonly outputPrefix: string;
  readonly variants: readonly VariantSpec[];
  readonly limits: ImageLimits;
  /** Source images processed at once in one invocation. */
  readonly concurrency: number;
  readonly cacheControl: string;
}

/** An object already in the output bucket, as a HEAD request shows it. */
export interface StoredObject {
  readonly bytes: number;
  readonly metadata: Readonly<Record<string, string>>;
}

/**
 * The side effects of the resize stage. The handler wires these to S3 and SQS; tests may wire
 * them to anything. Every method throws a `PipelineError` (transient for service faults).
 */
export interface ResizePorts {
  /** Reads a source object; `eTag` is the object's current ETag (unquoted). */
  getSource(ref: S3ObjectRef, maxBytes: number): Promise<{ data: Buffer; eTag: string }>;
  headOutput(key: string): Promise<StoredObject | undefined>;
  /**
   * The source's current ETag (unquoted) without reading its bytes, or undefined when it is gone.
   * Optional: without it, the freshness re-check after writing variants reads the object again.
   */
  headSource?(ref: S3ObjectRef): Promise<{ eTag: string } | undefined>;
  putOutput(
    key: string,
    body: Buffer,
    contentType: string,
    cacheControl: string,
    metadata: Record<string, string>,
  ): Promise<void>;
  /** Sends events in one batch; returns the ids that failed, with their errors. */
  sendResized(entries: ReadonlyArray<{ id: string; event: ImageResizedEvent }>): Promise<Map<string, PipelineError>>;
  sendRejected(entries: ReadonlyArray<{ id: string; event: ImageRejectedEvent }>): Promise<Map<string, PipelineError>>;
  log(level: 'debug' | 'info' | 'warn' | 'error', message: string, fields: Record<string, unknown>): void;
  now(): Date;
}

export interface SqsMessage {
  readonly messageId: string;
  readonly body: string;
}

/** How one source ended. */
export type SourceOutcome =
  /** `renderMs`: from reading the source to its variants written. */
  | { kind: 'resized'; event: ImageResizedEvent; renderMs: number }
  /** Variants were already written for this ETag but the event may not have gone out: resend it. */
  | { kind: 'resent'; event: ImageResizedEvent }
  /** The chain already finished this exact object: nothing to do. */
  | { kind: 'duplicate' }
  /** The object changed since the notification: the newer notification will process it. */
  | { kind: 'stale' }
  /** A folder marker (a 0-byte object whose key ends in '/', as the S3 console creates): not an upload. */
  | { kind: 'ignored' }
  | { kind: 'rejected'; event: ImageRejectedEvent }
  | { kind: 'retry'; error: PipelineError };

export interface ResizeBatchResult {
  batchItemFailures: Array<{ itemIdentifier: string }>;
  summary: Record<SourceOutcome['kind'] | 'testEvents', number>;
  /** Bytes, render times and rejections by code, for the batch's metrics. */
  figures: ResizeFigures;
}

const META = {
  sourceETag: 'source-etag',
  sourceWidth: 'source-width',
  sourceHeight: 'source-height',
  sourceFormat: 'source-format',
  width: 'width',
  height: 'height',
} as const;

interface WorkItem {
  messageId: string;
  ref?: S3ObjectRef;
  /** A message whose body is not a notification: rejected as a whole. */
  error?: PipelineError;
  testEvent?: boolean;
}

function expandMessages(messages: readonly SqsMessage[]): WorkItem[] {
  return messages.flatMap((message): WorkItem[] => {
    try {
      const notification = parseS3Notification(message.body, message.messageId);
      if (notification.kind === 'test') return [{ messageId: message.messageId, testEvent: true }];
      return notification.records.map((ref) => ({ messageId: message.messageId, ref }));
    } catch (err) {
      return [{ messageId: message.messageId, error: toPipelineError(err, { messageId: message.messageId }) }];
    }
  });
}

/**
 * The source a rejection names. A message refused before it yielded a record (an unsafe key, a body
 * that is no notification) names what the error knows: the bucket and the key, the latter with any
 * noncharacter shown as U+FFFD, since SQS would refuse the whole event otherwise.
 */
function rejectedSource(item: WorkItem): ImageRejectedEvent['source'] {
  if (item.ref) return { bucket: item.ref.bucket, key: item.ref.key, eTag: item.ref.eTag, messageId: item.messageId };
  const subject = item.error?.subject ?? {};
  return {
    bucket: subject.bucket ?? '',
    key: (subject.key ?? '').replace(/[\uFFFE\uFFFF]/g, '\uFFFD'),
    eTag: '',
    messageId: item.messageId,
  };
}

function toResizedVariants(cfg: ResizeConfig, ref: S3ObjectRef, result: ResizeResult): ResizedVariant[] {
  return result.variants.map((v) => ({
    name: v.name,
    bucket: cfg.outputBucket,
    key: variantKey(ref.key, cfg.outputPrefix, v),
    width: v.width,
    height: v.height,
    format: v.format,
    bytes: v.data.length,
  }));
}

/**
 * Finds earlier work for this exact source version: a manifest means the whole chain finished;
 * a full set of variants means the resize finished (its event may or may not have been sent).
 * The manifest and the first variant are read at once, and the other variants only when that one
 * is of this version: a first delivery (nothing written yet) costs two HEADs in one round trip,
 * not the manifest's and then one per variant in two.
 */
async function findEarlierWork(
  cfg: ResizeConfig,
  ports: ResizePorts,
  ref: S3ObjectRef,
  eTag: string,
): Promise<'complete' | ImageResizedEvent | undefined> {
  const headVariant = (spec: VariantSpec) => ports.headOutput(variantKey(ref.key, cfg.outputPrefix, spec));
  const isThisVersion = (s: StoredObject | undefined) => s?.metadata[META.sourceETag] === eTag;
  const [first, ...others] = cfg.variants;
  const firstHead = headVariant(first);
  // A failed variant HEAD matters only when the manifest does not settle it; it is awaited below then.
  firstHead.catch(() => undefined);
  if (isThisVersion(await ports.headOutput(manifestKey(ref.key, cfg.outputPrefix)))) return 'complete';
  const firstStored = await firstHead;
  if (!isThisVersion(firstStored)) return undefined;
  const stored = [firstStored, ...(await Promise.all(others.map(headVariant)))];
  if (!stored.every(isThisVersion)) return undefined;
  const meta = (stored[0] as StoredObject).metadata;
  const variants = cfg.variants.map((spec, i): ResizedVariant => {
    const s = stored[i] as StoredObject;
    return {
      name: spec.name,
      bucket: cfg.outputBucket,
      key: variantKey(ref.key, cfg.outputPrefix, spec),
      width: Number(s.metadata[META.width]),
      height: Number(s.metadata[META.height]),
      format: spec.format,
      bytes: s.bytes,
    };
  });
  const source = {
    bucket: ref.bucket,
    key: ref.key,
    eTag,
    versionId: ref.versionId,
    size: ref.size,
    width: Number(meta[META.sourceWidth]),
    height: Number(meta[META.sourceHeight]),
    format: meta[META.sourceFormat] ?? 'unknown',
  };
  return imageResizedEvent(source, variants, ports.now());
}

/**
 * Rounds of "read, render, write, re-check" for one notification. A source overwritten while its
 * variants were being written is processed again at its newest version; one overwritten three
 * times in a row is retried later (transient), when the uploads have settled.
 */
export const MAX_FRESHNESS_ROUNDS = 3;

/** The source now: its ETag, 'deleted', or 'changed' when it can no longer be read as an image source. */
type SourceNow = { eTag: string } | 'deleted' | 'changed';

async function currentETag(cfg: ResizeConfig, ports: ResizePorts, ref: S3ObjectRef): Promise<SourceNow> {
  try {
    const head = ports.headSource ? await ports.headSource(ref) : await ports.getSource(ref, cfg.limits.maxInputBytes);
    return head ? { eTag: head.eTag } : 'deleted';
  } catch (err) {
    const error = toPipelineError(err);
    if (error.code === 'NOT_FOUND') return 'deleted';
    if (error.permanent) return 'changed';
    throw err;
  }
}

async function processSource(
  cfg: ResizeConfig,
  ports: ResizePorts,
  item: WorkItem & { ref: S3ObjectRef },
): Promise<SourceOutcome> {
  const { ref } = item;
  const subject = { bucket: ref.bucket, key: ref.key, messageId: item.messageId };
  try {
    if (ref.key.endsWith('/')) {
      if (ref.size === 0) return { kind: 'ignored' };
      throw new PipelineError(
        'INVALID_KEY',
        `object key ends in '/' (a folder name) but the object holds ${ref.size} bytes`,
        subject,
      );
    }
    if (ref.size > cfg.limits.maxInputBytes) {
      throw new PipelineError(
        'TOO_LARGE',
        `object is ${ref.size} bytes, above the limit of ${cfg.limits.maxInputBytes}`,
        subject,
      );
    }
    const notified = stripQuotes(ref.eTag);
    const earlier = notified ? await findEarlierWork(cfg, ports, ref, notified) : undefined;
    if (earlier === 'complete') return { kind: 'duplicate' };
    if (earlier) return { kind: 'resent', event: earlier };

    // After the first round `expected` is cleared: our variants may already sit on top of a newer
    // version's, so whatever the object is now must be rendered, whichever notification it has.
    let expected: string | undefined = notified || undefined;
    for (let round = 1; ; round++) {
      const readAt = performance.now();
      const source = await ports.getSource(ref, cfg.limits.maxInputBytes);
      if (expected && source.eTag !== expected) return { kind: 'stale' };
      const result = await resizeImage(source.data, cfg.variants, cfg.limits, subject);
      const metadata = {
        [META.sourceETag]: source.eTag,
        [META.sourceWidth]: String(result.source.width),
        [META.sourceHeight]: String(result.source.height),
        [META.sourceFormat]: result.source.format,
      };
      // Variants are written before the event is sent, so a crash in between is repaired by the
      // redelivery resending the event from what `findEarlierWork` finds.
      await Promise.all(
        result.variants.map((v) =>
          ports.putOutput(variantKey(ref.key, cfg.outputPrefix, v), v.data, v.contentType, cfg.cacheControl, {
            ...metadata,
            [META.width]: String(v.width),
            [META.height]: String(v.height),
          }),
        ),
      );
      // S3 has no compare-and-swap here: if the object was overwritten while we worked, the newer
      // version's own run may have finished first and our writes landed on top of it. Checking the
      // source after our writes closes that window: any newer version either is seen here (and
      // rendered again by us) or was uploaded after our writes (and its own run writes after us).
      const now = await currentETag(cfg, ports, ref);
      if (now === 'changed') return { kind: 'stale' };
      if (now === 'deleted' || now.eTag === source.eTag) {
        const sameVersion = source.eTag === notified;
        // The upload time is the notification's, so it describes only the version notified.
        const uploadedAt = sameVersion ? ref.eventTime : undefined;
        const event = imageResizedEvent(
          {
            bucket: ref.bucket,
            key: ref.key,
            eTag: source.eTag,
            versionId: sameVersion ? ref.versionId : undefined,
            ...(uploadedAt ? { uploadedAt } : {}),
            size: source.data.length,
            ...result.source,
          },
          toResizedVariants(cfg, ref, result),
          ports.now(),
        );
        return { kind: 'resized', event, renderMs: performance.now() - readAt };
      }
      ports.log('warn', 'source overwritten while its variants were written; rendering the newer version', {
        ...subject,
        eTag: source.eTag,
        newerETag: now.eTag,
        round,
      });
      if (round >= MAX_FRESHNESS_ROUNDS) {
        throw new PipelineError(
          'S3_ERROR',
          `source changed during each of ${MAX_FRESHNESS_ROUNDS} rounds; retrying later`,
          subject,
        );
      }
      expected = undefined;
    }
  } catch (err) {
    const error = toPipelineError(err, subject);
    if (error.permanent)
      return { kind: 'rejected', event: imageRejectedEvent(rejectedSource(item), error, ports.now()) };
    return { kind: 'retry', error };
  }
}

/**
 * The resize stage for one SQS batch: every S3 record is processed on its own (a bad image never
 * fails its neighbours), permanent failures go to the rejected queue once, transient ones come
 * back as `batchItemFailures` so SQS redelivers just those messages.
 */
export async function processResizeBatch(
  cfg: ResizeConfig,
  ports: ResizePorts,
  messages: readonly SqsMessage[],
): Promise<ResizeBatchResult> {
  const items = expandMessages(messages);
  // S3 may deliver the same notification twice into one batch: the copies wait for the first one's
  // outcome instead of rendering and writing the same variants concurrently.
  const firstRuns = new Map<string, Promise<SourceOutcome>>();
  const outcomes = await mapWithConcurrency(
    items,
    cfg.concurrency,
    async (item): Promise<SourceOutcome | undefined> => {
      if (item.testEvent) return undefined;
      if (item.error) {
        if (!item.error.permanent) return { kind: 'retry', error: item.error };
        return { kind: 'rejected', event: imageRejectedEvent(rejectedSource(item), item.error, ports.now()) };
      }
      const ref = item.ref as S3ObjectRef;
      const identity = JSON.stringify([ref.bucket, ref.key, stripQuotes(ref.eTag), ref.versionId ?? '']);
      const first = firstRuns.get(identity);
      if (first) {
        const outcome = await first;
        return outcome.kind === 'retry' ? outcome : { kind: 'duplicate' };
      }
      const run = processSource(cfg, ports, item as WorkItem & { ref: S3ObjectRef });
      firstRuns.set(identity, run);
      return run;
    },
  );

  const summary: ResizeBatchResult['summary'] = {
    resized: 0,
    resent: 0,
    duplicate: 0,
    stale: 0,
    ignored: 0,
    rejected: 0,
    retry: 0,
    testEvents: 0,
  };
  const figures: ResizeFigures = { bytesIn: 0, bytesOut: 0, renderMs: [], rejectedByCode: {} };
  const failed = new Set<string>();
  const resized: Array<{ id: string; event: ImageResizedEvent }> = [];
  const rejected: Array<{ id: string; event: ImageRejectedEvent }> = [];
  const owner = new Map<string, string>();
  outcomes.forEach((outcome, i) => {
    const item = items[i];
    if (!outcome) {
      summary.testEvents++;
      return;
    }
    summary[outcome.kind]++;
    const id = `r${i}`;
    owner.set(id, item.messageId);
    const logFields = { messageId: item.messageId, bucket: item.ref?.bucket, key: item.ref?.key };
    addFigures(figures, outcome);
    switch (outcome.kind) {
      case 'resized':
      case 'resent':
        resized.push({ id, event: outcome.event });
        ports.log('info', `source ${outcome.kind}`, { ...logFields, variants: outcome.event.variants.length });
        break;
      case 'rejected':
        rejected.push({ id, event: outcome.event });
        ports.log('warn', 'source rejected', { ...logFields, code: outcome.event.code, reason: outcome.event.message });
        break;
      case 'retry':
        failed.add(item.messageId);
        ports.log('error', 'source failed, will retry', { ...logFields, error: outcome.error.toJSON() });
        break;
      default:
        ports.log('info', `source ${outcome.kind}`, logFields);
    }
  });

  // A message whose event could not be sent is retried whole: its sources are idempotent.
  const sendFailures = await Promise.all([
    resized.length ? ports.sendResized(resized) : new Map<string, PipelineError>(),
    rejected.length ? ports.sendRejected(rejected) : new Map<string, PipelineError>(),
  ]);
  for (const failures of sendFailures) {
    for (const [id, error] of failures) {
      const messageId = owner.get(id) as string;
      failed.add(messageId);
      ports.log('error', 'event not sent, will retry', { messageId, error: error.toJSON() });
    }
  }
  return { batchItemFailures: [...failed].map((itemIdentifier) => ({ itemIdentifier })), summary, figures };
}

/** What one source adds to its batch's figures: a rendered source its bytes and time, a rejection its code. */
function addFigures(figures: ResizeFigures, outcome: SourceOutcome): void {
  if (outcome.kind === 'resized') {
    figures.bytesIn += outcome.event.source.size;
    figures.bytesOut += outcome.event.variants.reduce((n, v) => n + v.bytes, 0);
    figures.renderMs.push(Math.round(outcome.renderMs));
  } else if (outcome.kind === 'rejected') {
    figures.rejectedByCode[outcome.event.code] = (figures.rejectedByCode[outcome.event.code] ?? 0) + 1;
  }
}
