/**
 * `ImageResizeChain`: S3 uploads -> ingest queue -> resize function -> resized queue -> publish
 * function, with rejected-image and dead-letter queues, alarms, and least-privilege roles.
 * Composed of `SecureBucket`/`ImportedBucket`, `BufferedQueue`, `ContainerFunction`,
 * `QueueFunctionBinding` and `ImageRepository`, each usable alone.
 */
import { relative, resolve, sep } from 'node:path';
import { Construct } from 'constructs';
import { App, IResolvable, Op, TerraformStack, Token } from 'cdktf';
import { S3BucketNotification } from '@cdktf/provider-aws/lib/s3-bucket-notification';
import { CloudwatchMetricAlarm } from '@cdktf/provider-aws/lib/cloudwatch-metric-alarm';
import { configError } from '../src/core/errors';
import { DEFAULT_VARIANTS, VariantSpec, parseVariantSpecs } from '../src/core/variants';
import { DEFAULT_LIMITS, MAX_INPUT_BYTES_CEILING, MAX_INPUT_PIXELS_CEILING } from '../src/core/limits';
import {
  DEFAULT_MAX_RECEIVE_COUNT,
  DEFAULT_NAME_PREFIX,
  DEFAULT_RESIZE_CONCURRENCY,
  DEFAULT_UPLOADS_PREFIX,
  STAGE_DEFAULTS,
  defaultVisibilityTimeout,
} from '../src/core/chain-defaults';
import { IBucket, ImportedBucket, SecureBucket } from './bucket';
import { BufferedQueue } from './buffered-queue';
import { ChainDashboard } from './dashboard';
import { FunctionAlarms, rejectedImagesAlarms, warnWithoutAlarmActions } from './function-alarms';
import { ARCHITECTURES, Architecture, ContainerFunction } from './container-function';
import { ImageRepository } from './image-repository';
import { IGrantable } from './policy';
import { QueueConsumptionOptions, QueueFunctionBinding } from './queue-function-binding';
import { StreamSource, StreamSourceOptions } from './stream-source';
import { findImageBuildContext, hashImageSources } from './source-hash';
import { UploadApi, UploadApiOptions } from './upload-api';
import {
  checkImageArchitecture,
  checkIntRange,
  checkNoLoop,
  checkOneOf,
  checkProvisionedConcurrency,
  checkVisibilityTimeout,
  isKnown,
} from './validation';

/** Create a bucket, or use an existing one. */
/**
 * Defaults of the resize and publish stages (function and queue mapping), and of CONCURRENCY: the
 * values used when `resize`, `publish` or `resizeConcurrency` leave one unset. Exported so reports
 * (bench/scale-model.ts) model the module as it deploys.
 */
export { STAGE_DEFAULTS };
/** Images resized at once inside one resize invocation (CONCURRENCY) unless `resizeConcurrency` says otherwise. */
export { DEFAULT_RESIZE_CONCURRENCY };

export interface BucketOptions {
  /**
   * Use this existing bucket instead of creating one. The module then does not manage its public
   * access block, encryption or policy, and (for the source bucket) its `aws_s3_bucket_notification`
   * replaces any notification configuration the bucket already has.
   * @default - a bucket is created
   */
  readonly existingBucketName?: string;
  /**
   * Name of the created bucket.
   * @default - generated: `<namePrefix>-src-…` / `<namePrefix>-out-…`
   */
  readonly bucketName?: string;
  /**
   * Let `terraform destroy` delete the created bucket while it holds objects.
   * @default false
   */
  readonly forceDestroy?: boolean | IResolvable;
}

export interface OutputBucketOptions extends BucketOptions {
  /**
   * Write outputs into the source bucket (under `outputPrefix`, which must then not overlap the
   * uploads prefix).
   * @default false - a separate output bucket
   */
  readonly sameAsSource?: boolean;
}

/** Function sizing and queue consumption for one stage. */
export interface StageOptions extends QueueConsumptionOptions {
  /** Memory in MB. @default resize 2048, publish 256 */
  readonly memorySize?: number;
  /** Timeout in seconds. @default resize 60, publish 30 */
  readonly timeout?: number;
  /** @default - none */
  readonly reservedConcurrency?: number;
  /**
   * Provisioned concurrency (1-1000, at most `maximumConcurrency` and `reservedConcurrency`): the
   * function publishes a version, a `live` alias points at it with this many environments kept
   * initialised, and the event source mapping invokes the alias. Queue-driven stages rarely need
   * it (the queue absorbs cold starts): see the README's "Cold starts". As a Terraform expression
   * (the plain module's variable) 0 means off, decided at plan time.
   * @default - none: on-demand only
   */
  readonly provisionedConcurrency?: number;
  /**
   * The stage's input queue visibility timeout (>= 6 x timeout).
   * @default 6 x timeout + maxBatchingWindow
   */
  readonly visibilityTimeoutSeconds?: number;
}

/** Container images that already exist (in ECR, in the deploying account or shared with it). */
export interface HandlerImageUris {
  readonly resize: string;
  readonly publish: string;
  /** The upload handler's image; needed with `uploadApi` unless `uploadApi.imageUri` is set. */
  readonly upload?: string;
}

/** How images are built when no URIs are given. */
export interface ImageBuildProps {
  /**
   * The folder images are built from (the Dockerfile, containers/, src/), for the source hash.
   * @default - found from the constructs' own location (findImageBuildContext): the repository root
   * in a checkout, `node_modules/image-resize-chain/image-context` when installed as a package
   */
  readonly projectRoot?: string;
  /**
   * `projectRoot` relative to the directory Terraform runs in.
   * @default - computed at synth from the app's outdir and the stack name (`../../..` when the app
   * runs in the project root: cdktf.out/stacks/<stack>)
   */
  readonly buildContext?: string;
  /** Extra `docker build` arguments. @default '' */
  readonly extraBuildArgs?: string;
  /** Images kept per repository. @default 10 */
  readonly keepImages?: number;
  /** Let destroy delete repositories with images. @default false */
  readonly forceDelete?: boolean;
}

export interface WebhookOptions {
  /** An https URL the publish stage POSTs each `image.resized` event to. */
  readonly url: string;
  /**
   * ARN of a Secrets Manager secret holding the signing key. The function reads it at init; the
   * value never appears in the configuration.
   */
  readonly secretArn: string;
}

export interface ImageResizeChainProps {
  /**
   * Prefix of every resource name (lower case letters, digits, '-'; at most 24 characters).
   * @default 'image-resize-chain'
   */
  readonly namePrefix?: string;
  /** @default - a bucket is created */
  readonly sourceBucket?: BucketOptions;
  /** @default - a separate bucket is created */
  readonly outputBucket?: OutputBucketOptions;
  /**
   * Key prefix watched for uploads (S3 notification filter).
   * @default 'uploads/'
   */
  readonly uploadsPrefix?: string;
  /**
   * Key suffixes that trigger the chain (one notification filter each, e.g. ['.jpg', '.png']).
   * @default [] - every object under uploadsPrefix
   */
  readonly uploadsSuffixes?: string[];
  /**
   * Delete uploads (objects under `uploadsPrefix` of a created source bucket) this many days after
   * they arrive, 15-36500: longer than the 14 days a failed message can wait in a DLQ, so a redriven
   * message still finds its object. Incomplete multipart uploads are always aborted after 1 day.
   * As a Terraform expression (the plain module's variable) 0 means off.
   * @default - uploads are kept
   */
  readonly expireUploadsAfterDays?: number;
  /**
   * Prefix of output keys in the output bucket ('' or ending in '/').
   * @default ''
   */
  readonly outputPrefix?: string;
  /**
   * The variant spec (validated now, with the handler's own parser), as specs or a JSON string.
   * @default DEFAULT_VARIANTS (thumb 320, medium 800, large 1600 WebP + fallback 1600 JPEG)
   */
  readonly variants?: readonly VariantSpec[] | string;
  /**
   * Image URIs of the handlers.
   * @default - ECR repositories are created and the images built and pushed during deploy
   */
  readonly images?: HandlerImageUris;
  /** @default {} */
  readonly imageBuild?: ImageBuildProps;
  /**
   * CPU architecture of both functions (and of built images).
   * @default 'x86_64'
   */
  readonly architecture?: Architecture;
  /** @default memory 2048, timeout 60, batch 10, window 0 s, maximum concurrency 10 */
  readonly resize?: StageOptions;
  /** @default memory 256, timeout 30, batch 10, window 0 s, maximum concurrency 5 */
  readonly publish?: StageOptions;
  /**
   * Images resized at once inside one invocation (CONCURRENCY, 1-16).
   * @default 4
   */
  readonly resizeConcurrency?: number;
  /** Input limits for the resize stage. @default DEFAULT_LIMITS (50 MiB, 100 MP) */
  readonly limits?: { readonly maxInputBytes?: number; readonly maxInputPixels?: number };
  /**
   * Receives before a message moves to its queue's DLQ.
   * @default 5
   */
  readonly maxReceiveCount?: number;
  /**
   * Retention of the ingest and resized queues, in seconds (DLQs and the rejected queue keep 14 days).
   * @default 345600 (4 days)
   */
  readonly messageRetentionSeconds?: number;
  /**
   * Largest message on the ingest queue (>= 65536, S3's requirement).
   * @default 262144
   */
  readonly ingestMaxMessageSizeBytes?: number;
  /**
   * Make the ingest queue FIFO. Always refused (S3 cannot notify FIFO queues); the prop exists so the
   * refusal is explicit rather than a deploy-time failure.
   * @default false
   */
  readonly ingestQueueFifo?: boolean;
  /**
   * Days CloudWatch keeps function logs.
   * @default 30
   */
  readonly logRetentionDays?: number;
  /** LOG_LEVEL of both functions. @default 'INFO' */
  readonly logLevel?: 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';
  /**
   * Actions (SNS topic ARNs) of every alarm.
   * @default []
   */
  readonly alarmActions?: string[];
  /**
   * Alarm when the oldest message on the ingest or resized queue is older than this (seconds).
   * @default 900
   */
  readonly oldestMessageAgeAlarmSeconds?: number;
  /**
   * Alarm when the resize function rejects at least this many images in an hour (any code; a
   * single INVALID_EVENT rejection has its own alarm).
   * @default 10
   */
  readonly rejectedImagesAlarmThreshold?: number;
  /**
   * A CloudWatch dashboard of the queues, the functions and the chain's metrics, named `namePrefix`
   * (output `dashboard_url`). Beyond an account's first three dashboards, each costs $3 a month.
   * @default true
   */
  readonly dashboard?: boolean;
  /** @default - no webhook */
  readonly webhook?: WebhookOptions;
  /**
   * A Kinesis stream whose records reference S3 objects, feeding the resize function beside the
   * ingest queue (see `StreamSource`): bisect on error, bounded retries, an on-failure queue.
   * @default - none
   */
  readonly streamSource?: StreamSourceOptions;
  /** Active X-Ray tracing on both functions. @default false */
  readonly tracing?: boolean;
  /** Tags on every taggable resource. @default {} */
  readonly tags?: Record<string, string>;
  /**
   * The upload API: an HTTP API `POST /uploads` answering with a presigned POST for the uploads
   * prefix (see `UploadApi`), with its own function and image.
   * @default - none
   */
  readonly uploadApi?: UploadApiOptions;
}

const LOG_LEVELS = ['DEBUG', 'INFO', 'WARN', 'ERROR'] as const;

function checkPrefix(field: string, prefix: string): void {
  if (!isKnown(prefix)) return;
  if (prefix.startsWith('/')) throw configError(field, `must not start with "/", got ${JSON.stringify(prefix)}`);
  if (prefix !== '' && !prefix.endsWith('/'))
    throw configError(field, `must be "" or end with "/", got ${JSON.stringify(prefix)}`);
}

/** Visibility timeout default: 6 x function timeout + batching window (works for Terraform expressions too). */
function defaultVisibility(timeout: number, window: number): number {
  if (isKnown(timeout) && isKnown(window)) return defaultVisibilityTimeout(timeout, window);
  return Token.asNumber(Op.add(Op.mul(timeout, 6), window));
}

export class ImageResizeChain extends Construct {
  readonly sourceBucket: IBucket;
  readonly outputBucket: IBucket;
  readonly uploadsPrefix: string;
  readonly outputPrefix: string;
  readonly ingestQueue: BufferedQueue;
  readonly resizedQueue: BufferedQueue;
  readonly rejectedQueue: BufferedQueue;
  readonly resizeFunction: ContainerFunction;
  readonly publishFunction: ContainerFunction;
  readonly resizeStage: QueueFunctionBinding;
  readonly publishStage: QueueFunctionBinding;
  readonly notification: S3BucketNotification;
  /** With the `streamSource` prop. */
  readonly streamSource?: StreamSource;
  /** The ECR repositories created when no image URIs were given. */
  readonly repositories: { resize?: ImageRepository; publish?: ImageRepository; upload?: ImageRepository } = {};
  /** With the `uploadApi` prop. */
  readonly uploadApi?: UploadApi;
  /** Alarms on the resize and publish functions themselves (the queues carry their own). */
  readonly functionAlarms: { resize: FunctionAlarms; publish: FunctionAlarms };
  /** Alarms on the resize function's rejected images (src/core/metrics.ts). */
  readonly rejectedImagesAlarms: CloudwatchMetricAlarm[];
  /** Unless `dashboard: false`. */
  readonly dashboard?: ChainDashboard;
  /** The validated variant spec (undefined when given as a Terraform expression). */
  readonly variants?: readonly VariantSpec[];

  constructor(scope: Construct, id: string, props: ImageResizeChainProps = {}) {
    super(scope, id);
    const prefix = props.namePrefix ?? DEFAULT_NAME_PREFIX;
    if (isKnown(prefix) && !/^[a-z0-9][a-z0-9-]{0,23}$/.test(prefix)) {
      throw configError(
        'namePrefix',
        `${JSON.stringify(prefix)} is not 1..24 of a-z, 0-9, '-' starting with a letter or digit`,
      );
    }
    const tags = props.tags;
    this.uploadsPrefix = props.uploadsPrefix ?? DEFAULT_UPLOADS_PREFIX;
    this.outputPrefix = props.outputPrefix ?? '';
    checkPrefix('uploadsPrefix', this.uploadsPrefix);
    checkPrefix('outputPrefix', this.outputPrefix);
    const architecture = props.architecture ?? 'x86_64';
    checkOneOf('architecture', architecture, ARCHITECTURES);
    const logLevel = props.logLevel ?? 'INFO';
    checkOneOf('logLevel', logLevel, LOG_LEVELS);
    const resizeConcurrency = props.resizeConcurrency ?? DEFAULT_RESIZE_CONCURRENCY;
    checkIntRange('resizeConcurrency', resizeConcurrency, 1, 16);
    const maxInputBytes = props.limits?.maxInputBytes ?? DEFAULT_LIMITS.maxInputBytes;
    const maxInputPixels = props.limits?.maxInputPixels ?? DEFAULT_LIMITS.maxInputPixels;
    checkIntRange('limits.maxInputBytes', maxInputBytes, 1, MAX_INPUT_BYTES_CEILING);
    checkIntRange('limits.maxInputPixels', maxInputPixels, 1, MAX_INPUT_PIXELS_CEILING);
    if (props.ingestQueueFifo)
      throw configError(
        'ingestQueueFifo',
        'a FIFO queue cannot be the destination of S3 event notifications; use a standard queue',
      );

    // Variants: the handler's own parser, so a spec that synthesizes is a spec the handler accepts.
    let variantsJson: string;
    const rawVariants = props.variants ?? DEFAULT_VARIANTS;
    if (typeof rawVariants === 'string' && !isKnown(rawVariants)) {
      variantsJson = rawVariants; // a Terraform expression: validated by the variable and at cold start
    } else {
      this.variants = parseVariantSpecs(typeof rawVariants === 'string' ? rawVariants : [...rawVariants], 'variants');
      variantsJson = JSON.stringify(this.variants);
    }

    // Buckets.
    this.sourceBucket = props.sourceBucket?.existingBucketName
      ? new ImportedBucket(this, 'source', { bucketName: props.sourceBucket.existingBucketName })
      : new SecureBucket(this, 'source', {
          bucketName: props.sourceBucket?.bucketName,
          bucketNamePrefix: `${prefix}-src-`,
          forceDestroy: props.sourceBucket?.forceDestroy,
          tags,
        });
    if (props.expireUploadsAfterDays !== undefined && isKnown(props.expireUploadsAfterDays))
      checkIntRange('expireUploadsAfterDays', props.expireUploadsAfterDays, 15, 36500);
    if (this.sourceBucket instanceof SecureBucket)
      this.sourceBucket.addUploadsLifecycle(this.uploadsPrefix, props.expireUploadsAfterDays);
    else if (props.expireUploadsAfterDays !== undefined)
      throw configError(
        'expireUploadsAfterDays',
        "needs a created source bucket: an existing bucket's lifecycle stays with its owner",
      );
    const sameBucket = props.outputBucket?.sameAsSource ?? false;
    if (sameBucket && (props.outputBucket?.existingBucketName || props.outputBucket?.bucketName)) {
      throw configError('outputBucket', 'sameAsSource cannot be combined with existingBucketName or bucketName');
    }
    this.outputBucket = sameBucket
      ? this.sourceBucket
      : props.outputBucket?.existingBucketName
        ? new ImportedBucket(this, 'output', { bucketName: props.outputBucket.existingBucketName })
        : new SecureBucket(this, 'output', {
            bucketName: props.outputBucket?.bucketName,
            bucketNamePrefix: `${prefix}-out-`,
            forceDestroy: props.outputBucket?.forceDestroy,
            tags,
          });
    checkNoLoop({
      sameBucket,
      sourceBucketName: props.sourceBucket?.existingBucketName ?? props.sourceBucket?.bucketName ?? 'created-source',
      outputBucketName: props.outputBucket?.existingBucketName ?? props.outputBucket?.bucketName ?? 'created-output',
      uploadsPrefix: this.uploadsPrefix,
      outputPrefix: this.outputPrefix,
    });

    // Functions first (their timeouts size the queues).
    const resizeOpts = props.resize ?? {};
    const publishOpts = props.publish ?? {};
    const resizeTimeout = resizeOpts.timeout ?? STAGE_DEFAULTS.resize.timeout;
    const publishTimeout = publishOpts.timeout ?? STAGE_DEFAULTS.publish.timeout;
    const resizeWindow = resizeOpts.maxBatchingWindow ?? STAGE_DEFAULTS.resize.maxBatchingWindow;
    const publishWindow = publishOpts.maxBatchingWindow ?? STAGE_DEFAULTS.publish.maxBatchingWindow;
    const logRetentionDays = props.logRetentionDays ?? 30;
    const images = props.images ?? this.createRepositories(prefix, architecture, props.imageBuild ?? {}, tags);
    for (const handler of ['resize', 'publish', 'upload'] as const)
      checkImageArchitecture(`images.${handler}`, props.images?.[handler], architecture);
    checkImageArchitecture('uploadApi.imageUri', props.uploadApi?.imageUri, architecture);

    const alarmActions = props.alarmActions ?? [];
    const queueDefaults = {
      maxReceiveCount: props.maxReceiveCount ?? DEFAULT_MAX_RECEIVE_COUNT,
      messageRetentionSeconds: props.messageRetentionSeconds ?? 345600,
      alarmActions,
      oldestMessageAgeAlarmSeconds: props.oldestMessageAgeAlarmSeconds ?? 900,
      tags,
    };
    const ingestVisibility = resizeOpts.visibilityTimeoutSeconds ?? defaultVisibility(resizeTimeout, resizeWindow);
    const resizedVisibility = publishOpts.visibilityTimeoutSeconds ?? defaultVisibility(publishTimeout, publishWindow);
    checkVisibilityTimeout('resize.visibilityTimeoutSeconds', ingestVisibility, resizeTimeout);
    const resizeMaxConcurrency = resizeOpts.maximumConcurrency ?? STAGE_DEFAULTS.resize.maximumConcurrency;
    const publishMaxConcurrency = publishOpts.maximumConcurrency ?? STAGE_DEFAULTS.publish.maximumConcurrency;
    checkProvisionedConcurrency(
      'resize.provisionedConcurrency',
      resizeOpts.provisionedConcurrency,
      resizeMaxConcurrency,
      resizeOpts.reservedConcurrency,
    );
    checkProvisionedConcurrency(
      'publish.provisionedConcurrency',
      publishOpts.provisionedConcurrency,
      publishMaxConcurrency,
      publishOpts.reservedConcurrency,
    );
    checkVisibilityTimeout('publish.visibilityTimeoutSeconds', resizedVisibility, publishTimeout);

    this.ingestQueue = new BufferedQueue(this, 'ingest', {
      ...queueDefaults,
      queueName: `${prefix}-ingest`,
      visibilityTimeoutSeconds: ingestVisibility,
      maxMessageSizeBytes: props.ingestMaxMessageSizeBytes ?? 262144,
    });
    this.resizedQueue = new BufferedQueue(this, 'resized', {
      ...queueDefaults,
      queueName: `${prefix}-resized`,
      visibilityTimeoutSeconds: resizedVisibility,
    });
    // Rejections wait for people (or another stack's consumer): keep them long, no age alarm; a
    // 300 s visibility timeout admits consumer functions with timeouts up to 50 s.
    this.rejectedQueue = new BufferedQueue(this, 'rejected', {
      ...queueDefaults,
      queueName: `${prefix}-rejected`,
      visibilityTimeoutSeconds: 300,
      messageRetentionSeconds: 1209600,
      oldestMessageAgeAlarmSeconds: false,
    });

    this.resizeFunction = new ContainerFunction(this, 'resize', {
      functionName: `${prefix}-resize`,
      imageUri: images.resize,
      command: ['resize.handler'],
      architecture,
      memorySize: resizeOpts.memorySize ?? STAGE_DEFAULTS.resize.memorySize,
      timeout: resizeTimeout,
      reservedConcurrency: resizeOpts.reservedConcurrency,
      provisionedConcurrency: resizeOpts.provisionedConcurrency,
      logRetentionDays,
      tracing: props.tracing,
      tags,
      environment: {
        OUTPUT_BUCKET: this.outputBucket.bucketName,
        OUTPUT_PREFIX: this.outputPrefix,
        RESIZED_QUEUE_URL: this.resizedQueue.queueUrl,
        REJECTED_QUEUE_URL: this.rejectedQueue.queueUrl,
        VARIANTS: variantsJson,
        MAX_INPUT_BYTES: String(maxInputBytes),
        MAX_INPUT_PIXELS: String(maxInputPixels),
        CONCURRENCY: String(resizeConcurrency),
        LOG_LEVEL: logLevel,
      },
      waitFor: this.repositories.resize?.buildStep ? [this.repositories.resize.buildStep] : [],
    });
    const publishEnv: Record<string, string> = {
      OUTPUT_BUCKET: this.outputBucket.bucketName,
      OUTPUT_PREFIX: this.outputPrefix,
      LOG_LEVEL: logLevel,
    };
    if (props.webhook) {
      const { url, secretArn } = props.webhook;
      if (isKnown(url) && !/^https:\/\/[^\s/]+/.test(url))
        throw configError('webhook.url', `must be an https URL, got ${JSON.stringify(url)}`);
      if (isKnown(secretArn) && !/^arn:[a-z-]+:secretsmanager:[a-z0-9-]+:\d{12}:secret:.+$/.test(secretArn)) {
        throw configError(
          'webhook.secretArn',
          `must be a Secrets Manager secret ARN (deliveries are always signed), got ${JSON.stringify(secretArn)}`,
        );
      }
      publishEnv.WEBHOOK_URL = url;
      publishEnv.WEBHOOK_SECRET_ARN = secretArn;
    }
    this.publishFunction = new ContainerFunction(this, 'publish', {
      functionName: `${prefix}-publish`,
      imageUri: images.publish,
      command: ['publish.handler'],
      architecture,
      memorySize: publishOpts.memorySize ?? STAGE_DEFAULTS.publish.memorySize,
      timeout: publishTimeout,
      reservedConcurrency: publishOpts.reservedConcurrency,
      provisionedConcurrency: publishOpts.provisionedConcurrency,
      logRetentionDays,
      tracing: props.tracing,
      tags,
      environment: publishEnv,
      waitFor: this.repositories.publish?.buildStep ? [this.repositories.publish.buildStep] : [],
    });
    if (props.webhook) this.publishFunction.grantSecretRead(props.webhook.secretArn);
    // Least privilege: each function gets exactly its reads, writes and sends.
    this.sourceBucket.grantReadObjects(this.resizeFunction, this.uploadsPrefix, 'uploads');
    this.outputBucket.grantWriteObjects(this.resizeFunction, this.outputPrefix, 'outputs');
    this.resizedQueue.grantSendMessages(this.resizeFunction);
    this.rejectedQueue.grantSendMessages(this.resizeFunction);
    this.outputBucket.grantWriteObjects(this.publishFunction, this.outputPrefix, 'outputs');
    if (props.uploadApi) {
      const uploadImage =
        props.uploadApi.imageUri ??
        props.images?.upload ??
        (props.images ? undefined : this.createUploadRepository(prefix, architecture, props.imageBuild ?? {}, tags));
      if (uploadImage === undefined)
        throw configError('uploadApi.imageUri', 'is required (or images.upload) when images are given');
      this.uploadApi = new UploadApi(this, 'upload-api', {
        ...props.uploadApi,
        maxUploadBytes: props.uploadApi.maxUploadBytes ?? maxInputBytes,
        namePrefix: prefix,
        imageUri: uploadImage,
        sourceBucketName: this.sourceBucket.bucketName,
        sourceBucketArn: this.sourceBucket.bucketArn,
        uploadsPrefix: this.uploadsPrefix,
        architecture,
        logRetentionDays,
        logLevel,
        tracing: props.tracing,
        alarmActions,
        tags,
        waitFor: this.repositories.upload?.buildStep ? [this.repositories.upload.buildStep] : [],
      });
    }

    if (props.streamSource) {
      this.streamSource = new StreamSource(this, 'stream-source', {
        ...props.streamSource,
        namePrefix: prefix,
        fn: this.resizeFunction,
        defaultReadableObjects: [{ bucketArn: this.sourceBucket.bucketArn, prefix: this.uploadsPrefix }],
        alarmActions,
        tags,
      });
    }

    this.resizeStage = new QueueFunctionBinding(this, 'resize-stage', {
      queue: this.ingestQueue,
      fn: this.resizeFunction,
      batchSize: resizeOpts.batchSize ?? STAGE_DEFAULTS.resize.batchSize,
      maxBatchingWindow: resizeWindow,
      maximumConcurrency: resizeMaxConcurrency,
    });
    this.publishStage = new QueueFunctionBinding(this, 'publish-stage', {
      queue: this.resizedQueue,
      fn: this.publishFunction,
      batchSize: publishOpts.batchSize ?? STAGE_DEFAULTS.publish.batchSize,
      maxBatchingWindow: publishWindow,
      maximumConcurrency: publishMaxConcurrency,
    });

    // S3 -> ingest queue. The notification waits for the queue policy (S3 test-sends on setup).
    const queuePolicy = this.ingestQueue.allowS3Notifications(this.sourceBucket.bucketArn);
    const suffixes = props.uploadsSuffixes && props.uploadsSuffixes.length > 0 ? props.uploadsSuffixes : [undefined];
    this.notification = new S3BucketNotification(this, 'uploads-notification', {
      bucket: this.sourceBucket.bucketName,
      queue: suffixes.map((suffix) => ({
        queueArn: this.ingestQueue.queueArn,
        events: ['s3:ObjectCreated:*'],
        filterPrefix: this.uploadsPrefix === '' ? undefined : this.uploadsPrefix,
        filterSuffix: suffix,
      })),
      dependsOn: [queuePolicy, ...this.sourceBucket.readyDependables],
    });

    // What an operator watches: alarms on the functions and on the chain's metrics, and a dashboard.
    this.functionAlarms = {
      resize: new FunctionAlarms(this, 'resize-alarms', {
        fn: this.resizeFunction,
        alarmActions,
        recordsFailed: true,
        tags,
      }),
      publish: new FunctionAlarms(this, 'publish-alarms', {
        fn: this.publishFunction,
        alarmActions,
        recordsFailed: true,
        tags,
      }),
    };
    this.rejectedImagesAlarms = rejectedImagesAlarms(this, {
      fn: this.resizeFunction,
      alarmActions,
      threshold: props.rejectedImagesAlarmThreshold,
      tags,
    });
    warnWithoutAlarmActions(this, alarmActions);
    if (props.dashboard ?? true) this.dashboard = this.createDashboard(prefix);
  }

  private createDashboard(prefix: string): ChainDashboard {
    const queues = [
      ['ingest', this.ingestQueue],
      ['resized', this.resizedQueue],
      ['rejected', this.rejectedQueue],
    ] as const;
    return new ChainDashboard(this, 'dashboard', {
      dashboardName: prefix,
      queues: queues.map(([label, q]) => ({
        label,
        queueName: q.queue.name,
        deadLetterQueueName: q.deadLetterQueue.name,
      })),
      resizeFunctionName: this.resizeFunction.functionName,
      publishFunctionName: this.publishFunction.functionName,
      otherFunctionNames: this.uploadApi ? [this.uploadApi.function.functionName] : [],
      api: this.uploadApi ? { apiId: this.uploadApi.api.id, stage: this.uploadApi.stage.name } : undefined,
    });
  }

  /** The build's source folder, its hash and its path from the stack's Terraform working directory. */
  private imageSource(build: ImageBuildProps): { sourceHash: string; buildContext: string } {
    const projectRoot = resolve(build.projectRoot ?? findImageBuildContext());
    const stackDir = resolve(App.of(this).outdir, 'stacks', TerraformStack.of(this).node.id);
    return {
      sourceHash: hashImageSources(projectRoot),
      buildContext: build.buildContext ?? relative(stackDir, projectRoot).split(sep).join('/'),
    };
  }

  private createRepositories(
    prefix: string,
    architecture: Architecture,
    build: ImageBuildProps,
    tags?: Record<string, string>,
  ): HandlerImageUris {
    const make = this.repositoryMaker(prefix, architecture, build, tags);
    this.repositories.resize = make('resize');
    this.repositories.publish = make('publish');
    return { resize: this.repositories.resize.imageUri, publish: this.repositories.publish.imageUri };
  }

  private createUploadRepository(
    prefix: string,
    architecture: Architecture,
    build: ImageBuildProps,
    tags?: Record<string, string>,
  ): string {
    this.repositories.upload = this.repositoryMaker(prefix, architecture, build, tags)('upload');
    return this.repositories.upload.imageUri;
  }

  /** Makes a handler's ECR repository `<prefix>-<handler>` with its image built from the sources (hashed once). */
  private repositoryMaker(
    prefix: string,
    architecture: Architecture,
    build: ImageBuildProps,
    tags?: Record<string, string>,
  ): (handler: 'resize' | 'publish' | 'upload') => ImageRepository {
    const { sourceHash, buildContext } = this.imageSource(build);
    return (handler) =>
      new ImageRepository(this, `${handler}-image`, {
        repositoryName: `${prefix}-${handler}`,
        keepImages: build.keepImages,
        forceDelete: build.forceDelete,
        tags,
        build: { handler, sourceHash, architecture, buildContext, extraBuildArgs: build.extraBuildArgs },
      });
  }

  /** Lets a principal upload sources: s3:PutObject under the uploads prefix (e.g. a presigned-POST issuer). */
  grantUpload(grantee: IGrantable): void {
    grantee.addToPrincipalPolicy({
      sid: 'UploadSources',
      actions: ['s3:PutObject'],
      resources: [`${this.sourceBucket.bucketArn}/${this.uploadsPrefix}*`],
    });
  }

  /** Lets a principal read outputs (variants and manifests) under the output prefix. */
  grantReadOutputs(grantee: IGrantable): void {
    this.outputBucket.grantReadObjects(grantee, this.outputPrefix, 'outputs');
  }
}
