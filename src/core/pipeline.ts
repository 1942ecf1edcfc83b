/**
 * The image pipeline's decode and encode: checks an input from its header, decodes it once, and
 * renders every variant from that one decode. What the bytes are comes from sniff.ts, the variants'
 * sizes and the JPEG shrink-on-load scales from geometry.ts.
 *
 * Order of checks (each one cheaper than the next, all before any pixel is decoded):
 *   empty -> too many bytes -> markup/gzip sniff (SVG never reaches librsvg) -> sharp header read ->
 *   accepted format -> animated -> pixel budget.
 * Then: one decode (auto-oriented, converted to sRGB, JPEG/WebP shrink-on-load where sharp allows)
 * to a raw buffer the size of the largest variant, and every variant is resized and encoded from
 * that buffer concurrently.
 */
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp, { type Metadata, type Sharp, type SharpOptions } from 'sharp';
import { PipelineError, errorMessage, toPipelineError, type ErrorSubject } from './errors';
import type { ImageLimits } from './limits';
import { contentTypeFor, type OutputFormat, type VariantSpec } from './variants';
import { jpegDctShrink, planVariant, scaled, sharpJpegShrink, type VariantPlan } from './geometry';
import { ACCEPTED_INPUT_FORMATS, looksTruncated, magicFormat, sniffMarkup } from './sniff';
import { encodeWebpWithAlpha } from './webp-alpha';

// libvips keeps recently used operations and their pixel buffers in a cache (50 MB by default) so
// repeated work on the same input is cheap. Each invocation here sees a new image, so the cache only
// holds memory a Lambda with a fixed memory size needs for the next decode. Turned off, once, here.
sharp.cache(false);

export interface SourceInfo {
  /** Width after EXIF auto-orientation. */
  readonly width: number;
  /** Height after EXIF auto-orientation (one frame of a multi-page input). */
  readonly height: number;
  /** Input format: jpeg, png, webp, gif, tiff, or avif (sharp says 'heif'; we accept only AV1 HEIF). */
  readonly format: string;
}

export interface RenderedVariant {
  readonly name: string;
  readonly format: OutputFormat;
  /** Actual output width, as the encoder reported it. */
  readonly width: number;
  /** Actual output height, as the encoder reported it. */
  readonly height: number;
  readonly contentType: string;
  readonly data: Buffer;
}

export interface ResizeResult {
  readonly source: SourceInfo;
  readonly variants: RenderedVariant[];
}

/**
 * WebP effort 4 (sharp's and Pillow's default) for frames up to WEBP_FAST_ABOVE_PIXELS. Small frames
 * cost little at effort 4 (800x600: ~36 ms), so they keep the smaller files.
 */
export const WEBP_EFFORT = 4;
/**
 * WebP effort 2 for frames above WEBP_FAST_ABOVE_PIXELS. Measured on a 1600x1200 frame (libwebp
 * 1.6.0, quality 80): effort 4 ~120 ms, effort 3 ~116 ms, effort 2 ~43 ms for ~6 % more bytes; that
 * one encode was the critical path of a whole 12 MP source, and the extra bytes stay within 5 % of
 * Pillow's method-4 output over a source's WebP variants (bench/results.md). Frames with alpha get
 * the same effort for their colour: their alpha plane is encoded on its own at a fixed VP8L effort
 * (webp-alpha.ts), so the effort no longer costs alpha-plane bytes, as it did (~35 %) when libwebp
 * encoded the plane at the frame's method.
 */
export const WEBP_EFFORT_LARGE = 2;
/** 1 MP: frames larger than this (e.g. 1600x1200) are encoded at WEBP_EFFORT_LARGE. */
export const WEBP_FAST_ABOVE_PIXELS = 1_000_000;
/** AVIF effort 2: at aom's default effort 4 a 1600 px frame took 4.6-7.2 s here; effort 2 ~0.5 s. */
export const AVIF_EFFORT = 2;
/** PNG zlib level 6 (sharp's default); level 9 measured 0.8-1.5x the time for ~5 % fewer bytes. */
export const PNG_COMPRESSION_LEVEL = 6;

const WHITE = { r: 255, g: 255, b: 255, alpha: 1 };
const TRANSPARENT = { r: 0, g: 0, b: 0, alpha: 0 };

/**
 * `failOn: 'warning'` makes libvips abort on any decoder complaint. The laxer 'error' level decodes a
 * JPEG with a scrambled scan into garbage without a word (measured), and 'truncated' is laxer still.
 */
function decoderOptions(limits: ImageLimits): SharpOptions {
  return { failOn: 'warning', limitInputPixels: limits.maxInputPixels, autoOrient: true };
}

// ---------------------------------------------------------------------------------------------
// Error classification
// ---------------------------------------------------------------------------------------------

const PIXEL_LIMIT = /exceeds pixel limit/i;
const NOT_IDENTIFIED = /unsupported image format/i;
const OUT_OF_MEMORY = /out of memory|memory allocation|vips_malloc|cannot allocate/i;
// "premature end of JPEG image/file" is a cut-off stream; "Corrupt JPEG data: premature end of data
// segment" is a broken one, hence the exclusion.
const TRUNCATION =
  /premature end of (jpeg )?(image|file|input)|truncated|unexpected end of|not enough data|end of stream/i;
const CORRUPT_JPEG = /corrupt jpeg data/i;

/** Maps a sharp/libvips failure on an input to the error taxonomy. */
function classifyInputError(err: unknown, input: Buffer, subject: ErrorSubject): PipelineError {
  const message = errorMessage(err);
  const detail = message.split('\n')[0];
  if (PIXEL_LIMIT.test(message)) return new PipelineError('TOO_MANY_PIXELS', detail, subject, { cause: err });
  // A known signature that no loader accepts is a damaged image, not "not an image".
  if (NOT_IDENTIFIED.test(message) && magicFormat(input) === undefined) {
    return new PipelineError('NOT_AN_IMAGE', 'input is not an image in any format the decoder knows', subject, {
      cause: err,
    });
  }
  // Failing to allocate says nothing about the input: let it be retried (and land in the DLQ).
  if (OUT_OF_MEMORY.test(message)) return toPipelineError(err, subject);
  if (looksTruncated(input) || (TRUNCATION.test(message) && !CORRUPT_JPEG.test(message))) {
    return new PipelineError('TRUNCATED', `image data ends early: ${detail}`, subject, { cause: err });
  }
  return new PipelineError('CORRUPT', `image data cannot be decoded: ${detail}`, subject, { cause: err });
}

// ---------------------------------------------------------------------------------------------
// Inspection
// ---------------------------------------------------------------------------------------------

/** What the header read found. Exported for the bench's stage profile (bench/core-profile.ts). */
export interface Inspection {
  readonly source: SourceInfo;
  /** Dimensions as stored, before EXIF auto-orientation (what a JPEG decoder scales). */
  readonly stored: { readonly width: number; readonly height: number };
  /** 8-bit RGB(A) pixels with an embedded ICC profile (e.g. a phone's Display P3 or a tagged sRGB JPEG). */
  readonly taggedRgb: boolean;
}

/** The header checks of inspectImage, keeping the stored dimensions too (see inspectImage for the throws). */
export async function inspect(input: Buffer, limits: ImageLimits, subject: ErrorSubject): Promise<Inspection> {
  if (input.length === 0) throw new PipelineError('EMPTY', 'input is empty (0 bytes)', subject);
  if (input.length > limits.maxInputBytes) {
    throw new PipelineError(
      'TOO_LARGE',
      `input is ${input.length} bytes; the limit is ${limits.maxInputBytes}`,
      subject,
    );
  }
  const markup = sniffMarkup(input);
  if (markup === 'svg') {
    throw new PipelineError(
      'UNSUPPORTED_FORMAT',
      `input format svg is not accepted; accepted: ${ACCEPTED_INPUT_FORMATS.join(', ')}`,
      subject,
    );
  }
  if (markup === 'markup')
    throw new PipelineError('NOT_AN_IMAGE', 'input is markup text (HTML/XML), not an image', subject);
  if (input[0] === 0x1f && input[1] === 0x8b) {
    // librsvg would inflate and parse SVGZ; any other gzip is no image either.
    throw new PipelineError(
      'UNSUPPORTED_FORMAT',
      'input is gzip-compressed data (e.g. SVGZ), which is not accepted',
      subject,
    );
  }

  let meta: Metadata;
  try {
    // No pixel limit on the header read: our own check below names the dimensions and the limit.
    meta = await sharp(input, { ...decoderOptions(limits), limitInputPixels: false }).metadata();
  } catch (err) {
    throw classifyInputError(err, input, subject);
  }

  let format: string = meta.format;
  if (format === 'heif') {
    if (meta.compression !== 'av1') {
      throw new PipelineError(
        'UNSUPPORTED_FORMAT',
        `input format heif/${meta.compression ?? 'unknown'} (e.g. HEIC) ` +
          `is not accepted; accepted: ${ACCEPTED_INPUT_FORMATS.join(', ')}`,
        subject,
      );
    }
    format = 'avif';
  }
  if (!(ACCEPTED_INPUT_FORMATS as readonly string[]).includes(format)) {
    throw new PipelineError(
      'UNSUPPORTED_FORMAT',
      `input format ${format} is not accepted; accepted: ${ACCEPTED_INPUT_FORMATS.join(', ')}`,
      subject,
    );
  }

  const pages = meta.pages ?? 1;
  if (pages > 1 && !limits.allowAnimated) {
    throw new PipelineError(
      'ANIMATED',
      `input has ${pages} pages/frames; animated and multi-page images are not accepted`,
      subject,
    );
  }
  const pageHeight = meta.pageHeight ?? meta.height;
  const pixels = meta.width * pageHeight * pages;
  if (!(pixels <= limits.maxInputPixels)) {
    throw new PipelineError(
      'TOO_MANY_PIXELS',
      `input is ${meta.width}x${pageHeight}${pages > 1 ? `x${pages} pages` : ''} = ${pixels} pixels; ` +
        `the limit is ${limits.maxInputPixels}`,
      subject,
    );
  }
  // autoOrient swaps width and height for orientations 5..8. Multi-page inputs report one page.
  const oriented = meta.autoOrient ?? { width: meta.width, height: pageHeight };
  return {
    source: { width: oriented.width, height: oriented.height, format },
    stored: { width: meta.width, height: pageHeight },
    taggedRgb: meta.hasProfile === true && meta.space === 'srgb' && meta.depth === 'uchar',
  };
}

/**
 * Reads an input's header and checks it against the limits without decoding any pixels.
 * Throws PipelineError with `subject`: EMPTY, TOO_LARGE, NOT_AN_IMAGE, UNSUPPORTED_FORMAT (svg,
 * heic, anything outside ACCEPTED_INPUT_FORMATS), ANIMATED (pages > 1 unless allowed),
 * TOO_MANY_PIXELS (width x height x pages), CORRUPT/TRUNCATED (unreadable header).
 */
export async function inspectImage(
  input: Buffer,
  limits: ImageLimits,
  subject: ErrorSubject = {},
): Promise<SourceInfo> {
  return (await inspect(input, limits, subject)).source;
}

// ---------------------------------------------------------------------------------------------
// Decode once, render many
// ---------------------------------------------------------------------------------------------

/** Raw 8-bit sRGB pixels of one decode. */
export interface DecodedImage {
  readonly data: Buffer;
  readonly width: number;
  readonly height: number;
  readonly channels: 3 | 4;
}

/** A per-process folder for JPEGs handed to libvips by name (Lambda: under /tmp). */
let scratchDir: Promise<string> | undefined;

function scratchFolder(): Promise<string> {
  scratchDir ??= fs.mkdtemp(path.join(os.tmpdir(), 'resize-')).catch((err: unknown) => {
    scratchDir = undefined;
    throw err;
  });
  return scratchDir;
}

/**
 * Writes a JPEG where libvips can load it by file name with a `[shrink=n]` option: sharp has no
 * input option for the DCT scale and refuses the scales 2 and 4 for reductions in [2, 3) and
 * [4, 5) (e.g. 4000 -> 1600, the most common camera-to-web step). Undefined when the scratch
 * folder is unusable (full /tmp, read-only file system): the caller decodes from memory instead.
 */
async function scratchJpeg(input: Buffer): Promise<string | undefined> {
  try {
    const dir = await scratchFolder();
    if (dir.includes('[')) return undefined; // libvips would read it as an option list
    const file = path.join(dir, `${randomBytes(8).toString('hex')}.jpg`);
    await fs.writeFile(file, input);
    return file;
  } catch {
    return undefined;
  }
}

/**
 * Decodes the input once into raw sRGB pixels at the largest size any variant needs.
 *
 * Decoding straight to that size lets sharp use JPEG shrink-on-load (DCT scaling) and WebP scaled
 * decoding. Where sharp would decode a JPEG at a larger scale than needed (see sharpJpegShrink), the
 * bytes go to a scratch file loaded as `file[shrink=n]`: on a 12 MP JPEG to 1600 px this measured
 * ~51 ms instead of ~65 ms (CPU), for a ~2 ms file write. The resize that follows is Lanczos3 from
 * the DCT-scaled picture, as Pillow's draft() + LANCZOS does (SSIM in bench/results.md).
 */
export async function decodeOnce(
  input: Buffer,
  limits: ImageLimits,
  width: number,
  height: number,
  inspection: Inspection,
): Promise<DecodedImage> {
  const { source, stored } = inspection;
  let from: Buffer | string = input;
  let scratch: string | undefined;
  const resizing = width !== source.width || height !== source.height;
  if (resizing && source.format === 'jpeg') {
    // The decode target in stored orientation: EXIF orientations 5..8 swap the axes.
    const swapped = stored.width !== source.width;
    const needWidth = swapped ? height : width;
    const needHeight = swapped ? width : height;
    const shrink = jpegDctShrink(stored.width, stored.height, needWidth, needHeight);
    if (shrink > sharpJpegShrink(stored.width, stored.height, needWidth, needHeight)) {
      scratch = await scratchJpeg(input);
      if (scratch) from = `${scratch}[shrink=${shrink}]`;
    }
  }
  try {
    let pipeline = sharp(from, decoderOptions(limits));
    if (resizing) pipeline = pipeline.resize(width, height, { fit: 'fill' });
    if (resizing && inspection.taggedRgb) {
      // sharp converts an ICC-tagged input to sRGB before it resizes: on a 12 MP JPEG that transform
      // costs more than the decode. Resizing first, in the input's own (also gamma-encoded) space, and
      // converting the small picture afterwards is what vipsthumbnail does; an uncompressed TIFF carries
      // the profile from one pipeline to the next. Measured on 12 MP to 1600 px: 246 -> 88 ms CPU for a
      // Display P3 JPEG (pixels within 6 levels, mean 0.09), 216 -> 133 ms for a tagged sRGB one (identical).
      const resized = await pipeline.keepIccProfile().tiff({ compression: 'none' }).toBuffer();
      pipeline = sharp(resized, { failOn: 'warning', limitInputPixels: false });
    }
    // toColourspace('srgb') converts CMYK, greyscale, 16-bit and ICC-tagged inputs to 8-bit sRGB.
    const { data, info } = await pipeline.toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
    if (info.channels !== 3 && info.channels !== 4) {
      throw new PipelineError('INTERNAL', `decoded image has ${info.channels} channels; expected 3 or 4`);
    }
    return { data, width: info.width, height: info.height, channels: info.channels };
  } finally {
    if (scratch) await fs.unlink(scratch).catch(() => undefined);
  }
}

/**
 * The WebP effort a frame of `pixels` gets (for a frame with alpha: its colour's): WEBP_EFFORT_LARGE above
 * WEBP_FAST_ABOVE_PIXELS, else WEBP_EFFORT.
 */
export function webpEffortFor(pixels: number): number {
  return pixels > WEBP_FAST_ABOVE_PIXELS ? WEBP_EFFORT_LARGE : WEBP_EFFORT;
}

/** The encoder of every variant but a WebP from pixels with alpha (renderVariant hands those to webp-alpha.ts). */
function encode(image: Sharp, spec: VariantSpec, pixels: number): Sharp {
  switch (spec.format) {
    case 'webp':
      return image.webp({ quality: spec.quality, effort: webpEffortFor(pixels) });
    case 'avif':
      return image.avif({ quality: spec.quality, effort: AVIF_EFFORT });
    case 'jpeg':
      return image.jpeg({ quality: spec.quality });
    case 'png':
      return image.png({ compressionLevel: PNG_COMPRESSION_LEVEL });
  }
}

/** Resizes, crops/pads and encodes one variant from the decoded pixels. No metadata is written. */
export async function renderVariant(decoded: DecodedImage, plan: VariantPlan): Promise<RenderedVariant> {
  const { spec } = plan;
  let image = sharp(decoded.data, {
    raw: { width: decoded.width, height: decoded.height, channels: decoded.channels },
  });
  const opaque = spec.format === 'jpeg';
  if (opaque && decoded.channels === 4) image = image.flatten({ background: WHITE });
  if (plan.scaledWidth !== decoded.width || plan.scaledHeight !== decoded.height) {
    image = image.resize(plan.scaledWidth, plan.scaledHeight, { fit: 'fill' });
  }
  if (plan.width < plan.scaledWidth || plan.height < plan.scaledHeight) {
    image = image.extract({
      left: Math.floor((plan.scaledWidth - plan.width) / 2),
      top: Math.floor((plan.scaledHeight - plan.height) / 2),
      width: plan.width,
      height: plan.height,
    });
  } else if (plan.width > plan.scaledWidth || plan.height > plan.scaledHeight) {
    const left = Math.floor((plan.width - plan.scaledWidth) / 2);
    const top = Math.floor((plan.height - plan.scaledHeight) / 2);
    image = image.extend({
      left,
      right: plan.width - plan.scaledWidth - left,
      top,
      bottom: plan.height - plan.scaledHeight - top,
      background: opaque ? WHITE : TRANSPARENT,
    });
  }
  const rendered = (data: Buffer, width: number, height: number): RenderedVariant => ({
    name: spec.name,
    format: spec.format,
    width,
    height,
    contentType: contentTypeFor(spec.format),
    data,
  });
  if (spec.format === 'webp' && decoded.channels === 4) {
    // Colour and alpha plane on two threads (see webp-alpha.ts), from the variant's pixels.
    const { data: pixels, info } = await image.raw().toBuffer({ resolveWithObject: true });
    const effort = webpEffortFor(info.width * info.height);
    const data = await encodeWebpWithAlpha(pixels, info.width, info.height, spec.quality, effort);
    return rendered(data, info.width, info.height);
  }
  const { data, info } = await encode(image, spec, plan.width * plan.height).toBuffer({ resolveWithObject: true });
  return rendered(data, info.width, info.height);
}

/**
 * Renders every variant of one input. Checks the header first (see inspectImage), decodes once
 * (auto-oriented from EXIF, converted to sRGB, at the largest size any variant needs, never
 * enlarged), then resizes and encodes all variants concurrently from that decode. Outputs carry no
 * metadata (no EXIF, no ICC: sRGB is assumed). Alpha is kept for png/webp/avif and flattened onto
 * white for jpeg. Variants come back in spec order.
 *
 * Throws PipelineError with `subject`: the inspectImage codes, TRUNCATED or CORRUPT when pixel data
 * cannot be decoded, INVALID_CONFIG for an empty spec list, INTERNAL for anything unexpected.
 */
export async function resizeImage(
  input: Buffer,
  specs: readonly VariantSpec[],
  limits: ImageLimits,
  subject: ErrorSubject = {},
): Promise<ResizeResult> {
  if (specs.length === 0)
    throw new PipelineError('INVALID_CONFIG', 'variants: no variants to render', { field: 'variants' });
  const inspection = await inspect(input, limits, subject);
  const { source } = inspection;
  const plans = specs.map((spec) => planVariant(spec, source.width, source.height));
  const largestScale = Math.max(...plans.map((plan) => plan.scale));
  const decodeWidth = scaled(source.width, largestScale);
  const decodeHeight = scaled(source.height, largestScale);

  let decoded: DecodedImage;
  try {
    decoded = await decodeOnce(input, limits, decodeWidth, decodeHeight, inspection);
  } catch (err) {
    throw err instanceof PipelineError
      ? new PipelineError(err.code, err.message, subject, { cause: err })
      : classifyInputError(err, input, subject);
  }
  try {
    const variants = await Promise.all(plans.map((plan) => renderVariant(decoded, plan)));
    return { source, variants };
  } catch (err) {
    // The pixels decoded fine, so an encoder failure is ours, not the input's: retry-worthy.
    throw toPipelineError(err, subject);
  }
}
