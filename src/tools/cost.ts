/**
 * The monthly AWS bill of the chain, itemised: pure arithmetic from plain inputs and a price table
 * (src/tools/prices.ts). `resize-chain cost` feeds it the figures `npm run bench` measured.
 *
 * What one fresh upload costs, counted from the code (src/core/resize-batch.ts, publish-batch.ts,
 * src/aws/sqs.ts) for V variants:
 *   S3   resize: HEAD manifest + HEAD each variant (idempotency), GET source, PUT each variant,
 *        then the freshness re-check of the source (a HEAD: a GET-class request, one price);
 *        publish: HEAD manifest + HEAD each variant (stale-event check), PUT manifest;
 *        plus the upload's own PUT, billed to the bucket owner like any request.
 *   SQS  S3's SendMessage of the notification; per resize invocation one ReceiveMessage, one
 *        DeleteMessageBatch and one SendMessageBatch of the image.resized events; per publish
 *        invocation one ReceiveMessage and one DeleteMessageBatch. Every 64 KB of a request's
 *        payload is billed as one request.
 *   Lambda  one request per invocation (a batch), duration and INIT at the function's memory.
 * Retries, rejections, DLQ traffic, CloudWatch (logs, alarms), ECR storage and data transfer
 * (free inside the region) are not counted.
 */
import type { LambdaArchitecture, RegionPrices } from './prices';

/** Hours AWS's pricing examples count in a month. */
export const HOURS_PER_MONTH = 730;
export const SECONDS_PER_MONTH = HOURS_PER_MONTH * 3600;
/** Lambda gives one vCPU per 1,769 MB of memory. */
export const MB_PER_VCPU = 1769;
/** S3 storage GB and Lambda memory GB are binary. */
const BYTES_PER_GB = 1024 ** 3;
/** SQS bills each 64 KB chunk of a request's payload as one request. */
export const SQS_CHUNK_BYTES = 64 * 1024;

export interface StageUsage {
  /** Memory of the function in MB. */
  readonly memoryMb: number;
  /** Billed milliseconds of one invocation's INIT phase (a cold start). */
  readonly initMs: number;
  /**
   * Environments of provisioned concurrency kept all month.
   * @default 0 - on-demand only
   */
  readonly provisionedConcurrency?: number;
}

export interface CostInputs {
  readonly imagesPerMonth: number;
  /** Average bytes of one uploaded source. */
  readonly sourceBytes: number;
  /** Bytes of all variants of one source. */
  readonly outputBytesPerImage: number;
  /** Bytes of one manifest.json. */
  readonly manifestBytes: number;
  /** Variants per source (V). */
  readonly variantCount: number;
  readonly architecture: LambdaArchitecture;
  /** Messages per invocation, on both queues (1 to the mapping's batch size; fractions are averages). */
  readonly imagesPerBatch: number;
  /** Fraction of invocations that start a new environment (0-1). */
  readonly coldStartRatio: number;
  /** Resize: billed ms per image (a batch of k images is billed k times this). */
  readonly resize: StageUsage & { readonly msPerImage: number };
  /** Publish: billed ms per invocation. */
  readonly publish: StageUsage & { readonly msPerInvocation: number };
  /** Bytes of one S3 notification message and of one image.resized event. */
  readonly messageBytes: { readonly notification: number; readonly resizedEvent: number };
  /**
   * Empty long polls of the event source mappings on idle queues: `queues` × `pollersPerQueue`
   * pollers, each one ReceiveMessage per `waitSeconds`, all month (an upper bound: polls that
   * return messages are counted again above).
   * @default - not counted
   */
  readonly idlePolling?: { readonly queues: number; readonly pollersPerQueue: number; readonly waitSeconds: number };
}

export type CostService = 'lambda' | 'sqs' | 's3';

export interface CostItem {
  /** Stable id, e.g. `lambda.resize.duration`. */
  readonly id: string;
  readonly service: CostService;
  readonly label: string;
  readonly quantity: number;
  readonly unit: string;
  readonly unitUsd: number;
  readonly usd: number;
  /** How the quantity was derived. */
  readonly basis: string;
}

export interface CostReport {
  readonly items: CostItem[];
  readonly byService: Record<CostService, number>;
  /** Sum of every item's `usd`. */
  readonly totalUsd: number;
  readonly perImageUsd: number;
  readonly invocations: { readonly resize: number; readonly publish: number };
}

/** vCPUs Lambda gives a function of this memory. */
export function vcpusFor(memoryMb: number): number {
  return memoryMb / MB_PER_VCPU;
}

/**
 * Billed ms of resizing one image at `memoryMb`, from a measurement on a machine with more cores:
 * the work is bound by wall time or by CPU time over the function's vCPUs, whichever is longer,
 * plus the S3/SQS time of one invocation (not overlapped: an upper bound).
 */
export function resizeMsAt(memoryMb: number, measured: { wallMs: number; cpuMs: number; ioMs: number }): number {
  return Math.max(measured.wallMs, measured.cpuMs / vcpusFor(memoryMb)) + measured.ioMs;
}

/**
 * Average messages per batch when uploads arrive evenly: the first message opens the batching
 * window and every arrival inside it joins, up to the batch size.
 */
export function expectedBatchFill(imagesPerMonth: number, batchSize: number, batchingWindowSeconds: number): number {
  const perSecond = imagesPerMonth / SECONDS_PER_MONTH;
  return Math.max(1, Math.min(batchSize, 1 + perSecond * batchingWindowSeconds));
}

/** SQS requests one call is billed as: one per started 64 KB of payload, at least one. */
export function sqsChunks(payloadBytes: number): number {
  return Math.max(1, Math.ceil(payloadBytes / SQS_CHUNK_BYTES));
}

function checkInputs(i: CostInputs): void {
  const positive: Array<[string, number]> = [
    ['imagesPerMonth', i.imagesPerMonth],
    ['imagesPerBatch', i.imagesPerBatch],
    ['resize.memoryMb', i.resize.memoryMb],
    ['publish.memoryMb', i.publish.memoryMb],
  ];
  for (const [name, v] of positive)
    if (!(Number.isFinite(v) && v > 0)) throw new RangeError(`${name} must be a positive number, got ${v}`);
  if (i.imagesPerBatch < 1) throw new RangeError(`imagesPerBatch must be at least 1, got ${i.imagesPerBatch}`);
  if (!(i.coldStartRatio >= 0 && i.coldStartRatio <= 1))
    throw new RangeError(`coldStartRatio must be within 0..1, got ${i.coldStartRatio}`);
}

/** The itemised monthly bill. Throws `RangeError` on inputs no month can have. */
export function monthlyCost(inputs: CostInputs, prices: RegionPrices): CostReport {
  checkInputs(inputs);
  const { imagesPerMonth: n, imagesPerBatch: k, variantCount: v, architecture: arch } = inputs;
  const items: CostItem[] = [];
  const add = (
    id: string,
    service: CostService,
    label: string,
    quantity: number,
    unit: string,
    unitUsd: number,
    basis: string,
  ): void => {
    items.push({ id, service, label, quantity, unit, unitUsd, usd: quantity * unitUsd, basis });
  };

  // Lambda.
  const resizeInvocations = n / k;
  const publishInvocations = n / k;
  const lambda = prices.lambda;
  add(
    'lambda.requests',
    'lambda',
    'Lambda requests (resize + publish invocations)',
    resizeInvocations + publishInvocations,
    'requests',
    lambda.requests.usd,
    `${fmt(n)} images / ${fmt(k)} per batch, for each of the two functions`,
  );
  const stages = [
    {
      name: 'resize',
      stage: inputs.resize,
      invocations: resizeInvocations,
      seconds: (n * inputs.resize.msPerImage) / 1000,
      basis: `${fmt(n)} images x ${fmt(inputs.resize.msPerImage)} ms`,
    },
    {
      name: 'publish',
      stage: inputs.publish,
      invocations: publishInvocations,
      seconds: (publishInvocations * inputs.publish.msPerInvocation) / 1000,
      basis: `${fmt(publishInvocations)} invocations x ${fmt(inputs.publish.msPerInvocation)} ms`,
    },
  ] as const;
  for (const { name, stage, invocations, seconds, basis } of stages) {
    const gb = stage.memoryMb / 1024;
    const provisioned = stage.provisionedConcurrency ?? 0;
    // Invocations served by provisioned environments are billed at the lower provisioned duration
    // rate, and those environments start outside invocations (their INIT is in the provisioned charge).
    const durationPrice = provisioned > 0 ? lambda.provisionedDurationGbSecond[arch].usd : lambda.gbSecond[arch].usd;
    add(
      `lambda.${name}.duration`,
      'lambda',
      `Lambda ${name} duration (${arch}${provisioned > 0 ? ', on provisioned environments' : ''})`,
      seconds * gb,
      'GB-seconds',
      durationPrice,
      `${basis} at ${fmt(stage.memoryMb)} MB`,
    );
    const coldStarts = provisioned > 0 ? 0 : invocations * inputs.coldStartRatio;
    add(
      `lambda.${name}.init`,
      'lambda',
      `Lambda ${name} INIT (cold starts, billed)`,
      ((coldStarts * stage.initMs) / 1000) * gb,
      'GB-seconds',
      lambda.gbSecond[arch].usd,
      provisioned > 0
        ? 'provisioned environments: no on-demand cold starts counted'
        : `${fmt(coldStarts)} cold starts (${fmt(inputs.coldStartRatio * 100)} % of invocations) ` +
            `x ${fmt(stage.initMs)} ms at ${fmt(stage.memoryMb)} MB`,
    );
    if (provisioned > 0) {
      add(
        `lambda.${name}.provisioned`,
        'lambda',
        `Lambda ${name} provisioned concurrency`,
        provisioned * gb * SECONDS_PER_MONTH,
        'GB-seconds',
        lambda.provisionedGbSecond[arch].usd,
        `${provisioned} environments x ${fmt(stage.memoryMb)} MB x ${HOURS_PER_MONTH} h`,
      );
    }
  }

  // SQS.
  const sqs = prices.sqs.standardRequests.usd;
  const { notification, resizedEvent } = inputs.messageBytes;
  /** The mapping that drains a queue: one ReceiveMessage and one DeleteMessageBatch per invocation it makes. */
  const addMappingRequests = (queue: string, consumer: string, invocations: number, messageBytes: number): void => {
    add(
      `sqs.${queue}.receive`,
      'sqs',
      `SQS ${queue}: mapping ReceiveMessage`,
      invocations * sqsChunks(k * messageBytes),
      'requests',
      sqs,
      `one per ${consumer} invocation, ${fmt(k)} x ${fmt(messageBytes)} B`,
    );
    add(
      `sqs.${queue}.delete`,
      'sqs',
      `SQS ${queue}: mapping DeleteMessageBatch`,
      invocations,
      'requests',
      sqs,
      `one per ${consumer} invocation`,
    );
  };
  add(
    'sqs.ingest.send',
    'sqs',
    'SQS ingest: S3 sends each notification',
    n * sqsChunks(notification),
    'requests',
    sqs,
    `${fmt(n)} notifications of ${fmt(notification)} B`,
  );
  addMappingRequests('ingest', 'resize', resizeInvocations, notification);
  add(
    'sqs.resized.send',
    'sqs',
    'SQS resized: resize SendMessageBatch of image.resized',
    resizeInvocations * sqsChunks(k * resizedEvent),
    'requests',
    sqs,
    `one per resize invocation, ${fmt(k)} x ${fmt(resizedEvent)} B`,
  );
  addMappingRequests('resized', 'publish', publishInvocations, resizedEvent);
  if (inputs.idlePolling) {
    const { queues, pollersPerQueue, waitSeconds } = inputs.idlePolling;
    add(
      'sqs.idle-polling',
      'sqs',
      'SQS empty long polls of the mappings (estimate)',
      (queues * pollersPerQueue * SECONDS_PER_MONTH) / waitSeconds,
      'requests',
      sqs,
      `${queues} queues x ${pollersPerQueue} pollers x one ${waitSeconds} s poll, ${HOURS_PER_MONTH} h`,
    );
  }

  // S3.
  const { putRequests, getRequests, standardStorage } = prices.s3;
  add(
    's3.put.upload',
    's3',
    'S3 PUT: the upload itself (billed to the bucket owner)',
    n,
    'requests',
    putRequests.usd,
    '1 per image',
  );
  add('s3.put.variants', 's3', 'S3 PUT: variants', n * v, 'requests', putRequests.usd, `${v} per image`);
  add('s3.put.manifest', 's3', 'S3 PUT: manifest.json', n, 'requests', putRequests.usd, '1 per image');
  add('s3.get.source', 's3', 'S3 GET: source', n, 'requests', getRequests.usd, '1 per image');
  add(
    's3.get.recheck',
    's3',
    'S3 GET/HEAD: source freshness re-check after writing',
    n,
    'requests',
    getRequests.usd,
    '1 per image',
  );
  add(
    's3.head.resize',
    's3',
    'S3 HEAD: resize idempotency (manifest + variants)',
    n * (1 + v),
    'requests',
    getRequests.usd,
    `${1 + v} per image`,
  );
  add(
    's3.head.publish',
    's3',
    'S3 HEAD: publish checks (manifest + variants)',
    n * (1 + v),
    'requests',
    getRequests.usd,
    `${1 + v} per image`,
  );
  add(
    's3.storage.sources',
    's3',
    'S3 Standard storage: one month of sources',
    (n * inputs.sourceBytes) / BYTES_PER_GB,
    'GB-months',
    standardStorage.usd,
    `${fmt(n)} x ${fmt(inputs.sourceBytes)} B`,
  );
  add(
    's3.storage.outputs',
    's3',
    'S3 Standard storage: one month of variants + manifests',
    (n * (inputs.outputBytesPerImage + inputs.manifestBytes)) / BYTES_PER_GB,
    'GB-months',
    standardStorage.usd,
    `${fmt(n)} x (${fmt(inputs.outputBytesPerImage)} + ${fmt(inputs.manifestBytes)}) B`,
  );

  const byService: Record<CostService, number> = { lambda: 0, sqs: 0, s3: 0 };
  let totalUsd = 0;
  for (const item of items) {
    byService[item.service] += item.usd;
    totalUsd += item.usd;
  }
  return {
    items,
    byService,
    totalUsd,
    perImageUsd: totalUsd / n,
    invocations: { resize: resizeInvocations, publish: publishInvocations },
  };
}

/** Monthly charge of keeping `concurrency` environments of `memoryMb` provisioned all month. */
export function provisionedConcurrencyMonthlyUsd(
  concurrency: number,
  memoryMb: number,
  architecture: LambdaArchitecture,
  prices: RegionPrices,
): number {
  return concurrency * (memoryMb / 1024) * SECONDS_PER_MONTH * prices.lambda.provisionedGbSecond[architecture].usd;
}

function fmt(x: number): string {
  return Number.isInteger(x) ? x.toLocaleString('en-US') : x.toLocaleString('en-US', { maximumFractionDigits: 3 });
}
