/**
 * CPU affinity of the bench's processes (Linux: `taskset` from util-linux, /proc/<pid>/status).
 *
 * The chain bench uses it to give the resize sandboxes a core of their own and the local cloud's services (gateway,
 * mappings, the S3/SQS stand-in, the uploading client, publish) the other, as on AWS, where S3 and SQS do not run on
 * a function's CPU. No library wraps sched_setaffinity for Node; taskset is on every Linux this bench runs on.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';

/** The two CPU sets of an own-core run: the function's and the services'. */
export interface CoreSplit {
  /** CPU list the resize sandboxes (and the core alone) run on, as taskset takes it: '1'. */
  readonly functionCpus: string;
  /** CPU list of every other process of the chain: '0'. */
  readonly serviceCpus: string;
  /** Every CPU the bench may use (what pinned processes get back afterwards): '0-1'. */
  readonly allCpus: string;
}

/**
 * The split of this machine, or why there is none (fewer than 2 CPUs, not Linux, no taskset). The function gets the
 * last CPU and the services the others.
 */
export function coreSplit(): CoreSplit | { unavailable: string } {
  if (process.platform !== 'linux')
    return { unavailable: `CPU affinity is set with taskset on Linux, not ${process.platform}` };
  const cpus = os.availableParallelism();
  if (cpus < 2) return { unavailable: `${cpus} CPU: no core to give the function alone` };
  const probe = spawnSync('taskset', ['-p', String(process.pid)], { encoding: 'utf8' });
  if (probe.error || probe.status !== 0)
    return { unavailable: `taskset (util-linux) did not run: ${probe.error?.message ?? probe.stderr.trim()}` };
  const last = cpus - 1;
  return { functionCpus: String(last), serviceCpus: last === 1 ? '0' : `0-${last - 1}`, allCpus: `0-${last}` };
}

/**
 * Pins every thread of process `pid` to `cpus` (taskset -a -p). Threads it starts later inherit the set. A process
 * that has ended meanwhile has nothing to pin.
 */
export function pinProcess(pid: number, cpus: string): void {
  const res = spawnSync('taskset', ['-a', '-p', '-c', cpus, String(pid)], { encoding: 'utf8' });
  if ((!res.error && res.status === 0) || !existsSync(`/proc/${pid}`)) return;
  throw new Error(`taskset -a -p -c ${cpus} ${pid} failed: ${res.error?.message ?? res.stderr.trim()}`);
}

/** The CPU list process `pid` may run on (its main thread's Cpus_allowed_list), e.g. '1' or '0-1'. */
export function allowedCpus(pid: number): string {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = /^Cpus_allowed_list:\s*(\S+)/m.exec(status);
  if (!match) throw new Error(`/proc/${pid}/status has no Cpus_allowed_list`);
  return match[1];
}
