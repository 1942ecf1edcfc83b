/** Small statistics for benchmark samples. Pure functions, no I/O. */

export interface Summary {
  readonly n: number;
  readonly median: number;
  readonly min: number;
  readonly max: number;
}

/** Median (mean of the middle two for an even count), min and max. Throws on an empty list. */
export function summarize(samples: readonly number[]): Summary {
  if (samples.length === 0) throw new RangeError('summarize: no samples');
  const sorted = [...samples].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
  return { n: sorted.length, median, min: sorted[0], max: sorted[sorted.length - 1] };
}

/** `ours / theirs`, or undefined when either side is missing or theirs is 0. */
export function ratio(ours: number | undefined, theirs: number | undefined): number | undefined {
  if (ours === undefined || theirs === undefined || theirs === 0) return undefined;
  return ours / theirs;
}

/**
 * Rotates `items` left by `round` places: round 0 keeps the order, round 1 starts with the second
 * item... so no implementation always runs first (after an idle pause) or last (on a warm cache).
 */
export function rotate<T>(items: readonly T[], round: number): T[] {
  if (items.length === 0) return [];
  const k = ((round % items.length) + items.length) % items.length;
  return [...items.slice(k), ...items.slice(0, k)];
}

/**
 * Lambda compute cost, in USD, of a million invocations of `ms` each at `memoryMb`, from the x86 price per
 * GB-second (us-east-1, first tier: 0.0000166667). Request charges are not included.
 */
export function lambdaCostPerMillion(ms: number, memoryMb: number, pricePerGbSecond = 0.0000166667): number {
  return (ms / 1000) * (memoryMb / 1024) * pricePerGbSecond * 1_000_000;
}

/**
 * Lambda gives a function CPU in proportion to its memory: 1,769 MB buys one full vCPU. A job
 * that needs `cpuMs` of CPU and `wallMs` with all of this machine's cores takes at least
 * max(wallMs, cpuMs / vCPUs) there (more vCPUs than the job can use do not help).
 */
export function lambdaDurationEstimate(wallMs: number, cpuMs: number, memoryMb: number): number {
  const vcpus = memoryMb / 1769;
  return Math.max(wallMs, cpuMs / vcpus);
}
