/**
 * The whole chain on one machine, wired as the module wires it on AWS: stand-in S3 + SQS behind
 * the gateway (which also delivers bucket notifications), the queues with their DLQs, and each
 * handler bundle running under the real aws-lambda-ric, fed by an event source mapping emulator.
 * Optionally (`streamSource`) a Kinesis stream feeds the resize function too, as the module's StreamSource.
 */
import { GetQueueAttributesCommand, SetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { PutBucketPolicyCommand, S3Client } from '@aws-sdk/client-s3';
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { join, resolve } from 'node:path';
import { configError } from '../core/errors';
import {
  DEFAULT_MAX_RECEIVE_COUNT,
  DEFAULT_NAME_PREFIX,
  DEFAULT_UPLOADS_PREFIX,
  FAILURE_QUEUE_DEFAULTS,
  FUNCTION_RESPONSE_TYPES,
  STAGE_DEFAULTS,
  STREAM_SOURCE_DEFAULTS,
  UPLOAD_FUNCTION_DEFAULTS,
  defaultVisibilityTimeout,
} from '../core/chain-defaults';
import { outputsWouldLoop } from '../core/keys';
import type { VariantSpec } from '../core/variants';
import { containerLauncher, defaultImage } from './cloud/lambda/container-host';
import { startLocalFunction, type LocalFunction, type SandboxLauncher } from './cloud/lambda/function-host';
import { startGateway, type Gateway } from './cloud/gateway/gateway';
import type { LocalRegistry } from './cloud/ecr/registry-process';
import { uploadApiRoutes, API_BASE_PATH, UI_PATH } from './cloud/apigateway/http-api';
import { kinesisApiRoute, type ServedStream } from './cloud/kinesis/kinesis-api';
import { createStreamControl, type StreamControl } from './cloud/kinesis/stream-control';
import { lambdaMappingsRoutes } from './cloud/lambda/lambda-api';
import { MappingRegistry, type MappedFunctions } from './cloud/lambda/mapping-registry';
import { IamStore } from './cloud/iam/iam-store';
import {
  allowBrowserUploads,
  createChainResources,
  ensureQueue,
  putQueueNotification,
  type ChainResources,
  type QueueRef,
} from './resources';
import { LOCAL_ACCOUNT_ID, LOCAL_REGION, localAwsEnv, localClientConfig } from './client-config';
import { startStandIn, type StandIn } from './cloud/standin/standin';
import { LocalStream } from './cloud/kinesis/stream';
import { sqsFailureDestination } from './cloud/lambda/stream-mapping';
import { fileStreamStore, type FileStreamStore } from './cloud/kinesis/stream-store';
import { startSwitchableStreamMapping, type SwitchableStreamMapping } from './cloud/lambda/stream-mapping-control';
import { startSwitchableMapping, type SwitchableMapping } from './cloud/lambda/queue-mapping-control';
import { mappingIds } from './cloud/lambda/mapping-ids';
import type { LogSink } from './cloud/lambda/invoke-contract';
import type { EventSourceMappingOptions } from './cloud/lambda/event-source-mapping';
import { createLambdaFunctions, type LambdaFunctions } from './cloud/lambda/lambda-functions';
import { moduleResourcePolicies, registerModuleRoles, type ModuleRole, type ModuleRoleNames } from './module-policies';
import { renewingSession, sessionEnv } from './cloud/iam/session-credentials';
import { EVENT_SOURCE_MAPPING_SESSION, streamReadDenial } from './cloud/lambda/mapping-role-check';

/** Settings of one function and the mapping that feeds it. */
export interface LocalStageOptions {
  /** Sandboxes (processes) of the function; invocations beyond them wait for one. @default 2 */
  concurrency?: number;
  /** @default the module's (STAGE_DEFAULTS in src/core/chain-defaults.ts: resize 60, publish 30) */
  timeoutSeconds?: number;
  /** @default the module's (resize 2048, publish 256) */
  memoryMb?: number;
  /** @default the module's (10) */
  batchSize?: number;
  /** @default the module's (1) */
  maximumBatchingWindowSeconds?: number;
  /** Batches in flight at once (2..1000). @default the module's (resize 10, publish 5) */
  maximumConcurrency?: number;
  /** Extra function environment (wins over the chain's own). */
  env?: Record<string, string>;
}

export interface LocalChainOptions {
  /** Where the handler bundles are. @default dist/handlers beside the CLI bundle */
  handlersDir?: string;
  /**
   * Prefix of every name, as the module's `namePrefix`: queues `<p>-ingest`, `<p>-resized`,
   * `<p>-rejected` (each with `<name>-dlq`), functions `<p>-resize` and `<p>-publish`, buckets
   * `<p>-src-local` and `<p>-out-local` (the module generates `<p>-src-<unique>` / `<p>-out-<unique>`).
   * @default 'image-resize-chain'
   */
  namePrefix?: string;
  /** Port of the gateway (the one endpoint) on 127.0.0.1. @default 0 (ephemeral) */
  port?: number;
  /**
   * Keep buckets, objects and queue contents (in-flight messages included) in this folder across
   * restarts. The notification configuration counts as kept: a restart on existing state sends no
   * new s3:TestEvent. @default undefined: everything lives in memory
   */
  stateDir?: string;
  /** @default 'uploads/' */
  uploadsPrefix?: string;
  /** @default '' (outputs go to their own bucket) */
  outputPrefix?: string;
  /** Variant spec; @default the handler's DEFAULT_VARIANTS */
  variants?: readonly VariantSpec[];
  names?: Partial<ChainResources['buckets'] & { ingestQueue: string; resizedQueue: string; rejectedQueue: string }>;
  /** Receives before a message moves to its DLQ. @default the module's (DEFAULT_MAX_RECEIVE_COUNT, 5) */
  maxReceiveCount?: number;
  /**
   * Visibility timeout of the ingest and resized queues.
   * @default the module's rule (6 x the function timeout + the batching window), for the longer of the two stages
   */
  visibilityTimeoutSeconds?: number;
  resize?: LocalStageOptions;
  publish?: LocalStageOptions;
  /** Folder for the functions' and the cloud's JSON log lines (one file each). @default none: logs are dropped */
  logDir?: string;
  /** Also receives every log line. */
  logSink?: LogSink;
  /**
   * Run each function (resize, publish, and upload when `uploadApi` is on) as containers of its
   * image (polling our Runtime API) instead of Node processes.
   * @default undefined: processes on this machine, bundles from handlersDir
   */
  containers?: LocalContainersOptions;
  /**
   * Also serve the upload API (`POST <endpoint>/_api/uploads`, the upload function under
   * aws-lambda-ric: a Node process, or a container of its image with `containers`) and the upload
   * page (`<endpoint>/_ui/`). Its settings are the function's environment (ALLOWED_CONTENT_TYPES,
   * MAX_UPLOAD_BYTES, UPLOAD_EXPIRES_SECONDS).
   * @default undefined: off
   */
  uploadApi?: {
    env?: Record<string, string>;
    /**
     * Origins whose pages may POST forms to the source bucket (its CORS rule, as the module sets it).
     * @default ['*']
     */
    corsAllowOrigins?: string[];
  };
  /** Browser origins the endpoint lets in besides its own pages (GatewayOptions.allowedOrigins). @default none */
  allowedOrigins?: readonly string[];
  /**
   * Also feed the resize function from a Kinesis data stream, as the module's `streamSource` does:
   * records reference S3 objects (`{"bucket","key","eTag"?,"size"?}` or an S3 notification), never
   * image bytes. The gateway serves the Kinesis API (PutRecord, PutRecords, ...) for it.
   * @default undefined: off
   */
  streamSource?: LocalStreamSourceOptions;
  /** The container registry behind the endpoint's ECR (`up` starts one). @default none: ECR calls are refused */
  registry?: LocalRegistry;
  /**
   * Verify signatures and enforce IAM (GatewayOptions.auth): each function runs with a session of
   * the execution role the module gives it (its policies read from the synthesized module), and
   * what its role does not allow is refused with AccessDenied, as on AWS. `false` is `--no-auth`.
   * @default true
   */
  auth?: boolean;
}

/** The stream and its mapping into the resize function; defaults are the module's (modules/stream-source.ts). */
export interface LocalStreamSourceOptions {
  /** @default '<namePrefix>-uploads' */
  streamName?: string;
  /** Shards (1-100 locally); each is read in order, one batch at a time. @default 1 */
  shardCount?: number;
  /** Records per invocation (1-10000). @default 100 */
  batchSize?: number;
  /** Split a failing batch in two and retry each half (does not count as a retry). @default true */
  bisectBatchOnFunctionError?: boolean;
  /**
   * Retries of a failing batch before its records are described to the on-failure queue (-1 = until they expire).
   * @default 3
   */
  maximumRetryAttempts?: number;
  /** Records older than this go to the on-failure queue unprocessed (-1 = never, or 60-604800). @default -1 */
  maximumRecordAgeSeconds?: number;
  /** Accepted for parity (1-10); locally each shard runs one batch at a time. @default 1 */
  parallelizationFactor?: number;
  /** The on-failure queue (with `<name>-dlq`). @default '<namePrefix>-stream-failures' */
  failureQueueName?: string;
  /**
   * Prefixes of the source bucket whose objects records may reference: the resize role may read
   * them (the module's `readable_objects`). @default [the uploads prefix]
   */
  readablePrefixes?: readonly string[];
  /** Wait before a retry, doubling per attempt up to 2 s. @default 50 */
  retryDelayMs?: number;
}

/** The stream source of a running chain. */
export interface LocalStreamSource {
  readonly stream: LocalStream;
  readonly streamName: string;
  readonly streamArn: string;
  /** The mapping into the resize function, also served by the gateway as Lambda's mappings API (enable/disable). */
  readonly mapping: SwitchableStreamMapping;
  /** Where the mapping describes records it gave up on (AWS's invocation record with KinesisBatchInfo). */
  readonly failureQueue: QueueRef;
  readonly failureDlq: QueueRef;
  /** The settings in force, defaults applied. */
  readonly settings: Required<Omit<LocalStreamSourceOptions, 'streamName' | 'failureQueueName' | 'readablePrefixes'>>;
}

/** Images and client for `containers`. */
export interface LocalContainersOptions {
  /** @default 'image-resize-chain/resize:latest' (npm run images) */
  resizeImage?: string;
  /** @default 'image-resize-chain/publish:latest' */
  publishImage?: string;
  /** Used when `uploadApi` is on. @default 'image-resize-chain/upload:latest' */
  uploadImage?: string;
  /** Docker client. @default dockerClient() ($DOCKER, else /usr/bin/docker, else docker) */
  docker?: string;
  /**
   * Extra `docker run` arguments of every function container, e.g. `['--cpus', '1.16']` for Lambda's CPU share.
   * @default []
   */
  runArgs?: string[];
}

export interface LocalChain {
  /** The single AWS endpoint of the local cloud (the gateway). */
  readonly endpoint: string;
  readonly s3: S3Client;
  readonly sqs: SQSClient;
  readonly resources: ChainResources;
  readonly uploadsPrefix: string;
  readonly outputPrefix: string;
  readonly gateway: Gateway;
  readonly functions: { resize: LocalFunction; publish: LocalFunction; upload?: LocalFunction };
  /** With `uploadApi`: the API's base URL (`POST <apiUrl>/uploads`) and the upload page's URL. */
  readonly uploadApi?: { apiUrl: string; pageUrl: string };
  /** The event source mappings (also served by the gateway as Lambda's mappings API). */
  readonly mappings: { ingest: SwitchableMapping; resized: SwitchableMapping };
  /** With `streamSource`: the stream (served as the Kinesis API on `endpoint`), its mapping and on-failure queue. */
  readonly streamSource?: LocalStreamSource;
  /** The functions applied through Lambda's API (CreateFunction…): invoker(name or ARN) runs one from its image. */
  readonly lambda: Pick<LambdaFunctions, 'invoker' | 'store'>;
  /** Messages visible, in flight or delayed, per queue name. */
  queueDepths(): Promise<Record<string, number>>;
  /** Resolves when no queue holds a message and no batch is in flight, twice in a row. */
  waitForIdle(timeoutMs?: number): Promise<void>;
  /**
   * Stops taking new work: the mappings stop polling and release the messages they gathered, and
   * batches in flight run to their end, for at most `timeoutMs` (default 30000). Resolves true when
   * every batch finished in time. Everything else keeps running until stop().
   */
  drain(timeoutMs?: number): Promise<boolean>;
  /** Stops everything; batches still in flight are cut off (their messages return after the visibility timeout). */
  stop(): Promise<void>;
}

export { DEFAULT_NAME_PREFIX };

/** Sandboxes per function unless a stage says otherwise: a local knob (Lambda scales by itself). */
const DEFAULT_SANDBOXES = 2;

/** A stage's defaults: the module's (STAGE_DEFAULTS), in the local chain's terms. */
export function stageDefaults(stage: 'resize' | 'publish'): Required<Omit<LocalStageOptions, 'env'>> {
  const module = STAGE_DEFAULTS[stage];
  return {
    concurrency: DEFAULT_SANDBOXES,
    timeoutSeconds: module.timeout,
    memoryMb: module.memorySize,
    batchSize: module.batchSize,
    maximumBatchingWindowSeconds: module.maxBatchingWindow,
    maximumConcurrency: module.maximumConcurrency,
  };
}

/** A stage's settings, defaults applied. */
type StageSettings = ReturnType<typeof stageDefaults> & LocalStageOptions;

/** The stream source's defaults: the module's, and how long the local mapping waits before a retry. */
const DEFAULT_STREAM_SOURCE = { ...STREAM_SOURCE_DEFAULTS, retryDelayMs: 50 };

/** The chain's names and settings with defaults applied, before anything starts. */
export interface ChainPlan {
  prefix: string;
  uploadsPrefix: string;
  outputPrefix: string;
  names: {
    sourceBucket: string;
    outputBucket: string;
    ingestQueue: string;
    resizedQueue: string;
    rejectedQueue: string;
  };
  resizeStage: StageSettings;
  publishStage: StageSettings;
  /** The ingest and resized queues' visibility timeout. */
  visibilityTimeoutSeconds: number;
  /** Receives before a message moves to its DLQ. */
  maxReceiveCount: number;
  handlersDir: string;
}

/**
 * Applies the defaults of LocalChainOptions and refuses what the module refuses: a namePrefix that
 * is not 1..24 of a-z, 0-9, '-', outputs that would land under the watched uploads prefix, and (as
 * Lambda's CreateEventSourceMapping does) a visibility timeout below a function's timeout.
 */
export function planLocalChain(opts: LocalChainOptions = {}): ChainPlan {
  const uploadsPrefix = opts.uploadsPrefix ?? DEFAULT_UPLOADS_PREFIX;
  const outputPrefix = opts.outputPrefix ?? '';
  const prefix = opts.namePrefix ?? DEFAULT_NAME_PREFIX;
  if (!/^[a-z0-9][a-z0-9-]{0,23}$/.test(prefix)) {
    throw configError(
      'namePrefix',
      `${JSON.stringify(prefix)} is not 1..24 of a-z, 0-9, '-' starting with a letter or digit`,
    );
  }
  const names = {
    sourceBucket: opts.names?.source ?? `${prefix}-src-local`,
    outputBucket: opts.names?.output ?? `${prefix}-out-local`,
    ingestQueue: opts.names?.ingestQueue ?? `${prefix}-ingest`,
    resizedQueue: opts.names?.resizedQueue ?? `${prefix}-resized`,
    rejectedQueue: opts.names?.rejectedQueue ?? `${prefix}-rejected`,
  };
  if (
    outputsWouldLoop({
      sourceBucket: names.sourceBucket,
      uploadsPrefix,
      outputBucket: names.outputBucket,
      outputPrefix,
    })
  ) {
    throw configError(
      'outputPrefix',
      `outputs under "${outputPrefix}" in bucket ${names.outputBucket} would land ` +
        `under the watched prefix "${uploadsPrefix}" and trigger the chain again`,
    );
  }
  const resizeStage = { ...stageDefaults('resize'), ...opts.resize };
  const publishStage = { ...stageDefaults('publish'), ...opts.publish };
  const longestTimeout = Math.max(resizeStage.timeoutSeconds, publishStage.timeoutSeconds);
  const visibilityTimeoutSeconds =
    opts.visibilityTimeoutSeconds ??
    Math.max(
      ...[resizeStage, publishStage].map((s) =>
        defaultVisibilityTimeout(s.timeoutSeconds, s.maximumBatchingWindowSeconds),
      ),
    );
  // Lambda's CreateEventSourceMapping refuses a queue that would hand a batch to a second poller
  // while the first invocation may still run; the wording is Lambda's InvalidParameterValueException.
  if (visibilityTimeoutSeconds < longestTimeout) {
    throw configError(
      'visibilityTimeoutSeconds',
      `Queue visibility timeout: ${visibilityTimeoutSeconds} seconds ` +
        `is less than Function timeout: ${longestTimeout} seconds`,
    );
  }
  const handlersDir = resolve(opts.handlersDir ?? join(__dirname, 'handlers'));
  return {
    prefix,
    uploadsPrefix,
    outputPrefix,
    names,
    resizeStage,
    publishStage,
    visibilityTimeoutSeconds,
    maxReceiveCount: opts.maxReceiveCount ?? DEFAULT_MAX_RECEIVE_COUNT,
    handlersDir,
  };
}

/** The stream source's settings: the module's defaults where an option is absent or undefined. */
export function streamSourceSettings(opts: LocalStreamSourceOptions): LocalStreamSource['settings'] {
  const { streamName: _name, failureQueueName: _queue, readablePrefixes: _readable, ...given } = opts;
  return {
    ...DEFAULT_STREAM_SOURCE,
    ...Object.fromEntries(Object.entries(given).filter(([, v]) => v !== undefined)),
  };
}

/** Messages a queue holds in any state: visible, in flight or delayed. */
export function messagesHeld(attributes: Partial<Record<string, string>>): number {
  return (
    Number(attributes.ApproximateNumberOfMessages ?? 0) +
    Number(attributes.ApproximateNumberOfMessagesNotVisible ?? 0) +
    Number(attributes.ApproximateNumberOfMessagesDelayed ?? 0)
  );
}

function logFiles(
  dir: string | undefined,
  extra: LogSink | undefined,
): { sink(name: string): LogSink; close(): Promise<void> } {
  const streams = new Map<string, WriteStream>();
  if (dir) mkdirSync(dir, { recursive: true });
  return {
    sink: (name) => (line) => {
      extra?.({ source: name, ...line });
      if (!dir) return;
      let stream = streams.get(name);
      if (!stream) {
        stream = createWriteStream(join(dir, `${name}.log`), { flags: 'a' });
        streams.set(name, stream);
      }
      stream.write(`${JSON.stringify(line)}\n`);
    },
    close: () =>
      Promise.all([...streams.values()].map((s) => new Promise<void>((r) => s.end(r)))).then(() => undefined),
  };
}

type LogFiles = ReturnType<typeof logFiles>;
type MappingIds = ReturnType<typeof mappingIds>;
/** Stops, in reverse order of start, what has started so far. */
type Cleanups = Array<() => Promise<void>>;

/** With `containers`: how a handler's sandboxes start (a container of its image); else undefined (Node processes). */
function launcherFor(
  containers: LocalContainersOptions | undefined,
  handler: 'resize' | 'publish' | 'upload',
): SandboxLauncher | undefined {
  if (!containers) return undefined;
  const chosen = { resize: containers.resizeImage, publish: containers.publishImage, upload: containers.uploadImage }[
    handler
  ];
  return containerLauncher({
    image: chosen ?? defaultImage(handler),
    docker: containers.docker,
    runArgs: containers.runArgs,
  });
}

/** What the functions are started with. */
interface FunctionContext {
  opts: LocalChainOptions;
  plan: ChainPlan;
  awsEnv: Record<string, string>;
  /** Each function's own credentials (its role's session) when auth is on. @default none: awsEnv's */
  roleEnv?: Partial<Record<'resize' | 'publish' | 'upload', Record<string, string>>>;
  resources: ChainResources;
  logs: LogFiles;
  cleanups: Cleanups;
}

/** Starts one function of a stage and registers its stop. */
async function startStageFunction(
  ctx: FunctionContext,
  handler: 'resize' | 'publish',
  stage: StageSettings,
  env: Record<string, string>,
): Promise<LocalFunction> {
  const fn = await startLocalFunction({
    name: `${ctx.plan.prefix}-${handler}`,
    handler: `${handler}.handler`,
    taskRoot: ctx.plan.handlersDir,
    launcher: launcherFor(ctx.opts.containers, handler),
    concurrency: stage.concurrency,
    timeoutSeconds: stage.timeoutSeconds,
    memoryMb: stage.memoryMb,
    logSink: ctx.logs.sink(handler),
    env: { ...ctx.awsEnv, ...ctx.roleEnv?.[handler], ...env, ...stage.env },
  });
  ctx.cleanups.push(() => fn.stop());
  return fn;
}

/** Starts the upload function (the module's timeout and memory) and registers its stop. */
async function startUploadFunction(
  ctx: FunctionContext,
  uploadApi: NonNullable<LocalChainOptions['uploadApi']>,
): Promise<LocalFunction> {
  const upload = await startLocalFunction({
    name: `${ctx.plan.prefix}-upload`,
    handler: 'upload.handler',
    taskRoot: ctx.plan.handlersDir,
    launcher: launcherFor(ctx.opts.containers, 'upload'),
    timeoutSeconds: UPLOAD_FUNCTION_DEFAULTS.timeout,
    memoryMb: UPLOAD_FUNCTION_DEFAULTS.memorySize,
    logSink: ctx.logs.sink('upload'),
    env: {
      ...ctx.awsEnv,
      ...ctx.roleEnv?.upload,
      SOURCE_BUCKET: ctx.resources.buckets.source,
      UPLOADS_PREFIX: ctx.plan.uploadsPrefix,
      ...uploadApi.env,
    },
  });
  ctx.cleanups.push(() => upload.stop());
  return upload;
}

/** Starts resize and publish (and upload with `uploadApi`), each with the environment the module gives it. */
async function startChainFunctions(ctx: FunctionContext): Promise<LocalChain['functions']> {
  const { resources, plan, opts } = ctx;
  const variantsEnv: Record<string, string> = opts.variants ? { VARIANTS: JSON.stringify(opts.variants) } : {};
  const resize = await startStageFunction(ctx, 'resize', plan.resizeStage, {
    OUTPUT_BUCKET: resources.buckets.output,
    OUTPUT_PREFIX: plan.outputPrefix,
    RESIZED_QUEUE_URL: resources.queues.resized.url,
    REJECTED_QUEUE_URL: resources.queues.rejected.url,
    ...variantsEnv,
  });
  const publish = await startStageFunction(ctx, 'publish', plan.publishStage, {
    OUTPUT_BUCKET: resources.buckets.output,
    OUTPUT_PREFIX: plan.outputPrefix,
  });
  const upload = opts.uploadApi ? await startUploadFunction(ctx, opts.uploadApi) : undefined;
  return { resize, publish, upload };
}

/** The SQS mapping of a queue into a function, with the stage's batch settings. */
function startQueueMapping(
  clients: Pick<EventSourceMappingOptions, 'sqs' | 'releaseSqs'>,
  queue: QueueRef,
  fn: LocalFunction,
  stage: StageSettings,
  uuid: string,
  logSink: LogSink,
): SwitchableMapping {
  return startSwitchableMapping({
    uuid,
    functionName: fn.name,
    ...clients,
    queueUrl: queue.url,
    queueArn: queue.arn,
    batchSize: stage.batchSize,
    maximumBatchingWindowSeconds: stage.maximumBatchingWindowSeconds,
    maximumConcurrency: stage.maximumConcurrency,
    functionResponseTypes: [...FUNCTION_RESPONSE_TYPES],
    invoke: fn.invoke,
    logSink,
  });
}

/**
 * The stream source's on-failure queue and its DLQ, as the module's BufferedQueue: SSE-SQS, and the
 * module's retention, visibility and receive count (FAILURE_QUEUE_DEFAULTS, DEFAULT_MAX_RECEIVE_COUNT).
 */
async function ensureFailureQueues(
  sqs: SQSClient,
  failuresName: string,
): Promise<{ failureQueue: QueueRef; failureDlq: QueueRef }> {
  const keep = {
    SqsManagedSseEnabled: 'true',
    MessageRetentionPeriod: String(FAILURE_QUEUE_DEFAULTS.messageRetentionSeconds),
  };
  const failureDlq = await ensureQueue(sqs, `${failuresName}-dlq`, keep);
  const failureQueue = await ensureQueue(sqs, failuresName, {
    ...keep,
    VisibilityTimeout: String(FAILURE_QUEUE_DEFAULTS.visibilityTimeoutSeconds),
    RedrivePolicy: JSON.stringify({ deadLetterTargetArn: failureDlq.arn, maxReceiveCount: DEFAULT_MAX_RECEIVE_COUNT }),
  });
  return { failureQueue, failureDlq };
}

/** Starts the stream source: the stream (kept under stateDir), its on-failure queues and its mapping into `resize`. */
async function startStreamSource(
  given: LocalStreamSourceOptions,
  ctx: {
    prefix: string;
    stateDir?: string;
    sqs: SQSClient;
    resize: LocalFunction;
    /** With auth on: the resize role, whose policies each read of the stream is held to. */
    readsAs?: { iam: IamStore; roleArn: string };
    /** Sends the failure records: as the resize role with auth on (Lambda sends them with the execution role). */
    failureSqs: SQSClient;
    uuidOf: MappingIds;
    logSink: LogSink;
    cleanups: Cleanups;
  },
): Promise<{ source: LocalStreamSource; served: ServedStream }> {
  const settings = streamSourceSettings(given);
  const streamName = given.streamName ?? `${ctx.prefix}-uploads`;
  // With stateDir the stream's records and the mapping's checkpoints are kept too (one folder per stream).
  const store: FileStreamStore | undefined = ctx.stateDir
    ? fileStreamStore(join(ctx.stateDir, 'kinesis', streamName), { name: streamName, shardCount: settings.shardCount })
    : undefined;
  const stream = new LocalStream({ name: streamName, shardCount: settings.shardCount, store });
  const { failureQueue, failureDlq } = await ensureFailureQueues(
    ctx.sqs,
    given.failureQueueName ?? `${ctx.prefix}-stream-failures`,
  );
  const { resize, readsAs } = ctx;
  const mapping = startSwitchableStreamMapping({
    uuid: ctx.uuidOf(stream.arn, resize.name),
    functionName: resize.name,
    onFailureArn: failureQueue.arn,
    stream,
    invoke: resize.invoke,
    consumerName: resize.name,
    functionArn: `arn:aws:lambda:${stream.region}:000000000000:function:${resize.name}`,
    batchSize: settings.batchSize,
    // The module's: a new stream read from its tip; locally the stream starts empty, so nothing is
    // skipped, and a kept stream resumes at the mapping's kept checkpoints.
    startingPosition: 'LATEST',
    bisectBatchOnFunctionError: settings.bisectBatchOnFunctionError,
    maximumRetryAttempts: settings.maximumRetryAttempts,
    maximumRecordAgeSeconds: settings.maximumRecordAgeSeconds,
    parallelizationFactor: settings.parallelizationFactor,
    functionResponseTypes: [...FUNCTION_RESPONSE_TYPES],
    onFailure: sqsFailureDestination(ctx.failureSqs, failureQueue.url),
    ...(readsAs ? { readDenied: () => streamReadDenial(readsAs.iam, readsAs.roleArn, stream.arn) } : {}),
    retryDelayMs: settings.retryDelayMs,
    logSink: ctx.logSink,
  });
  ctx.cleanups.push(() => mapping.stop());
  const source = {
    stream,
    streamName: stream.name,
    streamArn: stream.arn,
    mapping,
    failureQueue,
    failureDlq,
    settings,
  };
  return { source, served: { stream, createdAt: store?.createdAt ?? new Date() } };
}

/** Messages held per queue name (visible, in flight or delayed). */
async function queueDepthsOf(sqs: SQSClient, queues: readonly QueueRef[]): Promise<Record<string, number>> {
  const depths: Record<string, number> = {};
  await Promise.all(
    queues.map(async (q) => {
      const res = await sqs.send(
        new GetQueueAttributesCommand({
          QueueUrl: q.url,
          AttributeNames: [
            'ApproximateNumberOfMessages',
            'ApproximateNumberOfMessagesNotVisible',
            'ApproximateNumberOfMessagesDelayed',
          ],
        }),
      );
      depths[q.name] = messagesHeld(res.Attributes ?? {});
    }),
  );
  return depths;
}

/** What waitForIdle and drain look at. */
interface RunningChain {
  gateway: Gateway;
  mappings: LocalChain['mappings'];
  streamSource: LocalStreamSource | undefined;
  /** The queues between the stages (not DLQs, rejections or on-failure queues). */
  pipelineQueues: string[];
  queueDepths(): Promise<Record<string, number>>;
}

/** True while a pipeline queue holds a message, a mapping holds or runs a batch, or the stream mapping is behind. */
async function chainBusy(chain: RunningChain): Promise<boolean> {
  await chain.gateway.notificationsSettled();
  const depths = await chain.queueDepths();
  const { ingest, resized } = chain.mappings;
  return (
    chain.pipelineQueues.some((q) => (depths[q] ?? 0) > 0) ||
    !ingest.idle() ||
    !resized.idle() ||
    (chain.streamSource !== undefined && !chain.streamSource.mapping.caughtUp())
  );
}

/** Resolves after two quiet looks in a row, 200 ms apart; rejects with the queue depths after `timeoutMs`. */
async function waitForChainIdle(chain: RunningChain, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let quietPolls = 0;
  while (quietPolls < 2) {
    if (Date.now() > deadline)
      throw new Error(`local chain not idle after ${timeoutMs} ms: ${JSON.stringify(await chain.queueDepths())}`);
    quietPolls = (await chainBusy(chain)) ? 0 : quietPolls + 1;
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Stops every mapping; true when they all finished their batches within `timeoutMs`. */
async function drainMappings(chain: RunningChain, timeoutMs: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), timeoutMs);
  });
  const { ingest, resized } = chain.mappings;
  const finished = await Promise.race([
    Promise.all([ingest.stop(), resized.stop(), chain.streamSource?.mapping.stop()]).then(() => true as const),
    timedOut,
  ]);
  clearTimeout(timer);
  return finished;
}

/** What the gateway serves besides S3 and SQS: filled in as the chain starts (the routes look it up per request). */
interface Served {
  streams: ServedStream[];
  /** The streams clients create (CreateStream, Terraform's aws_kinesis_stream). */
  streamControl: StreamControl;
  /**
   * The chain's own functions, which mappings created through the API may invoke, by name; `role` with
   * auth on (a mapping into them is checked against it and polls as it, as Lambda does).
   */
  functions: Map<string, { fn: LocalFunction; timeoutSeconds: number; role?: string }>;
}

/** The cloud the chain runs in: the stand-in behind the gateway, and SDK clients of the gateway. */
interface Cloud {
  gateway: Gateway;
  s3: S3Client;
  sqs: SQSClient;
  served: Served;
  /** Lambda's event source mappings: the chain's own (adopted) and those created through the API. */
  mappings: MappingRegistry;
  /** The functions applied through Lambda's API (terraform, the AWS CLI), run from their images. */
  lambda: LambdaFunctions;
  /** The SQS client a mapping polls with for a function of this role: the role's session with auth on, else `sqs`. */
  pollerSqs: (roleArn: string | undefined) => SQSClient;
}

/**
 * The functions as the mappings API sees them, by name or ARN: the chain's own, with their timeout
 * (they run without an execution role: the chain is not applied from the module, so no role check
 * applies), then those applied through Lambda's API, with their role.
 */
function mappedFunctions(served: Served, lambda: LambdaFunctions): MappedFunctions {
  const nameOf = (nameOrArn: string): string => nameOrArn.split(':function:').pop()!.split(':')[0];
  return {
    configuration(nameOrArn) {
      const entry = served.functions.get(nameOf(nameOrArn));
      if (entry)
        return {
          functionArn: `arn:aws:lambda:${LOCAL_REGION}:${LOCAL_ACCOUNT_ID}:function:${entry.fn.name}`,
          timeoutSeconds: entry.timeoutSeconds,
          ...(entry.role ? { role: entry.role } : {}),
        };
      return lambda.mappedConfiguration(nameOrArn);
    },
    invoker(functionArn) {
      const entry = served.functions.get(nameOf(functionArn));
      return entry ? entry.fn.invoke : lambda.invoker(functionArn);
    },
  };
}

/** Starts the stand-in (kept under stateDir) and the gateway in front of it, and the clients; registers their stops. */
async function startCloud(opts: LocalChainOptions, logs: LogFiles, cleanups: Cleanups): Promise<Cloud> {
  const standIn: StandIn = await startStandIn({ dataDir: opts.stateDir });
  cleanups.push(() => standIn.stop());
  const served: Served = { streams: [], streamControl: createStreamControl(), functions: new Map() };
  const iam = new IamStore(LOCAL_ACCOUNT_ID);
  const started: { gateway?: Gateway } = {};
  const lambda = createLambdaFunctions({
    iam,
    // As Lambda hands a function its role's session; with --no-auth, the local key pair.
    localEnv: (fn) => {
      const gateway = started.gateway!; // functions start on an invoke, so after the gateway
      const role = gateway.authEnabled
        ? sessionEnv(gateway.sessionCredentialsForRole(fn.role, fn.name, FUNCTION_SESSION_SECONDS))
        : {};
      return { ...localAwsEnv(gateway.tlsEndpoint), ...role };
    },
    scope: { region: LOCAL_REGION, accountId: LOCAL_ACCOUNT_ID },
    docker: opts.containers?.docker,
    logSink: logs.sink('lambda'),
  });
  const gateway = await startGateway({
    upstream: standIn.endpoint,
    port: opts.port,
    allowedOrigins: opts.allowedOrigins,
    registry: opts.registry,
    notificationStateFile: opts.stateDir ? join(opts.stateDir, 'bucket-notifications.json') : undefined,
    auth: opts.auth,
    logSink: logs.sink('cloud'),
    iam,
    routes: [kinesisApiRoute(() => served.streams, { control: served.streamControl }), ...lambda.routes],
    functionInvoker: (functionArn) => lambda.existingInvoker(functionArn),
  });
  started.gateway = gateway;
  cleanups.push(() => gateway.stop());
  cleanups.push(() => lambda.stop());
  // Over TLS, as the module's resource policies accept only TLS requests (aws:SecureTransport).
  const s3 = new S3Client(localClientConfig(gateway.tlsEndpoint));
  const sqs = new SQSClient(localClientConfig(gateway.tlsEndpoint));
  cleanups.push(async () => {
    s3.destroy();
    sqs.destroy();
  });
  const pollerSqs = rolePollerClients(gateway, sqs);
  cleanups.push(async () => pollerSqs.destroy());
  const mappings = new MappingRegistry({
    sqs,
    pollerSqs: pollerSqs.forRole,
    authorizeStreamReads: gateway.authEnabled,
    iam,
    functions: mappedFunctions(served, lambda),
    streams: () => [...served.streams, ...served.streamControl.list()].map((s) => s.stream),
    logSink: logs.sink('esm-api'),
  });
  gateway.addRoutes(lambdaMappingsRoutes(mappings, (arn) => lambda.store.tagsOf(arn)));
  return {
    gateway,
    s3,
    sqs,
    served,
    mappings,
    lambda,
    pollerSqs: (roleArn) => (roleArn ? pollerSqs.forRole(roleArn) : sqs),
  };
}

/**
 * SQS clients signed as a role, one per role, for the mappings' pollers (Lambda polls with the
 * function's execution role, in a session it renews); with auth off, `sqs` for every role.
 */
function rolePollerClients(
  gateway: Gateway,
  sqs: SQSClient,
): { forRole: (roleArn: string) => SQSClient; destroy: () => void } {
  const clients = new Map<string, SQSClient>();
  return {
    forRole: (roleArn) => {
      if (!gateway.authEnabled) return sqs;
      let client = clients.get(roleArn);
      if (!client) {
        const credentials = renewingSession(() =>
          gateway.sessionCredentialsForRole(roleArn, EVENT_SOURCE_MAPPING_SESSION, FUNCTION_SESSION_SECONDS),
        );
        client = new SQSClient({ ...localClientConfig(gateway.tlsEndpoint), credentials });
        clients.set(roleArn, client);
      }
      return client;
    },
    destroy: () => clients.forEach((client) => client.destroy()),
  };
}

/**
 * Creates the buckets and queues, the source bucket's CORS rule with `uploadApi`, and the uploads
 * notification through PutBucketNotificationConfiguration (its s3:TestEvent only on fresh state: the
 * gateway keeps applied configurations under stateDir, and a kept one is not put again).
 */
async function prepareResources(opts: LocalChainOptions, plan: ChainPlan, cloud: Cloud): Promise<ChainResources> {
  const { s3, sqs } = cloud;
  const resources = await createChainResources(sqs, s3, plan.names, {
    maxReceiveCount: plan.maxReceiveCount,
    visibilityTimeoutSeconds: plan.visibilityTimeoutSeconds,
  });
  if (opts.uploadApi) await allowBrowserUploads(s3, resources.buckets.source, opts.uploadApi.corsAllowOrigins ?? ['*']);
  if (cloud.gateway.authEnabled) await putModuleResourcePolicies(cloud, plan, resources, opts);
  await putQueueNotification(s3, {
    bucket: resources.buckets.source,
    queueArn: resources.queues.ingest.arn,
    prefix: plan.uploadsPrefix,
    id: 'resize-chain-uploads',
  });
  return resources;
}

/** Starts the ingest → resize and resized → publish mappings; registers their stops. */
function startQueueMappings(
  /** The pollers' clients (each function's role), and the client releasing held messages at stop. */
  pollers: Record<'resize' | 'publish' | 'release', SQSClient>,
  resources: ChainResources,
  functions: LocalChain['functions'],
  plan: ChainPlan,
  uuidOf: MappingIds,
  logs: LogFiles,
  cleanups: Cleanups,
): LocalChain['mappings'] {
  const { resize, publish } = functions;
  const ingest = startQueueMapping(
    { sqs: pollers.resize, releaseSqs: pollers.release },
    resources.queues.ingest,
    resize,
    plan.resizeStage,
    uuidOf(resources.queues.ingest.arn, resize.name),
    logs.sink('esm-ingest'),
  );
  cleanups.push(() => ingest.stop());
  const resized = startQueueMapping(
    { sqs: pollers.publish, releaseSqs: pollers.release },
    resources.queues.resized,
    publish,
    plan.publishStage,
    uuidOf(resources.queues.resized.arn, publish.name),
    logs.sink('esm-resized'),
  );
  cleanups.push(() => resized.stop());
  return { ingest, resized };
}

/** The running chain's handle. */
function localChainHandle(
  cloud: Cloud,
  plan: ChainPlan,
  resources: ChainResources,
  parts: Pick<LocalChain, 'functions' | 'mappings' | 'streamSource'>,
  stop: () => Promise<void>,
): LocalChain {
  const { gateway, s3, sqs } = cloud;
  const { streamSource } = parts;
  const allQueues = [
    ...Object.values(resources.queues),
    ...(streamSource ? [streamSource.failureQueue, streamSource.failureDlq] : []),
  ];
  const queueDepths = (): Promise<Record<string, number>> => queueDepthsOf(sqs, allQueues);
  const running: RunningChain = {
    gateway,
    mappings: parts.mappings,
    streamSource,
    pipelineQueues: [resources.queues.ingest.name, resources.queues.resized.name],
    queueDepths,
  };
  return {
    endpoint: gateway.endpoint,
    s3,
    sqs,
    resources,
    uploadsPrefix: plan.uploadsPrefix,
    outputPrefix: plan.outputPrefix,
    gateway,
    functions: parts.functions,
    uploadApi: parts.functions.upload
      ? { apiUrl: `${gateway.endpoint}${API_BASE_PATH}`, pageUrl: `${gateway.endpoint}${UI_PATH}` }
      : undefined,
    mappings: parts.mappings,
    streamSource,
    lambda: cloud.lambda,
    queueDepths,
    waitForIdle: (timeoutMs = 120_000) => waitForChainIdle(running, timeoutMs),
    drain: (timeoutMs = 30_000) => drainMappings(running, timeoutMs),
    stop,
  };
}

/** The local chain's names as the module's references resolve to them (module-policies.ts). */
function moduleNamesOf(plan: ChainPlan, resources: ChainResources, opts: LocalChainOptions): ModuleRoleNames {
  const { queues } = resources;
  const fn = (handler: string): string => `${plan.prefix}-${handler}`;
  const stream = opts.streamSource;
  return {
    ...(stream
      ? {
          stream: {
            name: stream.streamName ?? `${plan.prefix}-uploads`,
            failureQueue: stream.failureQueueName ?? `${plan.prefix}-stream-failures`,
            readablePrefixes: stream.readablePrefixes ?? [plan.uploadsPrefix],
          },
        }
      : {}),
    namePrefix: plan.prefix,
    uploadsPrefix: plan.uploadsPrefix,
    outputPrefix: plan.outputPrefix,
    buckets: resources.buckets,
    queues: {
      ingest: queues.ingest.name,
      ingest_dlq: queues.ingestDlq.name,
      resized: queues.resized.name,
      resized_dlq: queues.resizedDlq.name,
      rejected: queues.rejected.name,
      rejected_dlq: queues.rejectedDlq.name,
    },
    functions: { resize: fn('resize'), publish: fn('publish'), upload: fn('upload') },
  };
}

/**
 * Puts the module's bucket and queue policies (module-policies.ts), DenyInsecureTransport included,
 * on the local buckets and queues, as the module's aws_s3_bucket_policy and aws_sqs_queue_policy do.
 */
async function putModuleResourcePolicies(
  cloud: Cloud,
  plan: ChainPlan,
  resources: ChainResources,
  opts: LocalChainOptions,
): Promise<void> {
  const policies = moduleResourcePolicies(moduleNamesOf(plan, resources, opts));
  const queueUrls = new Map(Object.values(resources.queues).map((q) => [q.name, q.url]));
  for (const [bucket, policy] of Object.entries(policies.buckets))
    await cloud.s3.send(new PutBucketPolicyCommand({ Bucket: bucket, Policy: policy }));
  for (const [queue, policy] of Object.entries(policies.queues)) {
    const url = queueUrls.get(queue);
    if (url) await cloud.sqs.send(new SetQueueAttributesCommand({ QueueUrl: url, Attributes: { Policy: policy } }));
  }
}

/** How long a function's role session lasts locally: as long as a chain is likely to run (Lambda renews them). */
const FUNCTION_SESSION_SECONDS = 7 * 24 * 3600;

/**
 * The module's roles registered in the gateway's IAM (module-policies.ts), and for each function the
 * environment Lambda gives it: a session of its own role.
 */
function functionRoleEnv(
  gateway: Gateway,
  plan: ChainPlan,
  roles: ChainRoles,
): NonNullable<FunctionContext['roleEnv']> {
  const fn = (handler: string): string => `${plan.prefix}-${handler}`;
  const env: NonNullable<FunctionContext['roleEnv']> = {};
  for (const [handler, role] of Object.entries(roles) as Array<[keyof typeof roles, ModuleRole]>)
    env[handler] = sessionEnv(gateway.sessionCredentialsForRole(role.roleArn, fn(handler), FUNCTION_SESSION_SECONDS));
  return env;
}

/** Runs `cleanups` in reverse order of start (a failing one does not stop the rest), then closes the log files. */
function stopperOf(cleanups: Cleanups, logs: LogFiles): () => Promise<void> {
  return async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
    cleanups.length = 0;
    await logs.close();
  };
}

/** The local cloud without a chain of its own (`up --bare`): the endpoint and what runs behind it. */
export interface LocalCloud {
  /** The single AWS endpoint (the gateway). */
  readonly endpoint: string;
  readonly gateway: Gateway;
  /** The functions applied through Lambda's API. */
  readonly lambda: Pick<LambdaFunctions, 'invoker' | 'store'>;
  /** Stops everything: mappings created through the API, the functions' sandboxes, the gateway, the stand-in. */
  stop(): Promise<void>;
}

/**
 * Starts the cloud alone: the same endpoint and control plane as startLocalChain, but no bucket,
 * queue, function or mapping of its own, so everything listed is what clients (Terraform) created.
 * Of LocalChainOptions it reads port, stateDir, logDir, logSink, allowedOrigins, auth, registry and
 * containers.docker. On failure, stops whatever had started and rethrows.
 */
export async function startLocalCloud(opts: LocalChainOptions = {}): Promise<LocalCloud> {
  const logs = logFiles(opts.logDir, opts.logSink);
  const cleanups: Cleanups = [];
  const stop = stopperOf(cleanups, logs);
  try {
    const cloud = await startCloud(opts, logs, cleanups);
    // Mappings created through the API stop before the functions they invoke (cleanups run in reverse).
    cleanups.push(() => cloud.mappings.stopAll());
    return { endpoint: cloud.gateway.endpoint, gateway: cloud.gateway, lambda: cloud.lambda, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** The chain's functions' execution roles (the module's), registered in the gateway's IAM. */
type ChainRoles = Partial<Record<'resize' | 'publish' | 'upload', ModuleRole>>;

/** Starts the chain; on failure, stops whatever had started and rethrows. */
export async function startLocalChain(opts: LocalChainOptions = {}): Promise<LocalChain> {
  const plan = planLocalChain(opts);
  const logs = logFiles(opts.logDir, opts.logSink);
  const cleanups: Cleanups = [];
  const stopAll = stopperOf(cleanups, logs);
  try {
    const cloud = await startCloud(opts, logs, cleanups);
    const { s3, sqs, served, mappings: registry } = cloud;
    const resources = await prepareResources(opts, plan, cloud);
    const roles: ChainRoles | undefined = cloud.gateway.authEnabled
      ? registerModuleRoles(cloud.gateway.iam, moduleNamesOf(plan, resources, opts), {
          upload: opts.uploadApi !== undefined,
        })
      : undefined;
    const functions = await startChainFunctions({
      opts,
      plan,
      awsEnv: localAwsEnv(cloud.gateway.tlsEndpoint),
      roleEnv: roles ? functionRoleEnv(cloud.gateway, plan, roles) : undefined,
      resources,
      logs,
      cleanups,
    });
    // Mappings created through the API stop before the functions they invoke (cleanups run in reverse).
    cleanups.push(() => registry.stopAll());
    const { upload } = functions;
    if (upload)
      cloud.gateway.addRoutes(
        uploadApiRoutes({
          invoke: () => upload.invoke,
          s3,
          outputBucket: resources.buckets.output,
          outputPrefix: plan.outputPrefix,
        }),
      );
    // With stateDir a mapping keeps its UUID across restarts, as on AWS (a saved UUID keeps working).
    const uuidOf = mappingIds(opts.stateDir);
    served.functions.set(functions.resize.name, {
      fn: functions.resize,
      timeoutSeconds: plan.resizeStage.timeoutSeconds,
      ...(roles?.resize ? { role: roles.resize.roleArn } : {}),
    });
    served.functions.set(functions.publish.name, {
      fn: functions.publish,
      timeoutSeconds: plan.publishStage.timeoutSeconds,
      ...(roles?.publish ? { role: roles.publish.roleArn } : {}),
    });
    const pollers = {
      resize: cloud.pollerSqs(roles?.resize?.roleArn),
      publish: cloud.pollerSqs(roles?.publish?.roleArn),
    };
    const mappings = startQueueMappings(
      { ...pollers, release: sqs },
      resources,
      functions,
      plan,
      uuidOf,
      logs,
      cleanups,
    );
    registry.adopt(mappings.ingest);
    registry.adopt(mappings.resized);
    let streamSource: LocalStreamSource | undefined;
    if (opts.streamSource) {
      const started = await startStreamSource(opts.streamSource, {
        prefix: plan.prefix,
        stateDir: opts.stateDir,
        sqs,
        resize: functions.resize,
        ...(roles?.resize ? { readsAs: { iam: cloud.gateway.iam, roleArn: roles.resize.roleArn } } : {}),
        failureSqs: pollers.resize,
        uuidOf,
        logSink: logs.sink('esm-stream'),
        cleanups,
      });
      streamSource = started.source;
      served.streams = [started.served];
      registry.adopt(streamSource.mapping);
    }
    return localChainHandle(cloud, plan, resources, { functions, mappings, streamSource }, stopAll);
  } catch (err) {
    await stopAll();
    throw err;
  }
}
