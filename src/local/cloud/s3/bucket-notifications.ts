/**
 * A bucket's notification configuration (`?notification`), as S3 keeps and checks it:
 * PutBucketNotificationConfiguration parses the document, refuses what S3 refuses (unknown event
 * types, bad filter rules, configurations that overlap for a common event type, a destination queue
 * that does not exist or whose policy does not let s3.amazonaws.com send from this bucket), then puts
 * the queue configurations in force in the notification router (the one path by which events are
 * routed) and sends each destination the s3:TestEvent. GetBucketNotificationConfiguration answers
 * what was applied, with the ids S3 generates for configurations sent without one. An empty
 * configuration stops the bucket's notifications; a deleted bucket loses its configuration.
 *
 * Topic (SNS), Lambda and EventBridge destinations are not emulated: refused with S3's NotImplemented
 * rather than stored and never delivered. With a state file the configurations outlive a restart,
 * as they do on S3 (no new s3:TestEvent for a configuration that was kept).
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync, renameSync } from 'node:fs';
import { parseXmlBody, xmlDocument, type XmlElements } from '../xml';
import type { S3ErrorShape } from './post-policy';
import type { NotificationRouter, QueueNotification } from './notification-router';
import { evaluateAuthorization, MalformedPolicyError } from '../iam/policy-evaluation';
import { s3NotificationPermission } from '../iam/operation-actions';
import type { LogSink } from '../lambda/invoke-contract';
import { errorMessage } from '../../../core/errors';

const XMLNS = 'http://s3.amazonaws.com/doc/2006-03-01/';

/** The event types S3 accepts in a notification configuration ("Supported event types"). */
const S3_EVENT_TYPES = new Set([
  's3:TestEvent',
  's3:ObjectCreated:*',
  's3:ObjectCreated:Put',
  's3:ObjectCreated:Post',
  's3:ObjectCreated:Copy',
  's3:ObjectCreated:CompleteMultipartUpload',
  's3:ObjectRemoved:*',
  's3:ObjectRemoved:Delete',
  's3:ObjectRemoved:DeleteMarkerCreated',
  's3:ObjectRestore:*',
  's3:ObjectRestore:Post',
  's3:ObjectRestore:Completed',
  's3:ObjectRestore:Delete',
  's3:ReducedRedundancyLostObject',
  's3:Replication:*',
  's3:Replication:OperationFailedReplication',
  's3:Replication:OperationNotTracked',
  's3:Replication:OperationMissedThreshold',
  's3:Replication:OperationReplicatedAfterThreshold',
  's3:LifecycleExpiration:*',
  's3:LifecycleExpiration:Delete',
  's3:LifecycleExpiration:DeleteMarkerCreated',
  's3:LifecycleTransition',
  's3:IntelligentTiering',
  's3:ObjectTagging:*',
  's3:ObjectTagging:Put',
  's3:ObjectTagging:Delete',
  's3:ObjectAcl:Put',
]);

/** S3's refusal of two filtered configurations that could both fire for one event. */
const AMBIGUOUS =
  'Configuration is ambiguously defined. ' +
  'Cannot have overlapping suffixes in two rules if the prefixes are overlapping for the same event type.';

/** What S3 answers for a destination it could not validate (the details name each destination). */
const UNABLE_TO_VALIDATE = 'Unable to validate the following destination configurations';
/** S3's reason for a queue whose policy does not let s3.amazonaws.com send from this bucket. */
const QUEUE_POLICY_REFUSES =
  'Permissions on the destination queue do not allow S3 to publish notifications from this bucket';
/** S3's reason for a destination queue that does not exist. */
const QUEUE_MISSING = 'The destination queue does not exist';

const invalidArgument = (message: string, details?: Record<string, string>): S3ErrorShape => ({
  code: 'InvalidArgument',
  status: 400,
  message,
  ...(details ? { details } : {}),
});

const MALFORMED_XML: S3ErrorShape = {
  code: 'MalformedXML',
  status: 400,
  message: 'The XML you provided was not well-formed or did not validate against our published schema',
};

const notImplemented = (what: string): S3ErrorShape => ({
  code: 'NotImplemented',
  status: 501,
  message: `A header you provided implies functionality that is not implemented (locally: ${what} are not emulated)`,
});

/** Thrown while reading a document; carries S3's answer. */
class Refusal extends Error {
  constructor(readonly error: S3ErrorShape) {
    super(error.message);
  }
}

/** An element that may be absent, present once (an object or text) or repeated (a list). */
function listOf(value: unknown): unknown[] {
  if (value === undefined || value === null) return [];
  return Array.isArray(value) ? (value as unknown[]) : [value];
}

function record(value: unknown): Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

/** The text of an element (empty for an absent or empty one). */
function text(value: unknown): string {
  return typeof value === 'string' ? value : '';
}

/** A queue configuration's filter: its prefix and suffix rules ('' when absent). */
function filterOf(filter: unknown): { prefix: string; suffix: string } {
  const rules = listOf(record(record(filter).S3Key).FilterRule).map(record);
  const found: Record<'prefix' | 'suffix', string | undefined> = { prefix: undefined, suffix: undefined };
  for (const rule of rules) {
    const name = text(rule.Name).toLowerCase();
    if (name !== 'prefix' && name !== 'suffix')
      throw new Refusal(
        invalidArgument('FilterRule name must be either prefix or suffix', {
          ArgumentName: 'FilterRule',
          ArgumentValue: text(rule.Name),
        }),
      );
    if (found[name] !== undefined)
      throw new Refusal(
        invalidArgument(`Cannot specify more than one ${name} rule in a filter.`, {
          ArgumentName: 'FilterRule',
          ArgumentValue: name,
        }),
      );
    found[name] = text(rule.Value);
  }
  return { prefix: found.prefix ?? '', suffix: found.suffix ?? '' };
}

/** Reads a PutBucketNotificationConfiguration body into the bucket's queue configurations. */
export function parseNotificationConfiguration(bucket: string, body: string): QueueNotification[] {
  const doc = body.trim() === '' ? undefined : parseXmlBody(body);
  if (!doc || !('NotificationConfiguration' in doc)) throw new Refusal(MALFORMED_XML);
  const root = record(doc.NotificationConfiguration);
  if (root.TopicConfiguration !== undefined) throw new Refusal(notImplemented('SNS topic destinations'));
  if (root.CloudFunctionConfiguration !== undefined || root.LambdaFunctionConfiguration !== undefined)
    throw new Refusal(notImplemented('Lambda function destinations'));
  if (root.EventBridgeConfiguration !== undefined) throw new Refusal(notImplemented('EventBridge notifications'));
  return listOf(root.QueueConfiguration).map((entry) => {
    const config = record(entry);
    const queueArn = text(config.Queue);
    const events = listOf(config.Event).map(text);
    if (!queueArn || events.length === 0) throw new Refusal(MALFORMED_XML);
    for (const event of events) {
      if (!S3_EVENT_TYPES.has(event))
        throw new Refusal(
          invalidArgument('The event is not supported for notifications', {
            ArgumentName: 'Event',
            ArgumentValue: event,
          }),
        );
    }
    const id = text(config.Id) || generatedId();
    return { bucket, queueArn, events, id, ...filterOf(config.Filter) };
  });
}

/** An id as S3 makes one for a configuration sent without it. */
function generatedId(): string {
  return randomBytes(36).toString('base64').replace(/[+/=]/g, '').slice(0, 48);
}

/** True when one event type is, or covers, the other (`s3:ObjectCreated:*` covers `s3:ObjectCreated:Put`). */
function eventsOverlap(a: string, b: string): boolean {
  const covers = (wide: string, narrow: string): boolean => wide.endsWith(':*') && narrow.startsWith(wide.slice(0, -1));
  return a === b || covers(a, b) || covers(b, a);
}

/**
 * S3's refusal of two configurations that could both fire for one event: an event type in common
 * and prefixes and suffixes that overlap (one starts, or ends, the other; no filter overlaps all).
 */
export function overlapRefusal(configs: readonly QueueNotification[]): S3ErrorShape | undefined {
  for (let i = 0; i < configs.length; i += 1) {
    for (let j = i + 1; j < configs.length; j += 1) {
      const a = configs[i];
      const b = configs[j];
      const shared = a.events.flatMap((ea) => b.events.filter((eb) => eventsOverlap(ea, eb)).map((eb) => [ea, eb]));
      if (shared.length === 0) continue;
      const unfiltered = (c: QueueNotification): boolean => c.prefix === '' && c.suffix === '';
      if (unfiltered(a) && unfiltered(b)) {
        const [ea, eb] = shared[0];
        return invalidArgument(
          'Configurations overlap. Configurations on the same bucket cannot share a common event type.',
          { ArgumentName: 'Event', ArgumentValue: `${ea}, ${eb}` },
        );
      }
      const prefixes = a.prefix.startsWith(b.prefix) || b.prefix.startsWith(a.prefix);
      const suffixes = a.suffix.endsWith(b.suffix) || b.suffix.endsWith(a.suffix);
      if (prefixes && suffixes) return invalidArgument(AMBIGUOUS);
    }
  }
  return undefined;
}

/** The GetBucketNotificationConfiguration document of these configurations. */
export function notificationDocument(configs: readonly QueueNotification[]): string {
  const queueConfiguration = configs.map((c): XmlElements => {
    const rules = [
      ...(c.prefix ? [{ Name: 'Prefix', Value: c.prefix }] : []),
      ...(c.suffix ? [{ Name: 'Suffix', Value: c.suffix }] : []),
    ];
    return {
      Id: c.id,
      Queue: c.queueArn,
      Event: [...c.events],
      ...(rules.length > 0 ? { Filter: { S3Key: { FilterRule: rules } } } : {}),
    };
  });
  return xmlDocument({ NotificationConfiguration: { '@_xmlns': XMLNS, QueueConfiguration: queueConfiguration } });
}

export interface BucketNotificationsOptions {
  /** Delivers the events, and is asked about destination queues. */
  readonly router: Pick<NotificationRouter, 'setBucket' | 'list' | 'sendTestEvent' | 'destinationQueue'>;
  /** The account that owns the buckets (aws:SourceAccount of S3's sends). */
  readonly accountId: string;
  /**
   * A JSON file the configurations are kept in, read at start and rewritten on each change.
   * @default none: the configurations live in memory
   */
  readonly stateFile?: string;
  /** @default no logging */
  readonly logSink?: LogSink;
}

export interface BucketNotifications {
  /** PutBucketNotificationConfiguration: undefined when applied, else S3's refusal. */
  put(bucket: string, body: string): Promise<S3ErrorShape | undefined>;
  /** GetBucketNotificationConfiguration's document (an empty configuration when none is set). */
  document(bucket: string): string;
  /** Forgets a deleted bucket's configuration. */
  drop(bucket: string): void;
}

/** A bucket's notification configurations, applied to `router`. */
export function createBucketNotifications(opts: BucketNotificationsOptions): BucketNotifications {
  const log: LogSink = opts.logSink ?? (() => {});
  const kept = loadState(opts.stateFile);
  for (const [bucket, configs] of Object.entries(kept)) opts.router.setBucket(bucket, configs);
  /** Buckets with a configuration in force. */
  const known = new Set(Object.keys(kept));

  function saveState(): void {
    if (!opts.stateFile) return;
    const all: Record<string, readonly QueueNotification[]> = {};
    // The router holds what is in force; the file mirrors it (written whole, then renamed into place).
    for (const bucket of known) all[bucket] = opts.router.list(bucket);
    writeFileSync(`${opts.stateFile}.tmp`, JSON.stringify(all), { mode: 0o600 });
    renameSync(`${opts.stateFile}.tmp`, opts.stateFile);
  }

  /** Why S3 could not validate a destination queue, or undefined when S3 may send to it from `bucket`. */
  async function destinationRefusal(bucket: string, queueArn: string): Promise<string | undefined> {
    const queue = await opts.router.destinationQueue(queueArn);
    if (!queue.exists) return QUEUE_MISSING;
    if (!queue.policy) return QUEUE_POLICY_REFUSES;
    const permission = s3NotificationPermission(bucket, opts.accountId, queueArn);
    try {
      const { decision } = evaluateAuthorization({
        request: {
          action: permission.action,
          resource: permission.resource,
          principal: { kind: 'service', service: 's3.amazonaws.com' },
          // S3 sends to SQS over TLS.
          context: { ...permission.context, 'aws:SecureTransport': 'true' },
        },
        resourcePolicy: { name: `queue policy of ${queueArn}`, document: queue.policy },
      });
      return decision === 'Allow' ? undefined : QUEUE_POLICY_REFUSES;
    } catch (err) {
      if (err instanceof MalformedPolicyError) return QUEUE_POLICY_REFUSES;
      throw err;
    }
  }

  return {
    async put(bucket, body) {
      let configs: QueueNotification[];
      try {
        configs = parseNotificationConfiguration(bucket, body);
      } catch (err) {
        if (err instanceof Refusal) return err.error;
        throw err;
      }
      const overlap = overlapRefusal(configs);
      if (overlap) return overlap;
      const destinations = [...new Set(configs.map((c) => c.queueArn))];
      const reasons = await Promise.all(destinations.map((arn) => destinationRefusal(bucket, arn)));
      const refused = destinations.flatMap((arn, i) => (reasons[i] ? [[arn, reasons[i]] as const] : []));
      if (refused.length > 0) {
        const details: Record<string, string> = {};
        refused.forEach(([arn, reason], i) => {
          details[`ArgumentName${i + 1}`] = arn;
          details[`ArgumentValue${i + 1}`] = reason;
        });
        log({ event: 'notification.refused', level: 'warn', bucket, destinations: Object.fromEntries(refused) });
        return invalidArgument(UNABLE_TO_VALIDATE, details);
      }
      opts.router.setBucket(bucket, configs);
      known.add(bucket);
      saveState();
      for (const arn of destinations) await opts.router.sendTestEvent(bucket, arn);
      return undefined;
    },
    document: (bucket) => notificationDocument(opts.router.list(bucket)),
    drop(bucket) {
      if (!known.delete(bucket)) return;
      opts.router.setBucket(bucket, []);
      saveState();
    },
  };
}

/** The configurations kept in `stateFile` ({} without one); an unreadable file is an error naming it. */
function loadState(stateFile: string | undefined): Record<string, QueueNotification[]> {
  if (!stateFile || !existsSync(stateFile)) return {};
  try {
    return JSON.parse(readFileSync(stateFile, 'utf8')) as Record<string, QueueNotification[]>;
  } catch (err) {
    throw new Error(`cannot read the bucket notification state ${stateFile}: ${errorMessage(err)}`, { cause: err });
  }
}
