/**
 * Lambda-shaped figures: the resize function's own container image run as Lambda would run it at 1,024 MB and
 * 2,048 MB (`docker run --memory <MB>m --memory-swap <MB>m --cpus <MB / 1,769>`: Lambda gives one vCPU per 1,769 MB),
 * invoked through our Runtime API with its sources in the local cloud's S3 and its variants written back there.
 *
 *   tsx bench/lambda-shaped.ts [--image image-resize-chain/resize:latest] [--rounds 5] [--inputs ID,ID]
 *                              [--arm64-image image-resize-chain/resize:latest-arm64] [--out bench/results.md]
 *
 * Per bench source (bench/inputs.ts) one local chain per memory size runs at the same time, and the two are invoked
 * in turn, A B A B (the order rotated each round), so both sizes see the same machine load. Each invocation carries
 * one image (a fresh key, so the idempotency check never skips the work), after one warm-up invocation per chain.
 * Per source and size: the invocation's duration as the Runtime API measures it (the figure Lambda bills, from the
 * event handed out on /next to the response), its median (p50) and range, billed GB-s per image (duration rounded
 * up to the ms × memory in GB), and the peak charge of the container's memory cgroup over the whole run
 * (bench/peak-memory.ts, as bench/worst-case-memory.ts reads it).
 *
 * With an arm64 image present, one invocation of it under QEMU checks that it works (outputs written), untimed:
 * emulation says nothing about Graviton's speed.
 *
 * Writes bench/lambda-shaped.json (run id, machine, date, figures: `resize-chain cost` reads it) and the
 * `lambda-shaped` section of the report. Needs Docker; run it under `flock /tmp/irc-docker.lock`.
 */
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { randomBytes } from 'node:crypto';
import { existsSync, promises as fs, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DEFAULT_RESIZE_CONCURRENCY, STAGE_DEFAULTS } from '../modules/image-resize-chain';
import { startLocalChain, type LocalChain } from '../src/local/chain';
import { dockerAvailable, dockerClient, imageExists } from '../src/local/cloud/lambda/container-host';
import { MB_PER_VCPU } from '../src/tools/cost';
import { LAMBDA_SHAPED_FILE, type LambdaShapedDoc, type LambdaShapedRow } from '../src/tools/lambda-shaped';
import { BENCH_INPUTS, megapixels, prepareInputs, type BenchInput } from './inputs';
import { writeSection } from './sections';
import { rotate, summarize } from './stats';
import { failedRecords, HANDLERS_DIR, holdIngest, putDirectSource, sqsEventOf } from './system';
import { recordContainerMemory, resizeContainerPid } from './worst-case-memory';

/** The two memory sizes the issue asks for. */
export const LAMBDA_SHAPED_MEMORY_MB = [1024, 2048] as const;
const CONTENT_TYPES: Record<string, string> = { jpeg: 'image/jpeg', png: 'image/png', webp: 'image/webp' };

function log(message: string): void {
  process.stderr.write(`[lambda-shaped] ${message}\n`);
}

/** `docker run --cpus` for a memory size: Lambda's share, 1 vCPU per 1,769 MB. */
export function cpusFor(memoryMb: number): string {
  return (memoryMb / MB_PER_VCPU).toFixed(2);
}

/** One chain of the run: its resize container limited as Lambda limits a function of `memoryMb`. */
interface Lane {
  memoryMb: number;
  cpus: string;
  prefix: string;
  chain: LocalChain;
  durations: number[];
  failures: number;
  peakMiB?: number;
  oomKilled: boolean;
  next: number;
  /** A failed invocation was logged (once per lane, with what the function answered). */
  failureShown?: boolean;
}

async function startLane(image: string, memoryMb: number, prefix: string, extraRunArgs: string[] = []): Promise<Lane> {
  const cpus = cpusFor(memoryMb);
  const chain = await startLocalChain({
    handlersDir: HANDLERS_DIR,
    namePrefix: prefix,
    containers: { resizeImage: image, runArgs: ['--cpus', cpus, ...extraRunArgs] },
    resize: {
      concurrency: 1,
      memoryMb,
      timeoutSeconds: STAGE_DEFAULTS.resize.timeout,
      env: { CONCURRENCY: String(DEFAULT_RESIZE_CONCURRENCY) },
    },
    publish: { concurrency: 1 },
  });
  await holdIngest(chain); // only the bench's own invocations handle its sources
  return { memoryMb, cpus, prefix, chain, durations: [], failures: 0, oomKilled: false, next: 0 };
}

/** Uploads one fresh copy of the source and invokes the resize function with it (putDirectSource). */
async function invokeOnce(lane: Lane, body: Buffer, contentType: string): Promise<{ ms: number; ok: boolean }> {
  const name = `lambda-shaped-${lane.next++}-${randomBytes(4).toString('hex')}`;
  const record = await putDirectSource(lane.chain, name, body, contentType);
  const result = await lane.chain.functions.resize.invoke(
    sqsEventOf([{ Records: [record] }], lane.chain.resources.queues.ingest.arn),
  );
  const ok = failedRecords(result, 1) === 0;
  if (!ok && !lane.failureShown) {
    lane.failureShown = true;
    log(`${lane.prefix}: invocation failed: ${JSON.stringify(result).slice(0, 500)}`);
  }
  return { ms: result.durationMs, ok };
}

/** The least time between two lookups of a lane's container pid (each runs the docker CLI twice). */
const PID_LOOKUP_INTERVAL_MS = 1000;

/**
 * Polls the lanes' container cgroups every 100 ms until stopped. A lane's container pid is looked up once, and
 * again only when that process is gone (a replaced sandbox): a lookup runs `docker ps` and `docker inspect`
 * synchronously, and when every poll did so (until 2026-12-07), those processes took CPU from the container being
 * timed and blocked this process, the gateway and Runtime API included. Durations read 1.5-1.7x too long (at
 * 2,048 MB, two runs minutes apart: the 12 MP JPEG 607 -> 401 ms, the PNG with alpha 1,259 -> 728 ms).
 */
function watchMemory(lanes: Lane[]): () => Promise<void> {
  const docker = dockerClient();
  const pids = new Map<Lane, { pid?: number; lookedUpAt: number }>();
  const pidOf = (lane: Lane): number | undefined => {
    const known = pids.get(lane);
    if (known?.pid !== undefined && existsSync(`/proc/${known.pid}`)) return known.pid;
    if (known && Date.now() - known.lookedUpAt < PID_LOOKUP_INTERVAL_MS) return undefined;
    const pid = resizeContainerPid(docker, lane.prefix);
    pids.set(lane, { pid, lookedUpAt: Date.now() });
    return pid;
  };
  let polling = true;
  const done = (async () => {
    while (polling) {
      for (const lane of lanes) {
        const pid = pidOf(lane);
        if (pid) recordContainerMemory(pid, lane);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  return async () => {
    polling = false;
    await done;
  };
}

function rowOf(input: BenchInput, lane: Lane): LambdaShapedRow {
  const s = lane.durations.length > 0 ? summarize(lane.durations) : undefined;
  const billedMs = s ? Math.ceil(s.median) : undefined;
  return {
    input: input.id,
    description: input.description,
    megapixels: megapixels(input),
    memoryMb: lane.memoryMb,
    cpus: Number(lane.cpus),
    samples: lane.durations.length,
    p50Ms: s?.median,
    minMs: s?.min,
    maxMs: s?.max,
    billedGbSecondsPerImage: billedMs === undefined ? undefined : (billedMs / 1000) * (lane.memoryMb / 1024),
    peakMiB: lane.peakMiB,
    oomKilled: lane.oomKilled,
    failures: lane.failures,
  };
}

/** Both sizes on one source, interleaved. */
async function measureInput(
  image: string,
  input: BenchInput,
  file: string,
  rounds: number,
): Promise<LambdaShapedRow[]> {
  const body = readFileSync(file);
  const contentType = CONTENT_TYPES[input.options.format];
  const index = BENCH_INPUTS.indexOf(input);
  const lanes = await Promise.all(
    LAMBDA_SHAPED_MEMORY_MB.map((mb) => startLane(image, mb, `ls${mb}-${index}-${input.id}`.slice(0, 24))),
  );
  const stopWatching = watchMemory(lanes);
  try {
    for (const lane of lanes) {
      const warm = await invokeOnce(lane, body, contentType);
      if (!warm.ok) lane.failures += 1;
    }
    for (let round = 0; round < rounds; round += 1) {
      for (const lane of rotate(lanes, round)) {
        const { ms, ok } = await invokeOnce(lane, body, contentType);
        if (ok) lane.durations.push(ms);
        else lane.failures += 1;
      }
    }
  } finally {
    await stopWatching();
    await Promise.all(lanes.map((lane) => lane.chain.stop()));
  }
  return lanes.map((lane) => rowOf(input, lane));
}

/** One untimed invocation of the arm64 image under emulation: does it resize and write every variant? */
async function arm64Check(image: string, file: string): Promise<LambdaShapedDoc['arm64']> {
  const lane = await startLane(image, 2048, 'ls-arm64', ['--platform', 'linux/arm64']);
  try {
    const { ok } = await invokeOnce(lane, readFileSync(file), 'image/jpeg');
    const listed = await lane.chain.s3.send(new ListObjectsV2Command({ Bucket: lane.chain.resources.buckets.output }));
    return { image, ok, objectsWritten: listed.KeyCount ?? 0 };
  } catch (err) {
    return { image, ok: false, objectsWritten: 0, error: err instanceof Error ? err.message : String(err) };
  } finally {
    await lane.chain.stop();
  }
}

function machine(): LambdaShapedDoc['machine'] {
  const cpus = os.cpus();
  return {
    host: os.hostname(),
    cpu: cpus[0]?.model ?? 'unknown',
    cores: cpus.length,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    os: `${os.type()} ${os.release()}`,
    loadAverageAtStart: os.loadavg().map((l) => Math.round(l * 100) / 100),
  };
}

const f0 = (n: number | undefined) => (n === undefined ? '—' : n.toFixed(0));

/** The `lambda-shaped` section of the report. */
export function renderLambdaShaped(doc: LambdaShapedDoc): string {
  const lines = [
    "## Lambda-shaped figures (the resize image under Lambda's memory and CPU)",
    '',
    `Run ${doc.runId}, ${doc.generatedAt}, by bench/lambda-shaped.ts on ${doc.machine.cores} × ${doc.machine.cpu} ` +
      `(${doc.machine.os}); load average ${doc.machine.loadAverageAtStart.join(' / ')} at the start, ` +
      `${doc.machine.loadAverageAtEnd?.join(' / ') ?? '?'} at the end (a shared machine: the CPU share is a ceiling, ` +
      `not a guarantee). Image ${doc.image}${doc.imageId ? ` (${doc.imageId.slice(0, 19)})` : ''} under ` +
      '`docker run --memory <MB>m --memory-swap <MB>m --cpus <MB / 1,769>`, CONCURRENCY=' +
      `${doc.concurrency}, one image per invocation through the Runtime API, source read from and ${doc.variants} ` +
      `variants written to the local S3; ${doc.rounds} invocations per source and size after one warm-up, the two ` +
      'sizes invoked in turn. Duration: as the Runtime API measures it (event handed out → response), what ' +
      "Lambda bills. Billed GB-s: p50 rounded up to the ms × memory. Peak: the container memory cgroup's peak " +
      'charge (page cache included). `resize-chain cost` uses these durations (bench/lambda-shaped.json).',
    '',
    '| source | MB | vCPU | p50 ms (min–max) | billed GB-s per image | $ per 1M images (x86) ' +
      '| peak MiB | OOM | failures |',
    '|---|---:|---:|---|---:|---:|---:|---|---:|',
  ];
  for (const r of doc.rows) {
    const usd =
      r.billedGbSecondsPerImage === undefined ? '—' : (r.billedGbSecondsPerImage * 0.0000166667 * 1e6).toFixed(2);
    lines.push(
      `| ${r.input} | ${r.memoryMb} | ${r.cpus.toFixed(2)} | ${f0(r.p50Ms)} (${f0(r.minMs)}–${f0(r.maxMs)}) ` +
        `| ${r.billedGbSecondsPerImage?.toFixed(4) ?? '—'} | ${usd} | ${f0(r.peakMiB)} | ` +
        `${r.oomKilled ? '**yes**' : 'no'} | ${r.failures} |`,
    );
  }
  if (doc.arm64) {
    lines.push(
      '',
      `arm64 (functional check under QEMU, not timed): ${doc.arm64.image}: ` +
        (doc.arm64.ok
          ? `resized a 12 MP JPEG, ${doc.arm64.objectsWritten} objects written.`
          : `**failed**${doc.arm64.error ? `: ${doc.arm64.error}` : ''} ` +
            `(${doc.arm64.objectsWritten} objects written).`),
    );
  }
  return lines.join('\n');
}

async function main(): Promise<void> {
  const value = (flag: string) => {
    const at = process.argv.indexOf(flag);
    return at === -1 ? undefined : process.argv[at + 1];
  };
  const image = value('--image') ?? 'image-resize-chain/resize:latest';
  const arm64Image = value('--arm64-image') ?? 'image-resize-chain/resize:latest-arm64';
  const rounds = Number(value('--rounds') ?? 5);
  const out = path.resolve(value('--out') ?? path.join(__dirname, 'results.md'));
  const jsonOut = path.resolve(value('--json') ?? path.join(__dirname, '..', LAMBDA_SHAPED_FILE));
  const ids = value('--inputs')?.split(',');
  const docker = dockerClient();
  if (!dockerAvailable(docker) || !imageExists(image, docker)) {
    log(
      `SKIPPED: ${!dockerAvailable(docker) ? `no Docker engine (${docker})` : `${image} not built (npm run images)`}`,
    );
    process.exitCode = 1;
    return;
  }
  const inputs = ids ? BENCH_INPUTS.filter((i) => ids.includes(i.id)) : BENCH_INPUTS;
  const files = await prepareInputs(inputs, path.join(__dirname, '.cache', 'inputs'));
  const doc: LambdaShapedDoc = {
    runId: `${new Date().toISOString().replace(/[:.]/g, '').slice(0, 15)}-${randomBytes(3).toString('hex')}`,
    generatedAt: new Date().toISOString(),
    machine: machine(),
    image,
    imageId: (await import('node:child_process'))
      .spawnSync(docker, ['image', 'inspect', '--format', '{{.Id}}', image], { encoding: 'utf8' })
      .stdout.trim(),
    concurrency: DEFAULT_RESIZE_CONCURRENCY,
    variants: (await import('../src/core/variants')).DEFAULT_VARIANTS.length,
    rounds,
    rows: [],
  };
  for (const input of inputs) {
    log(`${input.id}: ${LAMBDA_SHAPED_MEMORY_MB.join(' and ')} MB, ${rounds} rounds`);
    const rows = await measureInput(image, input, files.get(input.id)!, rounds);
    for (const row of rows) log(JSON.stringify(row));
    doc.rows.push(...rows);
  }
  // A size without one successful invocation measured nothing: keep the figures of the last run.
  const empty = doc.rows.filter((row) => row.samples === 0);
  if (empty.length > 0) {
    log(`FAILED: no successful invocation for ${empty.map((r) => `${r.input} at ${r.memoryMb} MB`).join(', ')}`);
    log(`nothing written; ${path.relative(process.cwd(), jsonOut)} and the report keep the last run`);
    process.exitCode = 1;
    return;
  }
  if (imageExists(arm64Image, docker)) {
    log(`arm64 functional check: ${arm64Image}`);
    const jpeg = (await prepareInputs([BENCH_INPUTS[0]], path.join(__dirname, '.cache', 'inputs'))).get(
      BENCH_INPUTS[0].id,
    )!;
    doc.arm64 = await arm64Check(arm64Image, jpeg);
  } else log(`arm64 functional check skipped: ${arm64Image} not built (npm run images -- --platform linux/arm64)`);
  doc.machine.loadAverageAtEnd = os.loadavg().map((l) => Math.round(l * 100) / 100);
  await fs.writeFile(jsonOut, `${JSON.stringify(doc, null, 2)}\n`);
  const body = renderLambdaShaped(doc);
  writeSection(out, 'lambda-shaped', body);
  process.stdout.write(`${body}\n`);
}

if (require.main === module) {
  main().catch((err: unknown) => {
    process.stderr.write(
      `[lambda-shaped] failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
    );
    process.exit(1);
  });
}
