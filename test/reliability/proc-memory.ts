/**
 * Memory of sandbox processes while a test drives them, from /proc (Linux), with the benchmark's
 * method (bench/peak-memory.ts): current RSS sampled during work, and the sandboxes' pids.
 */
import { procMemory } from '../../bench/peak-memory';

/**
 * Samples the RSS of `pid` every `everyMs` (default 5) while `work` runs; resolves with its result,
 * its wall time and the largest RSS seen (a lower bound of the true peak between samples).
 */
export async function measure<T>(
  pid: number,
  work: () => Promise<T>,
  everyMs = 5,
): Promise<{ result: T; wallMs: number; peakRssMb: number }> {
  let peak = procMemory(pid)?.rssMb ?? 0;
  const timer = setInterval(() => {
    const m = procMemory(pid);
    if (m && m.rssMb > peak) peak = m.rssMb;
  }, everyMs);
  const started = performance.now();
  try {
    const result = await work();
    return { result, wallMs: performance.now() - started, peakRssMb: Math.max(peak, procMemory(pid)?.rssMb ?? 0) };
  } finally {
    clearInterval(timer);
  }
}

/** Collects sandbox pids from a function host's SANDBOX_START platform lines. */
export function sandboxPids(): { sink: (line: Record<string, unknown>) => void; pids: number[] } {
  const pids: number[] = [];
  return {
    pids,
    sink: (line) => {
      if (line.type === 'SANDBOX_START' && typeof line.pid === 'number') pids.push(line.pid);
    },
  };
}
