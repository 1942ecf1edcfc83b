/**
 * `BufferedQueue`: an SQS queue with its dead-letter queue, redrive, SSE-SQS and the two alarms
 * operators need (messages in the DLQ; the oldest message getting old).
 */
import { Construct } from 'constructs';
import { Fn, Lazy, TerraformLocal } from 'cdktf';
import { SqsQueue } from '@cdktf/provider-aws/lib/sqs-queue';
import { SqsQueuePolicy } from '@cdktf/provider-aws/lib/sqs-queue-policy';
import { SqsQueueRedriveAllowPolicy } from '@cdktf/provider-aws/lib/sqs-queue-redrive-allow-policy';
import { CloudwatchMetricAlarm } from '@cdktf/provider-aws/lib/cloudwatch-metric-alarm';
import { IGrantable, ResourcePolicyStatement, resourcePolicyJson, sidFragment } from './policy';
import { checkIntRange, checkNotFifoForS3, isKnown } from './validation';
import { configError } from '../src/core/errors';
import { DEFAULT_MAX_RECEIVE_COUNT } from '../src/core/chain-defaults';

export interface BufferedQueueProps {
  /** Queue name; the DLQ is named `<queueName>-dlq` (`.fifo` kept last for FIFO queues). */
  readonly queueName: string;
  /**
   * Seconds a received message stays hidden from other consumers. Bound to a function, this must be
   * at least 6x the function timeout (`QueueFunctionBinding` checks it).
   * @default 30
   */
  readonly visibilityTimeoutSeconds?: number;
  /**
   * How long the queue keeps an undelivered message (60 s to 14 days).
   * @default 345600 (4 days)
   */
  readonly messageRetentionSeconds?: number;
  /**
   * How long the DLQ keeps a message: longer than the queue, so people have time to look.
   * @default 1209600 (14 days, the maximum)
   */
  readonly dlqMessageRetentionSeconds?: number;
  /**
   * Receives before a message moves to the DLQ.
   * @default 5
   */
  readonly maxReceiveCount?: number;
  /**
   * Largest message in bytes. Queues receiving S3 notifications need at least 65536.
   * @default 262144 (256 KiB)
   */
  readonly maxMessageSizeBytes?: number;
  /**
   * A FIFO queue (refused as an S3 notification destination).
   * @default false
   */
  readonly fifo?: boolean;
  /**
   * SNS topic ARNs (or other alarm action ARNs) notified when an alarm fires or recovers.
   * @default [] - alarms are created without actions
   */
  readonly alarmActions?: string[];
  /**
   * Alarm when the oldest message is older than this many seconds; `false` for no age alarm
   * (e.g. a queue that is drained by people, not functions).
   * @default 900
   */
  readonly oldestMessageAgeAlarmSeconds?: number | false;
  /** @default {} */
  readonly tags?: Record<string, string>;
}

/** The minimum message size of a queue that receives S3 event notifications. */
export const S3_NOTIFICATION_MIN_MESSAGE_BYTES = 65536;

/**
 * An alarm that fires as soon as a queue holds a visible message: for queues that should stay
 * empty (dead letters, failure records), where any message waits for a person.
 */
export function queueNotEmptyAlarm(
  scope: Construct,
  id: string,
  props: {
    alarmName: string;
    description: string;
    queueName: string;
    alarmActions: string[];
    tags?: Record<string, string>;
  },
): CloudwatchMetricAlarm {
  return new CloudwatchMetricAlarm(scope, id, {
    alarmName: props.alarmName,
    alarmDescription: props.description,
    namespace: 'AWS/SQS',
    metricName: 'ApproximateNumberOfMessagesVisible',
    dimensions: { QueueName: props.queueName },
    statistic: 'Maximum',
    period: 60,
    evaluationPeriods: 1,
    threshold: 1,
    comparisonOperator: 'GreaterThanOrEqualToThreshold',
    treatMissingData: 'notBreaching',
    alarmActions: props.alarmActions,
    okActions: props.alarmActions,
    tags: props.tags,
  });
}

/** The statement every queue policy of the module starts with: requests not made over TLS are denied. */
export function denyInsecureTransport(queueArn: string): ResourcePolicyStatement {
  return {
    sid: 'DenyInsecureTransport',
    effect: 'Deny',
    principal: '*',
    actions: ['sqs:*'],
    resources: [queueArn],
    conditions: { Bool: { 'aws:SecureTransport': 'false' } },
  };
}

/** A DLQ's redrive allow policy: only `sourceQueueArn` may use it as its dead-letter queue. */
export function redriveAllowPolicyJson(sourceQueueArn: string): string {
  return JSON.stringify({ redrivePermission: 'byQueue', sourceQueueArns: [sourceQueueArn] });
}

/**
 * An SQS queue + DLQ with secure defaults: SSE-SQS on both, a TLS-only queue policy on both, redrive
 * after `maxReceiveCount` receives into a DLQ that accepts only this queue (redrive allow policy),
 * a DLQ-depth alarm and (optionally) an oldest-message-age alarm.
 */
export class BufferedQueue extends Construct {
  readonly queue: SqsQueue;
  readonly deadLetterQueue: SqsQueue;
  readonly queueName: string;
  readonly visibilityTimeoutSeconds: number;
  readonly maxMessageSizeBytes: number;
  readonly fifo: boolean;
  readonly alarms: CloudwatchMetricAlarm[] = [];
  /** The queue's policy: TLS only, plus what `allowS3Notifications` adds. */
  readonly queuePolicy: SqsQueuePolicy;
  /** The DLQ's policy: TLS only. */
  readonly deadLetterQueuePolicy: SqsQueuePolicy;
  /** Lets only this queue send its dead letters to the DLQ. */
  readonly redriveAllowPolicy: SqsQueueRedriveAllowPolicy;
  private readonly queueStatements: ResourcePolicyStatement[];

  constructor(scope: Construct, id: string, props: BufferedQueueProps) {
    super(scope, id);
    this.fifo = props.fifo ?? false;
    this.queueName = props.queueName;
    this.visibilityTimeoutSeconds = props.visibilityTimeoutSeconds ?? 30;
    this.maxMessageSizeBytes = props.maxMessageSizeBytes ?? 262144;
    const retention = props.messageRetentionSeconds ?? 345600;
    const dlqRetention = props.dlqMessageRetentionSeconds ?? 1209600;
    const maxReceiveCount = props.maxReceiveCount ?? DEFAULT_MAX_RECEIVE_COUNT;
    checkIntRange(`${id}.visibilityTimeoutSeconds`, this.visibilityTimeoutSeconds, 0, 43200);
    checkIntRange(`${id}.messageRetentionSeconds`, retention, 60, 1209600);
    checkIntRange(`${id}.dlqMessageRetentionSeconds`, dlqRetention, 60, 1209600);
    checkIntRange(`${id}.maxReceiveCount`, maxReceiveCount, 1, 1000);
    checkIntRange(`${id}.maxMessageSizeBytes`, this.maxMessageSizeBytes, 1024, 262144);
    if (isKnown(this.queueName) && this.fifo !== this.queueName.endsWith('.fifo')) {
      throw configError(
        `${id}.queueName`,
        `a FIFO queue name must end with ".fifo" and only a FIFO ` +
          `queue's may (got "${this.queueName}", fifo=${this.fifo})`,
      );
    }

    const dlqName = this.fifo ? `${this.queueName.slice(0, -'.fifo'.length)}-dlq.fifo` : `${this.queueName}-dlq`;
    this.deadLetterQueue = new SqsQueue(this, 'dlq', {
      name: dlqName,
      fifoQueue: this.fifo || undefined,
      sqsManagedSseEnabled: true,
      messageRetentionSeconds: dlqRetention,
      maxMessageSize: this.maxMessageSizeBytes,
      tags: props.tags,
    });
    this.queue = new SqsQueue(this, 'queue', {
      name: this.queueName,
      fifoQueue: this.fifo || undefined,
      sqsManagedSseEnabled: true,
      visibilityTimeoutSeconds: this.visibilityTimeoutSeconds,
      messageRetentionSeconds: retention,
      maxMessageSize: this.maxMessageSizeBytes,
      redrivePolicy: JSON.stringify({ deadLetterTargetArn: this.deadLetterQueue.arn, maxReceiveCount }),
      tags: props.tags,
    });
    // One policy per queue (a second aws_sqs_queue_policy would overwrite the first): statements
    // are collected and rendered at synth.
    this.queueStatements = [denyInsecureTransport(this.queue.arn)];
    this.queuePolicy = new SqsQueuePolicy(this, 'policy', {
      queueUrl: this.queue.url,
      policy: Lazy.stringValue({ produce: () => resourcePolicyJson(this.queueStatements) }),
    });
    this.deadLetterQueuePolicy = new SqsQueuePolicy(this, 'dlq-policy', {
      queueUrl: this.deadLetterQueue.url,
      policy: resourcePolicyJson([denyInsecureTransport(this.deadLetterQueue.arn)]),
    });
    // A separate resource: on the DLQ itself it would name the queue, which names the DLQ (a cycle).
    this.redriveAllowPolicy = new SqsQueueRedriveAllowPolicy(this, 'dlq-redrive-allow-policy', {
      queueUrl: this.deadLetterQueue.url,
      redriveAllowPolicy: redriveAllowPolicyJson(this.queue.arn),
    });

    const alarmActions = props.alarmActions ?? [];
    this.alarms.push(
      queueNotEmptyAlarm(this, 'dlq-depth-alarm', {
        alarmName: `${dlqName}-not-empty`,
        description:
          `Messages failed ${maxReceiveCount} times on ${this.queueName} ` +
          `and wait in ${dlqName}: inspect, fix, redrive.`,
        queueName: this.deadLetterQueue.name,
        alarmActions,
        tags: props.tags,
      }),
    );
    const ageLimit = props.oldestMessageAgeAlarmSeconds ?? 900;
    if (ageLimit !== false) {
      checkIntRange(`${id}.oldestMessageAgeAlarmSeconds`, ageLimit, 60, 1209600);
      this.alarms.push(
        new CloudwatchMetricAlarm(this, 'oldest-message-age-alarm', {
          alarmName: `${this.queueName}-oldest-message-age`,
          alarmDescription:
            `The oldest message on ${this.queueName} is older than ${ageLimit} s: ` +
            `consumers are failing or too slow.`,
          namespace: 'AWS/SQS',
          metricName: 'ApproximateAgeOfOldestMessage',
          dimensions: { QueueName: this.queue.name },
          statistic: 'Maximum',
          period: 60,
          evaluationPeriods: 5,
          threshold: ageLimit,
          comparisonOperator: 'GreaterThanOrEqualToThreshold',
          treatMissingData: 'notBreaching',
          alarmActions,
          okActions: alarmActions,
          tags: props.tags,
        }),
      );
    }
  }

  get queueArn(): string {
    return this.queue.arn;
  }

  get queueUrl(): string {
    return this.queue.url;
  }

  /** Grants sqs:SendMessage (which also authorizes SendMessageBatch) on the queue. */
  grantSendMessages(grantee: IGrantable): void {
    grantee.addToPrincipalPolicy({
      sid: `Send${sidFragment(this.node.id)}`,
      actions: ['sqs:SendMessage'],
      resources: [this.queue.arn],
    });
  }

  /** Grants what a consumer (or a Lambda event source mapping) needs: Receive, Delete, GetQueueAttributes. */
  grantConsumeMessages(grantee: IGrantable): void {
    grantee.addToPrincipalPolicy({
      sid: `Consume${sidFragment(this.node.id)}`,
      actions: ['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes'],
      resources: [this.queue.arn],
    });
  }

  /**
   * Lets one bucket's event notifications into this queue: a statement in the queue policy for the S3 service
   * principal scoped by `aws:SourceArn` (the bucket) and `aws:SourceAccount` (the bucket owner).
   * Refuses a FIFO queue or one whose messages are too small for S3 events.
   * @param sourceAccount the bucket owner's account id @default the queue's own account (from its ARN)
   */
  allowS3Notifications(bucketArn: string, sourceAccount?: string): SqsQueuePolicy {
    checkNotFifoForS3(`${this.node.id}.fifo`, this.fifo);
    if (isKnown(this.maxMessageSizeBytes) && this.maxMessageSizeBytes < S3_NOTIFICATION_MIN_MESSAGE_BYTES) {
      throw configError(
        `${this.node.id}.maxMessageSizeBytes`,
        `a queue receiving S3 notifications needs at ` +
          `least ${S3_NOTIFICATION_MIN_MESSAGE_BYTES} bytes, got ${this.maxMessageSizeBytes}`,
      );
    }
    // The account id is the 5th field of the queue ARN; no caller-identity lookup, so plans run offline.
    // A local keeps the quoted ":" out of the policy JSON string.
    const account =
      sourceAccount ?? new TerraformLocal(this, 'account-id', Fn.element(Fn.split(':', this.queue.arn), 4)).asString;
    this.queueStatements.push({
      sid: 'AllowS3Notifications',
      principal: { Service: 's3.amazonaws.com' },
      actions: ['sqs:SendMessage'],
      resources: [this.queue.arn],
      conditions: { ArnEquals: { 'aws:SourceArn': bucketArn }, StringEquals: { 'aws:SourceAccount': account } },
    });
    return this.queuePolicy;
  }
}
