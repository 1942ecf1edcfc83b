/**
 * `StreamSource`: an optional second entrance to the resize stage. A Kinesis data stream whose
 * records reference S3 objects (`{"bucket","key","eTag"?,"size"?}` or an S3 event notification;
 * never image bytes, records are limited to 1 MB) feeds the resize function through an event source
 * mapping that reports partial batch failures by sequence number, bisects a batch on a function
 * error, retries a bounded number of times, and then describes the failed records to an on-failure
 * destination (an SQS queue, created by default) so the shard moves on.
 */
import { Construct } from 'constructs';
import { KinesisStream } from '@cdktf/provider-aws/lib/kinesis-stream';
import { LambdaEventSourceMapping } from '@cdktf/provider-aws/lib/lambda-event-source-mapping';
import { CloudwatchMetricAlarm } from '@cdktf/provider-aws/lib/cloudwatch-metric-alarm';
import { configError } from '../src/core/errors';
import { FAILURE_QUEUE_DEFAULTS, FUNCTION_RESPONSE_TYPES, STREAM_SOURCE_DEFAULTS } from '../src/core/chain-defaults';
import { BufferedQueue, queueNotEmptyAlarm } from './buffered-queue';
import { ContainerFunction } from './container-function';
import { checkIntRange, checkOneOf, isKnown } from './validation';

export const STREAM_MODES = ['PROVISIONED', 'ON_DEMAND'] as const;
export type StreamMode = (typeof STREAM_MODES)[number];

/** Objects the stream's records may reference: `s3:GetObject` on `<bucketArn>/<prefix>*`. */
export interface ReadableObjects {
  /** `arn:<partition>:s3:::<bucket>`. */
  readonly bucketArn: string;
  /** Key prefix ('' for the whole bucket; no leading '/'). */
  readonly prefix: string;
}

/**
 * The stream and how the resize function consumes it.
 *
 * Records under the chain's uploads prefix are processed twice: such an object already reached the
 * resize stage through its S3 notification, and its stream record resizes it again (same output keys,
 * so the result is the same, but the work, the `image.resized` event and the publish run happen twice).
 * Point producers at objects outside the uploads prefix, or at other buckets via `readableObjects`.
 */
export interface StreamSourceOptions {
  /** @default '<namePrefix>-uploads' */
  readonly streamName?: string;
  /** `ON_DEMAND` scales shards by itself (and refuses `shardCount`). @default 'PROVISIONED' */
  readonly streamMode?: StreamMode;
  /**
   * Shards of a PROVISIONED stream (1-500); each adds one concurrent batch (times parallelizationFactor).
   * @default 1
   */
  readonly shardCount?: number;
  /** Hours records are kept (24-8760). @default 24 */
  readonly retentionHours?: number;
  /** Records per invocation (1-10000). @default 100 */
  readonly batchSize?: number;
  /** Concurrent batches per shard (1-10); records of one partition key stay in order. @default 1 */
  readonly parallelizationFactor?: number;
  /** Split a batch in two and retry each half when the function fails (does not count as a retry). @default true */
  readonly bisectBatchOnFunctionError?: boolean;
  /**
   * Retries of a failing batch before its records go to the on-failure destination (-1 = until they expire, 0-10000).
   * @default 3
   */
  readonly maximumRetryAttempts?: number;
  /** Records older than this go to the on-failure destination unprocessed (-1 = never, or 60-604800). @default -1 */
  readonly maximumRecordAgeSeconds?: number;
  /**
   * ARN of an existing SQS queue (or SNS topic) for failure records.
   * @default - a queue `<namePrefix>-stream-failures` is created (SSE-SQS, 14 days, with its DLQ and an alarm)
   */
  readonly onFailureDestinationArn?: string;
  /** Alarm when the stream's oldest unread record is older than this (seconds, 60-604800). @default 900 */
  readonly iteratorAgeAlarmSeconds?: number;
  /**
   * What the resize role may read for stream records (it reads nothing else for them): each entry
   * grants `s3:GetObject` on `<bucketArn>/<prefix>*`. A record naming any other object fails with
   * AccessDenied and ends in the on-failure destination.
   * @default - the chain's source bucket under its uploads prefix (`defaultReadableObjects`)
   */
  readonly readableObjects?: ReadableObjects[];
}

/**
 * What the stream feeds: a `ContainerFunction`, or a function created elsewhere (another Terraform
 * module) seen through a policy on its role and the ARN to invoke.
 */
export type StreamConsumer = Pick<
  ContainerFunction,
  'addToPrincipalPolicy' | 'invokeTargetArn' | 'rolePolicy' | 'provisionedConcurrencyConfig'
>;

export interface StreamSourceProps extends StreamSourceOptions {
  readonly namePrefix: string;
  /** The function the stream feeds (the resize function). */
  readonly fn: StreamConsumer;
  /** What `readableObjects` defaults to: the chain passes its source bucket and uploads prefix. */
  readonly defaultReadableObjects: ReadableObjects[];
  /** @default [] */
  readonly alarmActions?: string[];
  /** @default {} */
  readonly tags?: Record<string, string>;
}

/** Actions Lambda's poller needs on the stream, with the execution role's credentials. */
export const KINESIS_CONSUMER_ACTIONS = [
  'kinesis:GetRecords',
  'kinesis:GetShardIterator',
  'kinesis:DescribeStream',
  'kinesis:DescribeStreamSummary',
  'kinesis:ListShards',
];

/** Sid of the grant that lets the resize role read the objects stream records reference. */
export const READ_STREAM_OBJECTS_SID = 'ReadStreamObjects';

/** Refuses entries IAM could not scope: a bucket ARN that is not one, a prefix starting with '/'. */
function checkReadableObjects(readable: readonly ReadableObjects[]): void {
  if (readable.length === 0)
    throw configError(
      'streamSource.readableObjects',
      'names nothing: the resize function could read no object a record references',
    );
  readable.forEach(({ bucketArn, prefix }, i) => {
    if (isKnown(bucketArn) && !/^arn:[a-z-]+:s3:::[a-z0-9][a-z0-9.-]{1,62}$/.test(bucketArn)) {
      throw configError(
        `streamSource.readableObjects[${i}].bucketArn`,
        `must be an S3 bucket ARN (arn:<partition>:s3:::<bucket>), got ${JSON.stringify(bucketArn)}`,
      );
    }
    if (isKnown(prefix) && (prefix.startsWith('/') || prefix.includes('*'))) {
      throw configError(
        `streamSource.readableObjects[${i}].prefix`,
        `must be a key prefix without a leading "/" or "*", got ${JSON.stringify(prefix)}`,
      );
    }
  });
}

export class StreamSource extends Construct {
  readonly stream: KinesisStream;
  readonly mapping: LambdaEventSourceMapping;
  /** The created on-failure queue (undefined when `onFailureDestinationArn` was given). */
  readonly failureQueue?: BufferedQueue;
  readonly onFailureDestinationArn: string;
  readonly alarms: CloudwatchMetricAlarm[] = [];

  constructor(scope: Construct, id: string, props: StreamSourceProps) {
    super(scope, id);
    const streamMode = props.streamMode ?? 'PROVISIONED';
    checkOneOf('streamSource.streamMode', streamMode, STREAM_MODES);
    if (streamMode === 'ON_DEMAND' && props.shardCount !== undefined) {
      throw configError(
        'streamSource.shardCount',
        'an ON_DEMAND stream manages its own shards; drop shardCount or use streamMode PROVISIONED',
      );
    }
    const shardCount = props.shardCount ?? STREAM_SOURCE_DEFAULTS.shardCount;
    const retentionHours = props.retentionHours ?? 24;
    const batchSize = props.batchSize ?? STREAM_SOURCE_DEFAULTS.batchSize;
    const parallelizationFactor = props.parallelizationFactor ?? STREAM_SOURCE_DEFAULTS.parallelizationFactor;
    const maximumRetryAttempts = props.maximumRetryAttempts ?? STREAM_SOURCE_DEFAULTS.maximumRetryAttempts;
    const maximumRecordAgeSeconds = props.maximumRecordAgeSeconds ?? STREAM_SOURCE_DEFAULTS.maximumRecordAgeSeconds;
    const iteratorAgeAlarmSeconds = props.iteratorAgeAlarmSeconds ?? 900;
    checkIntRange('streamSource.shardCount', shardCount, 1, 500);
    checkIntRange('streamSource.retentionHours', retentionHours, 24, 8760);
    checkIntRange('streamSource.batchSize', batchSize, 1, 10000);
    checkIntRange('streamSource.parallelizationFactor', parallelizationFactor, 1, 10);
    checkIntRange('streamSource.maximumRetryAttempts', maximumRetryAttempts, -1, 10000);
    checkIntRange('streamSource.maximumRecordAgeSeconds', maximumRecordAgeSeconds, -1, 604800);
    if (isKnown(maximumRecordAgeSeconds) && maximumRecordAgeSeconds !== -1 && maximumRecordAgeSeconds < 60) {
      throw configError(
        'streamSource.maximumRecordAgeSeconds',
        `${maximumRecordAgeSeconds} is neither -1 (never) nor an integer in 60..604800`,
      );
    }
    checkIntRange('streamSource.iteratorAgeAlarmSeconds', iteratorAgeAlarmSeconds, 60, 604800);
    const streamName = props.streamName ?? `${props.namePrefix}-uploads`;
    if (isKnown(streamName) && !/^[a-zA-Z0-9_.-]{1,128}$/.test(streamName)) {
      throw configError(
        'streamSource.streamName',
        `${JSON.stringify(streamName)} is not 1..128 of a-z, A-Z, 0-9, '_', '-', '.'`,
      );
    }

    this.stream = new KinesisStream(this, 'stream', {
      name: streamName,
      streamModeDetails: { streamMode },
      shardCount: streamMode === 'PROVISIONED' ? shardCount : undefined,
      retentionPeriod: retentionHours,
      // Server-side encryption with the AWS managed key: producers and consumers need no KMS grant.
      encryptionType: 'KMS',
      kmsKeyId: 'alias/aws/kinesis',
      tags: props.tags,
    });

    if (props.onFailureDestinationArn !== undefined) {
      const arn = props.onFailureDestinationArn;
      if (isKnown(arn) && !/^arn:[a-z-]+:(sqs|sns):[a-z0-9-]+:\d{12}:[A-Za-z0-9_.-]+$/.test(arn)) {
        throw configError(
          'streamSource.onFailureDestinationArn',
          `must be an SQS queue or SNS topic ARN, got ${JSON.stringify(arn)}`,
        );
      }
      this.onFailureDestinationArn = arn;
      const service = isKnown(arn) && arn.split(':')[2] === 'sns' ? 'sns:Publish' : 'sqs:SendMessage';
      props.fn.addToPrincipalPolicy({ sid: 'SendStreamFailures', actions: [service], resources: [arn] });
    } else {
      // Failure records wait for a person (they name the records to replay): keep them 14 days.
      this.failureQueue = new BufferedQueue(this, 'stream-failures', {
        queueName: `${props.namePrefix}-stream-failures`,
        visibilityTimeoutSeconds: FAILURE_QUEUE_DEFAULTS.visibilityTimeoutSeconds,
        messageRetentionSeconds: FAILURE_QUEUE_DEFAULTS.messageRetentionSeconds,
        oldestMessageAgeAlarmSeconds: false,
        alarmActions: props.alarmActions,
        tags: props.tags,
      });
      this.onFailureDestinationArn = this.failureQueue.queueArn;
      // Lambda sends failure records with the function's execution role.
      this.failureQueue.grantSendMessages(props.fn);
      this.alarms.push(
        queueNotEmptyAlarm(this, 'stream-failures-alarm', {
          alarmName: `${props.namePrefix}-stream-failures-not-empty`,
          description:
            `Stream records of ${streamName} failed ${maximumRetryAttempts} retries or expired: ` +
            `the failure records name the shard and sequence numbers to replay.`,
          queueName: this.failureQueue.queue.name,
          alarmActions: props.alarmActions ?? [],
          tags: props.tags,
        }),
      );
    }

    props.fn.addToPrincipalPolicy({
      sid: 'ReadUploadStream',
      actions: [...KINESIS_CONSUMER_ACTIONS],
      resources: [this.stream.arn],
    });
    // Every source of object references needs its own read grant: the queue path's does not cover these.
    const readable = props.readableObjects ?? props.defaultReadableObjects;
    checkReadableObjects(readable);
    props.fn.addToPrincipalPolicy({
      sid: READ_STREAM_OBJECTS_SID,
      actions: ['s3:GetObject'],
      resources: readable.map(({ bucketArn, prefix }) => `${bucketArn}/${prefix}*`),
    });
    // kinesis:ListStreams is an account-level action: IAM offers no resource narrower than "*".
    props.fn.addToPrincipalPolicy({ sid: 'ListKinesisStreams', actions: ['kinesis:ListStreams'], resources: ['*'] });

    this.mapping = new LambdaEventSourceMapping(this, 'mapping', {
      eventSourceArn: this.stream.arn,
      functionName: props.fn.invokeTargetArn,
      startingPosition: 'LATEST',
      batchSize,
      parallelizationFactor,
      bisectBatchOnFunctionError: props.bisectBatchOnFunctionError ?? STREAM_SOURCE_DEFAULTS.bisectBatchOnFunctionError,
      maximumRetryAttempts,
      maximumRecordAgeInSeconds: maximumRecordAgeSeconds,
      functionResponseTypes: [...FUNCTION_RESPONSE_TYPES],
      destinationConfig: { onFailure: { destinationArn: this.onFailureDestinationArn } },
      // Lambda checks the role's Kinesis and destination permissions when the mapping is created.
      dependsOn: [
        props.fn.rolePolicy,
        ...(props.fn.provisionedConcurrencyConfig ? [props.fn.provisionedConcurrencyConfig] : []),
      ],
    });

    this.alarms.push(
      new CloudwatchMetricAlarm(this, 'iterator-age-alarm', {
        alarmName: `${streamName}-iterator-age`,
        alarmDescription:
          `Records on ${streamName} wait more than ${iteratorAgeAlarmSeconds} s: ` +
          `the resize function is failing or too slow (records expire after ${retentionHours} h).`,
        namespace: 'AWS/Kinesis',
        metricName: 'GetRecords.IteratorAgeMilliseconds',
        dimensions: { StreamName: this.stream.name },
        statistic: 'Maximum',
        period: 60,
        evaluationPeriods: 5,
        threshold: iteratorAgeAlarmSeconds * 1000,
        comparisonOperator: 'GreaterThanOrEqualToThreshold',
        treatMissingData: 'notBreaching',
        alarmActions: props.alarmActions ?? [],
        okActions: props.alarmActions ?? [],
        tags: props.tags,
      }),
    );
  }

  get streamName(): string {
    return this.stream.name;
  }

  get streamArn(): string {
    return this.stream.arn;
  }
}
