/**
 * The benchmark's source images, drawn deterministically by the same generator the local cloud and
 * tests use (src/tools/samples.ts), and cached under bench/.cache/inputs (git-ignored) keyed by their
 * recipe, so a second run does not redraw 24 MP in JavaScript.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { synthesizeImage, type SyntheticImageOptions } from '../src/tools/samples';

export interface BenchInput {
  /** Short id used in tables, e.g. `12mp-jpeg`. */
  readonly id: string;
  readonly description: string;
  readonly options: SyntheticImageOptions;
}

/**
 * 12 MP and 24 MP camera-like JPEGs (q90, 4:3 and 3:2), a 12 MP JPEG stored landscape with EXIF
 * orientation 6 (a phone held upright), a 2 MP PNG with alpha (a screenshot/graphic), a 12 MP WebP
 * (a re-shared web picture) and a 48 MP JPEG (a phone's full-resolution mode), so the time per
 * megapixel can be followed from 2 to 48 MP.
 */
export const BENCH_INPUTS: readonly BenchInput[] = [
  {
    id: '12mp-jpeg',
    description: '12 MP JPEG q90, 4000x3000',
    options: { width: 4000, height: 3000, seed: 101, format: 'jpeg', quality: 90 },
  },
  {
    id: '24mp-jpeg',
    description: '24 MP JPEG q90, 6000x4000',
    options: { width: 6000, height: 4000, seed: 102, format: 'jpeg', quality: 90 },
  },
  {
    id: '12mp-exif6',
    description: '12 MP JPEG q90 stored 4000x3000, EXIF orientation 6 (shown 3000x4000)',
    options: { width: 4000, height: 3000, seed: 103, format: 'jpeg', quality: 90, orientation: 6 },
  },
  {
    id: '2mp-png-alpha',
    description: '2 MP PNG with alpha, 1800x1200',
    options: { width: 1800, height: 1200, seed: 104, format: 'png', alpha: true },
  },
  {
    id: '12mp-webp',
    description: '12 MP WebP q90, 4000x3000',
    options: { width: 4000, height: 3000, seed: 105, format: 'webp', quality: 90 },
  },
  {
    id: '48mp-jpeg',
    description: '48 MP JPEG q90, 8000x6000',
    options: { width: 8000, height: 6000, seed: 106, format: 'jpeg', quality: 90 },
  },
];

/** Megapixels of a source as drawn (before any EXIF rotation, which does not change the count). */
export function megapixels(input: BenchInput): number {
  return (input.options.width * input.options.height) / 1e6;
}

/** The --quick set: the 12 MP JPEG and the PNG (the two shapes that exercise different paths). */
export const QUICK_INPUT_IDS: readonly string[] = ['12mp-jpeg', '2mp-png-alpha'];

function cacheName(input: BenchInput): string {
  const o = input.options;
  const ext = o.format === 'jpeg' ? 'jpg' : o.format;
  const parts = [input.id, `${o.width}x${o.height}`, `s${o.seed}`, `q${o.quality ?? 90}`, `o${o.orientation ?? 1}`];
  if (o.alpha) parts.push('a');
  return `${parts.join('-')}.${ext}`;
}

/** Writes (or reuses) every input and returns its absolute path, in the order given. */
export async function prepareInputs(inputs: readonly BenchInput[], dir: string): Promise<Map<string, string>> {
  await fs.mkdir(dir, { recursive: true });
  const paths = new Map<string, string>();
  for (const input of inputs) {
    const file = path.join(dir, cacheName(input));
    const present = await fs.stat(file).then(
      (s) => s.size > 0,
      () => false,
    );
    if (!present) {
      const data = await synthesizeImage(input.options);
      await fs.writeFile(`${file}.partial`, data);
      await fs.rename(`${file}.partial`, file);
    }
    paths.set(input.id, file);
  }
  return paths;
}
