/**
 * The whole chain on one machine, wired as the module wires it on AWS: stand-in S3 + SQS behind
 * the gateway (which also delivers bucket notifications), the queues with their DLQs, and each
 * handler bundle running under the real aws-lambda-ric, fed by an event source mapping emulator.
 * Optionally (`streamSource`) a Kinesis stream feeds the resize function too, as the module's StreamSource.
 */
import { GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { S3Client } from '@aws-sdk/client-s3';
import { createWriteStream, existsSync, mkdirSync, type WriteStream } from 'node:fs';
import { join, resolve } from 'node:path';
import { configError } from '../core/errors';
import { outputsWouldLoop } from '../core/keys';
import type { VariantSpec } from '../core/variants';
import { containerLauncher, defaultImage } from './cloud/lambda/container-host';
import { startLocalFunction, type LocalFunction, type SandboxLauncher } from './cloud/lambda/function-host';
import { startGateway, type Gateway } from './cloud/gateway/gateway';
import { uploadApiRoutes, API_BASE_PATH, UI_PATH } from './cloud/apigateway/http-api';
import { kinesisApiRoute, type ServedStream } from './cloud/kinesis/kinesis-api';
import { lambdaMappingsRoutes, type ServedMapping } from './cloud/lambda/lambda-api';
import { allowBrowserUploads, createChainResources, ensureQueue, type ChainResources, type QueueRef } from './resources';
import { localAwsEnv, localClientConfig } from './client-config';
import { startStandIn, type StandIn } from './cloud/standin/standin';
import { LocalStream } from './cloud/kinesis/stream';
import { sqsFailureDestination } from './cloud/lambda/stream-mapping';
import { fileStreamStore, type FileStreamStore } from './cloud/kinesis/stream-store';
import { startSwitchableStreamMapping, type SwitchableStreamMapping } from './cloud/lambda/stream-mapping-control';
import { startSwitchableMapping, type SwitchableMapping } from './cloud/lambda/queue-mapping-control';
import { mappingIds } from './cloud/lambda/mapping-ids';
import type { LogSink } from './cloud/lambda/invoke-contract';

/** Settings of one function and the mapping that feeds it. */
export interface LocalStageOptions {
  /** Sandboxes (processes) of the function. @default 2 */
  concurrency?: number;
  /** @default 30 */
  timeoutSeconds?: number;
  /** @default 1024 */
  memoryMb?: number;
  /** @default 10 */
  batchSize?: number;
  /** @default 0 */
  maximumBatchingWindowSeconds?: number;
  /** Batches in flight at once. @default the function's concurrency, at least 2 (as on AWS) */
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
  /** Receives before a message moves to its DLQ. @default 3 */
  maxReceiveCount?: number;
  /** Visibility timeout of the ingest and resized queues. @default 6 x the longest function timeout, as on AWS */
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
    /** Origins whose pages may POST forms to the source bucket (its CORS rule, as the module sets it). @default ['*'] */
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
  /** Retries of a failing batch before its records are described to the on-failure queue (-1 = until they expire). @default 3 */
  maximumRetryAttempts?: number;
  /** Records older than this go to the on-failure queue unprocessed (-1 = never, or 60-604800). @default -1 */
  maximumRecordAgeSeconds?: number;
  /** Accepted for parity (1-10); locally each shard runs one batch at a time. @default 1 */
  parallelizationFactor?: number;
  /** The on-failure queue (with `<name>-dlq`). @default '<namePrefix>-stream-failures' */
  failureQueueName?: string;
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
  readonly settings: Required<Omit<LocalStreamSourceOptions, 'streamName' | 'failureQueueName'>>;
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

/** The module's default `namePrefix`. */
export const DEFAULT_NAME_PREFIX = 'image-resize-chain';

const DEFAULT_STAGE = { concurrency: 2, timeoutSeconds: 30, memoryMb: 1024, batchSize: 10, maximumBatchingWindowSeconds: 0 };

/** The module's StreamSource defaults (modules/stream-source.ts). */
const DEFAULT_STREAM_SOURCE = { shardCount: 1, batchSize: 100, bisectBatchOnFunctionError: true, maximumRetryAttempts: 3, maximumRecordAgeSeconds: -1, parallelizationFactor: 1, retryDelayMs: 50 };

function logFiles(dir: string | undefined, extra: LogSink | undefined): { sink(name: string): LogSink; close(): Promise<void> } {
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
    close: () => Promise.all([...streams.values()].map((s) => new Promise<void>((r) => s.end(r)))).then(() => undefined),
  };
}

/** Starts the chain; on failure, stops whatever had started and rethrows. */
export async function startLocalChain(opts: LocalChainOptions = {}): Promise<LocalChain> {
  const uploadsPrefix = opts.uploadsPrefix ?? 'uploads/';
  const outputPrefix = opts.outputPrefix ?? '';
  const prefix = opts.namePrefix ?? DEFAULT_NAME_PREFIX;
  if (!/^[a-z0-9][a-z0-9-]{0,23}$/.test(prefix)) {
    throw configError('namePrefix', `${JSON.stringify(prefix)} is not 1..24 of a-z, 0-9, '-' starting with a letter or digit`);
  }
  const names = {
    sourceBucket: opts.names?.source ?? `${prefix}-src-local`,
    outputBucket: opts.names?.output ?? `${prefix}-out-local`,
    ingestQueue: opts.names?.ingestQueue ?? `${prefix}-ingest`,
    resizedQueue: opts.names?.resizedQueue ?? `${prefix}-resized`,
    rejectedQueue: opts.names?.rejectedQueue ?? `${prefix}-rejected`,
  };
  if (outputsWouldLoop({ sourceBucket: names.sourceBucket, uploadsPrefix, outputBucket: names.outputBucket, outputPrefix })) {
    throw configError('outputPrefix', `outputs under "${outputPrefix}" in bucket ${names.outputBucket} would land under the watched prefix "${uploadsPrefix}" and trigger the chain again`);
  }
  const resizeStage = { ...DEFAULT_STAGE, ...opts.resize };
  const publishStage = { ...DEFAULT_STAGE, ...opts.publish };
  const visibility = opts.visibilityTimeoutSeconds ?? 6 * Math.max(resizeStage.timeoutSeconds, publishStage.timeoutSeconds);
  const handlersDir = resolve(opts.handlersDir ?? join(__dirname, 'handlers'));
  const logs = logFiles(opts.logDir, opts.logSink);

  const cleanups: Array<() => Promise<void>> = [];
  const stopAll = async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
    cleanups.length = 0;
    await logs.close();
  };
  try {
    const stateExisted = opts.stateDir !== undefined && existsSync(join(opts.stateDir, 'fauxqs.db'));
    const standIn: StandIn = await startStandIn({ dataDir: opts.stateDir });
    cleanups.push(() => standIn.stop());
    // The mappings exist only later; the route looks them up per request.
    let mappingList: ServedMapping[] = [];
    let servedStreams: ServedStream[] = [];
    const gateway = await startGateway({
      upstream: standIn.endpoint,
      port: opts.port,
      allowedOrigins: opts.allowedOrigins,
      logSink: logs.sink('cloud'),
      routes: [...lambdaMappingsRoutes(() => mappingList), kinesisApiRoute(() => servedStreams)],
    });
    cleanups.push(() => gateway.stop());
    const s3 = new S3Client(localClientConfig(gateway.endpoint));
    const sqs = new SQSClient(localClientConfig(gateway.endpoint));
    cleanups.push(async () => {
      s3.destroy();
      sqs.destroy();
    });
    const resources = await createChainResources(sqs, s3, names, { maxReceiveCount: opts.maxReceiveCount ?? 3, visibilityTimeoutSeconds: visibility });
    if (opts.uploadApi) await allowBrowserUploads(s3, resources.buckets.source, opts.uploadApi.corsAllowOrigins ?? ['*']);
    await gateway.configureNotification({
      bucket: resources.buckets.source,
      queueUrl: resources.queues.ingest.url,
      queueArn: resources.queues.ingest.arn,
      prefix: uploadsPrefix,
      events: ['s3:ObjectCreated:*'],
      id: 'resize-chain-uploads',
    }, { testEvent: !stateExisted });

    const awsEnv = localAwsEnv(gateway.endpoint);
    const variantsEnv: Record<string, string> = opts.variants ? { VARIANTS: JSON.stringify(opts.variants) } : {};
    const launcherFor = (handler: 'resize' | 'publish' | 'upload'): SandboxLauncher | undefined => {
      const c = opts.containers;
      if (!c) return undefined;
      const chosen = { resize: c.resizeImage, publish: c.publishImage, upload: c.uploadImage }[handler];
      return containerLauncher({ image: chosen ?? defaultImage(handler), docker: c.docker });
    };
    const resize = await startLocalFunction({
      name: `${prefix}-resize`,
      handler: 'resize.handler',
      taskRoot: handlersDir,
      launcher: launcherFor('resize'),
      concurrency: resizeStage.concurrency,
      timeoutSeconds: resizeStage.timeoutSeconds,
      memoryMb: resizeStage.memoryMb,
      logSink: logs.sink('resize'),
      env: {
        ...awsEnv,
        OUTPUT_BUCKET: resources.buckets.output,
        OUTPUT_PREFIX: outputPrefix,
        RESIZED_QUEUE_URL: resources.queues.resized.url,
        REJECTED_QUEUE_URL: resources.queues.rejected.url,
        ...variantsEnv,
        ...resizeStage.env,
      },
    });
    cleanups.push(() => resize.stop());
    const publish = await startLocalFunction({
      name: `${prefix}-publish`,
      handler: 'publish.handler',
      taskRoot: handlersDir,
      launcher: launcherFor('publish'),
      concurrency: publishStage.concurrency,
      timeoutSeconds: publishStage.timeoutSeconds,
      memoryMb: publishStage.memoryMb,
      logSink: logs.sink('publish'),
      env: { ...awsEnv, OUTPUT_BUCKET: resources.buckets.output, OUTPUT_PREFIX: outputPrefix, ...publishStage.env },
    });
    cleanups.push(() => publish.stop());
    let upload: LocalFunction | undefined;
    if (opts.uploadApi) {
      upload = await startLocalFunction({
        name: `${prefix}-upload`,
        handler: 'upload.handler',
        taskRoot: handlersDir,
        launcher: launcherFor('upload'),
        timeoutSeconds: 10,
        memoryMb: 256,
        logSink: logs.sink('upload'),
        env: { ...awsEnv, SOURCE_BUCKET: resources.buckets.source, UPLOADS_PREFIX: uploadsPrefix, ...opts.uploadApi.env },
      });
      cleanups.push(() => upload?.stop() ?? Promise.resolve());
      const uploadFn = upload;
      gateway.addRoutes(uploadApiRoutes({ invoke: () => uploadFn.invoke, s3, outputBucket: resources.buckets.output, outputPrefix }));
    }

    // With stateDir a mapping keeps its UUID across restarts, as on AWS (a saved UUID keeps working).
    const uuidOf = mappingIds(opts.stateDir);
    const mapping = (queue: { url: string; arn: string }, fn: LocalFunction, stage: typeof resizeStage, name: string) =>
      startSwitchableMapping({
        uuid: uuidOf(queue.arn, fn.name),
        functionName: fn.name,
        sqs,
        queueUrl: queue.url,
        queueArn: queue.arn,
        batchSize: stage.batchSize,
        maximumBatchingWindowSeconds: stage.maximumBatchingWindowSeconds,
        maximumConcurrency: stage.maximumConcurrency ?? Math.max(2, stage.concurrency),
        functionResponseTypes: ['ReportBatchItemFailures'],
        invoke: fn.invoke,
        logSink: logs.sink(name),
      });
    const ingest = mapping(resources.queues.ingest, resize, resizeStage, 'esm-ingest');
    cleanups.push(() => ingest.stop());
    const resized = mapping(resources.queues.resized, publish, publishStage, 'esm-resized');
    cleanups.push(() => resized.stop());
    mappingList = [ingest, resized];

    let streamSource: LocalStreamSource | undefined;
    if (opts.streamSource) {
      const { streamName: givenName, failureQueueName, ...given } = opts.streamSource;
      const settings = { ...DEFAULT_STREAM_SOURCE, ...Object.fromEntries(Object.entries(given).filter(([, v]) => v !== undefined)) } as LocalStreamSource['settings'];
      const streamName = givenName ?? `${prefix}-uploads`;
      // With stateDir the stream's records and the mapping's checkpoints are kept too (one folder per stream).
      const store: FileStreamStore | undefined = opts.stateDir ? fileStreamStore(join(opts.stateDir, 'kinesis', streamName), { name: streamName, shardCount: settings.shardCount }) : undefined;
      const stream = new LocalStream({ name: streamName, shardCount: settings.shardCount, store });
      // As the module's BufferedQueue: SSE-SQS, 14 days, 300 s visibility, a DLQ after 5 receives.
      const failuresName = failureQueueName ?? `${prefix}-stream-failures`;
      const keep = { SqsManagedSseEnabled: 'true', MessageRetentionPeriod: '1209600' };
      const failureDlq = await ensureQueue(sqs, `${failuresName}-dlq`, keep);
      const failureQueue = await ensureQueue(sqs, failuresName, {
        ...keep,
        VisibilityTimeout: '300',
        RedrivePolicy: JSON.stringify({ deadLetterTargetArn: failureDlq.arn, maxReceiveCount: 5 }),
      });
      const mapping = startSwitchableStreamMapping({
        uuid: uuidOf(stream.arn, resize.name),
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
        functionResponseTypes: ['ReportBatchItemFailures'],
        onFailure: sqsFailureDestination(sqs, failureQueue.url),
        retryDelayMs: settings.retryDelayMs,
        logSink: logs.sink('esm-stream'),
      });
      cleanups.push(() => mapping.stop());
      streamSource = { stream, streamName: stream.name, streamArn: stream.arn, mapping, failureQueue, failureDlq, settings };
      servedStreams = [{ stream, createdAt: store?.createdAt ?? new Date() }];
      mappingList = [...mappingList, mapping];
    }

    const allQueues = [...Object.values(resources.queues), ...(streamSource ? [streamSource.failureQueue, streamSource.failureDlq] : [])];
    const queueDepths = async (): Promise<Record<string, number>> => {
      const depths: Record<string, number> = {};
      await Promise.all(
        allQueues.map(async (q) => {
          const res = await sqs.send(
            new GetQueueAttributesCommand({
              QueueUrl: q.url,
              AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible', 'ApproximateNumberOfMessagesDelayed'],
            }),
          );
          const a = res.Attributes ?? {};
          depths[q.name] = Number(a.ApproximateNumberOfMessages ?? 0) + Number(a.ApproximateNumberOfMessagesNotVisible ?? 0) + Number(a.ApproximateNumberOfMessagesDelayed ?? 0);
        }),
      );
      return depths;
    };
    const pipelineQueues = [resources.queues.ingest.name, resources.queues.resized.name];

    return {
      endpoint: gateway.endpoint,
      s3,
      sqs,
      resources,
      uploadsPrefix,
      outputPrefix,
      gateway,
      functions: { resize, publish, upload },
      uploadApi: upload ? { apiUrl: `${gateway.endpoint}${API_BASE_PATH}`, pageUrl: `${gateway.endpoint}${UI_PATH}` } : undefined,
      mappings: { ingest, resized },
      streamSource,
      queueDepths,
      async waitForIdle(timeoutMs = 120_000) {
        const deadline = Date.now() + timeoutMs;
        let quietPolls = 0;
        while (quietPolls < 2) {
          if (Date.now() > deadline) throw new Error(`local chain not idle after ${timeoutMs} ms: ${JSON.stringify(await queueDepths())}`);
          await gateway.notificationsSettled();
          const depths = await queueDepths();
          const busy = pipelineQueues.some((q) => (depths[q] ?? 0) > 0) || !ingest.idle() || !resized.idle() || (streamSource !== undefined && !streamSource.mapping.caughtUp());
          quietPolls = busy ? 0 : quietPolls + 1;
          await new Promise((r) => setTimeout(r, 200));
        }
      },
      async drain(timeoutMs = 30_000) {
        let timer: NodeJS.Timeout | undefined;
        const timedOut = new Promise<false>((resolve) => {
          timer = setTimeout(() => resolve(false), timeoutMs);
        });
        const finished = await Promise.race([Promise.all([ingest.stop(), resized.stop(), streamSource?.mapping.stop()]).then(() => true as const), timedOut]);
        clearTimeout(timer);
        return finished;
      },
      stop: stopAll,
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}
