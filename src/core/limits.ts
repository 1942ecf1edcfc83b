/**
 * Input limits: what the resize stage agrees to decode. They bound memory and time per image, so
 * a hostile or accidental upload (a decompression bomb, a 2 GB TIFF) is rejected from its header
 * instead of taking the function down.
 */
import { boolEnv, intEnv, type Env } from './env';

export interface ImageLimits {
  /** Largest accepted encoded input, in bytes. */
  readonly maxInputBytes: number;
  /** Largest accepted width x height x pages, read from the header before decoding. */
  readonly maxInputPixels: number;
  /** Accept multi-page/animated input (only the first frame is rendered). */
  readonly allowAnimated: boolean;
}

/** 1 GiB: a Buffer this size already strains a 10 GB Lambda; anything larger is a mistake. */
export const MAX_INPUT_BYTES_CEILING = 1024 * 1024 * 1024;
/** 16383 x 16383, sharp's own default pixel limit and WebP's largest canvas. */
export const MAX_INPUT_PIXELS_CEILING = 0x3fff * 0x3fff;

/**
 * Defaults: 50 MiB, 100 megapixels, no animation.
 *
 * 100 MP admits every camera photo in common use (24 MP phones and DSLRs, 45-61 MP full frame,
 * 100 MP medium format) while refusing decompression bombs, whose point is a header claiming far
 * more pixels than bytes. The worst accepted case decodes to ~400 MB of RGBA: size the function's
 * memory for it (>= 2 GB), or lower the limit. 50 MiB is above any camera JPEG and most 16-bit TIFFs.
 */
export const DEFAULT_LIMITS: ImageLimits = Object.freeze({
  maxInputBytes: 50 * 1024 * 1024,
  maxInputPixels: 100_000_000,
  allowAnimated: false,
});

/**
 * Reads limits from environment variables, falling back to DEFAULT_LIMITS for each one that is
 * unset or empty: MAX_INPUT_BYTES (integer 1..1073741824), MAX_INPUT_PIXELS (integer 1..268402689),
 * ALLOW_ANIMATED (true/false/1/0, case-insensitive).
 *
 * @throws PipelineError INVALID_CONFIG naming the variable, the bad value and the accepted range.
 */
export function parseImageLimits(env: Env): ImageLimits {
  return Object.freeze({
    maxInputBytes: intEnv(env, 'MAX_INPUT_BYTES', DEFAULT_LIMITS.maxInputBytes, 1, MAX_INPUT_BYTES_CEILING),
    maxInputPixels: intEnv(env, 'MAX_INPUT_PIXELS', DEFAULT_LIMITS.maxInputPixels, 1, MAX_INPUT_PIXELS_CEILING),
    allowAnimated: boolEnv(env, 'ALLOW_ANIMATED', DEFAULT_LIMITS.allowAnimated),
  });
}
