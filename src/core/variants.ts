/**
 * Variant specs: which renditions the resize stage produces for every source image. The spec is
 * one JSON document (an environment variable or module input), validated once at cold start so a
 * bad spec is an init error that names the field, never a per-image failure.
 */
import { checkInt, show } from './checks';
import { configError } from './errors';

export type OutputFormat = 'webp' | 'avif' | 'jpeg' | 'png';

/**
 * How a variant fits its box. `inside`: keep the aspect ratio, fit within width (x height).
 * `cover`: fill width x height exactly, cropping the overflow around the centre.
 * `contain`: fit inside width x height and letterbox to exactly that box (transparent for
 * png/webp/avif, white for jpeg). No fit ever enlarges the picture itself.
 */
export type Fit = 'inside' | 'cover' | 'contain';

export interface VariantSpec {
  /** Unique, key-safe name; becomes the output file name `<name>.<ext>`. */
  readonly name: string;
  /** Maximum output width in pixels. */
  readonly width: number;
  /** Maximum output height in pixels; required by `cover` and `contain`. */
  readonly height?: number;
  /** @default 'inside' */
  readonly fit: Fit;
  readonly format: OutputFormat;
  /** Encoder quality 1..100 (ignored by png, which is lossless). @default 80 */
  readonly quality: number;
}

export const OUTPUT_FORMATS: readonly OutputFormat[] = ['webp', 'avif', 'jpeg', 'png'];
export const FITS: readonly Fit[] = ['inside', 'cover', 'contain'];

/** Largest width/height a variant may ask for. WebP's hard limit is 16383; 8192 is ample for the web. */
export const MAX_VARIANT_DIMENSION = 8192;
export const MAX_VARIANTS = 20;
export const DEFAULT_FIT: Fit = 'inside';
export const DEFAULT_QUALITY = 80;
/** Lower-case letters, digits, `-` and `_`, starting with a letter or digit, at most 64 characters. */
export const VARIANT_NAME_PATTERN = /^[a-z0-9][a-z0-9_-]{0,63}$/;

/**
 * The variants produced when no spec is configured: three WebP widths for `srcset`, plus a JPEG of
 * the large size for clients without WebP (mail clients, old software).
 */
export const DEFAULT_VARIANTS: readonly VariantSpec[] = Object.freeze([
  Object.freeze({ name: 'thumb', width: 320, fit: 'inside', format: 'webp', quality: 80 }),
  Object.freeze({ name: 'medium', width: 800, fit: 'inside', format: 'webp', quality: 80 }),
  Object.freeze({ name: 'large', width: 1600, fit: 'inside', format: 'webp', quality: 80 }),
  Object.freeze({ name: 'fallback', width: 1600, fit: 'inside', format: 'jpeg', quality: 80 }),
] satisfies VariantSpec[]);

const KNOWN_PROPERTIES = ['name', 'width', 'height', 'fit', 'format', 'quality'] as const;

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function parseDimension(value: unknown, field: string): number {
  return checkInt(field, value, 1, MAX_VARIANT_DIMENSION);
}

function parseOne(raw: unknown, path: string): VariantSpec {
  if (!isPlainObject(raw))
    throw configError(path, `${show(raw)} is not an object like {"name":"thumb","width":320,"format":"webp"}`);
  for (const key of Object.keys(raw)) {
    if (!(KNOWN_PROPERTIES as readonly string[]).includes(key)) {
      throw configError(`${path}.${key}`, `unknown property; accepted: ${KNOWN_PROPERTIES.join(', ')}`);
    }
  }
  const { name, width, height, fit, format, quality } = raw;
  if (typeof name !== 'string' || !VARIANT_NAME_PATTERN.test(name)) {
    throw configError(
      `${path}.name`,
      `${show(name)} is not 1..64 of a-z, 0-9, '-', '_' starting with a letter or digit`,
    );
  }
  const parsedWidth = parseDimension(width, `${path}.width`);
  const parsedHeight = height === undefined ? undefined : parseDimension(height, `${path}.height`);
  if (typeof format !== 'string' || !(OUTPUT_FORMATS as readonly string[]).includes(format)) {
    throw configError(`${path}.format`, `${show(format)} is not one of ${OUTPUT_FORMATS.join(', ')}`);
  }
  let parsedFit: Fit = DEFAULT_FIT;
  if (fit !== undefined) {
    if (typeof fit !== 'string' || !(FITS as readonly string[]).includes(fit)) {
      throw configError(`${path}.fit`, `${show(fit)} is not one of ${FITS.join(', ')}`);
    }
    parsedFit = fit as Fit;
  }
  if (parsedFit !== 'inside' && parsedHeight === undefined) {
    throw configError(`${path}.height`, `fit ${show(parsedFit)} needs a height in 1..${MAX_VARIANT_DIMENSION}`);
  }
  let parsedQuality = DEFAULT_QUALITY;
  if (quality !== undefined) {
    parsedQuality = checkInt(`${path}.quality`, quality, 1, 100);
  }
  const spec: VariantSpec = {
    name,
    width: parsedWidth,
    ...(parsedHeight === undefined ? {} : { height: parsedHeight }),
    fit: parsedFit,
    format: format as OutputFormat,
    quality: parsedQuality,
  };
  return Object.freeze(spec);
}

/**
 * Validates a variant spec list given as a JSON string or an already-parsed array, and fills in
 * defaults (fit 'inside', quality 80). Accepts 1..20 variants; names unique (they become output
 * file names, so two variants can never write the same key).
 *
 * @param field the config field named in error messages. @default 'variants'
 * @throws PipelineError INVALID_CONFIG naming the field path (e.g. `variants[2].width`), the bad
 * value and the accepted range.
 */
export function parseVariantSpecs(input: unknown, field = 'variants'): VariantSpec[] {
  let list = input;
  if (typeof input === 'string') {
    try {
      list = JSON.parse(input);
    } catch (err) {
      throw configError(field, `not valid JSON (${(err as Error).message}); expected an array of variant specs`);
    }
  }
  if (!Array.isArray(list)) throw configError(field, `${show(list)} is not an array of variant specs`);
  if (list.length < 1 || list.length > MAX_VARIANTS) {
    throw configError(field, `has ${list.length} variants; accepted 1..${MAX_VARIANTS}`);
  }
  const specs = list.map((raw, i) => parseOne(raw, `${field}[${i}]`));
  const seen = new Map<string, number>();
  specs.forEach((spec, i) => {
    const first = seen.get(spec.name);
    if (first !== undefined) {
      throw configError(
        `${field}[${i}].name`,
        `${show(spec.name)} is already used by ${field}[${first}]; names must be unique`,
      );
    }
    seen.set(spec.name, i);
  });
  return specs;
}

const CONTENT_TYPES: Record<OutputFormat, string> = {
  webp: 'image/webp',
  avif: 'image/avif',
  jpeg: 'image/jpeg',
  png: 'image/png',
};

const EXTENSIONS: Record<OutputFormat, string> = { webp: 'webp', avif: 'avif', jpeg: 'jpg', png: 'png' };

/** The HTTP Content-Type of an output format, e.g. `image/webp`. */
export function contentTypeFor(format: OutputFormat): string {
  return CONTENT_TYPES[format];
}

/** The file extension of an output format, without the dot: `jpg` for jpeg. */
export function extensionFor(format: OutputFormat): string {
  return EXTENSIONS[format];
}
