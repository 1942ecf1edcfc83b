/**
 * Peak memory of a process or a container, the one method of the benchmark, the reliability tests
 * and any worst-case memory table (bench/peers/peak_memory.py is its Python side, same method).
 *
 * - A process: `VmHWM` of /proc/<pid>/status, the kernel's high-water mark of that address space's
 *   resident set. It starts at the process's own exec. `getrusage` maxRSS (`process.resourceUsage()`,
 *   Python's `ru_maxrss`, `RUSAGE_CHILDREN`) does not: Linux carries it across fork and exec, so a
 *   worker started by a 400 MB parent reports at least 400 MB even when it allocates nothing.
 *   Read it while the process is still alive (a worker reads its own before it answers, a driver
 *   reads a worker that is idle waiting for its next request): after exit the figure is gone.
 * - A container: the peak charge of its memory cgroup, which is what a memory limit (Lambda's, or
 *   `docker run --memory`) is enforced against: `memory.peak` (cgroup v2) or
 *   `memory.max_usage_in_bytes` (cgroup v1). It counts page cache and kernel memory of the group
 *   besides resident pages, so it is at least the VmHWM of any process in it.
 *
 * Linux only: elsewhere every reader here returns undefined.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';

export interface ProcMemory {
  /** Resident set now, in MiB. */
  rssMb: number;
  /** Peak resident set since the process's exec (VmHWM), in MiB. */
  hwmMb: number;
}

/** Reads /proc/<pid>/status (`'self'` by default); undefined when the process is gone or /proc is not there. */
export function procMemory(pid: number | 'self' = 'self'): ProcMemory | undefined {
  let status: string;
  try {
    status = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return undefined;
  }
  const kib = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  const hwm = kib('VmHWM');
  // A zombie has a status file but no address space: no Vm* lines at all.
  if (Number.isNaN(hwm)) return undefined;
  return { rssMb: kib('VmRSS') / 1024, hwmMb: hwm / 1024 };
}

/** Peak resident set of `pid` (default this process) since its exec, in KiB (VmHWM); undefined when gone. */
export function peakRssKiB(pid: number | 'self' = 'self'): number | undefined {
  const memory = procMemory(pid);
  return memory && Math.round(memory.hwmMb * 1024);
}

/**
 * The file holding the peak memory charge of the cgroup a process is in, from the text of its
 * /proc/<pid>/cgroup: cgroup v1's memory controller when one is mounted for it (hybrid hosts keep
 * memory there), else the v2 group's `memory.peak`. `root` is where cgroupfs is mounted (default
 * /sys/fs/cgroup). undefined when neither is listed.
 */
export function cgroupPeakFile(procCgroup: string, root = '/sys/fs/cgroup'): string | undefined {
  const lines = procCgroup.split('\n').map((line) => line.split(':'));
  const v1 = lines.find((parts) => parts.length >= 3 && parts[1].split(',').includes('memory'));
  if (v1) return path.join(root, 'memory', groupPath(v1), 'memory.max_usage_in_bytes');
  const v2 = lines.find((parts) => parts.length >= 3 && parts[0] === '0' && parts[1] === '');
  return v2 ? path.join(root, groupPath(v2), 'memory.peak') : undefined;
}

/** The cgroup path of a /proc/<pid>/cgroup line (it may itself contain ':'). */
function groupPath(fields: string[]): string {
  return fields.slice(2).join(':');
}

/**
 * Peak memory charge, in bytes, of the cgroup `pid` is in (a container's: pass any pid of it, e.g.
 * `docker inspect -f '{{.State.Pid}}'`, read from the host while the container still runs).
 * undefined when the file is not there (no memory controller, a kernel before 5.19 on cgroup v2,
 * or a cgroup namespace hiding the group).
 */
export function cgroupMemoryPeakBytes(pid: number | 'self' = 'self', root = '/sys/fs/cgroup'): number | undefined {
  try {
    const file = cgroupPeakFile(readFileSync(`/proc/${pid}/cgroup`, 'utf8'), root);
    return file === undefined ? undefined : Number(readFileSync(file, 'utf8').trim());
  } catch {
    return undefined;
  }
}
