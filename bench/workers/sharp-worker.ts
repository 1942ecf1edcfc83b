/**
 * Benchmark worker for the two sharp implementations, one JSON object per line on stdin/stdout
 * (the same protocol as bench/peers/*.py):
 *
 *   {"input", "outDir", "variants"} -> {"ms", "cpuMs", "outputs": [{name, file, bytes, width, height}]}
 *   {"cmd": "rss"} -> {"peakRssKiB", "getrusageMaxRssKiB"} (VmHWM since this process's exec,
 *   bench/peak-memory.ts; getrusage's maxRSS, which includes the driver's, only for contrast);
 *   {"cmd": "exit"} ends the process.
 *
 * `ours` is the product's resize core (src/core/pipeline.ts resizeImage) with the limits it ships
 * with. `naive` is what a sharp user writes first: one pipeline per output from the same input
 * buffer, all outputs at once, sharp's defaults otherwise (its operation cache stays on).
 * Timed: bytes in memory -> encoded bytes in memory.
 *
 * Bundled by bench/run.ts with esbuild and run on plain Node 22 (no tsx loader), so its peak RSS
 * is what a Lambda sandbox would see (not getrusage maxRSS, which carries the driver's over).
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import type { VariantSpec } from '../../src/core/variants';
import { peakRssKiB } from '../peak-memory';

type Mode = 'ours' | 'naive';
interface Output {
  name: string;
  format: string;
  width: number;
  height: number;
  data: Buffer;
}

const mode = process.argv[2] as Mode;
if (mode !== 'ours' && mode !== 'naive') {
  process.stderr.write(`usage: sharp-worker ours|naive (got ${String(mode)})\n`);
  process.exit(2);
}

async function renderOurs(input: Buffer, variants: readonly VariantSpec[]): Promise<Output[]> {
  // Required lazily so `naive` never runs the core's module-level sharp settings (cache off).
  const { resizeImage } = await import('../../src/core/pipeline');
  const { DEFAULT_LIMITS } = await import('../../src/core/limits');
  const result = await resizeImage(input, variants, DEFAULT_LIMITS);
  return result.variants.map((v) => ({
    name: v.name,
    format: v.format,
    width: v.width,
    height: v.height,
    data: v.data,
  }));
}

async function renderNaive(input: Buffer, variants: readonly VariantSpec[]): Promise<Output[]> {
  const { default: sharp } = await import('sharp');
  return Promise.all(
    variants.map(async (v) => {
      let image = sharp(input, { autoOrient: true }).resize({
        width: v.width,
        fit: 'inside',
        withoutEnlargement: true,
      });
      image =
        v.format === 'jpeg'
          ? image.flatten({ background: '#ffffff' }).jpeg({ quality: v.quality })
          : image.webp({ quality: v.quality });
      const { data, info } = await image.toBuffer({ resolveWithObject: true });
      return { name: v.name, format: v.format, width: info.width, height: info.height, data };
    }),
  );
}

async function handle(request: { input: string; outDir: string; variants: VariantSpec[] }): Promise<unknown> {
  const input = await fs.readFile(request.input);
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const outputs = await (mode === 'ours' ? renderOurs : renderNaive)(input, request.variants);
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const written = [];
  for (const o of outputs) {
    const file = path.join(request.outDir, `${o.name}.${o.format === 'jpeg' ? 'jpg' : o.format}`);
    await fs.writeFile(file, o.data);
    written.push({ name: o.name, file, bytes: o.data.length, width: o.width, height: o.height });
  }
  return { ms, cpuMs: (cpu.user + cpu.system) / 1000, outputs: written };
}

const lines = createInterface({ input: process.stdin, crlfDelay: Infinity });
let queue = Promise.resolve();
lines.on('line', (line) => {
  if (!line.trim()) return;
  // One request at a time, in order: the driver waits for each reply anyway.
  queue = queue.then(async () => {
    let reply: unknown;
    try {
      const request = JSON.parse(line) as { cmd?: string; input: string; outDir: string; variants: VariantSpec[] };
      if (request.cmd === 'exit') process.exit(0);
      reply =
        request.cmd === 'rss'
          ? { peakRssKiB: peakRssKiB(), getrusageMaxRssKiB: process.resourceUsage().maxRSS }
          : await handle(request);
    } catch (err) {
      reply = { error: err instanceof Error ? err.message : String(err) };
    }
    process.stdout.write(`${JSON.stringify(reply)}\n`);
  });
});
lines.on('close', () => {
  void queue.then(() => process.exit(0));
});
