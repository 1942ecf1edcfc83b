/**
 * Memory of sandbox processes from /proc (Linux): current RSS and the kernel's high-water mark.
 * Used to state the memory bound of the resize handler per input and per run.
 */
import { readFileSync } from 'node:fs';

export interface ProcMemory {
  /** Resident set now, in MiB. */
  rssMb: number;
  /** Peak resident set since the process started (VmHWM), in MiB. */
  hwmMb: number;
}

/** Reads /proc/<pid>/status; undefined when the process is gone or /proc is not there. */
export function procMemory(pid: number): ProcMemory | undefined {
  let status: string;
  try {
    status = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return undefined;
  }
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  return { rssMb: kb('VmRSS') / 1024, hwmMb: kb('VmHWM') / 1024 };
}

/**
 * Samples the RSS of `pid` every `everyMs` (default 5) while `work` runs; resolves with its result,
 * its wall time and the largest RSS seen (a lower bound of the true peak between samples).
 */
export async function measure<T>(pid: number, work: () => Promise<T>, everyMs = 5): Promise<{ result: T; wallMs: number; peakRssMb: number }> {
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
