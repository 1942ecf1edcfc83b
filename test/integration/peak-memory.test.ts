/**
 * The benchmark's peak-memory method (bench/peak-memory.ts, bench/peers/peak_memory.py) measures
 * the worker, not its parent: a worker that allocates 200 MiB reports that much more than one
 * that allocates nothing, and the one that allocates nothing reports under 100 MiB although its
 * parent holds 400 MiB. getrusage maxRSS (the old method) reports the parent's 400 MiB there;
 * each case also checks that it does, so the setup really tells the two methods apart.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { buildSync } from 'esbuild';
import { cgroupMemoryPeakBytes, cgroupPeakFile, procMemory } from '../../bench/peak-memory';

const MiB = 2 ** 20;
const ALLOCATED_MIB = 200;
const PARENT_MIB = 400;
const PEERS = path.join(__dirname, '..', '..', 'bench', 'peers');
const PYTHON = process.env.PYTHON ?? 'python3';

interface Figures {
  /** The method under test, KiB. */
  peakRssKiB: number;
  /** getrusage maxRSS of the same process (for CLI children: RUSAGE_CHILDREN), KiB. */
  getrusageMaxRssKiB: number;
}

/** A Python program that can import the peers' modules, printing its Figures as JSON on its last line. */
function pythonProgram(...lines: string[]): string {
  return ['import json, resource, sys', `sys.path.insert(0, ${JSON.stringify(PEERS)})`, ...lines].join('\n');
}

function runJson(command: string, args: string[]): Figures {
  const run = spawnSync(command, args, { encoding: 'utf8', maxBuffer: MiB });
  if (run.status !== 0) throw new Error(`${command} ${args[0]} exited ${run.status ?? run.signal}: ${run.stderr}`);
  return JSON.parse(run.stdout) as Figures;
}

/** Asserts the method's figures for an idle worker and a 200 MiB one, both with a 400 MiB parent. */
function expectWorkerFigures(idle: Figures, allocating: Figures): void {
  const idleMiB = idle.peakRssKiB / 1024;
  const grownMiB = (allocating.peakRssKiB - idle.peakRssKiB) / 1024;
  expect(idleMiB).toBeLessThan(100);
  expect(grownMiB).toBeGreaterThanOrEqual(ALLOCATED_MIB * 0.85);
  expect(grownMiB).toBeLessThanOrEqual(ALLOCATED_MIB * 1.15);
  // The old method on the same idle process: at least the parent's resident size.
  expect(idle.getrusageMaxRssKiB / 1024).toBeGreaterThanOrEqual(PARENT_MIB);
}

describe('peak memory of a benchmark worker', () => {
  const parentHeld: Buffer[] = [];
  let dir: string;

  beforeAll(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'peak-memory-'));
    // This test process is the workers' parent: make it hold 400 MiB, every page written.
    parentHeld.push(Buffer.alloc(PARENT_MIB * MiB, 1));
    expect(procMemory(process.pid)!.rssMb).toBeGreaterThanOrEqual(PARENT_MIB);
  });

  afterAll(() => {
    parentHeld.splice(0);
    rmSync(dir, { recursive: true, force: true });
  });

  it("a Node worker (the sharp workers' helper) reports its own peak, not its parent's", () => {
    // Bundled and run on plain Node, as bench/run.ts runs the sharp worker.
    const bundle = path.join(dir, 'allocate.js');
    buildSync({
      entryPoints: [path.join(__dirname, '..', 'fixtures', 'peak-memory', 'allocate.ts')],
      bundle: true,
      platform: 'node',
      format: 'cjs',
      outfile: bundle,
      logLevel: 'warning',
    });
    const idle = runJson(process.execPath, [bundle, '0']);
    const allocating = runJson(process.execPath, [bundle, String(ALLOCATED_MIB)]);
    expectWorkerFigures(idle, allocating);
  });

  it("a Python worker (the Pillow peers' own_peak_kib) reports its own peak, not its parent's", () => {
    const script = (mib: number) =>
      pythonProgram(
        'from peak_memory import own_peak_kib',
        `held = b"\\x01" * (${mib} << 20)`,
        'print(json.dumps({"peakRssKiB": own_peak_kib(), "getrusageMaxRssKiB": ' +
          'resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))',
      );
    expectWorkerFigures(runJson(PYTHON, ['-c', script(0)]), runJson(PYTHON, ['-c', script(ALLOCATED_MIB)]));
  });

  it("a CLI peer's child is measured at its exit, not through RUSAGE_CHILDREN", () => {
    // The CLI worker is the parent here: it holds 400 MiB and runs a child that allocates `mib`
    // and exits at once, so its peak is in its last moment (a poll of /proc would likely miss it).
    const script = (mib: number) =>
      pythonProgram(
        'from peak_memory import run_measured',
        `held = b"\\x01" * (${PARENT_MIB} << 20)`,
        `code, peak = run_measured([sys.executable, "-c", 'x = b"\\\\x01" * (${mib} << 20)'])`,
        'assert code == 0, code',
        'print(json.dumps({"peakRssKiB": peak, "getrusageMaxRssKiB": ' +
          'resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}))',
      );
    expectWorkerFigures(runJson(PYTHON, ['-c', script(0)]), runJson(PYTHON, ['-c', script(ALLOCATED_MIB)]));
  });

  it("a process in a cgroup: its memory controller's peak charge is at least the process's VmHWM", () => {
    const peak = cgroupMemoryPeakBytes(process.pid);
    if (peak === undefined) {
      // No memory controller visible here (no cgroupfs, or a namespace hiding it): say so loudly.
      if (process.env.CI === 'true')
        throw new Error(`no cgroup memory peak for pid ${process.pid}: ${readFileSync('/proc/self/cgroup', 'utf8')}`);
      console.warn('SKIPPED: no cgroup memory peak file for this process');
      return;
    }
    expect(peak / MiB).toBeGreaterThanOrEqual(procMemory(process.pid)!.hwmMb);
  });
});

describe('cgroupPeakFile', () => {
  it("takes cgroup v1's memory controller when it is mounted (hybrid hosts)", () => {
    const text = '4:memory:/docker/abc\n1:cpu,cpuacct:/docker/abc\n0::/\n';
    expect(cgroupPeakFile(text)).toBe('/sys/fs/cgroup/memory/docker/abc/memory.max_usage_in_bytes');
  });

  it("takes cgroup v2's memory.peak otherwise", () => {
    expect(cgroupPeakFile('0::/system.slice/docker-abc.scope\n')).toBe(
      '/sys/fs/cgroup/system.slice/docker-abc.scope/memory.peak',
    );
  });

  it('is undefined when neither is listed', () => {
    expect(cgroupPeakFile('1:name=systemd:/\n')).toBeUndefined();
  });
});
