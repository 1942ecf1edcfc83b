// Pure logic of the benchmark: statistics, round rotation, cost arithmetic and SSIM.
import { lambdaCostPerMillion, lambdaDurationEstimate, ratio, rotate, summarize } from '../../bench/stats';
import { luma, ssim, ssimLuma, type RawImage } from '../../bench/ssim';

function gradient(width: number, height: number, noise = 0, seed = 1): RawImage {
  let state = seed;
  const random = () => {
    state = (state * 1103515245 + 12345) % 2147483648;
    return state / 2147483648;
  };
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y += 1) {
    for (let x = 0; x < width; x += 1) {
      const v = Math.round(40 + 150 * (x / width) + 30 * Math.sin(y / 5) + (random() - 0.5) * noise);
      const p = (y * width + x) * 3;
      data[p] = data[p + 1] = data[p + 2] = Math.max(0, Math.min(255, v));
    }
  }
  return { data, width, height, channels: 3 };
}

describe('summarize, ratio, rotate', () => {
  it('takes median, min and max, averaging the middle pair for even counts', () => {
    expect(summarize([5, 1, 3])).toEqual({ n: 3, median: 3, min: 1, max: 5 });
    expect(summarize([4, 1, 3, 10])).toEqual({ n: 4, median: 3.5, min: 1, max: 10 });
    expect(() => summarize([])).toThrow(RangeError);
  });

  it('gives undefined ratios for missing or zero denominators', () => {
    expect(ratio(50, 100)).toBe(0.5);
    expect(ratio(undefined, 100)).toBeUndefined();
    expect(ratio(1, 0)).toBeUndefined();
  });

  it('rotates so every item leads once per cycle', () => {
    expect(rotate(['a', 'b', 'c'], 0)).toEqual(['a', 'b', 'c']);
    expect(rotate(['a', 'b', 'c'], 1)).toEqual(['b', 'c', 'a']);
    expect(rotate(['a', 'b', 'c'], 5)).toEqual(['c', 'a', 'b']);
    expect(rotate([], 3)).toEqual([]);
  });
});

describe('Lambda arithmetic', () => {
  it('prices GB-seconds per million invocations', () => {
    // 100 ms at 1,024 MB = 0.1 GB-s; a million of them = 100,000 GB-s = $1.67.
    expect(lambdaCostPerMillion(100, 1024)).toBeCloseTo(1.66667, 4);
    expect(lambdaCostPerMillion(100, 2048)).toBeCloseTo(3.33334, 4);
  });

  it('stretches CPU-bound work by the vCPU share of the memory size', () => {
    expect(lambdaDurationEstimate(100, 150, 1769)).toBeCloseTo(150);
    expect(lambdaDurationEstimate(100, 50, 1769)).toBe(100);
    expect(lambdaDurationEstimate(100, 150, 1024)).toBeCloseTo(150 / (1024 / 1769));
  });
});

describe('ssim', () => {
  it('is 1 for identical images and symmetric', () => {
    const a = gradient(64, 48, 20, 1);
    const b = gradient(64, 48, 20, 2);
    expect(ssim(a, a)).toBeCloseTo(1, 12);
    expect(ssim(a, b)).toBeCloseTo(ssim(b, a), 12);
  });

  it('falls as noise grows', () => {
    const clean = gradient(80, 60, 0);
    const slight = ssim(clean, gradient(80, 60, 10));
    const heavy = ssim(clean, gradient(80, 60, 80));
    expect(slight).toBeLessThan(1);
    expect(heavy).toBeLessThan(slight);
    expect(heavy).toBeGreaterThan(-1);
  });

  it('ignores a constant offset much less than structure loss, and is 1 for equal flat images', () => {
    const flat = new Float64Array(20 * 20).fill(128);
    expect(ssimLuma(flat, flat, 20, 20)).toBeCloseTo(1, 12);
    const a = gradient(40, 40, 30);
    const shifted: RawImage = { ...a, data: a.data.map((v) => Math.min(255, v + 2)) };
    expect(ssim(a, shifted)).toBeGreaterThan(0.99);
  });

  it('uses Rec. 601 luma and refuses mismatched or tiny inputs', () => {
    expect(
      Array.from(luma({ data: new Uint8Array([255, 0, 0, 0, 255, 0]), width: 2, height: 1, channels: 3 })),
    ).toEqual([expect.closeTo(76.245, 3), expect.closeTo(149.685, 3)]);
    expect(() => ssim(gradient(20, 20), gradient(21, 20))).toThrow(RangeError);
    expect(() => ssim(gradient(10, 10), gradient(10, 10))).toThrow(RangeError);
  });
});
