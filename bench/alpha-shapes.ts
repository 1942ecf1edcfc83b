/**
 * The core's WebP alpha plane (src/core/webp-alpha.ts: horizontal filter, lossless VP8L effort 1, on
 * its own thread) against libwebp's (the frame's method and quality 8 x method, its fast filter
 * choice, after the colour) on eight drawn alpha shapes and the bench's PNG, 1600x1067, colour q80
 * effort 4. CPU of an alpha plane = the frame's CPU minus the same frame's colour-only encode
 * (alphaQuality 0), median of 3 runs (core-profile's `timed`); negative when the plane costs less than the noise.
 *
 *   tsx bench/alpha-shapes.ts      (prints a Markdown table)
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { encodeWebpWithAlpha, webpChunks } from '../src/core/webp-alpha';
import { timed } from './core-profile';
import { BENCH_INPUTS, prepareInputs } from './inputs';

const WIDTH = 1600;
const HEIGHT = 1067;

/** Alpha at (x, y) for each drawn shape, centred on the frame. */
const SHAPES: Record<string, (x: number, y: number, r: number) => number> = {
  'flat plane': () => 128,
  'hard mask': (_x, _y, r) => (r < 400 ? 255 : 0),
  'feathered edge': (_x, _y, r) => ((420 - r) * 255) / 40,
  'radial vignette': (_x, _y, r) => 255 - (r * 255) / 960,
  'soft shadow': (_x, _y, r) => (r < 300 ? 255 : 255 * Math.exp(-(r - 300) / 60)),
  text: (x, y) => ((Math.floor(x / 7) * 13 + Math.floor(y / 11) * 7) % 5 === 0 && x % 7 < 4 && y % 11 < 8 ? 255 : 0),
  'cut-out': (x, y) => (Math.sin(x / 50) * 100 + Math.cos(y / 37) * 80 + 300 - Math.abs(x - WIDTH / 2) > 0 ? 255 : 0),
  noise: (x, y) => (Math.imul(y * WIDTH + x, 2654435761) >>> 24) & 255,
};

function drawn(alphaAt: (x: number, y: number, r: number) => number): Buffer {
  const rgba = Buffer.alloc(WIDTH * HEIGHT * 4);
  for (let y = 0; y < HEIGHT; y += 1) {
    for (let x = 0; x < WIDTH; x += 1) {
      const i = y * WIDTH + x;
      const r = Math.hypot(x - WIDTH / 2, y - HEIGHT / 2);
      rgba[i * 4] = (i * 7) & 255;
      rgba[i * 4 + 1] = (i >> 8) & 255;
      rgba[i * 4 + 2] = 90;
      rgba[i * 4 + 3] = Math.max(0, Math.min(255, Math.round(alphaAt(x, y, r))));
    }
  }
  return rgba;
}

async function main(): Promise<void> {
  const input = BENCH_INPUTS.find((i) => i.id === '2mp-png-alpha')!;
  const file = (await prepareInputs([input], path.join(__dirname, '.cache', 'inputs'))).get(input.id)!;
  const benchFrame = await sharp(await fs.readFile(file))
    .resize(WIDTH, HEIGHT, { fit: 'fill' })
    .toColourspace('srgb')
    .raw()
    .toBuffer();
  const frames: [string, Buffer][] = [[`${input.id} (bench)`, benchFrame]];
  for (const [name, alphaAt] of Object.entries(SHAPES)) frames.push([name, drawn(alphaAt)]);
  const raw = { raw: { width: WIDTH, height: HEIGHT, channels: 4 as const } };
  const lines = [
    '| alpha shape | libwebp ALPH bytes | libwebp alpha CPU ms | ours ALPH bytes | ours alpha CPU ms |',
    '|---|---:|---:|---:|---:|',
  ];
  for (const [name, rgba] of frames) {
    const libwebp = await timed(() => sharp(rgba, raw).webp({ quality: 80, effort: 4 }).toBuffer());
    const colour = await timed(() => sharp(rgba, raw).webp({ quality: 80, effort: 4, alphaQuality: 0 }).toBuffer());
    const ours = await timed(() => encodeWebpWithAlpha(rgba, WIDTH, HEIGHT, 80, 4));
    const alph = (f: Buffer) => (webpChunks(f).get('ALPH')?.length ?? 0).toLocaleString('en-US');
    lines.push(
      `| ${name} | ${alph(libwebp.result)} | ${(libwebp.cpuMs - colour.cpuMs).toFixed(0)} | ${alph(ours.result)} | ` +
        `${(ours.cpuMs - colour.cpuMs).toFixed(0)} |`,
    );
  }
  console.log(lines.join('\n'));
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
