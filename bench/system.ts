/**
 * Whole-system figures: handler cold init under aws-lambda-ric, warm per-image latency through the
 * Runtime API, local chain throughput against the core alone, and the CDKTF stack's synth time.
 */
import { ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { mapWithConcurrency } from '../src/core/concurrency';
import { DEFAULT_LIMITS } from '../src/core/limits';
import { resizeImage } from '../src/core/pipeline';
import { DEFAULT_VARIANTS } from '../src/core/variants';
import { startLocalChain, type LocalChain } from '../src/local/chain';
import { containerLauncher } from '../src/local/cloud/lambda/container-host';
import { startLocalFunction, type SandboxLauncher } from '../src/local/cloud/lambda/function-host';
import { localAwsEnv } from '../src/local/client-config';
import type { InvokeResult, LogSink } from '../src/local/cloud/lambda/invoke-contract';
import { rotate, summarize, type Summary } from './stats';
import { chainBreakdown, type ChainBreakdown, type TimedLine, type UploadTiming } from './chain-breakdown';
import { allowedCpus, coreSplit, pinProcess, type CoreSplit } from './cpu-affinity';
import { measureRequestCosts, type RequestCosts } from './request-cost';

const ROOT = path.join(__dirname, '..');
export const HANDLERS_DIR = path.join(ROOT, 'dist', 'handlers');
export const NOOP_DIR = path.join(__dirname, 'fixtures', 'noop');

/** Builds the handler bundles as `npm run build` does. Returns the build's wall time. */
export function buildBundles(): number {
  const t0 = performance.now();
  const res = spawnSync(process.execPath, [path.join(ROOT, 'scripts', 'build.mjs')], { cwd: ROOT, encoding: 'utf8' });
  if (res.status !== 0) throw new Error(`build failed: ${res.stderr || res.stdout}`);
  return performance.now() - t0;
}

/** Starts one sandbox and resolves with its INIT_REPORT: process (or container) start to first /next. */
async function initOnce(
  handler: string,
  taskRoot: string,
  env: Record<string, string>,
  launcher?: SandboxLauncher,
): Promise<number> {
  let report: (ms: number) => void = () => undefined;
  let fail: (err: Error) => void = () => undefined;
  const done = new Promise<number>((resolve, reject) => {
    report = resolve;
    fail = reject;
  });
  const logSink: LogSink = (line) => {
    const record = line as { type?: string; status?: string; initDurationMs?: number };
    if (record.type !== 'INIT_REPORT') return;
    if (record.status === 'ok' && typeof record.initDurationMs === 'number') report(record.initDurationMs);
    else fail(new Error(`init ${record.status ?? 'failed'}`));
  };
  const fn = await startLocalFunction({
    name: 'bench-init',
    handler,
    taskRoot,
    env,
    logSink,
    launcher,
    initTimeoutMs: 30_000,
  });
  try {
    return await done;
  } finally {
    await fn.stop();
  }
}

/** One thing whose start-up is timed: a bundle run as a process, or an image run as a container. */
export interface StartUpTarget {
  name: string;
  /** Handler as Lambda names it, e.g. 'resize.handler'. */
  handler: string;
  /** Folder holding the bundle (process sandboxes). */
  taskRoot?: string;
  /** Image to run instead (container sandboxes, `docker run --read-only`, as the local cloud runs them). */
  image?: string;
  env?: Record<string, string>;
}

/**
 * Start-up (spawn of the process or `docker run` -> first Runtime API /next) of each target,
 * `rounds` times, the order rotated every round so no target always goes first. Per-target samples
 * in ms, in the order taken.
 */
export async function measureStartUp(
  targets: readonly StartUpTarget[],
  rounds: number,
): Promise<Record<string, number[]>> {
  const samples: Record<string, number[]> = Object.fromEntries(targets.map((t) => [t.name, []]));
  for (let round = 0; round < rounds; round += 1) {
    for (const t of rotate(targets, round)) {
      const launcher = t.image ? containerLauncher({ image: t.image }) : undefined;
      samples[t.name].push(await initOnce(t.handler, t.taskRoot ?? ROOT, t.env ?? {}, launcher));
    }
  }
  return samples;
}

/** Environment the resize, publish and upload handlers validate at init; nothing is contacted before an invocation. */
export function handlerInitEnv(): Record<string, string> {
  return {
    ...localAwsEnv('http://127.0.0.1:9'),
    OUTPUT_BUCKET: 'bench-output',
    SOURCE_BUCKET: 'bench-source',
    RESIZED_QUEUE_URL: 'http://127.0.0.1:9/000000000000/resized',
    REJECTED_QUEUE_URL: 'http://127.0.0.1:9/000000000000/rejected',
  };
}

export interface ColdInitResult {
  resize: Summary;
  noDependency: Summary;
  ratio: number;
}

/** Alternates cold starts of the bundled resize handler and a no-dependency handler. */
export async function measureColdInit(rounds: number): Promise<ColdInitResult> {
  // Config the resize handler validates at init; nothing is contacted before an invocation.
  const env = handlerInitEnv();
  const samples: Record<'resize' | 'noop', number[]> = { resize: [], noop: [] };
  const kinds = ['resize', 'noop'] as const;
  for (let round = 0; round < rounds; round += 1) {
    for (const kind of rotate(kinds, round)) {
      samples[kind].push(
        kind === 'resize'
          ? await initOnce('resize.handler', HANDLERS_DIR, env)
          : await initOnce('noop.handler', NOOP_DIR, {}),
      );
    }
  }
  const resize = summarize(samples.resize);
  const noDependency = summarize(samples.noop);
  return { resize, noDependency, ratio: resize.median / noDependency.median };
}

export interface ChainResult {
  /** Resize handler invoked directly (one S3 record per invocation), after one warm-up invocation. */
  warmInvokeMs: Summary;
  /** Core alone on the same image in this process, same count. */
  warmCoreMs: Summary;
  images: number;
  /** Upload of every image to the last manifest written, through the whole local chain (the median burst). */
  chainSeconds: number;
  chainImagesPerSecond: number;
  /** images/s of every measured burst, in order (absent from runs that measured one). */
  burstImagesPerSecond?: number[];
  /**
   * resizeImage over the same images in this process, with the chain's resize parallelism, after each measured burst
   * of the first chain (alternated with them): the run of median duration.
   */
  coreSeconds: number;
  coreImagesPerSecond: number;
  /** images/s of every core run, in order (absent from runs that timed the core once, after the chains). */
  coreRunsImagesPerSecond?: number[];
  /**
   * CPU ms (user + system, all threads) of that core run: the work the chain cannot avoid, beside the chain's
   * processes' CPU (cpuMsByRole). Absent from runs before it was measured.
   */
  coreCpuMs?: number;
  parallelism: number;
  /** Where the chain's time went in the throughput run, from its own log lines (bench/chain-breakdown.ts). */
  breakdown?: ChainBreakdown;
  /** CPU ms of the chain's processes during the throughput run, by role (the driver, the stand-in, sandboxes). */
  cpuMsByRole?: Record<string, number>;
  /** S3 and SQS requests through the gateway during the throughput run, by `service:Operation` (requestsDuring). */
  requestsByOperation?: Record<string, number>;
  /** CPU of one S3 request of each kind the chain makes, through the same chain after its bursts. */
  requestCosts?: RequestCosts;
  /**
   * The same uploads through a second chain whose two mappings wait up to `windowSeconds` to fill a batch (the
   * module's default is no window), to show what a window costs a burst.
   */
  windowRun?: {
    windowSeconds: number;
    chainSeconds: number;
    chainImagesPerSecond: number;
    burstImagesPerSecond: number[];
    breakdown: ChainBreakdown;
    cpuMsByRole: Record<string, number>;
    requestsByOperation: Record<string, number>;
  };
  /**
   * The same chain (module's defaults) with its resize sandboxes on a core of their own and every other process of
   * the chain on the rest, against the core alone on that same core (bench/cpu-affinity.ts): what the chain costs the
   * function when the local S3, SQS and gateway do not take its CPU, as on AWS. Absent where the machine cannot be
   * split (`ownCoreUnavailable` says why) and from runs before it was measured.
   */
  ownCore?: OwnCoreRun;
  ownCoreUnavailable?: string;
}

/** The chain with its function on a core of its own (ChainResult.ownCore). */
export interface OwnCoreRun {
  functionCpus: string;
  serviceCpus: string;
  chainSeconds: number;
  chainImagesPerSecond: number;
  burstImagesPerSecond: number[];
  breakdown: ChainBreakdown;
  cpuMsByRole: Record<string, number>;
  requestsByOperation: Record<string, number>;
  /**
   * resizeImage over the same images, `parallelism` at a time, in the driver pinned to `functionCpus`, after each
   * burst: the run of median duration, and every run's images/s in order.
   */
  coreSeconds: number;
  coreImagesPerSecond: number;
  coreRunsImagesPerSecond: number[];
  coreCpuMs: number;
}

/** An S3 ObjectCreated:Put record as S3 notifies it. */
export function s3Record(bucket: string, key: string, size: number, eTag: string): unknown {
  return {
    eventVersion: '2.1',
    eventSource: 'aws:s3',
    awsRegion: 'us-east-1',
    eventTime: new Date().toISOString(),
    eventName: 'ObjectCreated:Put',
    s3: {
      s3SchemaVersion: '1.0',
      bucket: { name: bucket, arn: `arn:aws:s3:::${bucket}` },
      object: { key, size, eTag, sequencer: '0' },
    },
  };
}

/**
 * Stops the chain's own ingest mapping (as `aws lambda update-event-source-mapping --no-enabled` does)
 * while a bench invokes the resize function itself with sources under the watched prefix: so that
 * only the bench's invocation handles them. Resolves with how to start it again.
 */
export async function holdIngest(chain: LocalChain): Promise<() => Promise<void>> {
  await chain.mappings.ingest.setEnabled(false);
  return () => chain.mappings.ingest.setEnabled(true);
}

/**
 * Puts a source for a direct invocation under the chain's watched prefix, the only one the module
 * lets the resize role read (IAM is enforced, as on AWS; hold the ingest mapping first, holdIngest),
 * and answers its S3 notification record.
 */
export async function putDirectSource(
  chain: LocalChain,
  name: string,
  body: Buffer,
  contentType: string,
): Promise<unknown> {
  const bucket = chain.resources.buckets.source;
  const key = `${chain.uploadsPrefix}bench-direct/${name}`;
  const put = await chain.s3.send(
    new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentType: contentType }),
  );
  return s3Record(bucket, key, body.length, (put.ETag ?? '').replace(/"/g, ''));
}

/** The records a resize invocation reported failed (`batchItemFailures`); every record when the invocation failed. */
export function failedRecords(result: InvokeResult, records: number): number {
  if (!result.ok) return records;
  return (result.payload as { batchItemFailures?: unknown[] } | undefined)?.batchItemFailures?.length ?? 0;
}

function sqsEvent(body: unknown, queueArn: string): unknown {
  return sqsEventOf([body], queueArn);
}

/** An SQS event as the mapping delivers it: one record per body (JSON-encoded), from the queue `queueArn`. */
export function sqsEventOf(bodies: readonly unknown[], queueArn: string): unknown {
  return {
    Records: bodies.map((body) => ({
      messageId: `${Date.now()}-${Math.random()}`,
      receiptHandle: 'bench',
      body: JSON.stringify(body),
      attributes: {
        ApproximateReceiveCount: '1',
        SentTimestamp: String(Date.now()),
        SenderId: 'bench',
        ApproximateFirstReceiveTimestamp: String(Date.now()),
      },
      messageAttributes: {},
      md5OfBody: '',
      eventSource: 'aws:sqs',
      eventSourceARN: queueArn,
      awsRegion: 'us-east-1',
    })),
  };
}

async function countManifests(s3: S3Client, bucket: string, prefix: string): Promise<number> {
  let count = 0;
  let token: string | undefined;
  do {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
    count += (page.Contents ?? []).filter((o) => o.Key?.endsWith('manifest.json')).length;
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return count;
}

/** CPU ms (user + system) so far of this process and each of its descendants, by pid, with their command lines. */
export function processTreeCpu(): Map<number, { command: string; cpuMs: number }> {
  const ticksPerSecond = 100; // USER_HZ: 100 on every Linux this runs on
  const stats = new Map<number, { ppid: number; cpuMs: number }>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      stats.set(Number(entry), {
        ppid: Number(fields[1]),
        cpuMs: ((Number(fields[11]) + Number(fields[12])) * 1000) / ticksPerSecond,
      });
    } catch {
      // The process ended between the listing and the read.
    }
  }
  const tree = new Set([process.pid]);
  for (let grew = true; grew;) {
    grew = false;
    for (const [pid, s] of stats)
      if (tree.has(s.ppid) && !tree.has(pid)) {
        tree.add(pid);
        grew = true;
      }
  }
  const out = new Map<number, { command: string; cpuMs: number }>();
  for (const pid of tree) {
    let command: string;
    try {
      command = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ').trim();
    } catch {
      continue;
    }
    out.set(pid, { command, cpuMs: stats.get(pid)?.cpuMs ?? 0 });
  }
  return out;
}

/** The role of the resize function's sandboxes in cpuByRole. */
export const RESIZE_SANDBOXES_ROLE = 'resize sandboxes';
const DRIVER_ROLE = 'driver: gateway, mappings, the uploading client';
const STANDIN_ROLE = 'S3/SQS stand-in (fauxqs)';

/** What a process of the local chain is, from its command line (the driver itself: gateway, mappings, client). */
function roleOf(pid: number, command: string): string {
  if (pid === process.pid) return DRIVER_ROLE;
  if (/standin-server/.test(command)) return STANDIN_ROLE;
  if (/aws-lambda-ric|runtime/.test(command) && /resize/.test(command)) return RESIZE_SANDBOXES_ROLE;
  if (/aws-lambda-ric|runtime/.test(command) && /publish/.test(command)) return 'publish sandbox';
  return 'other';
}

/** CPU ms spent between two processTreeCpu() readings, summed by role. */
export function cpuByRole(
  before: ReturnType<typeof processTreeCpu>,
  after: ReturnType<typeof processTreeCpu>,
): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [pid, a] of after) {
    const spent = a.cpuMs - (before.get(pid)?.cpuMs ?? 0);
    if (spent <= 0) continue;
    const role = roleOf(pid, a.command);
    out[role] = (out[role] ?? 0) + spent;
  }
  return out;
}

/**
 * The S3 and SQS requests the gateway served between two readings of its counters, by `service:Operation`: the
 * uploads, both functions' calls and the mappings' polls (the notification router sends to the stand-in directly).
 */
export function requestsDuring(
  before: Readonly<Record<string, number>>,
  after: Readonly<Record<string, number>>,
): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [operation, count] of Object.entries(after)) {
    const served = count - (before[operation] ?? 0);
    if (served > 0) out[operation] = served;
  }
  return out;
}

/** The batching window (s) of the chain measured beside the module's defaults (the module's default until issue 17). */
const COMPARISON_WINDOW_SECONDS = 1;
/** One run of the core alone over a burst's images: wall seconds and CPU ms. */
interface CoreRun {
  seconds: number;
  cpuMs: number;
}

/** The run of median duration (the upper middle one of an even count). */
function medianBySeconds<T extends { seconds: number }>(runs: readonly T[]): T {
  return [...runs].sort((a, b) => a.seconds - b.seconds)[Math.floor(runs.length / 2)];
}

/** Measured bursts per chain (after one that warms every sandbox and the driver's code): their median is reported. */
const BURSTS = 3;

/**
 * Warm latency of the resize handler under aws-lambda-ric, and throughput of the whole local chain
 * (upload -> notification -> SQS -> resize -> SQS -> publish manifest) against the core alone.
 */
export async function measureChain(
  image: Buffer,
  invocations: number,
  images: number,
  resizeEnv: Record<string, string> = {},
): Promise<ChainResult> {
  const parallelism = 2;
  const lines: TimedLine[] = [];
  let recording = false;
  // The throughput run's end, seen in the publish function's own "manifest published" lines (see throughputRun).
  const published = new Set<string>();
  let watch: { prefix: string; count: number; done: () => void } | undefined;
  const notePublished = (line: Record<string, unknown>) => {
    const inner = line.line as { message?: unknown; key?: unknown } | undefined;
    if (!watch || line.source !== 'publish' || inner?.message !== 'manifest published') return;
    if (typeof inner.key !== 'string' || !inner.key.startsWith(watch.prefix)) return;
    published.add(inner.key);
    if (published.size >= watch.count) watch.done();
  };
  /** A local chain with the module's defaults, or with both stages' batching windows at `windowSeconds`. */
  const startChain = (windowSeconds?: number) => {
    const window = windowSeconds === undefined ? {} : { maximumBatchingWindowSeconds: windowSeconds };
    return startLocalChain({
      handlersDir: HANDLERS_DIR,
      resize: { concurrency: parallelism, env: resizeEnv, ...window },
      publish: { concurrency: 1, ...window },
      logSink: (line) => {
        if (recording) lines.push({ at: Date.now(), line });
        notePublished(line);
      },
    });
  };

  /**
   * `images` uploads at once, to the last manifest: the end is seen in the publish function's "manifest published"
   * lines, then checked once by listing the output bucket (listing it every 50 ms while the chain works, as this bench
   * did before issue 17, costs the gateway and the stand-in ~6 ms of CPU a listing, taken from the resize work).
   */
  const throughputRun = async (chain: LocalChain, name: string) => {
    const prefix = `${chain.uploadsPrefix}bench-throughput-${name}/`;
    const outputPrefix = `${chain.outputPrefix}${prefix}`;
    const output = chain.resources.buckets.output;
    lines.length = 0;
    published.clear();
    let allPublished: () => void = () => undefined;
    const seen = new Promise<void>((resolve) => (allPublished = resolve));
    watch = { prefix: outputPrefix, count: images, done: allPublished };
    recording = true;
    const requestsBefore = chain.gateway.counters().requests;
    const cpuBefore = processTreeCpu();
    const uploads: UploadTiming[] = [];
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: images }, async (_, i) => {
        const key = `${prefix}${i}.jpg`;
        const sentAt = Date.now();
        await chain.s3.send(
          new PutObjectCommand({
            Bucket: chain.resources.buckets.source,
            Key: key,
            Body: image,
            ContentType: 'image/jpeg',
          }),
        );
        uploads.push({ key, sentAt, answeredAt: Date.now() });
      }),
    );
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('chain throughput: not every manifest published in 300 s')), 300_000);
    });
    await Promise.race([seen, late]).finally(() => clearTimeout(timer));
    const seconds = (performance.now() - t0) / 1000;
    const endedAt = Date.now();
    recording = false;
    watch = undefined;
    const cpu = cpuByRole(cpuBefore, processTreeCpu());
    const requests = requestsDuring(requestsBefore, chain.gateway.counters().requests);
    const listed = await countManifests(chain.s3, output, outputPrefix);
    if (listed < images) throw new Error(`chain throughput: ${listed} of ${images} manifests in the output bucket`);
    return { seconds, cpu, requests, breakdown: chainBreakdown(lines, uploads, endedAt, parallelism) };
  };

  /**
   * One unmeasured burst (it warms every sandbox and the driver's code), then BURSTS bursts one after the other, each
   * followed by `afterEachBurst` (outside the timed burst); the one of median duration, with every measured burst's
   * images/s beside it.
   */
  const medianBurst = async (chain: LocalChain, name: string, afterEachBurst?: () => Promise<void>) => {
    await throughputRun(chain, `${name}-warm-up`);
    const runs: Awaited<ReturnType<typeof throughputRun>>[] = [];
    for (let i = 0; i < BURSTS; i += 1) {
      runs.push(await throughputRun(chain, `${name}-${i}`));
      await afterEachBurst?.();
    }
    return { ...medianBySeconds(runs), burstImagesPerSecond: runs.map((r) => images / r.seconds) };
  };

  /** The core alone over the burst's images, `parallelism` at a time, in this process: seconds and CPU ms. */
  const coreRun = async (): Promise<CoreRun> => {
    const c0 = performance.now();
    const cpu0 = process.cpuUsage();
    await mapWithConcurrency(
      Array.from({ length: images }, () => image),
      parallelism,
      (buf) => resizeImage(buf, DEFAULT_VARIANTS, DEFAULT_LIMITS),
    );
    const cpu = process.cpuUsage(cpu0);
    return { seconds: (performance.now() - c0) / 1000, cpuMs: (cpu.user + cpu.system) / 1000 };
  };

  /**
   * The chain's resize sandboxes pinned to the function's core and every other process of it (this driver with the
   * gateway, mappings and uploading client; the stand-in; publish) to the rest: one warm-up burst, then BURSTS bursts,
   * each followed by the core alone in this process pinned to the function's core (alternated, so both see the same
   * moments of a shared machine); the burst and the core run of median duration. Every process gets all CPUs back
   * after. A sandbox started during the run (a replaced one) would run unpinned: the run fails rather than report it.
   */
  const ownCoreRun = async (chain: LocalChain, cores: CoreSplit): Promise<OwnCoreRun> => {
    const isResize = ([pid, p]: [number, { command: string }]) => roleOf(pid, p.command) === RESIZE_SANDBOXES_ROLE;
    const tree = [...processTreeCpu()];
    if (!tree.some(isResize)) throw new Error('own-core run: no resize sandbox is running to pin');
    try {
      for (const entry of tree) pinProcess(entry[0], isResize(entry) ? cores.functionCpus : cores.serviceCpus);
      const coreRuns: CoreRun[] = [];
      const burst = await medianBurst(chain, 'own-core', async () => {
        pinProcess(process.pid, cores.functionCpus);
        coreRuns.push(await coreRun());
        pinProcess(process.pid, cores.serviceCpus);
      });
      const after = [...processTreeCpu()].filter(isResize);
      const unpinned = after.filter(([pid]) => allowedCpus(pid) !== cores.functionCpus).map(([pid]) => pid);
      if (unpinned.length > 0) throw new Error(`own-core run: resize sandboxes ${unpinned.join(', ')} ran unpinned`);
      const core = medianBySeconds(coreRuns);
      return {
        functionCpus: cores.functionCpus,
        serviceCpus: cores.serviceCpus,
        chainSeconds: burst.seconds,
        chainImagesPerSecond: images / burst.seconds,
        burstImagesPerSecond: burst.burstImagesPerSecond,
        breakdown: burst.breakdown,
        cpuMsByRole: burst.cpu,
        requestsByOperation: burst.requests,
        coreSeconds: core.seconds,
        coreImagesPerSecond: images / core.seconds,
        coreRunsImagesPerSecond: coreRuns.map((c) => images / c.seconds),
        coreCpuMs: core.cpuMs,
      };
    } finally {
      for (const pid of processTreeCpu().keys()) pinProcess(pid, cores.allCpus);
    }
  };

  const split = coreSplit();
  if ('unavailable' in split) process.stderr.write(`[chain] no own-core run: ${split.unavailable}\n`);
  let ownCore: OwnCoreRun | undefined;
  // The core alone after each measured burst of the first chain (alternated with them).
  const sharedCoreRuns: CoreRun[] = [];
  const invokeMs: number[] = [];
  const coreMs: number[] = [];
  let defaults: Awaited<ReturnType<typeof medianBurst>>;
  let requestCosts: RequestCosts | undefined;
  const chain = await startChain();
  try {
    // Only our direct invocations process these: the ingest mapping is held meanwhile.
    const releaseIngest = await holdIngest(chain);
    for (let i = 0; i <= invocations; i += 1) {
      const record = await putDirectSource(chain, `${i}.jpg`, image, 'image/jpeg');
      const t0 = performance.now();
      const result = await chain.functions.resize.invoke(
        sqsEvent({ Records: [record] }, chain.resources.queues.ingest.arn),
      );
      const ms = performance.now() - t0;
      if (failedRecords(result, 1) > 0) throw new Error(`resize invocation failed: ${JSON.stringify(result)}`);
      const c0 = performance.now();
      await resizeImage(image, DEFAULT_VARIANTS, DEFAULT_LIMITS);
      const cms = performance.now() - c0;
      if (i > 0) {
        invokeMs.push(ms);
        coreMs.push(cms);
      }
    }
    // The held notifications of those sources are then handled (their outputs exist: skipped as duplicates).
    await releaseIngest();
    await chain.waitForIdle(120_000);
    // Its warm-up burst also warms the sandboxes the direct invocations above did not reach.
    defaults = await medianBurst(chain, 'defaults', async () => {
      sharedCoreRuns.push(await coreRun());
    });
    requestCosts = await measureRequestCosts(chain, image, 'bench-request-cost/', () => {
      const tree = [...processTreeCpu()];
      return tree.reduce(
        (ms, [pid, p]) => ([DRIVER_ROLE, STANDIN_ROLE].includes(roleOf(pid, p.command)) ? ms + p.cpuMs : ms),
        0,
      );
    });
    if (!('unavailable' in split)) ownCore = await ownCoreRun(chain, split);
  } finally {
    await chain.stop();
  }
  // The same uploads through a chain whose mappings wait to fill their batches.
  const windowedChain = await startChain(COMPARISON_WINDOW_SECONDS);
  let windowed: Awaited<ReturnType<typeof medianBurst>>;
  try {
    windowed = await medianBurst(windowedChain, 'window');
  } finally {
    await windowedChain.stop();
  }

  const core = medianBySeconds(sharedCoreRuns);
  return {
    warmInvokeMs: summarize(invokeMs),
    warmCoreMs: summarize(coreMs),
    images,
    chainSeconds: defaults.seconds,
    chainImagesPerSecond: images / defaults.seconds,
    coreSeconds: core.seconds,
    coreImagesPerSecond: images / core.seconds,
    coreRunsImagesPerSecond: sharedCoreRuns.map((r) => images / r.seconds),
    coreCpuMs: core.cpuMs,
    parallelism,
    burstImagesPerSecond: defaults.burstImagesPerSecond,
    breakdown: defaults.breakdown,
    cpuMsByRole: defaults.cpu,
    requestsByOperation: defaults.requests,
    ...(requestCosts ? { requestCosts } : {}),
    windowRun: {
      windowSeconds: COMPARISON_WINDOW_SECONDS,
      chainSeconds: windowed.seconds,
      chainImagesPerSecond: images / windowed.seconds,
      burstImagesPerSecond: windowed.burstImagesPerSecond,
      breakdown: windowed.breakdown,
      cpuMsByRole: windowed.cpu,
      requestsByOperation: windowed.requests,
    },
    ...(ownCore ? { ownCore } : {}),
    ...('unavailable' in split ? { ownCoreUnavailable: split.unavailable } : {}),
  };
}

/** Wall time of `tsx main.ts` (the example stacks' synth), `runs` times. */
export function measureSynth(runs: number): Summary {
  const tsx = path.join(ROOT, 'node_modules', 'tsx', 'dist', 'cli.mjs');
  const samples: number[] = [];
  for (let i = 0; i < runs; i += 1) {
    const t0 = performance.now();
    const res = spawnSync(process.execPath, [tsx, 'main.ts'], { cwd: ROOT, encoding: 'utf8' });
    if (res.status !== 0) throw new Error(`synth failed: ${(res.stderr || res.stdout).slice(-500)}`);
    samples.push(performance.now() - t0);
  }
  return summarize(samples);
}
