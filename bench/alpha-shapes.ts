/**
 * The core's WebP alpha plane (src/core/webp-alpha.ts: horizontal filter, lossless VP8L at the effort
 * alphaEffortFor picks, on its own thread) against libwebp's (the frame's method and quality 8 x method,
 * its fast filter choice, after the colour) on eight drawn alpha shapes and the bench's PNG, at
 * 1600x1067 and resized to 800 px wide (as a variant would be), colour q80 effort 4. Beside the core's
 * plane: the same filtered plane at VP8L effort 1 and effort 0 (quality 100), which alphaEffortFor
 * chooses between by the plane's residual change rate. CPU of a frame's alpha plane = the frame's CPU
 * minus the same frame's colour-only encode (alphaQuality 0), median of 3 runs (core-profile's `timed`);
 * negative when the plane costs less than the noise. CPU of a plane alone: its lossless encode.
 *
 *   tsx bench/alpha-shapes.ts      (prints a Markdown table)
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import {
  alphaEffortFor,
  encodeWebpWithAlpha,
  horizontallyFilteredAlpha,
  residualChangeRate,
  webpChunks,
} from '../src/core/webp-alpha';
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

/** A frame resized to `width` by sharp, as the core resizes a variant. */
async function resized(rgba: Buffer, width: number): Promise<{ rgba: Buffer; width: number; height: number }> {
  const { data, info } = await sharp(rgba, { raw: { width: WIDTH, height: HEIGHT, channels: 4 } })
    .resize(width)
    .raw()
    .toBuffer({ resolveWithObject: true });
  return { rgba: data, width: info.width, height: info.height };
}

async function main(): Promise<void> {
  const input = BENCH_INPUTS.find((i) => i.id === '2mp-png-alpha')!;
  const file = (await prepareInputs([input], path.join(__dirname, '.cache', 'inputs'))).get(input.id)!;
  const benchFrame = await sharp(await fs.readFile(file))
    .resize(WIDTH, HEIGHT, { fit: 'fill' })
    .toColourspace('srgb')
    .raw()
    .toBuffer();
  const shapes: [string, Buffer][] = [[`${input.id} (bench)`, benchFrame]];
  for (const [name, alphaAt] of Object.entries(SHAPES)) shapes.push([name, drawn(alphaAt)]);
  const frames: { name: string; rgba: Buffer; width: number; height: number }[] = [];
  for (const [name, rgba] of shapes) {
    frames.push({ name: `${name}, ${WIDTH} px`, rgba, width: WIDTH, height: HEIGHT });
    frames.push({ name: `${name}, 800 px`, ...(await resized(rgba, 800)) });
  }
  const lines = [
    '| alpha shape | libwebp ALPH bytes (CPU ms) | effort 1 | effort 0 | change rate | ours ALPH bytes (CPU ms) |',
    '|---|---:|---:|---:|---:|---:|',
  ];
  const bytes = (n: number) => n.toLocaleString('en-US');
  for (const { name, rgba, width, height } of frames) {
    const raw = { raw: { width, height, channels: 4 as const } };
    const libwebp = await timed(() => sharp(rgba, raw).webp({ quality: 80, effort: 4 }).toBuffer());
    const colour = await timed(() => sharp(rgba, raw).webp({ quality: 80, effort: 4, alphaQuality: 0 }).toBuffer());
    const ours = await timed(() => encodeWebpWithAlpha(rgba, width, height, 80, 4));
    const plane = horizontallyFilteredAlpha(rgba, width, height);
    const atEffort = async (effort: number) => {
      const encoded = await timed(() =>
        sharp(plane, { raw: { width, height, channels: 1 } })
          .webp({ lossless: true, quality: 100, effort })
          .toBuffer(),
      );
      return `${bytes(webpChunks(encoded.result).get('VP8L')?.length ?? 0)} (${encoded.cpuMs.toFixed(0)})`;
    };
    const alph = (f: Buffer) => bytes(webpChunks(f).get('ALPH')?.length ?? 0);
    lines.push(
      `| ${name} | ${alph(libwebp.result)} (${(libwebp.cpuMs - colour.cpuMs).toFixed(0)}) | ${await atEffort(1)} | ` +
        `${await atEffort(0)} | ${residualChangeRate(plane).toFixed(3)} | ${alph(ours.result)} ` +
        `(${(ours.cpuMs - colour.cpuMs).toFixed(0)}), effort ${alphaEffortFor(plane)} |`,
    );
  }
  console.log(lines.join('\n'));
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
