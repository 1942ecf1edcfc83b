import { extensionFor, type VariantSpec } from './variants';

/**
 * The source key without its file extension: `uploads/cat.photo.jpg` -> `uploads/cat.photo`.
 * Only the last path segment loses its extension; a dot-file keeps its name.
 */
export function stripExtension(key: string): string {
  const slash = key.lastIndexOf('/');
  const dot = key.lastIndexOf('.');
  return dot > slash + 1 ? key.slice(0, dot) : key;
}

/** Where a source's outputs live: `<outputPrefix><source key without extension>/`. */
export function outputFolder(sourceKey: string, outputPrefix: string): string {
  return `${outputPrefix}${stripExtension(sourceKey)}/`;
}

/** Deterministic output key of one variant: same source key, same variant -> same key (idempotent retries). */
export function variantKey(
  sourceKey: string,
  outputPrefix: string,
  variant: Pick<VariantSpec, 'name' | 'format'>,
): string {
  return `${outputFolder(sourceKey, outputPrefix)}${variant.name}.${extensionFor(variant.format)}`;
}

/** The manifest written beside the variants by the publish stage. */
export function manifestKey(sourceKey: string, outputPrefix: string): string {
  return `${outputFolder(sourceKey, outputPrefix)}manifest.json`;
}

/**
 * True when objects written under `outputPrefix` in the output bucket would land under the
 * watched `uploadsPrefix` of the source bucket, which would trigger the chain forever.
 */
export function outputsWouldLoop(opts: {
  sourceBucket: string;
  uploadsPrefix: string;
  outputBucket: string;
  outputPrefix: string;
}): boolean {
  if (opts.sourceBucket !== opts.outputBucket) return false;
  return opts.outputPrefix.startsWith(opts.uploadsPrefix) || opts.uploadsPrefix.startsWith(opts.outputPrefix);
}
