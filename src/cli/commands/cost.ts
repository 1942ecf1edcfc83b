/**
 * `resize-chain cost`: the chain's monthly AWS bill for a number of images, from the per-image
 * figures `npm run bench` measured (bench/results.json, read at run time) and the price table in
 * src/tools/prices.ts. The arithmetic is `monthlyCost` in src/tools/cost.ts.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import {
  expectedBatchFill,
  monthlyCost,
  resizeMsAt,
  vcpusFor,
  type CostInputs,
  type CostItem,
  type CostReport,
} from '../../tools/cost';
import { STAGE_DEFAULTS } from '../../core/chain-defaults';
import { configError } from '../../core/errors';
import { imageResizedEvent, type ResizedVariant } from '../../core/events';
import { variantKey } from '../../core/keys';
import { INIT_BILLING, PRICES, type LambdaArchitecture } from '../../tools/prices';
import {
  asLambdaShapedDoc,
  LAMBDA_SHAPED_FILE,
  measuredDuration,
  measuredSizes,
  type LambdaShapedDoc,
  type MeasuredDuration,
} from '../../tools/lambda-shaped';
import { s3ObjectCreatedNotification } from '../../local/cloud/s3/object-created-event';
import type { OutputFormat, VariantSpec } from '../../core/variants';
import type { CommandUsage } from '../usage';

/** `resize-chain cost`: the options it reads and the help shown for them. */
export const COST_USAGE = {
  name: 'cost',
  allowPositionals: true,
  options: {
    'images-per-month': { type: 'string', shown: 'N', required: true },
    'avg-bytes': { type: 'string', shown: 'B' },
    memory: { type: 'string', shown: 'MB' },
    architecture: { type: 'string', shown: 'x86_64|arm64' },
    region: { type: 'string', shown: 'us-east-1' },
    'publish-memory': { type: 'string', shown: 'MB' },
    'images-per-batch': { type: 'string', shown: 'K' },
    'cold-start-percent': { type: 'string', shown: 'P' },
    'publish-ms': { type: 'string', shown: 'MS' },
    'provisioned-resize': { type: 'string', shown: 'N' },
    'provisioned-publish': { type: 'string', shown: 'N' },
    bench: { type: 'string', shown: 'bench/results.json' },
    'lambda-shaped': { type: 'string', shown: LAMBDA_SHAPED_FILE },
    input: { type: 'string', shown: '12mp-jpeg' },
    json: { type: 'boolean' },
  },
  forms: [
    {
      shows: [
        'images-per-month',
        'avg-bytes',
        'memory',
        'architecture',
        'region',
        'publish-memory',
        'images-per-batch',
        'cold-start-percent',
        'publish-ms',
        'provisioned-resize',
        'provisioned-publish',
        'bench',
        'lambda-shaped',
        'input',
        'json',
      ],
      description: [
        'Print the monthly AWS bill of the chain (Lambda requests, GB-seconds and INIT; SQS requests; S3',
        'requests and storage), itemised, from the per-image figures of `npm run bench` and the price',
        'table in src/tools/prices.ts. Defaults: 4,000,000-byte sources, resize 2048 MB, publish 256 MB.',
        "The resize duration is the one bench/lambda-shaped.ts measured at that memory size under Lambda's",
        'CPU share (bench/lambda-shaped.json) when the file has it; else estimated from the bench, labelled.',
      ].join('\n'),
    },
  ],
} satisfies CommandUsage;

/** Per-image figures of the resize function, and where they come from. */
export interface BenchFigures {
  /** Wall and CPU ms of the resize core for one source (the bench's machine). */
  readonly wallMs: number;
  readonly cpuMs: number;
  /** S3 + SQS time of one warm invocation: warm invoke through the Runtime API minus the core alone. */
  readonly ioMs: number;
  /** Cold init of the resize handler (process start to first /next). */
  readonly initMs: number;
  /** Output bytes per variant for one source. */
  readonly variantBytes: ReadonlyArray<{ name: string; format: OutputFormat; bytes: number }>;
  readonly provenance: string;
}

/**
 * Figures used when bench/results.json is missing or lacks them: the 12mp-jpeg row of the run of
 * 2026-11-28 (bench/results.md). Reported as a default in the output.
 */
export const DEFAULT_BENCH_FIGURES: BenchFigures = {
  wallMs: 133.8,
  cpuMs: 156.1,
  ioMs: 166.8,
  initMs: 568,
  variantBytes: [
    { name: 'thumb', format: 'webp', bytes: 2760 },
    { name: 'medium', format: 'webp', bytes: 7192 },
    { name: 'large', format: 'webp', bytes: 18602 },
    { name: 'fallback', format: 'jpeg', bytes: 56958 },
  ],
  provenance:
    'DEFAULT (bench/results.json not found or incomplete): built-in figures of the 2026-11-28 bench run, 12mp-jpeg',
};

/** The bench input whose figures the report uses by default. */
export const DEFAULT_BENCH_INPUT = '12mp-jpeg';

type Json = Record<string, unknown>;
const isObj = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const median = (v: unknown): number | undefined =>
  isObj(v) && typeof v.median === 'number' && Number.isFinite(v.median) ? v.median : undefined;

/**
 * Reads the figures of input `inputId` ("ours" implementation) from a parsed bench/results.json.
 * Returns undefined when the document lacks any of them.
 */
export function benchFiguresFrom(doc: unknown, inputId: string, origin: string): BenchFigures | undefined {
  if (!isObj(doc) || !Array.isArray(doc.inputs)) return undefined;
  const input = doc.inputs.find((i): i is Json => isObj(i) && i.id === inputId);
  const ours =
    input && Array.isArray(input.impls) ? input.impls.find((i): i is Json => isObj(i) && i.id === 'ours') : undefined;
  const chain = isObj(doc.chain) ? doc.chain : undefined;
  const coldInit = isObj(doc.coldInit) ? doc.coldInit : undefined;
  const wallMs = median(ours?.ms);
  const cpuMs = median(ours?.cpuMs);
  const warmInvoke = median(chain?.warmInvokeMs);
  const warmCore = median(chain?.warmCoreMs);
  const initMs = median(coldInit?.resize);
  const bytes = isObj(ours?.bytes) ? ours.bytes : undefined;
  const specs = Array.isArray(doc.variants) ? (doc.variants as Array<{ name?: unknown; format?: unknown }>) : [];
  if (
    wallMs === undefined ||
    cpuMs === undefined ||
    warmInvoke === undefined ||
    warmCore === undefined ||
    initMs === undefined ||
    !bytes ||
    specs.length === 0
  )
    return undefined;
  const variantBytes = specs.map((s) => ({
    name: String(s.name),
    format: s.format as OutputFormat,
    bytes: Number(bytes[String(s.name)]),
  }));
  if (variantBytes.some((b) => !Number.isFinite(b.bytes))) return undefined;
  return {
    wallMs,
    cpuMs,
    ioMs: Math.max(0, warmInvoke - warmCore),
    initMs,
    variantBytes,
    provenance:
      `${origin} (generated ${typeof doc.generatedAt === 'string' ? doc.generatedAt : 'at an unknown time'}), ` +
      `input ${inputId}`,
  };
}

/** bench/results.json from the working directory, else beside the CLI bundle (dist/../bench). */
function findBenchFile(explicit?: string): string | undefined {
  if (explicit) return resolve(explicit);
  return [join(process.cwd(), 'bench', 'results.json'), join(__dirname, '..', 'bench', 'results.json')].find((f) =>
    existsSync(f),
  );
}

/**
 * The billed ms per image and its provenance: the duration bench/lambda-shaped.ts measured at `memoryMb` when `doc`
 * has it, else the estimate from the bench machine's figures (resizeMsAt), labelled as such with the reason.
 */
export function resizeDurationFor(
  figures: BenchFigures,
  doc: LambdaShapedDoc | undefined,
  inputId: string,
  memoryMb: number,
): MeasuredDuration & { measured: boolean } {
  const measured = doc && measuredDuration(doc, inputId, memoryMb);
  if (measured) return { ...measured, measured: true };
  const why = !doc
    ? `no ${LAMBDA_SHAPED_FILE}`
    : `${LAMBDA_SHAPED_FILE} (run ${doc.runId}) has no figure for ${inputId} at ${memoryMb} MB` +
      ` (measured: ${measuredSizes(doc, inputId).join(', ') || 'none'} MB)`;
  const vcpus = vcpusFor(memoryMb);
  return {
    msPerImage: resizeMsAt(memoryMb, figures),
    measured: false,
    provenance:
      `ESTIMATE (${why}): max(wall ${r1(figures.wallMs)} ms, CPU ${r1(figures.cpuMs)} ms / ${r2(vcpus)} vCPU at ` +
      `${memoryMb} MB) + S3/SQS ${r1(figures.ioMs)} ms (I/O not overlapped: an upper bound), ` +
      `from ${figures.provenance}`,
  };
}

/** bench/lambda-shaped.json from the working directory, else beside the CLI bundle; undefined when absent. */
export function loadLambdaShaped(file: string | undefined): LambdaShapedDoc | undefined {
  const path = file
    ? resolve(file)
    : [join(process.cwd(), LAMBDA_SHAPED_FILE), join(__dirname, '..', LAMBDA_SHAPED_FILE)].find((f) => existsSync(f));
  if (!path) return undefined;
  if (!existsSync(path)) throw configError('--lambda-shaped', `${file} does not exist`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw configError('--lambda-shaped', `${path} is not JSON: ${(err as Error).message}`);
  }
  const doc = asLambdaShapedDoc(parsed);
  if (!doc) throw configError('--lambda-shaped', `${path} is not a bench/lambda-shaped.ts document`);
  return doc;
}

/** Loads the bench figures, or the labelled defaults. An explicit `--bench` file must exist and be complete. */
export function loadBenchFigures(file: string | undefined, inputId: string): BenchFigures {
  const path = findBenchFile(file);
  if (!path || !existsSync(path)) {
    if (file) throw configError('--bench', `${file} does not exist`);
    return DEFAULT_BENCH_FIGURES;
  }
  let doc: unknown;
  try {
    doc = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw configError('--bench', `${path} is not JSON: ${(err as Error).message}`);
  }
  const figures = benchFiguresFrom(doc, inputId, path);
  if (figures) return figures;
  if (file || inputId !== DEFAULT_BENCH_INPUT)
    throw configError('--bench', `${path} has no complete figures for input ${JSON.stringify(inputId)}`);
  return DEFAULT_BENCH_FIGURES;
}

// A realistic upload key and generated bucket names (bucket_prefix + 26 characters), so message
// sizes are those of a deployed chain.
const SAMPLE_KEY = 'uploads/2026/11/28/IMG_20261128_101500.jpg';
const SAMPLE_SOURCE_BUCKET = 'image-resize-chain-src-20261128101500000000000001';
const SAMPLE_OUTPUT_BUCKET = 'image-resize-chain-out-20261128101500000000000002';

/** Bytes of the messages and manifest the chain writes for one source, built with the chain's own builders. */
export function messageSizes(
  variants: BenchFigures['variantBytes'],
  sourceBytes: number,
): { notification: number; resizedEvent: number; manifest: number } {
  const notification = s3ObjectCreatedNotification({
    bucket: SAMPLE_SOURCE_BUCKET,
    key: SAMPLE_KEY,
    size: sourceBytes,
    eTag: '0123456789abcdef0123456789abcdef',
    sequencer: '00674890B0C1D2E3F4',
    region: 'us-east-1',
    // Real notifications carry a 76-character host id and a 16-character request id.
    requestId: 'C3D13FE58DE4C810',
    hostId: 'FMyUVURIY8/IgAtTv8xRjskZQpcIZ9KG4V5Wp6S7S/JRWeUWerMUE5JgHvANOjpD'.padEnd(76, '='),
    sourceIp: '203.0.113.10',
  });
  const resizedVariants: ResizedVariant[] = variants.map((v) => ({
    name: v.name,
    bucket: SAMPLE_OUTPUT_BUCKET,
    key: variantKey(SAMPLE_KEY, '', v as Pick<VariantSpec, 'name' | 'format'>),
    width: 1600,
    height: 1200,
    format: v.format,
    bytes: v.bytes,
  }));
  const event = imageResizedEvent(
    {
      bucket: SAMPLE_SOURCE_BUCKET,
      key: SAMPLE_KEY,
      eTag: '0123456789abcdef0123456789abcdef',
      size: sourceBytes,
      width: 4000,
      height: 3000,
      format: 'jpeg',
    },
    resizedVariants,
    new Date('2026-11-28T10:15:01.000Z'),
  );
  // The manifest as publish writes it (src/core/publish-batch.ts): pretty-printed.
  const manifest = {
    version: 1,
    source: event.source,
    variants: event.variants,
    processedAt: event.processedAt,
    publishedAt: event.processedAt,
  };
  return {
    notification: Buffer.byteLength(JSON.stringify(notification)),
    resizedEvent: Buffer.byteLength(JSON.stringify(event)),
    manifest: Buffer.byteLength(JSON.stringify(manifest, null, 2)),
  };
}

export interface CostCommandOptions {
  readonly imagesPerMonth?: string;
  readonly avgBytes?: string;
  readonly memory?: string;
  readonly publishMemory?: string;
  readonly architecture?: string;
  readonly region?: string;
  readonly imagesPerBatch?: string;
  readonly coldStartPercent?: string;
  readonly publishMs?: string;
  readonly provisionedResize?: string;
  readonly provisionedPublish?: string;
  readonly bench?: string;
  /** bench/lambda-shaped.json (or another run of it). @default bench/lambda-shaped.json when present */
  readonly lambdaShaped?: string;
  readonly input?: string;
  readonly json?: boolean;
}

/** Module defaults (STAGE_DEFAULTS, as the module deploys them) and the report's stated assumptions. */
export const COST_DEFAULTS = {
  /** A 12 MP camera JPEG; the bench's own sources are synthetic and not representative in size. */
  avgBytes: 4_000_000,
  resizeMemoryMb: STAGE_DEFAULTS.resize.memorySize,
  publishMemoryMb: STAGE_DEFAULTS.publish.memorySize,
  batchSize: STAGE_DEFAULTS.resize.batchSize,
  batchingWindowSeconds: STAGE_DEFAULTS.resize.maxBatchingWindow,
  /** AWS: INITs "typically occur in under 1% of invocations" (INIT_BILLING sources). */
  coldStartPercent: 1,
  /**
   * Not measured by `npm run bench`: three S3 round trips (HEADs in parallel, then a PUT) and start-up of the batch.
   */
  publishMs: 100,
  idlePolling: { queues: 2, pollersPerQueue: 5, waitSeconds: 20 },
} as const;

function number(
  field: string,
  raw: string | undefined,
  fallback: number,
  min: number,
  max: number,
  integer = false,
): number {
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(n) || n < min || n > max || (integer && !Number.isInteger(n))) {
    throw configError(field, `${JSON.stringify(raw)} is not ${integer ? 'an integer' : 'a number'} in ${min}..${max}`);
  }
  return n;
}

export interface CostCommandResult {
  readonly report: CostReport;
  readonly inputs: CostInputs;
  readonly document: Record<string, unknown>;
  readonly text: string;
}

/** Builds the report for the options (strings as typed on the command line). Pure but for reading the bench file. */
export function buildCostReport(opts: CostCommandOptions): CostCommandResult {
  if (opts.imagesPerMonth === undefined) throw configError('--images-per-month', 'is required');
  const imagesPerMonth = number('--images-per-month', opts.imagesPerMonth, 0, 1, 1e12, true);
  const region = opts.region ?? 'us-east-1';
  const prices = PRICES[region];
  if (!prices)
    throw configError(
      '--region',
      `no prices for ${JSON.stringify(region)} in src/tools/prices.ts (known: ${Object.keys(PRICES).join(', ')})`,
    );
  const architecture = (opts.architecture ?? 'x86_64') as LambdaArchitecture;
  if (architecture !== 'x86_64' && architecture !== 'arm64')
    throw configError('--architecture', `must be x86_64 or arm64, got ${JSON.stringify(opts.architecture)}`);
  const sourceBytes = number('--avg-bytes', opts.avgBytes, COST_DEFAULTS.avgBytes, 1, 5 * 1024 ** 4, true);
  const resizeMemoryMb = number('--memory', opts.memory, COST_DEFAULTS.resizeMemoryMb, 128, 10240, true);
  const publishMemoryMb = number(
    '--publish-memory',
    opts.publishMemory,
    COST_DEFAULTS.publishMemoryMb,
    128,
    10240,
    true,
  );
  const fill = expectedBatchFill(imagesPerMonth, COST_DEFAULTS.batchSize, COST_DEFAULTS.batchingWindowSeconds);
  const imagesPerBatch = number('--images-per-batch', opts.imagesPerBatch, fill, 1, 10000);
  const coldStartPercent = number(
    '--cold-start-percent',
    opts.coldStartPercent,
    COST_DEFAULTS.coldStartPercent,
    0,
    100,
  );
  const publishMs = number('--publish-ms', opts.publishMs, COST_DEFAULTS.publishMs, 1, 900000);
  const provisionedResize = number('--provisioned-resize', opts.provisionedResize, 0, 0, 1000, true);
  const provisionedPublish = number('--provisioned-publish', opts.provisionedPublish, 0, 0, 1000, true);
  const inputId = opts.input ?? DEFAULT_BENCH_INPUT;
  const figures = loadBenchFigures(opts.bench, inputId);
  const duration = resizeDurationFor(figures, loadLambdaShaped(opts.lambdaShaped), inputId, resizeMemoryMb);

  const msPerImage = duration.msPerImage;
  const sizes = messageSizes(figures.variantBytes, sourceBytes);
  const outputBytesPerImage = figures.variantBytes.reduce((sum, v) => sum + v.bytes, 0);
  const inputs: CostInputs = {
    imagesPerMonth,
    sourceBytes,
    outputBytesPerImage,
    manifestBytes: sizes.manifest,
    variantCount: figures.variantBytes.length,
    architecture,
    imagesPerBatch,
    coldStartRatio: coldStartPercent / 100,
    resize: { memoryMb: resizeMemoryMb, msPerImage, initMs: figures.initMs, provisionedConcurrency: provisionedResize },
    // Publish loads no sharp: the resize init is an upper bound for it.
    publish: {
      memoryMb: publishMemoryMb,
      msPerInvocation: publishMs,
      initMs: figures.initMs,
      provisionedConcurrency: provisionedPublish,
    },
    messageBytes: { notification: sizes.notification, resizedEvent: sizes.resizedEvent },
    idlePolling: COST_DEFAULTS.idlePolling,
  };
  const report = monthlyCost(inputs, prices);

  const evenBatches =
    `uploads spread evenly over 730 h, batch size ${COST_DEFAULTS.batchSize}, ` +
    `batching window ${COST_DEFAULTS.batchingWindowSeconds} s; bursts fill batches and lower request counts`;
  const assumptions = [
    `resize billed ms per image at ${resizeMemoryMb} MB: ${r1(msPerImage)} ms, ${duration.provenance}`,
    `variant bytes and INIT from ${figures.provenance}`,
    architecture === 'arm64'
      ? 'arm64: the bench ran on x86_64; the same duration is assumed on Graviton (not measured)'
      : 'x86_64: the bench machine is x86_64',
    `publish: ${publishMs} ms per invocation at ${publishMemoryMb} ` +
      `MB${opts.publishMs === undefined ? ' (ASSUMED: npm run bench does not measure publish)' : ''}`,
    `INIT: ${figures.initMs} ms per cold start (resize handler, measured; ` +
      `used for publish too as an upper bound), ${coldStartPercent} % of ` +
      `invocations${opts.coldStartPercent === undefined ? ' (AWS: typically under 1 %)' : ''}. ${INIT_BILLING.rule}`,
    `batches: ${r2(imagesPerBatch)} messages per ` +
      `invocation${opts.imagesPerBatch === undefined ? ` (${evenBatches})` : ''}`,
    `sources ${sourceBytes.toLocaleString('en-US')} ` +
      `B${opts.avgBytes === undefined ? ' (ASSUMED: a 12 MP camera JPEG)' : ''}; ` +
      `outputs ${outputBytesPerImage.toLocaleString('en-US')} B of variants (bench) + ${sizes.manifest} B ` +
      `manifest; storage is one month of one month's images, and grows every month sources and outputs are kept`,
    `messages: S3 notification ${sizes.notification} B, ` +
      `image.resized ${sizes.resizedEvent} B (built with the chain's own builders)`,
    `idle polling: ${COST_DEFAULTS.idlePolling.queues} queues x ${COST_DEFAULTS.idlePolling.pollersPerQueue} ` +
      `pollers, one ${COST_DEFAULTS.idlePolling.waitSeconds} s long poll each (ESTIMATE: ` +
      `AWS does not publish the poller count)`,
    'not counted: free tiers (Lambda 1M requests + 400,000 GB-s, SQS 1M requests), retries, ' +
      'rejections and DLQs, CloudWatch logs and alarms, ECR storage, KMS (none: SSE-S3/SSE-SQS)',
  ];
  const unconfirmed = Object.entries({
    'lambda.provisioned (x86_64)': prices.lambda.provisionedGbSecond.x86_64.source,
    'lambda.provisioned (arm64)': prices.lambda.provisionedGbSecond.arm64.source,
    'lambda.provisioned duration (arm64)': prices.lambda.provisionedDurationGbSecond.arm64.source,
  })
    .filter(([, s]) => s.confirmedBy === 'unconfirmed')
    .map(([k]) => k);
  const document = {
    imagesPerMonth,
    region,
    architecture,
    memoryMb: { resize: resizeMemoryMb, publish: publishMemoryMb },
    items: report.items,
    byService: report.byService,
    totalUsd: report.totalUsd,
    perImageUsd: report.perImageUsd,
    per1000ImagesUsd: report.perImageUsd * 1000,
    storageUsd: storageUsd(report),
    invocations: report.invocations,
    figures: {
      ...figures,
      resizeMsPerImage: msPerImage,
      resizeMsMeasured: duration.measured,
      resizeMsProvenance: duration.provenance,
      messageBytes: sizes,
    },
    assumptions,
    prices: { file: 'src/tools/prices.ts', read: prices.lambda.requests.source.read, unconfirmed },
  };
  return { report, inputs, document, text: renderText(document, report) };
}

/** The S3 storage items: what keeping the images costs, as opposed to processing them. */
export function storageUsd(report: CostReport): number {
  return report.items.filter((i) => i.id.startsWith('s3.storage.')).reduce((sum, i) => sum + i.usd, 0);
}

const r1 = (x: number): string => (Math.round(x * 10) / 10).toString();
const r2 = (x: number): string => (Math.round(x * 100) / 100).toString();

function usd(x: number): string {
  if (x === 0) return '$0';
  if (x >= 0.995) return `$${x.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`;
  return `$${x.toPrecision(2)}`;
}

function qty(x: number): string {
  return x >= 1000 || Number.isInteger(x) ? Math.round(x).toLocaleString('en-US') : x.toPrecision(4);
}

/** Request prices read as AWS lists them: S3 per 1,000, SQS and Lambda per million. */
function unitPrice(item: CostItem): string {
  if (item.unit !== 'requests') return `$${item.unitUsd}`;
  return item.service === 's3'
    ? `$${+(item.unitUsd * 1e3).toPrecision(6)} / 1K`
    : `$${+(item.unitUsd * 1e6).toPrecision(6)} / 1M`;
}

function renderText(
  doc: {
    imagesPerMonth: number;
    region: string;
    architecture: string;
    memoryMb: { resize: number; publish: number };
    assumptions: string[];
    prices: { unconfirmed: string[]; read: string };
  },
  report: CostReport,
): string {
  const rows = report.items.map((i) => [i.label, qty(i.quantity), i.unit, unitPrice(i), usd(i.usd)]);
  const header = ['item', 'quantity', 'unit', 'unit price', 'USD / month'];
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c].length)));
  const line = (cells: string[]): string =>
    cells.map((cell, c) => (c === 0 || c === 2 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join('  ');
  const unconfirmed = doc.prices.unconfirmed.length
    ? ` Not confirmed by the search: ${doc.prices.unconfirmed.join(', ')}.`
    : '';
  const out = [
    `Monthly cost of ${doc.imagesPerMonth.toLocaleString('en-US')} images in ${doc.region}, ${doc.architecture}, ` +
      `resize ${doc.memoryMb.resize} MB, publish ${doc.memoryMb.publish} MB`,
    '',
    line(header),
    line(widths.map((w) => '-'.repeat(w))),
    ...rows.map(line),
    '',
    `Lambda ${usd(report.byService.lambda)}   SQS ${usd(report.byService.sqs)}   S3 ${usd(report.byService.s3)}`,
    `TOTAL ${usd(report.totalUsd)} per month (${usd(report.perImageUsd * 1000)} per 1,000 images); ` +
      `without S3 storage ${usd(report.totalUsd - storageUsd(report))}`,
    '',
    'Assumptions:',
    ...doc.assumptions.map((a) => `  - ${a}`),
    `Prices: src/tools/prices.ts (list prices read ${doc.prices.read}; no free tier).${unconfirmed}`,
  ];
  return `${out.join('\n')}\n`;
}

/** Prints the report (text, or JSON with `json`). Returns the exit code. */
export function costCommand(opts: CostCommandOptions): number {
  const result = buildCostReport(opts);
  process.stdout.write(opts.json ? `${JSON.stringify(result.document, null, 2)}\n` : result.text);
  return 0;
}
