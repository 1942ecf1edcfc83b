/**
 * Where our resize core's time goes on one source: each stage of src/core/pipeline.ts run alone, one after the
 * other (header read, the one decode, then each variant's resize + encode from that decode), CPU ms and wall ms,
 * median of a few runs. Then, for the costliest variant, what a cheaper WebP effort would cost in bytes at the
 * same SSIM: its quality is raised until the SSIM of the shipped setting is reached, and the bytes and CPU there
 * are compared (a setting may only go down where it gives equal SSIM per byte).
 *
 *   tsx bench/core-profile.ts [--inputs 2mp-png-alpha] [--out bench/results.md]
 *
 * Writes the `core-profile` section of the report (bench/sections.ts). CPU figures hold on a loaded machine;
 * wall figures do not.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import sharp, { type Sharp } from 'sharp';
import { DEFAULT_LIMITS } from '../src/core/limits';
import {
  decodeOnce,
  inspect,
  renderVariant,
  WEBP_EFFORT,
  webpEffortFor,
  type DecodedImage,
} from '../src/core/pipeline';
import { planVariant, scaled } from '../src/core/geometry';
import { DEFAULT_VARIANTS, type VariantSpec } from '../src/core/variants';
import { encodeWebpWithAlpha, webpChunks } from '../src/core/webp-alpha';
import { BENCH_INPUTS, prepareInputs } from './inputs';
import { reference, ssimAgainst } from './run';
import { writeSection } from './sections';
import { summarize } from './stats';

const CACHE = path.join(__dirname, '.cache');
const REPEATS = 3;

export interface StageRow {
  stage: string;
  cpuMs: number;
  wallMs: number;
}

export interface EffortRow {
  effort: number;
  quality: number;
  ssim: number;
  bytes: number;
  cpuMs: number;
}

export interface CoreProfile {
  input: string;
  stages: StageRow[];
  /** The shipped resizeImage (variants concurrently), for comparison with the sum of the stages. */
  whole: StageRow;
  /** The costliest variant's name and the effort sweep of it (undefined when it is not WebP). */
  costliest: string;
  efforts?: EffortRow[];
  /** Where the costliest WebP variant's encode goes when the source has alpha (undefined otherwise). */
  alphaSplit?: AlphaSplit;
}

/**
 * libwebp's own encode of one WebP frame with alpha (one call, one thread) at sharp's default effort and at the
 * core's, against the core's (webp-alpha.ts).
 */
export interface AlphaSplit {
  /** The core's effort for this frame's colour (webpEffortFor). */
  effort: number;
  /** libwebp in one call at sharp's default effort (WEBP_EFFORT): what naive sharp does. */
  sharpDefault: AlphaEncode;
  /** libwebp in one call at the core's effort: its alpha plane at that method, after the colour. */
  libwebp: AlphaEncode;
  ours: AlphaEncode;
  /**
   * Largest difference of any colour sample of a visible pixel, and of any alpha sample, between the decodes of
   * `libwebp` and `ours`.
   */
  maxColourDiff: number;
  maxAlphaDiff: number;
}

export interface AlphaEncode {
  cpuMs: number;
  wallMs: number;
  bytes: number;
  /** Bytes of the ALPH chunk (the lossless alpha plane). */
  alphaChunkBytes: number;
}

/** The decoded pixels resized to a variant's frame, as renderVariant resizes them. */
function frame(decoded: DecodedImage, width: number, height: number): Sharp {
  return sharp(decoded.data, {
    raw: { width: decoded.width, height: decoded.height, channels: decoded.channels },
  }).resize(width, height, { fit: 'fill' });
}

/** The costliest variant's frame encoded by libwebp in one call and by the core, compared. */
async function splitAlpha(decoded: DecodedImage, width: number, height: number, quality: number): Promise<AlphaSplit> {
  const effort = webpEffortFor(width * height);
  const pixels = await frame(decoded, width, height).raw().toBuffer();
  const raw = { raw: { width, height, channels: 4 as const } };
  const sharpDefault = await timed(() => sharp(pixels, raw).webp({ quality, effort: WEBP_EFFORT }).toBuffer());
  const libwebp = await timed(() => sharp(pixels, raw).webp({ quality, effort }).toBuffer());
  const ours = await timed(() => encodeWebpWithAlpha(pixels, width, height, quality, effort));
  const [a, b] = await Promise.all([libwebp.result, ours.result].map((file) => sharp(file).raw().toBuffer()));
  let maxColourDiff = 0;
  let maxAlphaDiff = 0;
  for (let i = 0; i < a.length; i += 4) {
    maxAlphaDiff = Math.max(maxAlphaDiff, Math.abs(a[i + 3] - b[i + 3]));
    if (a[i + 3] === 0) continue;
    for (let c = 0; c < 3; c += 1) maxColourDiff = Math.max(maxColourDiff, Math.abs(a[i + c] - b[i + c]));
  }
  const summary = (r: { cpuMs: number; wallMs: number; result: Buffer }): AlphaEncode => ({
    cpuMs: r.cpuMs,
    wallMs: r.wallMs,
    bytes: r.result.length,
    alphaChunkBytes: webpChunks(r.result).get('ALPH')?.length ?? 0,
  });
  return {
    effort,
    sharpDefault: summary(sharpDefault),
    libwebp: summary(libwebp),
    ours: summary(ours),
    maxColourDiff,
    maxAlphaDiff,
  };
}

/** CPU and wall ms of `work`, median of REPEATS runs (its result from the last). */
export async function timed<T>(work: () => Promise<T>): Promise<{ cpuMs: number; wallMs: number; result: T }> {
  const cpu: number[] = [];
  const wall: number[] = [];
  let result!: T;
  for (let i = 0; i < REPEATS; i += 1) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    result = await work();
    wall.push(performance.now() - t0);
    const c = process.cpuUsage(c0);
    cpu.push((c.user + c.system) / 1000);
  }
  return { cpuMs: summarize(cpu).median, wallMs: summarize(wall).median, result };
}

function describe(spec: VariantSpec, alpha: boolean, pixels: number, resized: boolean): string {
  const what = spec.format === 'jpeg' && alpha ? 'flatten onto white + jpeg' : spec.format;
  const resize = resized ? `resize to ${spec.width} px + ` : 'no resize (decoded at its size), ';
  const note = alpha ? ' (source has alpha)' : '';
  return `${spec.name}: ${resize}${what} q${spec.quality}${note}, ${(pixels / 1e6).toFixed(2)} MP out`;
}

/** The lowest quality at which `effort` reaches `target` SSIM on the variant (bisected), with its bytes and CPU. */
async function matchSsim(
  decoded: DecodedImage,
  width: number,
  height: number,
  effort: number,
  target: number,
  ref: Awaited<ReturnType<typeof reference>>,
): Promise<EffortRow | undefined> {
  const file = path.join(CACHE, 'core-profile-candidate.webp');
  // Frames with alpha are encoded as the core encodes them, from their pixels: only the colour's effort varies.
  const pixels = decoded.channels === 4 ? await frame(decoded, width, height).raw().toBuffer() : undefined;
  const encodeAt = async (quality: number): Promise<EffortRow> => {
    const c0 = process.cpuUsage();
    const data = pixels
      ? await encodeWebpWithAlpha(pixels, width, height, quality, effort)
      : await frame(decoded, width, height).webp({ quality, effort }).toBuffer();
    const c = process.cpuUsage(c0);
    await fs.writeFile(file, data);
    const { ssim } = await ssimAgainst(ref, file);
    return { effort, quality, ssim, bytes: data.length, cpuMs: (c.user + c.system) / 1000 };
  };
  let lo = 1;
  let hi = 100;
  let best: EffortRow | undefined;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const row = await encodeAt(mid);
    if (row.ssim >= target) {
      best = row;
      hi = mid - 1;
    } else lo = mid + 1;
  }
  return best;
}

/** Profiles the core on one bench source (by id). */
export async function profileCore(inputId: string): Promise<CoreProfile> {
  const benchInput = BENCH_INPUTS.find((i) => i.id === inputId);
  if (!benchInput) throw new RangeError(`core-profile: no bench input ${inputId}`);
  const file = (await prepareInputs([benchInput], path.join(CACHE, 'inputs'))).get(inputId)!;
  const input = await fs.readFile(file);
  const specs = DEFAULT_VARIANTS;
  const stages: StageRow[] = [];

  const header = await timed(() => inspect(input, DEFAULT_LIMITS, {}));
  stages.push({ stage: 'header read and checks (sharp metadata)', cpuMs: header.cpuMs, wallMs: header.wallMs });
  const { source } = header.result;
  const plans = specs.map((spec) => planVariant(spec, source.width, source.height));
  const largest = Math.max(...plans.map((p) => p.scale));
  const w = scaled(source.width, largest);
  const h = scaled(source.height, largest);
  const decode = await timed(() => decodeOnce(input, DEFAULT_LIMITS, w, h, header.result));
  stages.push({
    stage: `decode once to ${w}x${h} (${source.format} decode, premultiplied resize, sRGB)`,
    cpuMs: decode.cpuMs,
    wallMs: decode.wallMs,
  });
  const decoded = decode.result;
  const alpha = decoded.channels === 4;
  for (const plan of plans) {
    const r = await timed(() => renderVariant(decoded, plan));
    const resized = plan.scaledWidth !== decoded.width || plan.scaledHeight !== decoded.height;
    stages.push({
      stage: describe(plan.spec, alpha, plan.width * plan.height, resized),
      cpuMs: r.cpuMs,
      wallMs: r.wallMs,
    });
  }
  const { resizeImage } = await import('../src/core/pipeline');
  const whole = await timed(() => resizeImage(input, specs, DEFAULT_LIMITS));
  const variantStages = stages.slice(2);
  const costliestIndex = variantStages.reduce((best, s, i) => (s.cpuMs > variantStages[best].cpuMs ? i : best), 0);
  const plan = plans[costliestIndex];
  const profile: CoreProfile = {
    input: inputId,
    stages,
    whole: { stage: 'resizeImage as shipped (variants concurrently)', cpuMs: whole.cpuMs, wallMs: whole.wallMs },
    costliest: plan.spec.name,
  };
  if (plan.spec.format === 'webp' && plan.width === plan.scaledWidth && plan.height === plan.scaledHeight) {
    const ref = await reference(file, plan.width);
    // The shipped setting's own SSIM is the target; every cheaper effort is bisected to reach it.
    const shippedEffort = webpEffortFor(plan.width * plan.height);
    const shippedRow = await (async () => {
      const rendered = await timed(() => renderVariant(decoded, plan));
      const out = path.join(CACHE, 'core-profile-shipped.webp');
      await fs.writeFile(out, rendered.result.data);
      return {
        effort: shippedEffort,
        quality: plan.spec.quality,
        ssim: (await ssimAgainst(ref, out)).ssim,
        bytes: rendered.result.data.length,
        cpuMs: rendered.cpuMs,
      };
    })();
    const efforts: EffortRow[] = [shippedRow];
    for (const effort of [0, 1, 2, 3].filter((e) => e < shippedEffort)) {
      const row = await matchSsim(decoded, plan.width, plan.height, effort, shippedRow.ssim, ref);
      if (row) efforts.push(row);
    }
    profile.efforts = efforts;
    if (alpha) profile.alphaSplit = await splitAlpha(decoded, plan.width, plan.height, plan.spec.quality);
  }
  return profile;
}

const f0 = (n: number) => n.toFixed(0);

/** The `core-profile` section for the profiles. */
export function renderCoreProfile(profiles: readonly CoreProfile[]): string {
  const lines = [
    '## Where the core spends its time (stage profile)',
    '',
    `Generated by bench/core-profile.ts on ${new Date().toISOString()}. Each stage of src/core/pipeline.ts run ` +
      `alone, one after the other, median of ${REPEATS} runs (CPU ms: user + system of all threads; wall ms are ` +
      "inflated by the machine's load). SSIM is not part of the core and not timed here.",
    '',
  ];
  for (const p of profiles) {
    const total = p.stages.reduce((sum, s) => sum + s.cpuMs, 0);
    lines.push(`### ${p.input}`, '', '| stage | CPU ms | share of CPU | wall ms |', '|---|---:|---:|---:|');
    for (const s of p.stages)
      lines.push(`| ${s.stage} | ${f0(s.cpuMs)} | ${((s.cpuMs / total) * 100).toFixed(0)} % | ${f0(s.wallMs)} |`);
    lines.push(`| sum of the stages | ${f0(total)} | 100 % | |`);
    lines.push(`| ${p.whole.stage} | ${f0(p.whole.cpuMs)} | | ${f0(p.whole.wallMs)} |`, '');
    if (p.efforts && p.efforts.length > 0) {
      const [shipped, ...cheaper] = p.efforts;
      lines.push(
        `The costliest variant, ${p.costliest}, at a lower WebP effort with its quality raised until it reaches the ` +
          `shipped SSIM (${shipped.ssim.toFixed(5)}):`,
        '',
        '| effort | quality | SSIM | bytes | bytes vs shipped | CPU ms |',
        '|---:|---:|---:|---:|---:|---:|',
        `| ${shipped.effort} (shipped) | ${shipped.quality} | ${shipped.ssim.toFixed(5)} | ` +
          `${shipped.bytes.toLocaleString('en-US')} | 1.00 | ${f0(shipped.cpuMs)} |`,
        ...cheaper.map(
          (r) =>
            `| ${r.effort} | ${r.quality} | ${r.ssim.toFixed(5)} | ${r.bytes.toLocaleString('en-US')} | ` +
            `${(r.bytes / shipped.bytes).toFixed(2)} | ${f0(r.cpuMs)} |`,
        ),
        '',
      );
    }
    const a = p.alphaSplit;
    if (a) {
      const row = (label: string, e: AlphaEncode) =>
        `| ${label} | ${f0(e.cpuMs)} | ${f0(e.wallMs)} | ${e.bytes.toLocaleString('en-US')} | ` +
        `${e.alphaChunkBytes.toLocaleString('en-US')} |`;
      lines.push(
        `The ${p.costliest} frame with alpha, encoded by libwebp in one call (what sharp does: the colour, then the ` +
          'lossless alpha plane at the same method, on one thread) and by the core (src/core/webp-alpha.ts: the ' +
          'colour and the alpha plane on two threads, the plane horizontally filtered, as VP8L at the effort ' +
          'alphaEffortFor picks from it):',
        '',
        '| encode | CPU ms | wall ms | bytes | of which ALPH chunk |',
        '|---|---:|---:|---:|---:|',
        row(`libwebp, one call, effort ${WEBP_EFFORT} (sharp's default: naive sharp)`, a.sharpDefault),
        row(`libwebp, one call, effort ${a.effort} (the core's colour effort)`, a.libwebp),
        row(`ours, effort ${a.effort} colour and the alpha plane at once`, a.ours),
        '',
        `Decoded, ours and libwebp's at effort ${a.effort} differ by at most ${a.maxColourDiff} in any colour sample ` +
          `of a visible pixel and ${a.maxAlphaDiff} in any alpha sample (both alpha planes are lossless).`,
        '',
      );
    }
  }
  return lines.join('\n');
}

async function main(): Promise<void> {
  const value = (flag: string) => {
    const at = process.argv.indexOf(flag);
    return at === -1 ? undefined : process.argv[at + 1];
  };
  const ids = (value('--inputs') ?? '2mp-png-alpha').split(',');
  const out = path.resolve(value('--out') ?? path.join(__dirname, 'results.md'));
  const profiles: CoreProfile[] = [];
  for (const id of ids) profiles.push(await profileCore(id));
  const body = renderCoreProfile(profiles);
  writeSection(out, 'core-profile', body);
  process.stdout.write(`${body}\n`);
}

if (require.main === module) {
  main().catch((err: unknown) => {
    process.stderr.write(`[core-profile] failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  });
}
