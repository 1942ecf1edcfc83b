/**
 * `npm run bench`: our resize core against the alternatives, in one run, alternating rounds.
 *
 *   tsx bench/run.ts [--quick] [--rounds N] [--out FILE.json] [--skip-system] [--skip-quality] [--skip-worst-case]
 *
 * --skip-quality / --skip-worst-case keep the bytes-at-equal-SSIM / worst-case memory sections of the previous report
 * (each says when it was generated) instead of regenerating them: both are independent of machine load, and slow.
 *
 * Implementations (each a long-lived worker process speaking the line protocol of
 * bench/workers/protocol.ts, so none pays start-up per image unless start-up is its method):
 *   ours          src/core/pipeline.ts resizeImage (decode once, derive, encode concurrently)
 *   naive-sharp   one sharp pipeline per output, all at once, sharp defaults
 *   pillow-draft  Pillow, decode once with draft() toward the largest variant (python3-pil)
 *   pillow        the same without draft()
 *   vipsthumbnail libvips' CLI, one process per output (libvips-tools)
 *   imagemagick   ImageMagick's convert, one process per output (imagemagick)
 * A peer that is not installed is reported as missing. Same variants (DEFAULT_VARIANTS: 320/800/1600
 * WebP q80 + 1600 JPEG q80), auto-orient, no metadata, for all.
 *
 * Per source: median and min-max wall ms, CPU ms, peak RSS (VmHWM of a fresh process that handled
 * this one source, bench/peak-memory.ts; CLI peers: their largest child), output
 * bytes, and SSIM (luma, Gaussian 11x11) of the 800 px output against a Lanczos3 resize of the
 * full-size decode. Then: handler cold init, warm invocation latency, local chain throughput and
 * synth time. Writes bench/results.json and bench/results.md (a --quick run writes under
 * bench/.cache/ unless --out says otherwise), with the scale model (bench/scale-model.ts) and, in a
 * full run the bytes-at-equal-SSIM table (bench/quality-per-byte.ts) and, without --skip-system, the worst-case memory
 * table (bench/worst-case-memory.ts, Docker); sections those scripts wrote before are carried over when this run does
 * not regenerate them.
 */
import { spawnSync } from 'node:child_process';
import { promises as fs, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { build } from 'esbuild';
import sharp from 'sharp';
import { DEFAULT_VARIANTS } from '../src/core/variants';
import { resolveNode22 } from '../src/local/cloud/lambda/node-runtime';
import { BENCH_INPUTS, megapixels, prepareInputs, QUICK_INPUT_IDS, type BenchInput } from './inputs';
import { renderMarkdown, type BenchResults, type ImplResult, type InputResult } from './report';
import { measureQualityPerByte, renderQualityPerByte } from './quality-per-byte';
import { profileCore, renderCoreProfile } from './core-profile';
import { scaleModelSection } from './scale-model';
import { carrySections, withSection } from './sections';
import { worstCaseSection } from './worst-case-memory';
import { ssim } from './ssim';
import { buildBundles, measureChain, measureColdInit, measureSynth } from './system';
import { BenchWorker, type PeakMemory } from './workers/protocol';
import { rotate, summarize } from './stats';

const ROOT = path.join(__dirname, '..');
const CACHE = path.join(__dirname, '.cache');

interface Args {
  quick: boolean;
  rounds: number;
  out: string;
  skipSystem: boolean;
  skipQuality: boolean;
  skipWorstCase: boolean;
}

function parseArgs(argv: readonly string[]): Args {
  const quick = argv.includes('--quick');
  const value = (flag: string) => {
    const at = argv.indexOf(flag);
    return at === -1 ? undefined : argv[at + 1];
  };
  const rounds = Number(value('--rounds') ?? (quick ? 2 : 5));
  if (!Number.isInteger(rounds) || rounds < 1 || rounds > 50)
    throw new RangeError(`--rounds: ${value('--rounds')} is not an integer in 1..50`);
  const out = path.resolve(
    value('--out') ?? (quick ? path.join(CACHE, 'results-quick.json') : path.join(__dirname, 'results.json')),
  );
  return {
    quick,
    rounds,
    out,
    skipSystem: argv.includes('--skip-system'),
    skipQuality: argv.includes('--skip-quality'),
    skipWorstCase: argv.includes('--skip-worst-case'),
  };
}

export interface Impl {
  id: string;
  label: string;
  /** undefined when available; otherwise why not. */
  missing?: string;
  version?: string;
  start(): BenchWorker;
  draft?: boolean;
}

function probe(command: string, args: string[]): string | undefined {
  const res = spawnSync(command, args, { encoding: 'utf8' });
  return res.status === 0 ? `${res.stdout}${res.stderr}`.trim() : undefined;
}

/** The first python3 that can import PIL (PYTHON overrides), and any python3 for the CLI driver. */
function findPythons(): { pillow?: { bin: string; version: string }; any?: string } {
  const candidates = [process.env.PYTHON, 'python3', '/usr/bin/python3'].filter((c): c is string => Boolean(c));
  let any: string | undefined;
  for (const bin of candidates) {
    if (!any && probe(bin, ['--version'])) any = bin;
    const version = probe(bin, ['-c', 'import PIL; print(PIL.__version__)']);
    if (version) return { pillow: { bin, version }, any: any ?? bin };
  }
  return { any };
}

async function bundleSharpWorker(): Promise<string> {
  const outfile = path.join(CACHE, 'sharp-worker.js');
  await build({
    entryPoints: [path.join(__dirname, 'workers', 'sharp-worker.ts')],
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node22',
    external: ['sharp'],
    outfile,
    logLevel: 'warning',
  });
  return outfile;
}

export async function implementations(): Promise<Impl[]> {
  const node = resolveNode22();
  const worker = await bundleSharpWorker();
  const python = findPythons();
  const pillowWorker = path.join(__dirname, 'peers', 'pillow_worker.py');
  const cliWorker = path.join(__dirname, 'peers', 'cli_worker.py');
  const vips = probe('vipsthumbnail', ['--vips-version']);
  const magickBin = probe('magick', ['-version']) ? 'magick' : probe('convert', ['-version']) ? 'convert' : undefined;
  const magickVersion = magickBin ? probe(magickBin, ['-version'])?.split('\n')[0] : undefined;
  const noPython = 'no python3 to drive it';
  return [
    {
      id: 'ours',
      label: 'ours (resize core)',
      version: `sharp ${sharp.versions.sharp} / libvips ${sharp.versions.vips}`,
      start: () => new BenchWorker(node, [worker, 'ours']),
    },
    {
      id: 'naive-sharp',
      label: 'naive sharp (pipeline per output)',
      version: `sharp ${sharp.versions.sharp}`,
      start: () => new BenchWorker(node, [worker, 'naive']),
    },
    {
      id: 'pillow-draft',
      label: 'Pillow with draft()',
      draft: true,
      version: python.pillow && `Pillow ${python.pillow.version}`,
      missing: python.pillow ? undefined : 'Pillow not importable by python3 (apt-get install python3-pil)',
      start: () => new BenchWorker(python.pillow!.bin, [pillowWorker]),
    },
    {
      id: 'pillow',
      label: 'Pillow without draft()',
      draft: false,
      version: python.pillow && `Pillow ${python.pillow.version}`,
      missing: python.pillow ? undefined : 'Pillow not importable by python3 (apt-get install python3-pil)',
      start: () => new BenchWorker(python.pillow!.bin, [pillowWorker]),
    },
    {
      id: 'vipsthumbnail',
      label: 'vipsthumbnail CLI, per output',
      version: vips,
      missing: !vips ? 'vipsthumbnail not on PATH (apt-get install libvips-tools)' : !python.any ? noPython : undefined,
      start: () => new BenchWorker(python.any!, [cliWorker, 'vipsthumbnail', 'vipsthumbnail']),
    },
    {
      id: 'imagemagick',
      label: 'ImageMagick convert, per output',
      version: magickVersion,
      missing: !magickBin
        ? 'neither magick nor convert on PATH (apt-get install imagemagick)'
        : !python.any
          ? noPython
          : undefined,
      start: () => new BenchWorker(python.any!, [cliWorker, 'imagemagick', magickBin!]),
    },
  ];
}

/**
 * Both peak figures, in KiB, of a child of this driver that does nothing (a bare python3),
 * started now: its getrusage maxRSS, beyond its own VmHWM, is what fork copied of the driver.
 */
function noopChildPeaks(python: string | undefined): PeakMemory | undefined {
  if (!python) return undefined;
  const program =
    `import resource, sys; sys.path.insert(0, ${JSON.stringify(path.join(__dirname, 'peers'))}); from ` +
    `peak_memory import own_peak_kib; print(own_peak_kib(), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)`;
  const res = spawnSync(python, ['-c', program], { encoding: 'utf8' });
  const [vmHwmKiB, getrusageMaxRssKiB] = res.stdout.trim().split(' ').map(Number);
  return res.status === 0 && vmHwmKiB > 0 ? { vmHwmKiB, getrusageMaxRssKiB } : undefined;
}

const VARIANTS = DEFAULT_VARIANTS.map((v) => ({ name: v.name, width: v.width, format: v.format, quality: v.quality }));

function outDir(impl: Impl, input: BenchInput): string {
  return path.join(CACHE, 'out', impl.id, input.id);
}

/** A Lanczos3 resize of the full-size decode (no shrink-on-load), flattened onto white, as PNG. */
export async function reference(file: string, width: number): Promise<{ data: Buffer; width: number; height: number }> {
  const full = await sharp(file, { autoOrient: true })
    .flatten({ background: '#ffffff' })
    .toColourspace('srgb')
    .raw()
    .toBuffer({ resolveWithObject: true });
  const height = Math.max(1, Math.round((full.info.height * width) / full.info.width));
  const { data, info } = await sharp(full.data, {
    raw: { width: full.info.width, height: full.info.height, channels: full.info.channels as 3 },
  })
    .resize(width, height, { fit: 'fill', kernel: 'lanczos3' })
    .raw()
    .toBuffer({ resolveWithObject: true });
  await sharp(data, { raw: { width: info.width, height: info.height, channels: info.channels as 3 } })
    .png()
    .toFile(`${file}.reference-${width}.png`);
  return { data, width: info.width, height: info.height };
}

export async function ssimAgainst(
  ref: { data: Buffer; width: number; height: number },
  candidate: string,
): Promise<{ ssim: number; resized: boolean }> {
  const meta = await sharp(candidate).metadata();
  let image = sharp(candidate).flatten({ background: '#ffffff' }).toColourspace('srgb');
  const resized = meta.width !== ref.width || meta.height !== ref.height;
  if (resized) image = image.resize(ref.width, ref.height, { fit: 'fill', kernel: 'lanczos3' });
  const { data, info } = await image.raw().toBuffer({ resolveWithObject: true });
  return {
    ssim: ssim(
      { data: ref.data, width: ref.width, height: ref.height, channels: 3 },
      { data, width: info.width, height: info.height, channels: info.channels },
    ),
    resized,
  };
}

function log(message: string): void {
  process.stderr.write(`[bench] ${message}\n`);
}

function machine(): BenchResults['machine'] {
  const cpus = os.cpus();
  return {
    cpu: cpus[0]?.model ?? 'unknown',
    cores: cpus.length,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    os: `${os.type()} ${os.release()}`,
    nodeForWorkers: spawnSync(resolveNode22(), ['--version'], { encoding: 'utf8' }).stdout.trim(),
    loadAverageAtStart: os.loadavg().map((l) => Math.round(l * 100) / 100),
  };
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const started = Date.now();
  const inputs = args.quick ? BENCH_INPUTS.filter((i) => QUICK_INPUT_IDS.includes(i.id)) : BENCH_INPUTS;
  log(`${args.quick ? 'quick' : 'full'} run: ${inputs.length} sources, ${args.rounds} rounds`);
  const files = await prepareInputs(inputs, path.join(CACHE, 'inputs'));
  const impls = await implementations();
  const available = impls.filter((i) => !i.missing);
  for (const impl of impls) if (impl.missing) log(`${impl.id}: missing (${impl.missing})`);

  const samples = new Map<
    string,
    { ms: number[]; cpuMs: number[]; error?: string; last?: { name: string; file: string; bytes: number }[] }
  >();
  const key = (impl: Impl, input: BenchInput) => `${impl.id}|${input.id}`;
  for (const impl of available) for (const input of inputs) samples.set(key(impl, input), { ms: [], cpuMs: [] });
  for (const impl of available) for (const input of inputs) await fs.mkdir(outDir(impl, input), { recursive: true });

  // Timing: one warm worker per implementation; round r runs the implementations in rotated order.
  const workers = new Map(available.map((impl) => [impl.id, impl.start()]));
  const runJob = async (impl: Impl, input: BenchInput, record: boolean) => {
    const entry = samples.get(key(impl, input))!;
    if (entry.error) return;
    try {
      const reply = await workers
        .get(impl.id)!
        .job({ input: files.get(input.id)!, outDir: outDir(impl, input), variants: VARIANTS, draft: impl.draft });
      if (record) {
        entry.ms.push(reply.ms);
        entry.cpuMs.push(reply.cpuMs);
        entry.last = reply.outputs;
      }
    } catch (err) {
      entry.error = err instanceof Error ? err.message : String(err);
      log(`${impl.id} on ${input.id}: ${entry.error}`);
    }
  };
  log('warm-up');
  for (const input of inputs) for (const impl of available) await runJob(impl, input, false);
  for (let round = 0; round < args.rounds; round += 1) {
    log(`round ${round + 1}/${args.rounds}`);
    for (const [index, input] of inputs.entries()) {
      for (const impl of rotate(available, round + index)) await runJob(impl, input, true);
    }
  }
  const steadyRss = new Map<string, number>();
  for (const impl of available) {
    const worker = workers.get(impl.id)!;
    steadyRss.set(impl.id, (await worker.peakMemory().catch(() => undefined))?.vmHwmKiB ?? Number.NaN);
    await worker.close();
  }

  // Peak RSS: a fresh process per implementation and source, one job.
  log('peak RSS, fresh process per implementation and source');
  const freshRss = new Map<string, PeakMemory>();
  const noopRss = new Map<string, PeakMemory | undefined>();
  const anyPython = findPythons().any;
  const rssInputs = args.quick ? inputs.filter((i) => i.id === '12mp-jpeg') : inputs;
  for (const input of rssInputs) {
    noopRss.set(input.id, noopChildPeaks(anyPython));
    for (const impl of available) {
      const worker = impl.start();
      try {
        await worker.job({
          input: files.get(input.id)!,
          outDir: outDir(impl, input),
          variants: VARIANTS,
          draft: impl.draft,
        });
        freshRss.set(key(impl, input), await worker.peakMemory());
      } catch (err) {
        log(`rss ${impl.id} on ${input.id}: ${err instanceof Error ? err.message : String(err)}`);
      } finally {
        await worker.close();
      }
    }
  }

  log('SSIM of every output');
  const results: InputResult[] = [];
  for (const input of inputs) {
    const medium = VARIANTS.find((v) => v.name === 'medium')!;
    const refs = new Map<number, Awaited<ReturnType<typeof reference>>>();
    for (const width of new Set(VARIANTS.map((v) => v.width)))
      refs.set(width, await reference(files.get(input.id)!, width));
    const ref = refs.get(medium.width)!;
    const perImpl: ImplResult[] = [];
    for (const impl of impls) {
      if (impl.missing) {
        perImpl.push({ id: impl.id, label: impl.label, missing: impl.missing });
        continue;
      }
      const entry = samples.get(key(impl, input))!;
      if (entry.error || entry.ms.length === 0) {
        perImpl.push({ id: impl.id, label: impl.label, error: entry.error ?? 'no samples' });
        continue;
      }
      const outputs = entry.last ?? [];
      const mediumOut = outputs.find((o) => o.name === 'medium');
      const score = mediumOut ? await ssimAgainst(ref, mediumOut.file) : undefined;
      const everySsim: Record<string, number> = {};
      for (const out of outputs) {
        const width = VARIANTS.find((v) => v.name === out.name)?.width;
        if (width !== undefined) everySsim[out.name] = (await ssimAgainst(refs.get(width)!, out.file)).ssim;
      }
      const rss = freshRss.get(key(impl, input));
      perImpl.push({
        id: impl.id,
        label: impl.label,
        ms: summarize(entry.ms),
        cpuMs: summarize(entry.cpuMs),
        peakRssMiB: rss === undefined ? undefined : rss.vmHwmKiB / 1024,
        getrusageMaxRssMiB: rss?.getrusageMaxRssKiB === undefined ? undefined : rss.getrusageMaxRssKiB / 1024,
        bytes: Object.fromEntries(outputs.map((o) => [o.name, o.bytes])),
        ssim800: score?.ssim,
        ssim: everySsim,
        ssimResized: score?.resized,
      });
    }
    const noop = noopRss.get(input.id);
    results.push({
      id: input.id,
      description: input.description,
      megapixels: megapixels(input),
      referenceSize: `${ref.width}x${ref.height}`,
      impls: perImpl,
      noopChildMiB: noop && {
        vmHwm: noop.vmHwmKiB / 1024,
        getrusageMaxRss: (noop.getrusageMaxRssKiB ?? Number.NaN) / 1024,
      },
    });
  }

  const report: BenchResults = {
    generatedAt: new Date().toISOString(),
    quick: args.quick,
    rounds: args.rounds,
    machine: machine(),
    versions: Object.fromEntries(impls.map((i) => [i.id, i.version ?? null])),
    variants: VARIANTS,
    inputs: results,
    steadyStateRssMiB: Object.fromEntries([...steadyRss].map(([id, kib]) => [id, kib / 1024])),
  };

  if (!args.skipSystem) {
    try {
      log('building handler bundles');
      report.buildMs = buildBundles();
      log('cold init: resize handler vs a no-dependency handler');
      report.coldInit = await measureColdInit(args.quick ? 3 : 9);
      log('warm invocations and local chain throughput');
      const image = readFileSync(files.get('12mp-jpeg')!);
      report.chain = await measureChain(image, args.quick ? 2 : 5, args.quick ? 4 : 12);
    } catch (err) {
      report.systemError = err instanceof Error ? err.message : String(err);
      log(`system figures: ${report.systemError}`);
    }
    try {
      log('synth time');
      report.synthMs = measureSynth(args.quick ? 1 : 3);
    } catch (err) {
      report.synthError = err instanceof Error ? err.message : String(err);
      log(`synth: ${report.synthError}`);
    }
  }
  report.durationSeconds = (Date.now() - started) / 1000;

  await fs.mkdir(path.dirname(args.out), { recursive: true });
  await fs.writeFile(args.out, `${JSON.stringify(report, null, 2)}\n`);
  const mdFile = args.out.replace(/\.json$/, '') + '.md';
  // The sections other scripts generate (worst-case memory, scale model) are kept, not lost.
  const previous = await fs.readFile(mdFile, 'utf8').catch(() => '');
  let markdown = withSection(
    carrySections(previous, renderMarkdown(report)),
    'scale-model',
    scaleModelSection(args.out),
  );
  await fs.writeFile(mdFile, markdown);
  if (!args.quick && !args.skipQuality) {
    log('quality per byte: bytes at equal SSIM');
    const quality = await measureQualityPerByte(inputs.map((i) => i.id));
    markdown = withSection(markdown, 'quality-per-byte', renderQualityPerByte(quality.rows, quality.versions));
    await fs.writeFile(mdFile, markdown);
  }
  if (!args.quick && !args.skipSystem) {
    log('where the core spends its time: stage profile of the PNG with alpha');
    markdown = withSection(markdown, 'core-profile', renderCoreProfile([await profileCore('2mp-png-alpha')]));
    await fs.writeFile(mdFile, markdown);
  }
  if (!args.quick && !args.skipSystem && !args.skipWorstCase) {
    log('worst cases inside the limits: peak memory of the resize container');
    const worst = await worstCaseSection();
    if (worst) markdown = withSection(markdown, 'worst-case-memory', worst);
    await fs.writeFile(mdFile, markdown);
  }
  process.stdout.write(markdown);
  log(
    `wrote ${path.relative(ROOT, args.out)} and ${path.relative(ROOT, mdFile)} ` +
      `in ${report.durationSeconds.toFixed(0)} s`,
  );
}

if (require.main === module) {
  main().catch((err: unknown) => {
    process.stderr.write(`[bench] failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  });
}
