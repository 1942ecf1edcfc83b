import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp, { type Metadata } from 'sharp';
import { PipelineError, type ErrorCode } from '../../src/core/errors';
import { DEFAULT_LIMITS, type ImageLimits } from '../../src/core/limits';
import { jpegDctShrink, sharpJpegShrink } from '../../src/core/geometry';
import { inspectImage, resizeImage, WEBP_EFFORT, WEBP_EFFORT_LARGE, webpEffortFor } from '../../src/core/pipeline';
import { looksTruncated, sniffMarkup } from '../../src/core/sniff';
import { webpChunks } from '../../src/core/webp-alpha';
import { DEFAULT_VARIANTS, parseVariantSpecs } from '../../src/core/variants';
import { generateSamples, synthesizeImage } from '../../src/tools/samples';
import { corruptImage, truncateImage } from '../helpers/broken-images';
import { displayP3Jpeg, P3_COLOUR } from '../helpers/hostile-corpus';
import {
  HTML,
  HTML_WITH_INLINE_SVG,
  SVG,
  SVG_WITH_PROLOG,
  TEXT,
  animatedImage,
  pngHeaderClaiming,
  redTopStripeJpeg,
} from '../helpers/images';

const subject = { bucket: 'uploads-bucket', key: 'uploads/cat photo.jpg' };

/** Runs the pipeline expecting a PipelineError with `code` that carries the subject. */
async function expectRejected(
  input: Buffer,
  code: ErrorCode,
  limits: ImageLimits = DEFAULT_LIMITS,
): Promise<PipelineError> {
  let caught: unknown;
  try {
    await resizeImage(input, DEFAULT_VARIANTS, limits, subject);
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(PipelineError);
  const err = caught as PipelineError;
  expect({ code: err.code, message: err.message }).toEqual({ code, message: expect.any(String) });
  expect(err.subject).toEqual(subject);
  expect(err.permanent).toBe(true);
  return err;
}

async function outputMetadata(data: Buffer): Promise<Metadata> {
  return sharp(data).metadata();
}

describe('resizeImage: geometry and formats', () => {
  it('renders every default variant of a landscape JPEG', async () => {
    const input = await synthesizeImage({ width: 2000, height: 1250, seed: 11, format: 'jpeg' });
    const result = await resizeImage(input, DEFAULT_VARIANTS, DEFAULT_LIMITS, subject);
    expect(result.source).toEqual({ width: 2000, height: 1250, format: 'jpeg' });
    expect(result.variants.map((v) => [v.name, v.format, v.contentType, v.width, v.height])).toEqual([
      ['thumb', 'webp', 'image/webp', 320, 200],
      ['medium', 'webp', 'image/webp', 800, 500],
      ['large', 'webp', 'image/webp', 1600, 1000],
      ['fallback', 'jpeg', 'image/jpeg', 1600, 1000],
    ]);
    for (const variant of result.variants) {
      const meta = await outputMetadata(variant.data);
      expect([meta.format, meta.width, meta.height]).toEqual([variant.format, variant.width, variant.height]);
      expect(meta.exif).toBeUndefined();
      expect(meta.icc).toBeUndefined();
    }
  });

  it('renders every default variant of a portrait WebP, capping at the source width', async () => {
    const input = await synthesizeImage({ width: 900, height: 1350, seed: 12, format: 'webp' });
    const result = await resizeImage(input, DEFAULT_VARIANTS, DEFAULT_LIMITS);
    expect(result.source).toEqual({ width: 900, height: 1350, format: 'webp' });
    expect(result.variants.map((v) => [v.name, v.width, v.height])).toEqual([
      ['thumb', 320, 480],
      ['medium', 800, 1200],
      ['large', 900, 1350],
      ['fallback', 900, 1350],
    ]);
    const formats = await Promise.all(result.variants.map(async (v) => (await outputMetadata(v.data)).format));
    expect(formats).toEqual(['webp', 'webp', 'webp', 'jpeg']);
  });

  it('never upscales: a 200 px source gives 200 px variants', async () => {
    const input = await synthesizeImage({ width: 200, height: 150, seed: 13, format: 'png' });
    const result = await resizeImage(input, DEFAULT_VARIANTS, DEFAULT_LIMITS);
    for (const variant of result.variants) {
      expect([variant.width, variant.height]).toEqual([200, 150]);
      const meta = await outputMetadata(variant.data);
      expect([meta.width, meta.height]).toEqual([200, 150]);
    }
  });

  it('auto-orients EXIF orientation 6, leaves no EXIF and writes sRGB', async () => {
    const input = await synthesizeImage({ width: 1200, height: 800, seed: 14, format: 'jpeg', orientation: 6 });
    expect((await sharp(input).metadata()).orientation).toBe(6);
    expect(await inspectImage(input, DEFAULT_LIMITS)).toEqual({ width: 800, height: 1200, format: 'jpeg' });
    const result = await resizeImage(input, DEFAULT_VARIANTS, DEFAULT_LIMITS);
    expect(result.source).toEqual({ width: 800, height: 1200, format: 'jpeg' });
    expect(result.variants.map((v) => [v.width, v.height])).toEqual([
      [320, 480],
      [800, 1200],
      [800, 1200],
      [800, 1200],
    ]);
    for (const variant of result.variants) {
      const meta = await outputMetadata(variant.data);
      expect(meta.height).toBeGreaterThan(meta.width);
      expect(meta.orientation).toBeUndefined();
      expect(meta.exif).toBeUndefined();
      expect(meta.space).toBe('srgb');
    }
  });

  it('rotates orientation 6 clockwise: the stored top edge ends up on the right', async () => {
    const input = await redTopStripeJpeg(120, 80, 20, 6);
    const spec = parseVariantSpecs([{ name: 'o', width: 80, format: 'png' }]);
    const [variant] = (await resizeImage(input, spec, DEFAULT_LIMITS)).variants;
    expect([variant.width, variant.height]).toEqual([80, 120]);
    const { data, info } = await sharp(variant.data).raw().toBuffer({ resolveWithObject: true });
    const pixel = (x: number, y: number) =>
      Array.from(data.subarray((y * info.width + x) * info.channels, (y * info.width + x) * info.channels + 3));
    const [rightR, , rightB] = pixel(78, 60);
    const [leftR, , leftB] = pixel(2, 60);
    expect(rightR).toBeGreaterThan(200);
    expect(rightB).toBeLessThan(60);
    expect(leftB).toBeGreaterThan(200);
    expect(leftR).toBeLessThan(60);
  });

  it('keeps alpha for webp/png and flattens onto white for jpeg', async () => {
    const input = await synthesizeImage({ width: 400, height: 300, seed: 15, format: 'png', alpha: true });
    const specs = parseVariantSpecs([
      { name: 'w', width: 200, format: 'webp' },
      { name: 'p', width: 200, format: 'png' },
      { name: 'j', width: 200, format: 'jpeg' },
    ]);
    const [webp, png, jpeg] = (await resizeImage(input, specs, DEFAULT_LIMITS)).variants;
    // The sample's top-left corner is fully transparent.
    const corner = async (data: Buffer) => {
      const { data: pixels, info } = await sharp(data).raw().toBuffer({ resolveWithObject: true });
      return { channels: info.channels, pixel: Array.from(pixels.subarray(0, info.channels)) };
    };
    expect((await outputMetadata(webp.data)).hasAlpha).toBe(true);
    expect((await corner(webp.data)).pixel[3]).toBeLessThan(10);
    expect((await corner(png.data)).pixel[3]).toBe(0);
    const flattened = await corner(jpeg.data);
    expect(flattened.channels).toBe(3);
    for (const value of flattened.pixel) expect(value).toBeGreaterThan(245);
  });

  it('encodes the colour of a large WebP frame with alpha at the large-frame effort, as it does an opaque one', async () => {
    // 1200x900 = 1.08 MP, above WEBP_FAST_ABOVE_PIXELS; the alpha plane is encoded apart (webp-alpha.ts).
    const input = await synthesizeImage({ width: 1200, height: 900, seed: 16, format: 'png', alpha: true });
    const [large] = (
      await resizeImage(input, parseVariantSpecs([{ name: 'l', width: 1200, format: 'webp' }]), DEFAULT_LIMITS)
    ).variants;
    const pixels = await sharp(input).raw().toBuffer();
    const colourAt = (effort: number) =>
      sharp(pixels, { raw: { width: 1200, height: 900, channels: 4 } })
        .webp({ quality: 80, effort, alphaQuality: 0 })
        .toBuffer();
    const vp8 = (file: Buffer) => webpChunks(file).get('VP8 ')!;
    expect(webpEffortFor(1200 * 900)).toBe(WEBP_EFFORT_LARGE);
    expect(vp8(large.data).equals(vp8(await colourAt(WEBP_EFFORT_LARGE)))).toBe(true);
    expect(vp8(large.data).equals(vp8(await colourAt(WEBP_EFFORT)))).toBe(false);
  });
  it('honours cover and contain, and never enlarges the picture for either', async () => {
    const input = await synthesizeImage({ width: 600, height: 400, seed: 16, format: 'jpeg' });
    const specs = parseVariantSpecs([
      { name: 'cover', width: 300, height: 300, fit: 'cover', format: 'webp' },
      { name: 'contain', width: 300, height: 300, fit: 'contain', format: 'webp' },
      { name: 'contain-jpeg', width: 300, height: 300, fit: 'contain', format: 'jpeg' },
      { name: 'inside-box', width: 300, height: 100, format: 'webp' },
      { name: 'cover-big', width: 1000, height: 300, fit: 'cover', format: 'webp' },
      { name: 'contain-big', width: 1000, height: 1000, fit: 'contain', format: 'png' },
    ]);
    const variants = (await resizeImage(input, specs, DEFAULT_LIMITS)).variants;
    expect(variants.map((v) => [v.name, v.width, v.height])).toEqual([
      ['cover', 300, 300],
      ['contain', 300, 300],
      ['contain-jpeg', 300, 300],
      ['inside-box', 150, 100],
      ['cover-big', 600, 300],
      ['contain-big', 1000, 1000],
    ]);
    // contain letterboxes 300x200 content: transparent bars for webp, white for jpeg.
    const top = async (data: Buffer) => Array.from((await sharp(data).raw().toBuffer()).subarray(0, 4));
    expect((await top(variants[1].data))[3]).toBe(0);
    expect((await top(variants[2].data)).slice(0, 3).every((v) => v > 245)).toBe(true);
  });

  it('converts CMYK input to sRGB', async () => {
    const rgb = await synthesizeImage({ width: 300, height: 200, seed: 17, format: 'jpeg' });
    const cmyk = await sharp(rgb).toColourspace('cmyk').jpeg().toBuffer();
    expect((await sharp(cmyk).metadata()).space).toBe('cmyk');
    const [variant] = (
      await resizeImage(cmyk, parseVariantSpecs([{ name: 'a', width: 100, format: 'webp' }]), DEFAULT_LIMITS)
    ).variants;
    const meta = await outputMetadata(variant.data);
    expect([meta.space, meta.channels]).toEqual(['srgb', 3]);
  });

  it('converts an ICC-tagged input it shrinks after the resize, as sharp would before it (P3 PNG with and without alpha, P3 JPEG)', async () => {
    /** Mean and max absolute difference of two equally long pixel buffers. */
    const difference = (a: Buffer, b: Buffer) => {
      expect(a.length).toBe(b.length);
      let sum = 0;
      let max = 0;
      for (let i = 0; i < a.length; i += 1) {
        const d = Math.abs(a[i] - b[i]);
        sum += d;
        max = Math.max(max, d);
      }
      return { mean: sum / a.length, max };
    };
    /** RGBA pixels with colour scaled by alpha: the colour of a transparent pixel is not seen. */
    const premultiplied = (rgba: Buffer) => {
      const out = Buffer.from(rgba);
      for (let i = 0; i < out.length; i += 4) {
        for (let c = 0; c < 3; c += 1) out[i + c] = Math.round((out[i + c] * out[i + 3]) / 255);
      }
      return out;
    };
    const spec = parseVariantSpecs([{ name: 'p', width: 400, format: 'png' }]);
    for (const alpha of [false, true]) {
      const seen = alpha ? premultiplied : (pixels: Buffer) => pixels;
      const drawn = await synthesizeImage({ width: 1200, height: 900, seed: 22, format: 'png', alpha });
      // Saturated colours, where P3 and sRGB numbers differ most.
      const p3 = await sharp(drawn).modulate({ saturation: 3 }).withIccProfile('p3').png().toBuffer();
      expect((await sharp(p3).metadata()).hasProfile).toBe(true);
      const [variant] = (await resizeImage(p3, spec, DEFAULT_LIMITS)).variants;
      expect((await outputMetadata(variant.data)).icc).toBeUndefined();
      const ours = seen(await sharp(variant.data).raw().toBuffer());
      // sharp's own order: the whole picture converted to sRGB, then resized.
      const convertedFirst = seen(
        await sharp(p3).resize(400, 300, { fit: 'fill' }).toColourspace('srgb').raw().toBuffer(),
      );
      const profileIgnored = seen(
        await sharp(p3, { ignoreIcc: true }).resize(400, 300, { fit: 'fill' }).raw().toBuffer(),
      );
      const near = difference(ours, convertedFirst);
      const ignored = difference(ours, profileIgnored);
      expect(near.max).toBeLessThanOrEqual(12);
      // Ignoring the profile is off by 2 to 5 levels on average here; ours is within a fifth of that.
      expect(ignored.mean).toBeGreaterThan(1);
      expect(near.mean).toBeLessThan(ignored.mean / 5);
    }
    // A flat colour stored in P3 comes out as the sRGB colour drawn, from a source large enough to be shrunk.
    const flat = await displayP3Jpeg(1200, 900, P3_COLOUR);
    const [flatVariant] = (await resizeImage(flat, spec, DEFAULT_LIMITS)).variants;
    const pixel = await sharp(flatVariant.data).raw().toBuffer();
    expect(P3_COLOUR.map((v, i) => Math.abs(v - pixel[i]) <= 6)).toEqual([true, true, true]);
  });

  it('accepts TIFF, GIF and AVIF input', async () => {
    const base = await synthesizeImage({ width: 120, height: 80, seed: 18, format: 'png' });
    const spec = parseVariantSpecs([{ name: 'a', width: 60, format: 'webp' }]);
    for (const [format, data] of [
      ['tiff', await sharp(base).tiff().toBuffer()],
      ['gif', await sharp(base).gif().toBuffer()],
      ['avif', await sharp(base).avif({ effort: 0 }).toBuffer()],
    ] as const) {
      const result = await resizeImage(data, spec, DEFAULT_LIMITS);
      expect([result.source.format, result.variants[0].width, result.variants[0].height]).toEqual([format, 60, 40]);
    }
  });

  it('renders the first frame of an animated input when animation is allowed', async () => {
    const gif = await animatedImage('gif', 3, 16);
    const result = await resizeImage(gif, DEFAULT_VARIANTS, { ...DEFAULT_LIMITS, allowAnimated: true });
    expect(result.source).toEqual({ width: 16, height: 16, format: 'gif' });
    expect(result.variants.every((v) => v.width === 16 && v.height === 16)).toBe(true);
    expect((await outputMetadata(result.variants[0].data)).pages ?? 1).toBe(1);
  });
});

describe('resizeImage: rejected inputs carry a code and the subject', () => {
  let jpeg: Buffer;
  let png: Buffer;
  beforeAll(async () => {
    jpeg = await synthesizeImage({ width: 240, height: 160, seed: 21, format: 'jpeg' });
    png = await synthesizeImage({ width: 240, height: 160, seed: 22, format: 'png' });
  });

  it('EMPTY for 0 bytes', async () => {
    await expectRejected(Buffer.alloc(0), 'EMPTY');
  });

  it('TOO_LARGE above maxInputBytes, before looking at the content', async () => {
    const err = await expectRejected(jpeg, 'TOO_LARGE', { ...DEFAULT_LIMITS, maxInputBytes: jpeg.length - 1 });
    expect(err.message).toContain(`${jpeg.length} bytes`);
    await expect(
      resizeImage(jpeg, DEFAULT_VARIANTS, { ...DEFAULT_LIMITS, maxInputBytes: jpeg.length }),
    ).resolves.toBeDefined();
  });

  it('NOT_AN_IMAGE for plain text, HTML and HTML with inline SVG', async () => {
    await expectRejected(TEXT, 'NOT_AN_IMAGE');
    await expectRejected(HTML, 'NOT_AN_IMAGE');
    await expectRejected(HTML_WITH_INLINE_SVG, 'NOT_AN_IMAGE');
    await expectRejected(Buffer.from([0x00, 0x01, 0x02, 0x03, 0xff, 0xfe]), 'NOT_AN_IMAGE');
  });

  it('UNSUPPORTED_FORMAT for SVG (bare, with prolog) and gzip (SVGZ)', async () => {
    expect((await expectRejected(SVG, 'UNSUPPORTED_FORMAT')).message).toMatch(
      /svg is not accepted; accepted: jpeg, png, webp, gif, avif, tiff/,
    );
    await expectRejected(SVG_WITH_PROLOG, 'UNSUPPORTED_FORMAT');
    await expectRejected(Buffer.from([0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00]), 'UNSUPPORTED_FORMAT');
  });

  it('TRUNCATED for a cut-off JPEG, PNG and WebP', async () => {
    await expectRejected(truncateImage(jpeg, 0.6), 'TRUNCATED');
    await expectRejected(truncateImage(jpeg, 0.99), 'TRUNCATED');
    await expectRejected(truncateImage(png, 0.6), 'TRUNCATED');
    await expectRejected(truncateImage(png, 0.99), 'TRUNCATED');
    const webp = await synthesizeImage({ width: 240, height: 160, seed: 23, format: 'webp' });
    await expectRejected(truncateImage(webp, 0.7), 'TRUNCATED');
  });

  it('CORRUPT for garbage after a valid JPEG or PNG header', async () => {
    const badJpeg = corruptImage(jpeg);
    const badPng = corruptImage(png);
    expect(badJpeg.length).toBe(jpeg.length);
    // The header still reads: the failure comes from the pixel data.
    expect(await inspectImage(badJpeg, DEFAULT_LIMITS)).toEqual({ width: 240, height: 160, format: 'jpeg' });
    expect(await inspectImage(badPng, DEFAULT_LIMITS)).toEqual({ width: 240, height: 160, format: 'png' });
    await expectRejected(badJpeg, 'CORRUPT');
    await expectRejected(badPng, 'CORRUPT');
  });

  it('TRUNCATED / CORRUPT for damaged GIF, TIFF, AVIF and WebP too', async () => {
    const base = await synthesizeImage({ width: 120, height: 80, seed: 24, format: 'png' });
    const gif = await sharp(base).gif().toBuffer();
    const tiff = await sharp(base).tiff().toBuffer();
    const avif = await sharp(base).avif({ effort: 0 }).toBuffer();
    const webp = await synthesizeImage({ width: 120, height: 80, seed: 24, format: 'webp' });
    await expectRejected(truncateImage(gif, 0.6), 'TRUNCATED');
    await expectRejected(corruptImage(gif), 'CORRUPT');
    // libtiff writes its directory last: a cut-off TIFF is not even recognised as one.
    await expectRejected(truncateImage(tiff, 0.6), 'TRUNCATED');
    await expectRejected(corruptImage(tiff), 'CORRUPT');
    await expectRejected(truncateImage(avif, 0.6), 'TRUNCATED');
    await expectRejected(corruptImage(webp), 'CORRUPT');
  });

  it('TOO_MANY_PIXELS from a small limit, checked from the header', async () => {
    const err = await expectRejected(jpeg, 'TOO_MANY_PIXELS', { ...DEFAULT_LIMITS, maxInputPixels: 240 * 160 - 1 });
    expect(err.message).toContain('240x160 = 38400 pixels; the limit is 38399');
    await expect(inspectImage(jpeg, { ...DEFAULT_LIMITS, maxInputPixels: 240 * 160 })).resolves.toBeDefined();
  });

  it('TOO_MANY_PIXELS from a PNG header claiming 50000x50000', async () => {
    const bomb = pngHeaderClaiming(50000, 50000);
    expect(bomb.length).toBeLessThan(100);
    const meta = await sharp(bomb, { limitInputPixels: false }).metadata();
    expect([meta.format, meta.width, meta.height]).toEqual(['png', 50000, 50000]);
    const err = await expectRejected(bomb, 'TOO_MANY_PIXELS');
    expect(err.message).toContain('50000x50000 = 2500000000 pixels');
  });

  it('ANIMATED for animated GIF and WebP when not allowed; pages count towards the pixel budget', async () => {
    const gif = await animatedImage('gif', 3, 16);
    const webp = await animatedImage('webp', 3, 16);
    expect((await expectRejected(gif, 'ANIMATED')).message).toContain('3 pages/frames');
    await expectRejected(webp, 'ANIMATED');
    const allowed = { ...DEFAULT_LIMITS, allowAnimated: true };
    await expectRejected(webp, 'TOO_MANY_PIXELS', { ...allowed, maxInputPixels: 16 * 16 * 3 - 1 });
    await expect(inspectImage(webp, { ...allowed, maxInputPixels: 16 * 16 * 3 })).resolves.toEqual({
      width: 16,
      height: 16,
      format: 'webp',
    });
  });

  it('inspectImage applies the same checks and subject', async () => {
    await expect(inspectImage(SVG, DEFAULT_LIMITS, subject)).rejects.toMatchObject({
      code: 'UNSUPPORTED_FORMAT',
      subject,
    });
    await expect(inspectImage(Buffer.alloc(0), DEFAULT_LIMITS, subject)).rejects.toMatchObject({
      code: 'EMPTY',
      subject,
    });
  });

  it('INVALID_CONFIG for an empty variant list', async () => {
    await expect(resizeImage(jpeg, [], DEFAULT_LIMITS)).rejects.toMatchObject({ code: 'INVALID_CONFIG' });
  });
});

describe('sniffMarkup / looksTruncated', () => {
  it('tells SVG roots from other markup and from binary', () => {
    expect(sniffMarkup(SVG)).toBe('svg');
    expect(sniffMarkup(SVG_WITH_PROLOG)).toBe('svg');
    expect(sniffMarkup(Buffer.from('  <svg:svg xmlns:svg="http://www.w3.org/2000/svg"/>'))).toBe('svg');
    expect(sniffMarkup(Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('<svg/>', 'utf16le')]))).toBe('svg');
    expect(sniffMarkup(HTML)).toBe('markup');
    expect(sniffMarkup(HTML_WITH_INLINE_SVG)).toBe('markup');
    expect(sniffMarkup(Buffer.from('<svgfoo/>'))).toBe('markup');
    expect(sniffMarkup(TEXT)).toBeUndefined();
    expect(sniffMarkup(Buffer.from([0xff, 0xd8, 0xff, 0xe0]))).toBeUndefined();
  });

  it('flags only cut-off containers', async () => {
    const jpeg = await synthesizeImage({ width: 64, height: 48, seed: 31, format: 'jpeg' });
    const png = await synthesizeImage({ width: 64, height: 48, seed: 31, format: 'png' });
    expect(looksTruncated(jpeg)).toBe(false);
    expect(looksTruncated(png)).toBe(false);
    expect(looksTruncated(corruptImage(jpeg))).toBe(false);
    expect(looksTruncated(corruptImage(png))).toBe(false);
    expect(looksTruncated(truncateImage(jpeg, 0.9))).toBe(true);
    expect(looksTruncated(truncateImage(png, 0.9))).toBe(true);
    expect(looksTruncated(Buffer.from([0xff, 0xd8, 0xff]))).toBe(true);
  });
});

describe('samples', () => {
  it('synthesizes the same bytes for the same options, different bytes for another seed', async () => {
    const options = { width: 96, height: 64, seed: 5, format: 'jpeg', orientation: 8 } as const;
    const first = await synthesizeImage(options);
    expect((await synthesizeImage(options)).equals(first)).toBe(true);
    expect((await synthesizeImage({ ...options, seed: 6 })).equals(first)).toBe(false);
    const meta = await sharp(first).metadata();
    expect([meta.format, meta.width, meta.height, meta.orientation]).toEqual(['jpeg', 96, 64, 8]);
  });

  it('generates named samples once and keeps files already present', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'samples-'));
    try {
      const files = await generateSamples(dir, { count: 1 });
      expect(files).toEqual([path.join(dir, '01-landscape-2400x1600.jpg')]);
      const before = await fs.stat(files[0]);
      expect(await generateSamples(dir, { count: 1 })).toEqual(files);
      expect((await fs.stat(files[0])).mtimeMs).toBe(before.mtimeMs);
      // A file with the wrong content is replaced.
      await fs.writeFile(files[0], 'not the sample');
      await generateSamples(dir, { count: 1 });
      const meta = await sharp(files[0]).metadata();
      expect([meta.format, meta.width, meta.height]).toEqual(['jpeg', 2400, 1600]);
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });
});

describe('JPEG DCT scaling (shrink-on-load sharp would skip)', () => {
  it('picks the DCT scale that still covers the decode size, as Pillow draft() does', () => {
    expect(jpegDctShrink(4000, 3000, 1600, 1200)).toBe(2);
    expect(jpegDctShrink(4000, 3000, 1000, 750)).toBe(4);
    expect(jpegDctShrink(4000, 3000, 1001, 750)).toBe(2);
    expect(jpegDctShrink(4001, 3001, 501, 376)).toBe(8); // libjpeg rounds up: ceil(4001 / 8) = 501
    expect(jpegDctShrink(3000, 4000, 1600, 2134)).toBe(1);
    // sharp's own choice: only reductions >= 3, 5, 9 get 2, 4, 8.
    expect(sharpJpegShrink(4000, 3000, 1600, 1200)).toBe(1);
    expect(sharpJpegShrink(6000, 4000, 1600, 1067)).toBe(2);
    expect(sharpJpegShrink(4000, 3000, 800, 600)).toBe(4);
    expect(sharpJpegShrink(4000, 3000, 1000, 750)).toBe(2);
  });

  it('decodes through a scratch file at 1/2 scale, orients, matches a full decode and cleans up', async () => {
    // A fresh module instance makes its own scratch folder under the OS temp dir on first use.
    const scratchFolders = async () => (await fs.readdir(os.tmpdir())).filter((name) => name.startsWith('resize-'));
    const before = new Set(await scratchFolders());
    let pipeline: typeof import('../../src/core/pipeline') | undefined;
    // A CommonJS require inside isolateModules is how jest hands out a fresh module instance.
    jest.isolateModules(() => {
      // eslint-disable-next-line @typescript-eslint/no-require-imports -- see above: import() would share the instance
      pipeline = require('../../src/core/pipeline') as typeof import('../../src/core/pipeline');
    });
    let created: string[] = [];
    try {
      // Stored 1000x750, EXIF 6: shown 750x1000; 300 px wide needs 400x300 stored, a reduction of 2.5.
      const input = await synthesizeImage({ width: 1000, height: 750, seed: 21, format: 'jpeg', orientation: 6 });
      const specs = parseVariantSpecs([{ name: 'w', width: 300, format: 'png' }]);
      const [variant] = (await pipeline!.resizeImage(input, specs, DEFAULT_LIMITS)).variants;
      expect([variant.width, variant.height]).toEqual([300, 400]);
      created = (await scratchFolders()).filter((name) => !before.has(name));
      expect(created).toHaveLength(1);
      const scratch = path.join(os.tmpdir(), created[0]);
      expect(await fs.readdir(scratch)).toEqual([]);

      const reference = await sharp(input, { autoOrient: true })
        .resize(300, 400, { fit: 'fill', fastShrinkOnLoad: false })
        .raw()
        .toBuffer();
      const ours = await sharp(variant.data).removeAlpha().raw().toBuffer();
      expect(ours.length).toBe(reference.length);
      let diff = 0;
      for (let i = 0; i < ours.length; i += 1) diff += Math.abs(ours[i] - reference[i]);
      expect(diff / ours.length).toBeLessThan(2.5);

      // Broken scan data on this path is still the input's fault, and leaves no file behind.
      let caught: unknown;
      try {
        await pipeline!.resizeImage(corruptImage(input), specs, DEFAULT_LIMITS, subject);
      } catch (err) {
        caught = err;
      }
      // The isolated module instance has its own PipelineError class: compare by name.
      expect((caught as Error).name).toBe('PipelineError');
      expect(['CORRUPT', 'TRUNCATED']).toContain((caught as PipelineError).code);
      expect((caught as PipelineError).subject).toEqual(subject);
      expect(await fs.readdir(scratch)).toEqual([]);
    } finally {
      for (const name of created) await fs.rm(path.join(os.tmpdir(), name), { recursive: true, force: true });
    }
  });
});
