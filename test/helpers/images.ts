/**
 * Hand-crafted inputs the synthetic sample generator does not make: hostile headers, animation,
 * markup. Everything is built in memory; no binaries are checked in.
 */
import { crc32 } from 'node:zlib';
import sharp from 'sharp';

function pngChunk(type: string, data: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const typeAndData = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(typeAndData));
  return Buffer.concat([length, typeAndData, crc]);
}

/**
 * A structurally valid PNG whose IHDR (with a correct CRC) claims `width` x `height` RGB pixels but
 * carries almost no data: a decompression-bomb header.
 */
export function pngHeaderClaiming(width: number, height: number): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // colour type RGB
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk('IHDR', ihdr),
    pngChunk('IDAT', Buffer.from([0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01])),
    pngChunk('IEND', Buffer.alloc(0)),
  ]);
}

/** A small animated image: `frames` frames of `size` x `size`, each a different colour. */
export async function animatedImage(format: 'gif' | 'webp', frames = 3, size = 16): Promise<Buffer> {
  const raw = Buffer.alloc(size * size * frames * 3);
  for (let frame = 0; frame < frames; frame += 1) {
    const start = frame * size * size * 3;
    for (let i = 0; i < size * size; i += 1) {
      raw[start + i * 3] = (frame * 90) % 256;
      raw[start + i * 3 + 1] = 255 - ((frame * 90) % 256);
      raw[start + i * 3 + 2] = 128;
    }
  }
  const image = sharp(raw, { raw: { width: size, height: size * frames, channels: 3, pageHeight: size } });
  return format === 'gif' ? image.gif().toBuffer() : image.webp().toBuffer();
}

/** An opaque image whose stored top `stripe` rows are red and the rest blue, for orientation checks. */
export async function redTopStripeJpeg(
  width: number,
  height: number,
  stripe: number,
  orientation: number,
): Promise<Buffer> {
  const raw = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y += 1) {
    for (let x = 0; x < width; x += 1) {
      const offset = (y * width + x) * 3;
      if (y < stripe) raw[offset] = 255;
      else raw[offset + 2] = 255;
    }
  }
  return sharp(raw, { raw: { width, height, channels: 3 } })
    .withMetadata({ orientation })
    .jpeg({ quality: 95 })
    .toBuffer();
}

export const SVG = Buffer.from(
  '<svg xmlns="http://www.w3.org/2000/svg" width="40" height="40"><rect width="40" height="40" fill="red"/></svg>',
);
export const SVG_WITH_PROLOG = Buffer.from(
  '\uFEFF<?xml version="1.0" encoding="UTF-8"?>\n<!-- drawn by hand -->\n' +
    '<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" ' +
    '"http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd" [ <!ENTITY a "b"> ]>\n' +
    '<svg xmlns="http://www.w3.org/2000/svg" width="40" height="40"/>',
);
export const HTML = Buffer.from(
  '<!DOCTYPE html>\n<html><head><title>Not found</title></head><body><h1>404</h1></body></html>',
);
export const HTML_WITH_INLINE_SVG = Buffer.from(
  '<html><body><svg xmlns="http://www.w3.org/2000/svg" width="4" height="4"></svg></body></html>',
);
export const TEXT = Buffer.from('name,width\nthumb,320\n');
