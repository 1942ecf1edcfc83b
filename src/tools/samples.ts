/**
 * Deterministic synthetic images for `npm start`, tests and benchmarks. Nothing binary is checked in:
 * every sample is drawn from a seed, so the same options give the same bytes on every run (for one
 * sharp/libvips build).
 *
 * The pictures are "photographic-like" on purpose: smooth gradients, soft shapes, low-frequency
 * texture and a little seeded noise, so JPEG/WebP encoders and resamplers do real work. A flat
 * colour would compress to nothing and make any measurement meaningless.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';

export interface SyntheticImageOptions {
  width: number;
  height: number;
  seed: number;
  format: 'jpeg' | 'png' | 'webp';
  /** EXIF orientation tag to write (JPEG and WebP carry it). Pixels are stored as drawn. */
  orientation?: 1 | 2 | 3 | 4 | 5 | 6 | 7 | 8;
  /** Add an alpha channel: a soft vignette plus a fully transparent corner. @default false */
  alpha?: boolean;
  /** Encoder quality (JPEG/WebP). @default 90 */
  quality?: number;
}

// Bound once: under jest's sandboxed globals every `Math.x` lookup in a per-pixel loop costs ~250 ns,
// which made drawing a 2.5 MP sample take 6 s instead of 0.3 s.
const { imul, sin, cos, sqrt, min, max, round, floor, PI } = Math;

/** mulberry32: a tiny seeded PRNG; good enough for noise and shape placement, fully deterministic. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = imul(t ^ (t >>> 15), t | 1);
    t ^= t + imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Blob {
  cx: number;
  cy: number;
  radius: number;
  colour: [number, number, number];
  strength: number;
}

/** Draws the pixels of a synthetic picture into a raw RGB(A) buffer. */
function drawPixels(width: number, height: number, seed: number, alpha: boolean): Buffer {
  const random = seededRandom(seed);
  const channels = alpha ? 4 : 3;
  const pixels = Buffer.alloc(width * height * channels);
  const top: [number, number, number] = [40 + random() * 120, 60 + random() * 120, 120 + random() * 135];
  const bottom: [number, number, number] = [60 + random() * 150, 40 + random() * 120, 20 + random() * 80];
  const diagonal = random() * 60 - 30;
  const scale = max(width, height);
  const blobs: Blob[] = [];
  for (let i = 0; i < 10; i += 1) {
    blobs.push({
      cx: random() * width,
      cy: random() * height,
      radius: (0.05 + random() * 0.25) * scale,
      colour: [random() * 255, random() * 255, random() * 255],
      strength: 0.35 + random() * 0.5,
    });
  }
  const waveX = (2 + random() * 6) / scale;
  const waveY = (2 + random() * 6) / scale;
  let offset = 0;
  for (let y = 0; y < height; y += 1) {
    const v = y / max(1, height - 1);
    for (let x = 0; x < width; x += 1) {
      const u = x / max(1, width - 1);
      const texture = 14 * sin(2 * PI * x * waveX) * cos(2 * PI * y * waveY);
      let r = top[0] + (bottom[0] - top[0]) * v + diagonal * u + texture;
      let g = top[1] + (bottom[1] - top[1]) * v - diagonal * u + texture;
      let b = top[2] + (bottom[2] - top[2]) * v + texture;
      for (const blob of blobs) {
        const dx = x - blob.cx;
        const dy = y - blob.cy;
        const d2 = (dx * dx + dy * dy) / (blob.radius * blob.radius);
        if (d2 < 1) {
          // Smooth-edged disc: full strength inside, falling off towards the rim.
          const w = blob.strength * (d2 < 0.8 ? 1 : (1 - d2) * 5);
          r += (blob.colour[0] - r) * w;
          g += (blob.colour[1] - g) * w;
          b += (blob.colour[2] - b) * w;
        }
      }
      const noise = (random() - 0.5) * 12;
      pixels[offset] = clampByte(r + noise);
      pixels[offset + 1] = clampByte(g + noise);
      pixels[offset + 2] = clampByte(b + noise);
      if (alpha) {
        const du = u - 0.5;
        const dv = v - 0.5;
        const vignette = 1 - min(1, sqrt(du * du + dv * dv) * 1.6);
        pixels[offset + 3] = u < 0.15 && v < 0.15 ? 0 : clampByte(80 + 175 * vignette);
      }
      offset += channels;
    }
  }
  return pixels;
}

function clampByte(value: number): number {
  return value < 0 ? 0 : value > 255 ? 255 : round(value);
}

/**
 * Draws a deterministic photographic-like picture and encodes it. With `orientation`, the EXIF
 * Orientation tag is written but the pixels are stored as drawn (as a camera held sideways does).
 * Defaults: no alpha, quality 90, no orientation tag.
 */
export async function synthesizeImage(opts: SyntheticImageOptions): Promise<Buffer> {
  const { width, height, seed, format } = opts;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new RangeError(`synthesizeImage: width and height must be positive integers, got ${width}x${height}`);
  }
  const alpha = opts.alpha ?? false;
  const quality = opts.quality ?? 90;
  const raw = drawPixels(width, height, seed, alpha);
  let image = sharp(raw, { raw: { width, height, channels: alpha ? 4 : 3 } });
  if (opts.orientation !== undefined) image = image.withMetadata({ orientation: opts.orientation });
  switch (format) {
    case 'jpeg':
      return image.jpeg({ quality }).toBuffer();
    case 'png':
      return image.png({ compressionLevel: 6 }).toBuffer();
    case 'webp':
      return image.webp({ quality }).toBuffer();
  }
}

interface SampleRecipe {
  name: string;
  options: SyntheticImageOptions;
}

/** The default sample set: sizes 600..2400 px, both orientations, EXIF-rotated, alpha, WebP. */
const SAMPLE_RECIPES: readonly SampleRecipe[] = [
  { name: 'landscape-2400x1600.jpg', options: { width: 2400, height: 1600, seed: 1, format: 'jpeg' } },
  { name: 'portrait-1200x1800.jpg', options: { width: 1200, height: 1800, seed: 2, format: 'jpeg' } },
  {
    name: 'exif-orientation-6-stored-1600x1200.jpg',
    options: { width: 1600, height: 1200, seed: 3, format: 'jpeg', orientation: 6 },
  },
  { name: 'alpha-800x800.png', options: { width: 800, height: 800, seed: 4, format: 'png', alpha: true } },
  { name: 'landscape-1920x1080.webp', options: { width: 1920, height: 1080, seed: 5, format: 'webp' } },
  { name: 'small-600x400.jpg', options: { width: 600, height: 400, seed: 6, format: 'jpeg' } },
  { name: 'square-1000x1000.jpg', options: { width: 1000, height: 1000, seed: 7, format: 'jpeg' } },
  { name: 'panorama-2400x800.jpg', options: { width: 2400, height: 800, seed: 8, format: 'jpeg' } },
];

function recipeAt(index: number): SampleRecipe {
  const base = SAMPLE_RECIPES[index % SAMPLE_RECIPES.length];
  if (index < SAMPLE_RECIPES.length) return base;
  // Beyond the base set, repeat the shapes with fresh seeds so every file differs.
  const round = floor(index / SAMPLE_RECIPES.length);
  return { name: `r${round}-${base.name}`, options: { ...base.options, seed: base.options.seed + 1000 * round } };
}

/** True when `file` already holds an image of the recipe's format and stored dimensions. */
async function isAlreadyGenerated(file: string, options: SyntheticImageOptions): Promise<boolean> {
  try {
    const meta = await sharp(file).metadata();
    return meta.format === options.format && meta.width === options.width && meta.height === options.height;
  } catch {
    return false;
  }
}

/**
 * Writes a deterministic set of sample images into `dir` (created if missing) and returns their
 * absolute paths, numbered in a stable order (`01-landscape-2400x1600.jpg`, ...). A file already
 * present with the right format and dimensions is kept as is. Default count: 8.
 */
export async function generateSamples(dir: string, options: { count?: number } = {}): Promise<string[]> {
  const count = options.count ?? SAMPLE_RECIPES.length;
  if (!Number.isInteger(count) || count < 0) throw new RangeError(`generateSamples: count must be >= 0, got ${count}`);
  const root = path.resolve(dir);
  await fs.mkdir(root, { recursive: true });
  const written: string[] = [];
  for (let i = 0; i < count; i += 1) {
    const recipe = recipeAt(i);
    const file = path.join(root, `${String(i + 1).padStart(2, '0')}-${recipe.name}`);
    if (!(await isAlreadyGenerated(file, recipe.options))) {
      const data = await synthesizeImage(recipe.options);
      // Write then rename, so a crash never leaves a half-written sample that looks complete.
      const partial = `${file}.partial`;
      await fs.writeFile(partial, data);
      await fs.rename(partial, file);
    }
    written.push(file);
  }
  return written;
}
