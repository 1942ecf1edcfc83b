/**
 * Geometry: the output size of each variant for a source size, and the JPEG shrink-on-load scales,
 * as pure arithmetic (no pixels). The pipeline decodes once at the largest plan's scale.
 */
import type { VariantSpec } from './variants';

/** Where one variant's pixels come from and what size it ends up. */
export interface VariantPlan {
  readonly spec: VariantSpec;
  /** Scale from the source, <= 1. */
  readonly scale: number;
  /** Size of the scaled picture before cropping (cover) or padding (contain). */
  readonly scaledWidth: number;
  readonly scaledHeight: number;
  /** Final output size. */
  readonly width: number;
  readonly height: number;
}

/** `length` scaled by `scale`, rounded, and at least 1 pixel. */
export function scaled(length: number, scale: number): number {
  return Math.max(1, Math.round(length * scale));
}

/**
 * Output geometry of a variant for a source of `width` x `height`, never enlarging:
 * inside -> the source scaled to fit the box (output <= box); cover -> min(box, source) per axis,
 * the source scaled to cover it and centre-cropped; contain -> exactly the box, the source scaled
 * to fit it and centred on a transparent/white background.
 */
export function planVariant(spec: VariantSpec, width: number, height: number): VariantPlan {
  const boxWidth = spec.width;
  const boxHeight = spec.height;
  const byWidth = boxWidth / width;
  const byHeight = boxHeight === undefined ? Number.POSITIVE_INFINITY : boxHeight / height;
  if (spec.fit === 'cover' && boxHeight !== undefined) {
    const scale = Math.min(1, Math.max(byWidth, byHeight));
    const scaledWidth = scaled(width, scale);
    const scaledHeight = scaled(height, scale);
    return {
      spec,
      scale,
      scaledWidth,
      scaledHeight,
      width: Math.min(boxWidth, scaledWidth),
      height: Math.min(boxHeight, scaledHeight),
    };
  }
  const scale = Math.min(1, byWidth, byHeight);
  const scaledWidth = scaled(width, scale);
  const scaledHeight = scaled(height, scale);
  if (spec.fit === 'contain' && boxHeight !== undefined) {
    return {
      spec,
      scale,
      scaledWidth,
      scaledHeight,
      width: Math.max(boxWidth, scaledWidth),
      height: Math.max(boxHeight, scaledHeight),
    };
  }
  return { spec, scale, scaledWidth, scaledHeight, width: scaledWidth, height: scaledHeight };
}

/**
 * The JPEG DCT scale (libjpeg shrink-on-load: 1, 2, 4 or 8) that decodes straight to the smallest
 * picture still at least `needWidth` x `needHeight` (stored orientation), as Pillow's `draft()` does.
 * libjpeg rounds scaled sizes up, so a 4000 px side decodes to 2000 at 1/2 and 1000 at 1/4.
 */
export function jpegDctShrink(
  storedWidth: number,
  storedHeight: number,
  needWidth: number,
  needHeight: number,
): 1 | 2 | 4 | 8 {
  for (const shrink of [8, 4, 2] as const) {
    if (Math.ceil(storedWidth / shrink) >= needWidth && Math.ceil(storedHeight / shrink) >= needHeight) return shrink;
  }
  return 1;
}

/**
 * The JPEG shrink-on-load sharp 0.35 picks by itself for a resize from `stored` to `need`
 * (src/pipeline.cc): 8/4/2 when the reduction is >= 8/4/2, halved when int(reduction) equals it
 * ("libjpeg rounding"), so only reductions >= 3, 5, 9 get 2, 4, 8.
 */
export function sharpJpegShrink(
  storedWidth: number,
  storedHeight: number,
  needWidth: number,
  needHeight: number,
): 1 | 2 | 4 | 8 {
  const reduction = Math.min(storedWidth / needWidth, storedHeight / needHeight);
  let shrink: 1 | 2 | 4 | 8 = reduction >= 8 ? 8 : reduction >= 4 ? 4 : reduction >= 2 ? 2 : 1;
  if (shrink > 1 && Math.trunc(reduction) === shrink) shrink = (shrink / 2) as 2 | 4;
  return shrink;
}
