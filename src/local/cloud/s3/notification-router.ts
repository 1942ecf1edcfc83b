/**
 * S3 bucket notifications to SQS, as S3 sends them: which configurations match a write, the exact
 * event record JSON (eventVersion 2.1, URL-encoded key, sequencer), the s3:TestEvent sent when a
 * configuration is added, and delivery that retries until the queue accepts the message.
 */
import { randomBytes } from 'node:crypto';
import { S3Client, HeadObjectCommand } from '@aws-sdk/client-s3';
import { GetQueueAttributesCommand, SQSClient, SendMessageCommand } from '@aws-sdk/client-sqs';
import { errorMessage } from '../../../core/errors';
import { s3ObjectCreatedNotification } from './object-created-event';
import type { LogSink } from '../lambda/invoke-contract';
import { localClientConfig } from '../../client-config';

/** The ObjectCreated event names the gateway can observe. */
export type ObjectCreatedEventName =
  'ObjectCreated:Put' | 'ObjectCreated:Post' | 'ObjectCreated:Copy' | 'ObjectCreated:CompleteMultipartUpload';

/**
 * One QueueConfiguration of a bucket's notification configuration, as PutBucketNotificationConfiguration
 * applied it (bucket-notifications.ts validates it first).
 */
/** Where one notification goes: the queue, and the bucket it is from (S3's SendMessage names it as aws:SourceArn). */
export type NotificationDestination = Pick<QueueNotification, 'bucket' | 'queueArn'>;

export interface QueueNotification {
  bucket: string;
  /** The destination queue's ARN (a standard queue in the local account). */
  queueArn: string;
  /** Key prefix filter ('' = none). */
  prefix: string;
  /** Key suffix filter ('' = none). */
  suffix: string;
  /** S3 event types, e.g. 's3:ObjectCreated:*' or 's3:ObjectCreated:Put'. */
  events: readonly string[];
  /** The configurationId in records. */
  id: string;
}

/** What the gateway learned about a successful object-creating request. */
export interface ObjectCreatedFact {
  bucket: string;
  /** The decoded object key. */
  key: string;
  eventName: ObjectCreatedEventName;
  requestId: string;
  hostId: string;
  sourceIp: string;
  eventTime: Date;
  sequencer: string;
  /**
   * The stored object as the write's own answer describes it (a PutObject: its length and ETag). Without it the
   * router asks HeadObject, which describes whatever the key holds by then.
   */
  object?: ObjectFacts;
}

/** The `s3.object` part of a record: from the write's answer, or from a HeadObject after it. */
export interface ObjectFacts {
  size: number;
  eTag: string;
  versionId?: string;
}

/** The stand-in's URL of the queue an ARN names (`arn:aws:sqs:<region>:<account>:<name>`). */
export function queueUrlOf(queueArn: string, upstream: string): string {
  const [, , , , account, name] = queueArn.split(':');
  return `${upstream.replace(/\/$/, '')}/${account ?? ''}/${name ?? ''}`;
}

/** True when a configuration wants this event for this key. Filters compare the decoded key. */
export function matchesConfig(
  config: QueueNotification,
  bucket: string,
  key: string,
  eventName: ObjectCreatedEventName,
): boolean {
  if (config.bucket !== bucket) return false;
  if (!key.startsWith(config.prefix) || !key.endsWith(config.suffix)) return false;
  return config.events.some((event) => event === 's3:ObjectCreated:*' || event === `s3:${eventName}`);
}

/** The message body S3 sends for one event to one configuration. */
export function buildS3EventBody(
  config: QueueNotification,
  fact: ObjectCreatedFact,
  object: ObjectFacts,
  region: string,
): string {
  return JSON.stringify(
    s3ObjectCreatedNotification({
      bucket: fact.bucket,
      key: fact.key,
      size: object.size,
      eTag: object.eTag,
      versionId: object.versionId,
      sequencer: fact.sequencer,
      eventName: fact.eventName,
      region,
      eventTime: fact.eventTime,
      configurationId: config.id,
      requestId: fact.requestId,
      hostId: fact.hostId,
      sourceIp: fact.sourceIp,
    }),
  );
}

/** The message S3 sends to a destination when a notification configuration is saved. */
export function buildTestEventBody(bucket: string, now: Date = new Date()): string {
  return JSON.stringify({
    Service: 'Amazon S3',
    Event: 's3:TestEvent',
    Time: now.toISOString(),
    Bucket: bucket,
    RequestId: randomBytes(8).toString('hex').toUpperCase(),
    HostId: randomBytes(24).toString('base64'),
  });
}

/**
 * Hands out S3-style sequencers: uppercase hex, fixed width, strictly increasing in this process
 * (S3 only promises ordering per key; increasing overall is stronger).
 */
export function createSequencer(): () => string {
  let last = 0n;
  return () => {
    const now = BigInt(Date.now()) * 1000n;
    last = now > last ? now : last + 1n;
    return last.toString(16).toUpperCase().padStart(18, '0');
  };
}

export interface NotificationRouterOptions {
  /** The stand-in endpoint; the router talks to it directly (it is part of "AWS"). */
  upstream: string;
  region: string;
  logSink: LogSink;
  /** First retry delay; doubles up to maxRetryDelayMs. @default 100 */
  retryDelayMs?: number;
  /** @default 5000 */
  maxRetryDelayMs?: number;
  /**
   * Whether the destination queue's policy lets the bucket send (the SendMessage S3 makes as
   * s3.amazonaws.com with aws:SourceArn/aws:SourceAccount). A message refused by an existing queue's
   * policy is dropped, as S3 drops what it may not deliver, and logged (`notification.denied`); while
   * the queue does not exist the delivery is retried. Asked again before each attempt (a policy set
   * meanwhile counts). @default every delivery allowed
   */
  authorizeDelivery?: (destination: NotificationDestination) => Promise<boolean>;
}

/**
 * Delivers notifications for object-creating writes. Delivery runs in the background and retries
 * with backoff until it succeeds or the router is closed (then the loss is logged).
 */
export class NotificationRouter {
  /** bucket -> its queue configurations in force (what PutBucketNotificationConfiguration applied). */
  private readonly configs = new Map<string, readonly QueueNotification[]>();
  private readonly pending = new Set<Promise<void>>();
  private readonly s3: S3Client;
  private readonly sqs: SQSClient;
  private closed = false;
  private sentCount = 0;
  private failedAttempts = 0;
  readonly nextSequencer = createSequencer();

  constructor(private readonly opts: NotificationRouterOptions) {
    const config = localClientConfig(opts.upstream, opts.region, { maxAttempts: 1 });
    this.s3 = new S3Client(config);
    this.sqs = new SQSClient(config);
  }

  /** Puts `configs` in force for `bucket`, replacing what it had; none stops its notifications. */
  setBucket(bucket: string, configs: readonly QueueNotification[]): void {
    if (configs.length === 0) this.configs.delete(bucket);
    else this.configs.set(bucket, configs);
    this.opts.logSink({
      event: 'notification.configured',
      bucket,
      configurations: configs.map(({ id, queueArn, prefix, suffix, events }) => ({
        id,
        queueArn,
        prefix,
        suffix,
        events,
      })),
    });
  }

  /** The configurations in force for a bucket. */
  list(bucket: string): readonly QueueNotification[] {
    return this.configs.get(bucket) ?? [];
  }

  /** True when some configuration watches this bucket (the gateway then tracks the write). */
  watches(bucket: string): boolean {
    return this.configs.has(bucket);
  }

  /** Sends the s3:TestEvent S3 sends to a destination when a configuration naming it is saved. */
  sendTestEvent(bucket: string, queueArn: string): Promise<void> {
    return this.track(this.deliver({ bucket, queueArn }, buildTestEventBody(bucket), { bucket, test: true }));
  }

  /**
   * What S3 checks at PutBucketNotificationConfiguration: whether the destination queue exists and,
   * if it does, its policy (undefined when it has none).
   */
  async destinationQueue(queueArn: string): Promise<{ exists: false } | { exists: true; policy?: string }> {
    try {
      const answer = await this.sqs.send(
        new GetQueueAttributesCommand({
          QueueUrl: queueUrlOf(queueArn, this.opts.upstream),
          AttributeNames: ['Policy', 'QueueArn'],
        }),
      );
      if (answer.Attributes?.QueueArn !== queueArn) return { exists: false };
      return { exists: true, policy: answer.Attributes?.Policy };
    } catch (err) {
      const code = err instanceof Error ? err.name.replace(/^AWS\.SimpleQueueService\./, '') : '';
      if (code === 'QueueDoesNotExist' || code === 'NonExistentQueue') return { exists: false };
      throw err;
    }
  }

  /** Schedules the notifications for a successful write; returns at once. */
  objectCreated(fact: ObjectCreatedFact): void {
    const targets = this.list(fact.bucket).filter((config) =>
      matchesConfig(config, fact.bucket, fact.key, fact.eventName),
    );
    if (targets.length === 0) return;
    void this.track(this.notify(fact, targets));
  }

  /** Notifications sent so far. */
  get sent(): number {
    return this.sentCount;
  }

  /** Delivery attempts that failed and were retried. */
  get retries(): number {
    return this.failedAttempts;
  }

  /** Resolves when every scheduled notification was delivered (or given up at close). */
  async settled(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }

  /** Stops retrying; pending notifications get one last chance and are logged as lost if they fail. */
  async close(): Promise<void> {
    this.closed = true;
    await this.settled();
    this.s3.destroy();
    this.sqs.destroy();
  }

  private track(work: Promise<void>): Promise<void> {
    this.pending.add(work);
    return work.finally(() => this.pending.delete(work));
  }

  private async notify(fact: ObjectCreatedFact, targets: QueueNotification[]): Promise<void> {
    const object = fact.object ?? (await this.describeObject(fact));
    if (!object) return;
    await Promise.all(
      targets.map((config) =>
        this.deliver(config, buildS3EventBody(config, fact, object, this.opts.region), {
          bucket: fact.bucket,
          key: fact.key,
          eventName: fact.eventName,
          sequencer: fact.sequencer,
        }),
      ),
    );
  }

  /** The written object's facts from a HeadObject, or undefined when it was deleted before the router looked. */
  private describeObject(fact: ObjectCreatedFact): Promise<ObjectFacts | undefined> {
    return this.withRetry(
      { bucket: fact.bucket, key: fact.key, step: 'HeadObject' },
      () => this.headObject(fact.bucket, fact.key),
      // Deleted before we looked: nothing to describe, and retrying cannot bring it back.
      (err) => err instanceof Error && (err.name === 'NotFound' || err.name === 'NoSuchKey'),
    );
  }

  private async headObject(bucket: string, key: string): Promise<ObjectFacts> {
    const head = await this.s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    const facts: ObjectFacts = { size: head.ContentLength ?? 0, eTag: (head.ETag ?? '').replace(/"/g, '') };
    if (head.VersionId && head.VersionId !== 'null') facts.versionId = head.VersionId;
    return facts;
  }

  private async deliver(
    destination: NotificationDestination,
    body: string,
    about: Record<string, unknown>,
  ): Promise<void> {
    const queueUrl = queueUrlOf(destination.queueArn, this.opts.upstream);
    const sent = await this.withRetry({ ...about, queueUrl, step: 'SendMessage' }, async () => {
      if (!(await this.deliveryAllowed(destination, queueUrl))) return false;
      await this.sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: body }));
      return true;
    });
    if (sent === false) {
      this.opts.logSink({ event: 'notification.denied', level: 'error', queueArn: destination.queueArn, ...about });
      return;
    }
    if (sent) {
      this.sentCount += 1;
      this.opts.logSink({ event: 'notification.sent', queueUrl, ...about });
    }
  }

  /**
   * Whether the queue's policy lets the bucket deliver. A refusal counts only for a queue that
   * exists: one that is gone (deleted after the configuration was validated) has no policy to
   * decide, and the delivery waits for it as the SendMessage itself would (it throws, to be retried).
   */
  private async deliveryAllowed(destination: NotificationDestination, queueUrl: string): Promise<boolean> {
    if (!this.opts.authorizeDelivery || (await this.opts.authorizeDelivery(destination))) return true;
    // Throws AWS.SimpleQueueService.NonExistentQueue while the queue is missing.
    await this.sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] }));
    return false;
  }

  /**
   * Runs `attempt` until it succeeds; gives up (undefined, logged as lost) on a permanent error or
   * when the attempt after close() fails.
   */
  private async withRetry<T>(
    about: Record<string, unknown>,
    attempt: () => Promise<T>,
    isPermanent: (err: unknown) => boolean = () => false,
  ): Promise<T | undefined> {
    let delay = this.opts.retryDelayMs ?? 100;
    const maxDelay = this.opts.maxRetryDelayMs ?? 5000;
    for (let tries = 1; ; tries += 1) {
      const lastChance = this.closed;
      try {
        return await attempt();
      } catch (err) {
        this.failedAttempts += 1;
        const message = errorMessage(err);
        if (lastChance || isPermanent(err)) {
          this.opts.logSink({ event: 'notification.lost', level: 'error', tries, error: message, ...about });
          return undefined;
        }
        this.opts.logSink({
          event: 'notification.retry',
          level: 'warn',
          tries,
          delayMs: delay,
          error: message,
          ...about,
        });
        await new Promise((resolve) => setTimeout(resolve, delay));
        delay = Math.min(delay * 2, maxDelay);
      }
    }
  }
}
