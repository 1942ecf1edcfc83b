// The chain bench's CPU split (bench/cpu-affinity.ts) on a real process, through the real taskset.
import { spawn, type ChildProcess } from 'node:child_process';
import os from 'node:os';
import { allowedCpus, coreSplit, pinProcess } from '../../bench/cpu-affinity';

const split = coreSplit();
const reason = 'unavailable' in split ? split.unavailable : undefined;
if (reason && process.env.CI === 'true') throw new Error(`cpu-affinity tests cannot run under CI=true: ${reason}`);
if (reason) process.stderr.write(`SKIPPING cpu-affinity tests: ${reason}\n`);
const maybe = reason ? describe.skip : describe;

/** A child whose threads come after the pin: a Node process that starts a worker thread once told to. */
function startChild(): Promise<ChildProcess> {
  const child = spawn(
    process.execPath,
    [
      '-e',
      "process.stdin.once('data', () => { new (require('node:worker_threads').Worker)(" +
        "'setInterval(() => {}, 1000)', { eval: true }).on('online', () => console.log('worker')); });" +
        "console.log('ready'); setInterval(() => {}, 1000);",
    ],
    { stdio: ['pipe', 'pipe', 'inherit'] },
  );
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.stdout.once('data', () => resolve(child));
  });
}

/** Cpus_allowed_list of every thread of `pid`. */
async function threadCpus(pid: number): Promise<string[]> {
  const { readdirSync, readFileSync } = await import('node:fs');
  return readdirSync(`/proc/${pid}/task`).map(
    (tid) => /^Cpus_allowed_list:\s*(\S+)/m.exec(readFileSync(`/proc/${pid}/task/${tid}/status`, 'utf8'))![1],
  );
}

maybe('cpu-affinity', () => {
  const children: ChildProcess[] = [];
  afterEach(() => {
    for (const child of children.splice(0)) child.kill('SIGKILL');
  });

  it('gives the function the last CPU and the services the others', () => {
    if ('unavailable' in split) throw new Error('unreachable');
    const last = os.availableParallelism() - 1;
    expect(split.functionCpus).toBe(String(last));
    expect(split.serviceCpus).toBe(last === 1 ? '0' : `0-${last - 1}`);
    expect(split.allCpus).toBe(`0-${last}`);
  });

  it('pins every thread of a process, and threads it starts afterwards inherit the set', async () => {
    if ('unavailable' in split) throw new Error('unreachable');
    const child = await startChild();
    children.push(child);
    const pid = child.pid!;
    expect(allowedCpus(pid)).toBe(split.allCpus);

    pinProcess(pid, split.functionCpus);
    expect(new Set(await threadCpus(pid))).toEqual(new Set([split.functionCpus]));
    const before = (await threadCpus(pid)).length;
    child.stdin!.write('go\n');
    await new Promise((resolve) => child.stdout!.once('data', resolve));
    const after = await threadCpus(pid);
    expect(after.length).toBeGreaterThan(before);
    expect(new Set(after)).toEqual(new Set([split.functionCpus]));

    pinProcess(pid, split.allCpus);
    expect(new Set(await threadCpus(pid))).toEqual(new Set([split.allCpus]));
  });

  it('does nothing for a process that has ended, and refuses a CPU list taskset rejects', async () => {
    const child = await startChild();
    const pid = child.pid!;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
    expect(() => pinProcess(pid, '0')).not.toThrow();

    const alive = await startChild();
    children.push(alive);
    expect(() => pinProcess(alive.pid!, '99999')).toThrow(/taskset -a -p -c 99999/);
  });
});
