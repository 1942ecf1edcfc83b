/**
 * Worst cases inside the limits: peak memory of the resize function's container image on inputs
 * at the configured limits (DEFAULT_LIMITS), at the module's default memory size and CONCURRENCY.
 *
 *   tsx bench/worst-case-memory.ts [--out bench/results.md] [--only ID,ID]
 *
 * Each input is generated here with sharp (bench/.cache/worst-case/, never committed). For each
 * one a fresh local chain runs the resize image (`image-resize-chain/resize:latest`, npm run images)
 * as Lambda would: `docker run --memory <default MB>m --memory-swap <same> --cpus <Lambda's share>`,
 * polling our Runtime API; one invocation carries a batch of CONCURRENCY copies of the input (so
 * CONCURRENCY of them are decoded at once, the worst a batch can do). While it runs, the
 * container's memory cgroup is polled for its peak charge (bench/peak-memory.ts) and its OOM-kill
 * count. Writes the `worst-case-memory` section of the report (bench/sections.ts).
 *
 * Needs Docker; run it under `flock /tmp/irc-docker.lock` when other worktrees share the engine.
 */
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { spawnSync } from 'node:child_process';
import { existsSync, promises as fs, readFileSync } from 'node:fs';
import path from 'node:path';
import sharp, { type Sharp } from 'sharp';
import { DEFAULT_RESIZE_CONCURRENCY, STAGE_DEFAULTS } from '../modules/image-resize-chain';
import { DEFAULT_LIMITS } from '../src/core/limits';
import { DEFAULT_VARIANTS } from '../src/core/variants';
import { startLocalChain } from '../src/local/chain';
import { dockerAvailable, dockerClient, imageExists, SANDBOX_LABEL } from '../src/local/cloud/lambda/container-host';
import { MB_PER_VCPU } from '../src/tools/cost';
import { cgroupMemoryPeakBytes, cgroupPeakFile } from './peak-memory';
import { writeSection } from './sections';
import { failedRecords, HANDLERS_DIR, holdIngest, putDirectSource, sqsEventOf } from './system';

const CACHE = path.join(__dirname, '.cache', 'worst-case');
const IMAGE = 'image-resize-chain/resize:latest';
const MiB = 2 ** 20;
const SIDE = Math.floor(Math.sqrt(DEFAULT_LIMITS.maxInputPixels));

export interface WorstCaseInput {
  id: string;
  description: string;
  contentType: string;
  /** Extra function environment (ALLOW_ANIMATED for the animated input). */
  env?: Record<string, string>;
  make(): Promise<Buffer>;
}

/**
 * Smooth photo-like content at `side` x `side`: a small seeded drawing enlarged (compresses like a photo, not like
 * noise).
 */
async function smooth(side: number, kernel: 'lanczos3' | 'nearest' = 'lanczos3'): Promise<Sharp> {
  const small = await sharp({
    create: {
      width: 400,
      height: 400,
      channels: 3,
      background: '#808080',
      noise: { type: 'gaussian', mean: 128, sigma: 60 },
    },
  })
    .blur(6)
    .png()
    .toBuffer();
  const big = await sharp(small).resize(side, side, { kernel }).raw().toBuffer({ resolveWithObject: true });
  return sharp(big.data, {
    raw: { width: big.info.width, height: big.info.height, channels: 3 },
    limitInputPixels: false,
  });
}

/** The inputs at the limits: 100 MP in each layout that defeats streaming or shrink-on-load, and the largest file. */
export const WORST_CASE_INPUTS: WorstCaseInput[] = [
  {
    id: 'jpeg-100mp-progressive',
    description: `${SIDE}x${SIDE} progressive JPEG q90`,
    contentType: 'image/jpeg',
    make: async () => (await smooth(SIDE)).jpeg({ quality: 90, progressive: true }).toBuffer(),
  },
  {
    id: 'png-100mp-interlaced',
    description: `${SIDE}x${SIDE} Adam7-interlaced 8-bit RGB PNG`,
    contentType: 'image/png',
    make: async () => (await smooth(SIDE, 'nearest')).png({ progressive: true, compressionLevel: 9 }).toBuffer(),
  },
  {
    id: 'png16-100mp',
    description: `${SIDE}x${SIDE} 16-bit RGB PNG`,
    contentType: 'image/png',
    make: async () => (await smooth(SIDE, 'nearest')).toColourspace('rgb16').png({ compressionLevel: 9 }).toBuffer(),
  },
  {
    id: 'cmyk-jpeg-100mp',
    description: `${SIDE}x${SIDE} CMYK JPEG q90`,
    contentType: 'image/jpeg',
    make: async () => (await smooth(SIDE)).toColourspace('cmyk').jpeg({ quality: 90 }).toBuffer(),
  },
  {
    id: 'file-50mib',
    description: 'the largest file: RGB noise PNG just under MAX_INPUT_BYTES',
    contentType: 'image/png',
    make: async () => {
      // Noise does not compress: deflate makes it ~5 % larger than its 3 bytes a pixel; aim for 98 % of the limit.
      const side = Math.floor(Math.sqrt((DEFAULT_LIMITS.maxInputBytes * 0.98) / 3 / 1.055));
      const file = await sharp({
        create: {
          width: side,
          height: side,
          channels: 3,
          background: '#808080',
          noise: { type: 'gaussian', mean: 128, sigma: 80 },
        },
      })
        .png({ compressionLevel: 1 })
        .toBuffer();
      if (file.length > DEFAULT_LIMITS.maxInputBytes)
        throw new RangeError(`file-50mib: ${file.length} bytes is over MAX_INPUT_BYTES`);
      return file;
    },
  },
  {
    id: 'gif-animated-100mp',
    description: 'animated GIF, 25 frames of 2000x2000 (width x height x pages = the pixel limit), ALLOW_ANIMATED=true',
    contentType: 'image/gif',
    env: { ALLOW_ANIMATED: 'true' },
    make: async () => {
      const frames = 25;
      const side = Math.floor(Math.sqrt(DEFAULT_LIMITS.maxInputPixels / frames));
      const frame = await (await smooth(side)).png().toBuffer();
      return sharp(
        Array.from({ length: frames }, () => frame),
        { join: { animated: true } },
      )
        .gif()
        .toBuffer();
    },
  },
];

export interface WorstCaseRow {
  id: string;
  description: string;
  bytes: number;
  /** Peak charge of the container's memory cgroup, MiB (undefined when the host hides it). */
  peakMiB?: number;
  oomKilled: boolean;
  /** ok, or the invocation's error. */
  outcome: string;
  /** batchItemFailures of the invocation, when it returned. */
  failures?: number;
  /** Objects written to the output bucket (CONCURRENCY x variants when every copy was resized, not rejected). */
  written: number;
}

export async function inputFile(input: WorstCaseInput): Promise<Buffer> {
  const file = path.join(CACHE, `${input.id}.bin`);
  if (existsSync(file)) return readFileSync(file);
  await fs.mkdir(CACHE, { recursive: true });
  const body = await input.make();
  await fs.writeFile(file, body);
  return body;
}

/** The running resize container of this run (a sandbox named after the chain's resize function). */
export function resizeContainerPid(docker: string, prefix: string): number | undefined {
  const ps = spawnSync(docker, ['ps', '--filter', `label=${SANDBOX_LABEL}`, '--format', '{{.Names}}'], {
    encoding: 'utf8',
  });
  const name = ps.stdout.split('\n').find((n) => n.includes(`${prefix}-resize`));
  if (!name) return undefined;
  const pid = Number(spawnSync(docker, ['inspect', '-f', '{{.State.Pid}}', name], { encoding: 'utf8' }).stdout.trim());
  return pid > 0 ? pid : undefined;
}

/** Raises `into.peakMiB` to the peak charge of `pid`'s memory cgroup; marks `into.oomKilled` after an OOM kill. */
export function recordContainerMemory(pid: number, into: { peakMiB?: number; oomKilled: boolean }): void {
  const peak = cgroupMemoryPeakBytes(pid);
  if (peak !== undefined) into.peakMiB = Math.max(into.peakMiB ?? 0, peak / MiB);
  if ((oomKills(pid) ?? 0) > 0) into.oomKilled = true;
}

/** OOM kills of the cgroup `pid` is in (cgroup v1 memory.oom_control, v2 memory.events); undefined when unreadable. */
export function oomKills(pid: number): number | undefined {
  try {
    const peak = cgroupPeakFile(readFileSync(`/proc/${pid}/cgroup`, 'utf8'));
    if (!peak) return undefined;
    const dir = path.dirname(peak);
    const text = peak.endsWith('memory.peak')
      ? readFileSync(path.join(dir, 'memory.events'), 'utf8')
      : readFileSync(path.join(dir, 'memory.oom_control'), 'utf8');
    return Number(/^oom_kill (\d+)/m.exec(text)?.[1] ?? NaN);
  } catch {
    return undefined;
  }
}

async function measure(input: WorstCaseInput, body: Buffer, cpus: string, image: string): Promise<WorstCaseRow> {
  const docker = dockerClient();
  const prefix = `wc-${WORST_CASE_INPUTS.indexOf(input)}-${input.id}`.slice(0, 24).replace(/-+$/, '');
  const chain = await startLocalChain({
    handlersDir: HANDLERS_DIR,
    namePrefix: prefix,
    containers: { resizeImage: image, runArgs: ['--cpus', cpus] },
    resize: {
      concurrency: 1,
      memoryMb: STAGE_DEFAULTS.resize.memorySize,
      timeoutSeconds: STAGE_DEFAULTS.resize.timeout,
      env: { CONCURRENCY: String(DEFAULT_RESIZE_CONCURRENCY), ...input.env },
    },
    publish: { concurrency: 1 },
  });
  const row: WorstCaseRow = {
    id: input.id,
    description: input.description,
    bytes: body.length,
    oomKilled: false,
    outcome: 'ok',
    written: 0,
  };
  let polling = true;
  let pid: number | undefined;
  const poll = (async () => {
    while (polling) {
      pid ??= resizeContainerPid(docker, prefix);
      if (pid) recordContainerMemory(pid, row);
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  try {
    const records: unknown[] = [];
    await holdIngest(chain); // only this invocation handles them
    for (let i = 0; i < DEFAULT_RESIZE_CONCURRENCY; i += 1) {
      records.push(await putDirectSource(chain, `worst-case-${input.id}-${i}`, body, input.contentType));
    }
    const result = await chain.functions.resize.invoke(
      sqsEventOf(
        records.map((r) => ({ Records: [r] })),
        chain.resources.queues.ingest.arn,
      ),
    );
    if (result.ok) {
      row.failures = failedRecords(result, records.length);
    } else {
      row.outcome = JSON.stringify(result).slice(0, 200);
    }
    const listed = await chain.s3.send(new ListObjectsV2Command({ Bucket: chain.resources.buckets.output }));
    row.written = listed.KeyCount ?? 0;
  } catch (err) {
    row.outcome = err instanceof Error ? err.message : String(err);
  } finally {
    polling = false;
    await poll;
    await chain.stop();
  }
  return row;
}

function render(rows: WorstCaseRow[], cpus: string): string {
  const memory = STAGE_DEFAULTS.resize.memorySize;
  const lines = [
    '## Worst cases inside the limits (peak memory of the resize container)',
    '',
    `Generated by bench/worst-case-memory.ts on ${new Date().toISOString()}. The resize image (${IMAGE}) ` +
      `under \`docker run --memory ${memory}m --memory-swap ${memory}m --cpus ${cpus}\` ` +
      `(the module's default memory and Lambda's CPU share for it), CONCURRENCY=${DEFAULT_RESIZE_CONCURRENCY} ` +
      `(the module's default), one invocation of a batch of ${DEFAULT_RESIZE_CONCURRENCY} copies of each input ` +
      `through the Runtime API with the sources in the local S3. ` +
      `Limits: ${DEFAULT_LIMITS.maxInputPixels.toLocaleString('en-US')} ` +
      `pixels, ${DEFAULT_LIMITS.maxInputBytes / MiB} MiB. ` +
      "Peak = the container memory cgroup's peak charge (page cache included), " +
      'polled every 100 ms. Objects written: every variant of every copy ' +
      `(${DEFAULT_RESIZE_CONCURRENCY} x ${DEFAULT_VARIANTS.length} ` +
      `= ${DEFAULT_RESIZE_CONCURRENCY * DEFAULT_VARIANTS.length} when none was rejected). ` +
      `Memory, not timing: valid on a loaded machine.`,
    '',
  ];
  lines.push(
    '| input | file | peak MiB | of the limit | OOM-killed | outcome | objects written |',
    '|---|---:|---:|---:|---|---|---:|',
  );
  for (const r of rows) {
    const peak = r.peakMiB === undefined ? 'n/a' : r.peakMiB.toFixed(0);
    const share = r.peakMiB === undefined ? 'n/a' : `${((r.peakMiB / memory) * 100).toFixed(0)} %`;
    const outcome = r.outcome === 'ok' ? `ok, ${r.failures ?? 0} item failures` : r.outcome;
    lines.push(
      `| ${r.id}: ${r.description} | ${(r.bytes / MiB).toFixed(1)} MiB | ${peak} ` +
        `| ${share} | ${r.oomKilled ? '**yes**' : 'no'} | ${outcome} | ${r.written} |`,
    );
  }
  return lines.join('\n');
}

/**
 * Measures the inputs (all, or the ids in `only`) and returns the `worst-case-memory` section;
 * undefined (said on stderr) when Docker or the resize image is missing.
 */
export async function worstCaseSection(only?: ReadonlySet<string>): Promise<string | undefined> {
  const rows = await measureWorstCases(only);
  return rows && render(rows, LAMBDA_CPUS);
}

/** Lambda's CPU share at the module's default memory, as `docker run --cpus`. */
const LAMBDA_CPUS = (STAGE_DEFAULTS.resize.memorySize / MB_PER_VCPU).toFixed(2);

/** The rows of the table for the inputs (all, or the ids in `only`); undefined when Docker or the image is missing. */
export async function measureWorstCases(
  only?: ReadonlySet<string>,
  image = IMAGE,
): Promise<WorstCaseRow[] | undefined> {
  const cpus = LAMBDA_CPUS;
  const docker = dockerClient();
  const missing = !dockerAvailable(docker)
    ? `no Docker engine (${docker})`
    : !imageExists(image, docker)
      ? `${image} not built (npm run images)`
      : undefined;
  if (missing) {
    process.stderr.write(`[worst-case] SKIPPED: ${missing}; the report section keeps its previous figures\n`);
    return undefined;
  }
  const rows: WorstCaseRow[] = [];
  for (const input of WORST_CASE_INPUTS.filter((i) => !only || only.has(i.id))) {
    process.stderr.write(`[worst-case] ${input.id}: generating\n`);
    const body = await inputFile(input);
    process.stderr.write(`[worst-case] ${input.id}: ${(body.length / MiB).toFixed(1)} MiB, invoking\n`);
    const row = await measure(input, body, cpus, image);
    process.stderr.write(`[worst-case] ${JSON.stringify(row)}\n`);
    rows.push(row);
  }
  return rows;
}

async function main(): Promise<void> {
  const at = process.argv.indexOf('--out');
  const out = at === -1 ? path.join(__dirname, 'results.md') : path.resolve(process.argv[at + 1]);
  const onlyAt = process.argv.indexOf('--only');
  const body = await worstCaseSection(onlyAt === -1 ? undefined : new Set(process.argv[onlyAt + 1].split(',')));
  if (body === undefined) return;
  writeSection(out, 'worst-case-memory', body);
  process.stdout.write(`${body}\n`);
}

if (require.main === module) {
  main().catch((err: unknown) => {
    process.stderr.write(`[worst-case] failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  });
}
