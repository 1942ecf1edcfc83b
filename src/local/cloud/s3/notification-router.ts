/**
 * S3 bucket notifications to SQS, as S3 sends them: which configurations match a write, the exact
 * event record JSON (eventVersion 2.1, URL-encoded key, sequencer), the s3:TestEvent sent when a
 * configuration is added, and delivery that retries until the queue accepts the message.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { S3Client, HeadObjectCommand } from '@aws-sdk/client-s3';
import { SQSClient, SendMessageCommand } from '@aws-sdk/client-sqs';
import { configError, errorMessage } from '../../../core/errors';
import { s3ObjectCreatedNotification } from './object-created-event';
import type { LogSink } from '../lambda/invoke-contract';
import { localClientConfig } from '../../client-config';

/** S3 event types that can be configured (the ObjectCreated family is what the gateway emits). */
export type S3NotificationEvent =
  | 's3:ObjectCreated:*'
  | 's3:ObjectCreated:Put'
  | 's3:ObjectCreated:Post'
  | 's3:ObjectCreated:Copy'
  | 's3:ObjectCreated:CompleteMultipartUpload';

/** The ObjectCreated event names the gateway can observe. */
export type ObjectCreatedEventName =
  'ObjectCreated:Put' | 'ObjectCreated:Post' | 'ObjectCreated:Copy' | 'ObjectCreated:CompleteMultipartUpload';

/** One QueueConfiguration of a bucket's notification configuration. */
export interface NotificationConfig {
  bucket: string;
  /** Queue URL, or a bare queue name (resolved against the stand-in). */
  queueUrl: string;
  queueArn: string;
  /** Key prefix filter. @default none */
  prefix?: string;
  /** Key suffix filter. @default none */
  suffix?: string;
  /** @default ['s3:ObjectCreated:*'] */
  events?: S3NotificationEvent[];
  /** The configurationId in records. @default a generated id */
  id?: string;
}

/** A configuration with its defaults filled in. */
export interface ResolvedNotificationConfig extends Required<Omit<NotificationConfig, 'prefix' | 'suffix'>> {
  prefix: string;
  suffix: string;
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
}

/** The `s3.object` part of a record, from a HeadObject after the write. */
export interface ObjectFacts {
  size: number;
  eTag: string;
  versionId?: string;
}

const ACCOUNT_ID = '000000000000';

/** Validates a configuration and fills in defaults. */
export function resolveNotificationConfig(config: NotificationConfig, upstream: string): ResolvedNotificationConfig {
  if (!config.bucket) throw configError('notifications.bucket', 'must name a bucket');
  if (!config.queueUrl) throw configError('notifications.queueUrl', 'must be a queue URL or name');
  if (!/^arn:aws[\w-]*:sqs:[\w-]+:\d{12}:[\w-]+(\.fifo)?$/.test(config.queueArn ?? '')) {
    throw configError('notifications.queueArn', `'${config.queueArn}' is not an SQS queue ARN`);
  }
  if (config.queueArn.endsWith('.fifo')) {
    throw configError('notifications.queueArn', 'FIFO queues cannot be S3 notification destinations');
  }
  const queueUrl = /^https?:\/\//.test(config.queueUrl)
    ? config.queueUrl
    : `${upstream.replace(/\/$/, '')}/${ACCOUNT_ID}/${config.queueUrl}`;
  return {
    bucket: config.bucket,
    queueUrl,
    queueArn: config.queueArn,
    prefix: config.prefix ?? '',
    suffix: config.suffix ?? '',
    events: config.events && config.events.length > 0 ? config.events : ['s3:ObjectCreated:*'],
    id: config.id ?? `local-${randomUUID()}`,
  };
}

/** True when a configuration wants this event for this key. Filters compare the decoded key. */
export function matchesConfig(
  config: ResolvedNotificationConfig,
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
  config: ResolvedNotificationConfig,
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
   * s3.amazonaws.com with aws:SourceArn/aws:SourceAccount). A refused message is dropped, as S3
   * drops what it may not deliver, and logged (`notification.denied`). @default every delivery allowed
   */
  authorizeDelivery?: (config: ResolvedNotificationConfig) => Promise<boolean>;
}

/**
 * Delivers notifications for object-creating writes. Delivery runs in the background and retries
 * with backoff until it succeeds or the router is closed (then the loss is logged).
 */
export class NotificationRouter {
  private readonly configs: ResolvedNotificationConfig[] = [];
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

  /** Adds a configuration; sends the s3:TestEvent to its queue unless `testEvent` is false. */
  async configure(config: NotificationConfig, opts: { testEvent?: boolean } = {}): Promise<ResolvedNotificationConfig> {
    const resolved = resolveNotificationConfig(config, this.opts.upstream);
    this.configs.push(resolved);
    this.opts.logSink({
      event: 'notification.configured',
      bucket: resolved.bucket,
      queueArn: resolved.queueArn,
      prefix: resolved.prefix,
      suffix: resolved.suffix,
      id: resolved.id,
    });
    if (opts.testEvent ?? true) {
      await this.track(
        this.deliver(resolved, buildTestEventBody(resolved.bucket), { bucket: resolved.bucket, test: true }),
      );
    }
    return resolved;
  }

  /** The configurations in force. */
  list(): readonly ResolvedNotificationConfig[] {
    return this.configs;
  }

  /** True when some configuration watches this bucket (the gateway then tracks the write). */
  watches(bucket: string): boolean {
    return this.configs.some((config) => config.bucket === bucket);
  }

  /** Schedules the notifications for a successful write; returns at once. */
  objectCreated(fact: ObjectCreatedFact): void {
    const targets = this.configs.filter((config) => matchesConfig(config, fact.bucket, fact.key, fact.eventName));
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

  private async notify(fact: ObjectCreatedFact, targets: ResolvedNotificationConfig[]): Promise<void> {
    const object = await this.withRetry(
      { bucket: fact.bucket, key: fact.key, step: 'HeadObject' },
      () => this.headObject(fact.bucket, fact.key),
      // Deleted before we looked: nothing to describe, and retrying cannot bring it back.
      (err) => err instanceof Error && (err.name === 'NotFound' || err.name === 'NoSuchKey'),
    );
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

  private async headObject(bucket: string, key: string): Promise<ObjectFacts> {
    const head = await this.s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    const facts: ObjectFacts = { size: head.ContentLength ?? 0, eTag: (head.ETag ?? '').replace(/"/g, '') };
    if (head.VersionId && head.VersionId !== 'null') facts.versionId = head.VersionId;
    return facts;
  }

  private async deliver(
    config: ResolvedNotificationConfig,
    body: string,
    about: Record<string, unknown>,
  ): Promise<void> {
    const { queueUrl } = config;
    if (this.opts.authorizeDelivery && !(await this.opts.authorizeDelivery(config))) {
      this.opts.logSink({ event: 'notification.denied', level: 'error', queueArn: config.queueArn, ...about });
      return;
    }
    const sent = await this.withRetry({ ...about, queueUrl, step: 'SendMessage' }, async () => {
      await this.sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: body }));
      return true;
    });
    if (sent) {
      this.sentCount += 1;
      this.opts.logSink({ event: 'notification.sent', queueUrl, ...about });
    }
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
