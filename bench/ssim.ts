/**
 * SSIM (Wang et al. 2004) on luma, with the paper's 11x11 Gaussian window (sigma 1.5) and constants
 * K1 = 0.01, K2 = 0.03 for 8-bit data (L = 255). Pure TypeScript over raw pixels, so every peer's
 * output is scored by the same code. Returns the mean SSIM over the window positions that fit
 * entirely inside the image ("valid" convolution), in [-1, 1]; 1 means identical.
 */

export interface RawImage {
  readonly data: Uint8Array;
  readonly width: number;
  readonly height: number;
  /** 1 (grey), 3 (RGB) or 4 (RGBA; alpha is ignored: flatten first if it matters). */
  readonly channels: number;
}

const WINDOW = 11;
const SIGMA = 1.5;
const C1 = (0.01 * 255) ** 2;
const C2 = (0.03 * 255) ** 2;

/** Rec. 601 luma (what JPEG and WebP encode) as floats. */
export function luma(image: RawImage): Float64Array {
  const { data, width, height, channels } = image;
  if (data.length < width * height * channels)
    throw new RangeError(`luma: ${data.length} bytes is too few for ${width}x${height}x${channels}`);
  const out = new Float64Array(width * height);
  if (channels < 3) {
    for (let i = 0; i < out.length; i += 1) out[i] = data[i * channels];
    return out;
  }
  for (let i = 0, p = 0; i < out.length; i += 1, p += channels)
    out[i] = 0.299 * data[p] + 0.587 * data[p + 1] + 0.114 * data[p + 2];
  return out;
}

function gaussianKernel(): Float64Array {
  const kernel = new Float64Array(WINDOW);
  const half = (WINDOW - 1) / 2;
  let sum = 0;
  for (let i = 0; i < WINDOW; i += 1) {
    kernel[i] = Math.exp(-((i - half) ** 2) / (2 * SIGMA * SIGMA));
    sum += kernel[i];
  }
  for (let i = 0; i < WINDOW; i += 1) kernel[i] /= sum;
  return kernel;
}

/** Separable "valid" Gaussian filter: output is (width - 10) x (height - 10). */
function blur(src: Float64Array, width: number, height: number, kernel: Float64Array): Float64Array {
  const outW = width - WINDOW + 1;
  const outH = height - WINDOW + 1;
  const rows = new Float64Array(outW * height);
  for (let y = 0; y < height; y += 1) {
    const row = y * width;
    for (let x = 0; x < outW; x += 1) {
      let acc = 0;
      for (let k = 0; k < WINDOW; k += 1) acc += kernel[k] * src[row + x + k];
      rows[y * outW + x] = acc;
    }
  }
  const out = new Float64Array(outW * outH);
  for (let y = 0; y < outH; y += 1) {
    for (let x = 0; x < outW; x += 1) {
      let acc = 0;
      for (let k = 0; k < WINDOW; k += 1) acc += kernel[k] * rows[(y + k) * outW + x];
      out[y * outW + x] = acc;
    }
  }
  return out;
}

/** Mean SSIM of two equally sized luma planes (each at least 11x11). */
export function ssimLuma(a: Float64Array, b: Float64Array, width: number, height: number): number {
  if (a.length !== width * height || b.length !== width * height)
    throw new RangeError('ssimLuma: planes must both be width x height');
  if (width < WINDOW || height < WINDOW)
    throw new RangeError(`ssimLuma: images must be at least ${WINDOW}x${WINDOW}, got ${width}x${height}`);
  const kernel = gaussianKernel();
  const aa = new Float64Array(a.length);
  const bb = new Float64Array(a.length);
  const ab = new Float64Array(a.length);
  for (let i = 0; i < a.length; i += 1) {
    aa[i] = a[i] * a[i];
    bb[i] = b[i] * b[i];
    ab[i] = a[i] * b[i];
  }
  const muA = blur(a, width, height, kernel);
  const muB = blur(b, width, height, kernel);
  const sAA = blur(aa, width, height, kernel);
  const sBB = blur(bb, width, height, kernel);
  const sAB = blur(ab, width, height, kernel);
  let total = 0;
  for (let i = 0; i < muA.length; i += 1) {
    const ma = muA[i];
    const mb = muB[i];
    const varA = sAA[i] - ma * ma;
    const varB = sBB[i] - mb * mb;
    const cov = sAB[i] - ma * mb;
    total += ((2 * ma * mb + C1) * (2 * cov + C2)) / ((ma * ma + mb * mb + C1) * (varA + varB + C2));
  }
  return total / muA.length;
}

/** SSIM on the luma of two raw images of the same size. */
export function ssim(a: RawImage, b: RawImage): number {
  if (a.width !== b.width || a.height !== b.height)
    throw new RangeError(`ssim: sizes differ: ${a.width}x${a.height} vs ${b.width}x${b.height}`);
  return ssimLuma(luma(a), luma(b), a.width, a.height);
}
