/**
 * Broken images for tests: a valid image with its pixel data scrambled (decodes fail: CORRUPT) or
 * cut short (TRUNCATED), as a damaged file or an interrupted upload leaves them.
 */
import { seededRandom } from '../../src/tools/samples';

/** XORs `data[start..end)` with a seeded stream, in place. */
function scramble(data: Buffer, start: number, end: number, seed: number): void {
  const random = seededRandom(seed);
  for (let i = start; i < end; i += 1) data[i] ^= 1 + Math.floor(random() * 255);
}

/** Offset just past the JPEG start-of-scan header, or -1. */
function jpegScanDataOffset(data: Buffer): number {
  let offset = 2;
  while (offset + 4 <= data.length) {
    if (data[offset] !== 0xff) return -1;
    const marker = data[offset + 1];
    const length = data.readUInt16BE(offset + 2);
    if (marker === 0xda) return offset + 2 + length;
    offset += 2 + length;
  }
  return -1;
}

/** Offset of the first PNG IDAT chunk's data, or -1. */
function pngIdatDataOffset(data: Buffer): { start: number; end: number } | undefined {
  let offset = 8;
  while (offset + 8 <= data.length) {
    const length = data.readUInt32BE(offset);
    const type = data.toString('latin1', offset + 4, offset + 8);
    if (type === 'IDAT') return { start: offset + 8, end: Math.min(data.length, offset + 8 + length) };
    offset += 12 + length;
  }
  return undefined;
}

/**
 * Returns a copy of an encoded image whose header is intact (so it still identifies as its format,
 * with the same dimensions) but whose compressed pixel data is scrambled, so decoding fails.
 * JPEG: the entropy-coded scan (end-of-image marker kept). PNG: the first IDAT chunk's data.
 * WebP: everything after the 30-byte header (lossy WebP has no checksums, so scrambling deeper
 * into the bitstream decodes to garbage without an error). GIF: all but the header and trailer.
 * Other formats: everything after the first 64 bytes.
 */
export function corruptImage(valid: Buffer): Buffer {
  const data = Buffer.from(valid);
  if (data.length > 3 && data[0] === 0xff && data[1] === 0xd8) {
    const start = jpegScanDataOffset(data);
    if (start > 0) {
      scramble(data, start, data.length - 2, 0xc0ffee);
      return data;
    }
  }
  if (data.length > 8 && data.readUInt32BE(0) === 0x89504e47) {
    const idat = pngIdatDataOffset(data);
    if (idat) {
      scramble(data, idat.start, idat.end, 0xc0ffee);
      return data;
    }
  }
  if (data.length > 30 && data.toString('latin1', 0, 4) === 'RIFF' && data.toString('latin1', 8, 12) === 'WEBP') {
    scramble(data, 30, data.length, 0xc0ffee);
    return data;
  }
  const keepTrailer = data.length > 64 && data.toString('latin1', 0, 4) === 'GIF8' ? 1 : 0;
  scramble(data, Math.min(64, data.length), data.length - keepTrailer, 0xc0ffee);
  return data;
}

/** Returns a copy of the first `fraction` of the bytes (default 0.5), as an interrupted upload leaves. */
export function truncateImage(valid: Buffer, fraction = 0.5): Buffer {
  if (!(fraction > 0 && fraction < 1))
    throw new RangeError(`truncateImage: fraction must be in (0, 1), got ${fraction}`);
  return Buffer.from(valid.subarray(0, Math.floor(valid.length * fraction)));
}
