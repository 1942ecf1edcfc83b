/**
 * Lossy WebP with an alpha channel, encoded as two independent halves that run at the same time.
 *
 * libwebp (as sharp calls it) encodes a frame with alpha in one thread: the lossy colour (VP8) and
 * then the lossless alpha plane (the ALPH chunk, a headerless VP8L stream). On a 1600x1067 frame
 * with a soft alpha the plane took 2/3 of the encode (333 of 497 ms CPU). Here the colour is encoded
 * by libwebp as before (the same VP8 bytes: its alpha is only cut to two levels, and libwebp cleans
 * the colour under transparent pixels from the original alpha either way) while the alpha plane is
 * encoded on another thread as a lossless greyscale WebP, whose VP8L stream is the ALPH payload. The
 * file is assembled as the WebP container specification's extended format (VP8X, ALPH, VP8).
 *
 * The alpha plane stays lossless (decoded alpha is the source's, byte for byte). It is stored under
 * the container's horizontal filter at VP8L quality 100, instead of libwebp's settings (the frame's
 * method, quality 8 x method, its estimate of the best filter), and at an effort chosen from the
 * filtered plane itself (alphaEffortFor): effort 1, whose LZ77 search and entropy analysis find the
 * long runs of a hard mask or a flat plane, unless the residual changes at least once every ten
 * samples (a soft edge over a photo, a vignette, a shadow, noise), where effort 0's simple references
 * take 12-53 % of effort 1's CPU at sizes from 21 % smaller to 30 % larger. bench/alpha-shapes.ts
 * measures it on 1600x1067 frames and 800 px resizes of them: the bench PNG's 1600 px plane 440 -> 92 ms
 * of CPU and 69.3 -> 64.8 KB; at effort 0 a hard mask would be 4-8x and a flat plane 130x larger, hence
 * the rule. Every plane stays smaller than libwebp's own but hard-edged ones (masks, text, flat planes),
 * at most 240 bytes larger.
 */
import sharp from 'sharp';

/** The chunks of a RIFF/WebP file by FourCC (the last of each kind); payloads without padding. */
export function webpChunks(data: Buffer): Map<string, Buffer> {
  const chunks = new Map<string, Buffer>();
  for (let at = 12; at + 8 <= data.length;) {
    const size = data.readUInt32LE(at + 4);
    chunks.set(data.toString('latin1', at, at + 4), data.subarray(at + 8, at + 8 + size));
    at += 8 + size + (size & 1);
  }
  return chunks;
}

/** Whether any pixel of 8-bit RGBA `pixels` is not fully opaque. */
export function hasTransparency(pixels: Buffer): boolean {
  for (let i = 3; i < pixels.length; i += 4) if (pixels[i] !== 255) return true;
  return false;
}

/**
 * The alpha plane of RGBA `pixels` under the WebP container's horizontal filter: each sample minus
 * the one to its left (modulo 256); the first column minus the sample above, the first sample as is.
 */
export function horizontallyFilteredAlpha(pixels: Buffer, width: number, height: number): Buffer {
  const filtered = Buffer.alloc(width * height);
  for (let y = 0; y < height; y += 1) {
    const row = y * width;
    filtered[row] = (pixels[row * 4 + 3] - (y === 0 ? 0 : pixels[(row - width) * 4 + 3])) & 0xff;
    for (let x = 1; x < width; x += 1) {
      const at = (row + x) * 4 + 3;
      filtered[row + x] = (pixels[at] - pixels[at - 4]) & 0xff;
    }
  }
  return filtered;
}

/** VP8L quality for the alpha plane (lossless: it spends effort, it does not drop detail). */
const ALPHA_QUALITY = 100;
/** Residual changes per sample from which a filtered plane is coded at VP8L effort 0 (see the module comment). */
const BUSY_PLANE_CHANGE_RATE = 0.1;

/** The share of samples of a filtered alpha plane that differ from the sample before them (0 for a flat plane). */
export function residualChangeRate(plane: Buffer): number {
  let changes = 0;
  for (let i = 1; i < plane.length; i += 1) if (plane[i] !== plane[i - 1]) changes += 1;
  return plane.length > 1 ? changes / (plane.length - 1) : 0;
}

/**
 * VP8L effort for a horizontally filtered alpha plane: 0 for a busy one (residual change rate at
 * least BUSY_PLANE_CHANGE_RATE, 0.1), 1 otherwise.
 */
export function alphaEffortFor(plane: Buffer): 0 | 1 {
  return residualChangeRate(plane) >= BUSY_PLANE_CHANGE_RATE ? 0 : 1;
}

/** ALPH header byte: no preprocessing, filter 1 (horizontal) in bits 2-3, compression 1 (lossless) in bits 0-1. */
const ALPH_HORIZONTAL_LOSSLESS = 0x05;
/** VP8X flags: the alpha bit. */
const VP8X_ALPHA = 0x10;
/** A VP8L bitstream opens with this byte and 14 + 14 + 1 + 3 bits of header: 5 bytes in all. */
const VP8L_SIGNATURE = 0x2f;
const VP8L_HEADER_BYTES = 5;

function riffChunk(fourcc: string, payload: Buffer): Buffer[] {
  const header = Buffer.alloc(8);
  header.write(fourcc, 0, 'latin1');
  header.writeUInt32LE(payload.length, 4);
  return payload.length & 1 ? [header, payload, Buffer.alloc(1)] : [header, payload];
}

/** The image-stream of a lossless WebP, checked against the expected size; undefined if it is not one. */
function vp8lStream(file: Buffer, width: number, height: number): Buffer | undefined {
  const vp8l = webpChunks(file).get('VP8L');
  if (!vp8l || vp8l.length <= VP8L_HEADER_BYTES || vp8l[0] !== VP8L_SIGNATURE) return undefined;
  const bits = vp8l.readUInt32LE(1);
  const streamWidth = (bits & 0x3fff) + 1;
  const streamHeight = ((bits >>> 14) & 0x3fff) + 1;
  if (streamWidth !== width || streamHeight !== height) return undefined;
  return vp8l.subarray(VP8L_HEADER_BYTES);
}

/**
 * Encodes 8-bit RGBA pixels as lossy WebP at `quality`/`effort` with a lossless alpha plane, the
 * colour and the alpha on two threads (the plane's settings: ALPHA_QUALITY, alphaEffortFor). A fully opaque
 * frame gets libwebp's own file, which then has no alpha chunk.
 */
export async function encodeWebpWithAlpha(
  rgba: Buffer,
  width: number,
  height: number,
  quality: number,
  effort: number,
): Promise<Buffer> {
  const raw = { raw: { width, height, channels: 4 as const } };
  const libwebpAlone = () => sharp(rgba, raw).webp({ quality, effort }).toBuffer();
  if (!hasTransparency(rgba)) return libwebpAlone();
  const colourFile = sharp(rgba, raw).webp({ quality, effort, alphaQuality: 0 }).toBuffer();
  // The filter runs on this thread while libwebp encodes the colour on another.
  const plane = horizontallyFilteredAlpha(rgba, width, height);
  const alphaFile = sharp(plane, { raw: { width, height, channels: 1 } })
    .webp({ lossless: true, quality: ALPHA_QUALITY, effort: alphaEffortFor(plane) })
    .toBuffer();
  const colour = webpChunks(await colourFile).get('VP8 ');
  const alpha = vp8lStream(await alphaFile, width, height);
  // Neither happens with the libwebp sharp ships; should a later one write otherwise, its own encode is correct.
  if (!colour || !alpha) return libwebpAlone();
  const vp8x = Buffer.alloc(10);
  vp8x[0] = VP8X_ALPHA;
  vp8x.writeUIntLE(width - 1, 4, 3);
  vp8x.writeUIntLE(height - 1, 7, 3);
  const body = Buffer.concat([
    Buffer.from('WEBP', 'latin1'),
    ...riffChunk('VP8X', vp8x),
    ...riffChunk('ALPH', Buffer.concat([Buffer.from([ALPH_HORIZONTAL_LOSSLESS]), alpha])),
    ...riffChunk('VP8 ', colour),
  ]);
  const riff = Buffer.alloc(8);
  riff.write('RIFF', 0, 'latin1');
  riff.writeUInt32LE(body.length, 4);
  return Buffer.concat([riff, body]);
}
