import sharp from 'sharp';
import {
  alphaEffortFor,
  encodeWebpWithAlpha,
  hasTransparency,
  horizontallyFilteredAlpha,
  residualChangeRate,
  webpChunks,
} from '../../src/core/webp-alpha';

/** RGBA pixels: a colour ramp under the alpha plane `alphaAt` (x, y) -> 0..255. */
function frame(width: number, height: number, alphaAt: (x: number, y: number) => number): Buffer {
  const pixels = Buffer.alloc(width * height * 4);
  for (let y = 0; y < height; y += 1) {
    for (let x = 0; x < width; x += 1) {
      const i = (y * width + x) * 4;
      pixels[i] = (x * 255) / width;
      pixels[i + 1] = (y * 255) / height;
      pixels[i + 2] = ((x + y) * 7) & 255;
      pixels[i + 3] = Math.max(0, Math.min(255, Math.round(alphaAt(x, y))));
    }
  }
  return pixels;
}

/** Alpha planes of the kinds that reach the encoder: a hard mask, a feathered edge, a radial vignette, noise. */
const SHAPES: Record<string, (x: number, y: number) => number> = {
  mask: (x, y) => (Math.hypot(x - 150, y - 100) < 70 ? 255 : 0),
  feather: (x, y) => (90 - Math.hypot(x - 150, y - 100)) * 8,
  radial: (x, y) => 255 - Math.hypot(x - 150, y - 100) * 1.4,
  noise: (x, y) => (Math.imul(x * 7919 + y * 104729, 2654435761) >>> 24) & 255,
};

/** The chunk FourCCs of a WebP file in order, and whether its RIFF size matches its length. */
function layout(file: Buffer): { fourccs: string[]; riffSizeMatches: boolean } {
  const fourccs: string[] = [];
  for (let at = 12; at + 8 <= file.length;) {
    const size = file.readUInt32LE(at + 4);
    fourccs.push(file.toString('latin1', at, at + 4));
    at += 8 + size + (size & 1);
  }
  return { fourccs, riffSizeMatches: file.readUInt32LE(4) === file.length - 8 };
}

describe('encodeWebpWithAlpha', () => {
  // Odd and even sizes, so chunk payloads of odd length (which RIFF pads) occur.
  it.each([
    [300, 200],
    [301, 199],
  ])('decodes to the source alpha exactly and to libwebp one-call colour (%i x %i)', async (width, height) => {
    let oddPayloads = 0;
    for (const [name, alphaAt] of Object.entries(SHAPES)) {
      const pixels = frame(width, height, alphaAt);
      const raw = { raw: { width, height, channels: 4 as const } };
      const ours = await encodeWebpWithAlpha(pixels, width, height, 80, 4);
      const oneCall = await sharp(pixels, raw).webp({ quality: 80, effort: 4 }).toBuffer();

      expect({ name, ...layout(ours) }).toEqual({ name, fourccs: ['VP8X', 'ALPH', 'VP8 '], riffSizeMatches: true });
      const chunks = webpChunks(ours);
      expect(chunks.get('VP8X')![0]).toBe(0x10);
      // Lossless, horizontal filter: the decoder must undo the filter to give back the source alpha below.
      expect(chunks.get('ALPH')![0]).toBe(0x05);
      // The colour is libwebp's own VP8 stream, byte for byte.
      expect(chunks.get('VP8 ')!.equals(webpChunks(oneCall).get('VP8 ')!)).toBe(true);
      oddPayloads += [...chunks.values()].filter((payload) => payload.length % 2 === 1).length;

      const meta = await sharp(ours).metadata();
      expect([meta.format, meta.width, meta.height, meta.hasAlpha]).toEqual(['webp', width, height, true]);
      const decoded = await sharp(ours).raw().toBuffer();
      const reference = await sharp(oneCall).raw().toBuffer();
      expect(decoded.length).toBe(pixels.length);
      let alphaDiffs = 0;
      let colourDiffs = 0;
      for (let i = 0; i < decoded.length; i += 4) {
        if (decoded[i + 3] !== pixels[i + 3]) alphaDiffs += 1;
        if (pixels[i + 3] > 0 && decoded.subarray(i, i + 3).compare(reference.subarray(i, i + 3)) !== 0)
          colourDiffs += 1;
      }
      expect({ name, alphaDiffs, colourDiffs }).toEqual({ name, alphaDiffs: 0, colourDiffs: 0 });
    }
    expect(oddPayloads).toBeGreaterThan(0);
  });

  it('leaves a fully opaque frame to libwebp: one VP8 chunk, the same bytes as its own encode', async () => {
    const pixels = frame(120, 80, () => 255);
    expect(hasTransparency(pixels)).toBe(false);
    const ours = await encodeWebpWithAlpha(pixels, 120, 80, 80, 4);
    const oneCall = await sharp(pixels, { raw: { width: 120, height: 80, channels: 4 } })
      .webp({ quality: 80, effort: 4 })
      .toBuffer();
    expect(layout(ours).fourccs).toEqual(['VP8 ']);
    expect(ours.equals(oneCall)).toBe(true);
  });

  // The plane's effort is chosen from the plane: a hard mask keeps effort 1 (its LZ77 search finds the long
  // runs), a busy plane gets effort 0 (cheaper). The ALPH payload is exactly that effort's VP8L stream.
  it.each([
    ['mask', 1],
    ['feather', 0],
    ['radial', 0],
    ['noise', 0],
  ] as const)('codes the %s plane at VP8L effort %i', async (name, effort) => {
    const [width, height] = [300, 200];
    const pixels = frame(width, height, SHAPES[name]);
    const plane = horizontallyFilteredAlpha(pixels, width, height);
    expect(alphaEffortFor(plane)).toBe(effort);
    const atEffort = async (e: number) => {
      const file = await sharp(plane, { raw: { width, height, channels: 1 } })
        .webp({ lossless: true, quality: 100, effort: e })
        .toBuffer();
      // The ALPH payload: its header byte, then the VP8L stream without its 5-byte header.
      return webpChunks(file).get('VP8L')!.subarray(5);
    };
    const [chosen, other] = [await atEffort(effort), await atEffort(1 - effort)];
    expect(chosen.equals(other)).toBe(false);
    const alph = webpChunks(await encodeWebpWithAlpha(pixels, width, height, 80, 4)).get('ALPH')!;
    expect(alph.subarray(1).equals(chosen)).toBe(true);
  });

  it('residualChangeRate: the share of samples unlike the one before; alphaEffortFor: 0 from 0.1 on', () => {
    expect(residualChangeRate(Buffer.from([0, 0, 0, 0, 0]))).toBe(0);
    expect(residualChangeRate(Buffer.from([0, 1, 1, 2, 2]))).toBe(0.5);
    expect(residualChangeRate(Buffer.from([7]))).toBe(0);
    // 101 samples, 100 transitions: 10 changes (five isolated ones) is the threshold, 9 is below it.
    const withChanges = (changes: number) => {
      const plane = Buffer.alloc(101);
      for (let k = 0; k < Math.floor(changes / 2); k += 1) plane[10 + k * 10] = 1;
      if (changes % 2) plane[100] = 1;
      return plane;
    };
    expect(residualChangeRate(withChanges(10))).toBe(0.1);
    expect(alphaEffortFor(withChanges(10))).toBe(0);
    expect(residualChangeRate(withChanges(9))).toBe(0.09);
    expect(alphaEffortFor(withChanges(9))).toBe(1);
  });

  it('horizontallyFilteredAlpha: left neighbour, the first column from above, modulo 256', () => {
    // Alpha of a 3x2 frame: 10 20 5 / 200 0 255.
    const alphas = [10, 20, 5, 200, 0, 255];
    const pixels = Buffer.alloc(alphas.length * 4);
    alphas.forEach((a, i) => (pixels[i * 4 + 3] = a));
    expect(Array.from(horizontallyFilteredAlpha(pixels, 3, 2))).toEqual([10, 10, 241, 190, 56, 255]);
  });

  it('hasTransparency sees a single pixel below 255', () => {
    const pixels = frame(10, 10, () => 255);
    pixels[4 * 57 + 3] = 254;
    expect(hasTransparency(pixels)).toBe(true);
  });
});
