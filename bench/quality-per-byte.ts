/**
 * Bytes at equal quality: for each lossy output of the default variants (the 800 px WebP and the
 * 1600 px JPEG), our output's SSIM at its configured quality is the target; every other
 * implementation's quality setting is bisected (integers 1..100, assuming SSIM grows with quality)
 * to the lowest one whose output reaches that SSIM, and its bytes there are compared with ours.
 * So "smaller" is only claimed at equal measured quality, not at equal nominal quality.
 *
 *   tsx bench/quality-per-byte.ts [--inputs 12mp-jpeg,2mp-png-alpha] [--out bench/results.md]
 *   (default: every bench input)
 *
 * SSIM is bench/ssim.ts (luma, Gaussian 11x11) against a Lanczos3 resize of the full-size decode,
 * flattened onto white, as in bench/run.ts. No SSIMULACRA2 or butteraugli implementation is
 * available as a maintained npm package (checked: `ssimulacra2` is not on npm, `butteraugli` is a
 * 0.0.2 stub), so SSIM it is. Writes the `quality-per-byte` section of the report.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { DEFAULT_VARIANTS } from '../src/core/variants';
import { BENCH_INPUTS, prepareInputs } from './inputs';
import { implementations, reference, ssimAgainst, type Impl } from './run';
import { writeSection } from './sections';
import type { BenchWorker } from './workers/protocol';

const CACHE = path.join(__dirname, '.cache');
/** The lossy variants compared: one per format. */
const COMPARED = ['medium', 'fallback'] as const;

interface Scored {
  quality: number;
  ssim: number;
  bytes: number;
}

export interface QualityRow {
  input: string;
  variant: string;
  impl: string;
  /** At the variant's configured quality. */
  nominal: Scored;
  /** At the lowest quality reaching our SSIM; undefined when even 100 does not. */
  matched?: Scored;
  error?: string;
}

/**
 * The lowest integer in [lo, hi] for which `reaches` holds, given that it holds for every integer
 * above one that it holds for; undefined when it does not hold at `hi`.
 */
export async function lowestReaching(
  lo: number,
  hi: number,
  reaches: (q: number) => Promise<boolean>,
): Promise<number | undefined> {
  if (!(await reaches(hi))) return undefined;
  while (lo < hi) {
    const mid = Math.floor((lo + hi) / 2);
    if (await reaches(mid)) hi = mid;
    else lo = mid + 1;
  }
  return hi;
}

async function scoreAt(
  worker: BenchWorker,
  impl: Impl,
  file: string,
  variantName: string,
  quality: number,
  ref: Awaited<ReturnType<typeof reference>>,
): Promise<Scored> {
  const spec = DEFAULT_VARIANTS.find((v) => v.name === variantName)!;
  const outDir = path.join(CACHE, 'quality', impl.id, path.basename(file), `${variantName}-q${quality}`);
  await fs.mkdir(outDir, { recursive: true });
  const reply = await worker.job({
    input: file,
    outDir,
    variants: [{ name: spec.name, width: spec.width, format: spec.format, quality }],
    draft: impl.draft,
  });
  const out = reply.outputs[0];
  return { quality, ssim: (await ssimAgainst(ref, out.file)).ssim, bytes: out.bytes };
}

export async function measureQualityPerByte(
  inputIds: readonly string[],
): Promise<{ rows: QualityRow[]; versions: Record<string, string | undefined> }> {
  const inputs = BENCH_INPUTS.filter((i) => inputIds.includes(i.id));
  const files = await prepareInputs(inputs, path.join(CACHE, 'inputs'));
  const impls = (await implementations()).filter((i) => !i.missing);
  const workers = new Map(impls.map((impl) => [impl.id, impl.start()]));
  const rows: QualityRow[] = [];
  try {
    for (const input of inputs) {
      const file = files.get(input.id)!;
      for (const variantName of COMPARED) {
        const spec = DEFAULT_VARIANTS.find((v) => v.name === variantName)!;
        const ref = await reference(file, spec.width);
        const ours = await scoreAt(
          workers.get('ours')!,
          impls.find((i) => i.id === 'ours')!,
          file,
          variantName,
          spec.quality,
          ref,
        );
        rows.push({
          input: input.id,
          variant: `${variantName} (${spec.width} px ${spec.format})`,
          impl: 'ours',
          nominal: ours,
          matched: ours,
        });
        for (const impl of impls.filter((i) => i.id !== 'ours')) {
          const worker = workers.get(impl.id)!;
          try {
            const nominal = await scoreAt(worker, impl, file, variantName, spec.quality, ref);
            const seen = new Map<number, Scored>([[nominal.quality, nominal]]);
            const at = async (q: number) =>
              seen.get(q) ?? seen.set(q, await scoreAt(worker, impl, file, variantName, q, ref)).get(q)!;
            const q = await lowestReaching(1, 100, async (quality) => (await at(quality)).ssim >= ours.ssim);
            rows.push({
              input: input.id,
              variant: `${variantName} (${spec.width} px ${spec.format})`,
              impl: impl.id,
              nominal,
              matched: q === undefined ? undefined : seen.get(q),
            });
          } catch (err) {
            rows.push({
              input: input.id,
              variant: variantName,
              impl: impl.id,
              nominal: { quality: spec.quality, ssim: NaN, bytes: NaN },
              error: err instanceof Error ? err.message : String(err),
            });
          }
          process.stderr.write(`[quality] ${JSON.stringify(rows[rows.length - 1])}\n`);
        }
      }
    }
  } finally {
    for (const worker of workers.values()) await worker.close();
  }
  return { rows, versions: Object.fromEntries(impls.map((i) => [i.id, i.version])) };
}

export function renderQualityPerByte(
  rows: readonly QualityRow[],
  versions: Record<string, string | undefined>,
): string {
  const lines = [
    '## Quality per byte (bytes at equal SSIM)',
    '',
    `Generated by bench/quality-per-byte.ts on ${new Date().toISOString()}. ` +
      `For each lossy default variant, our output's SSIM at its configured quality is the target; ` +
      'each other implementation\'s quality is bisected to the lowest integer setting that reaches it. "bytes ' +
      'vs ours" compares at that matched setting: above 1.00 means the peer needs more bytes for the same SSIM. ' +
      'SSIM: luma, Gaussian 11x11, against a Lanczos3 resize of the full decode (no ' +
      'SSIMULACRA2/butteraugli package was available). Sizes and SSIM do not depend on machine load.',
    '',
    '| input | variant | implementation | SSIM at nominal q | bytes ' +
      'at nominal q | q for our SSIM | bytes there | bytes vs ours |',
    '|---|---|---|---:|---:|---:|---:|---:|',
  ];
  for (const r of rows) {
    const ours = rows.find((o) => o.impl === 'ours' && o.input === r.input && o.variant === r.variant);
    if (r.error) {
      lines.push(`| ${r.input} | ${r.variant} | ${r.impl} | error: ${r.error.slice(0, 80)} | | | | |`);
      continue;
    }
    const matched = r.matched
      ? `${r.matched.quality} | ${r.matched.bytes.toLocaleString('en-US')} ` +
        `| ${ours ? (r.matched.bytes / ours.nominal.bytes).toFixed(2) : 'n/a'}`
      : 'not reached at 100 | | ';
    lines.push(
      `| ${r.input} | ${r.variant} | ${r.impl} | ${r.nominal.ssim.toFixed(4)} (q${r.nominal.quality}) ` +
        `| ${r.nominal.bytes.toLocaleString('en-US')} | ${matched} |`,
    );
  }
  lines.push(
    '',
    `Versions: ${Object.entries(versions)
      .map(([id, v]) => `${id} ${v ?? '?'}`)
      .join('; ')}.`,
  );
  return lines.join('\n');
}

async function main(): Promise<void> {
  const value = (flag: string) => {
    const at = process.argv.indexOf(flag);
    return at === -1 ? undefined : process.argv[at + 1];
  };
  const inputIds = value('--inputs')?.split(',') ?? BENCH_INPUTS.map((i) => i.id);
  const out = path.resolve(value('--out') ?? path.join(__dirname, 'results.md'));
  const { rows, versions } = await measureQualityPerByte(inputIds);
  const body = renderQualityPerByte(rows, versions);
  writeSection(out, 'quality-per-byte', body);
  process.stdout.write(`${body}\n`);
}

if (require.main === module) {
  main().catch((err: unknown) => {
    process.stderr.write(`[quality] failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  });
}
