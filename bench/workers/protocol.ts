/**
 * The driver side of the benchmark worker protocol: a child process that reads one JSON request
 * per line on stdin and answers each with one JSON line on stdout, in order.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';

export interface WorkerOutput {
  name: string;
  file: string;
  bytes: number;
}

/** A worker's answer to {"cmd":"rss"}, in KiB. */
export interface PeakMemory {
  /** VmHWM since the worker's exec (CLI peers: of their largest child so far), bench/peak-memory.ts. */
  vmHwmKiB: number;
  /**
   * getrusage maxRSS of the same process (CLI peers: RUSAGE_CHILDREN), which includes what its parent held: shown only
   * for contrast.
   */
  getrusageMaxRssKiB?: number;
}

export interface JobReply {
  ms: number;
  cpuMs: number;
  outputs: WorkerOutput[];
}

export class BenchWorker {
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly waiting: Array<{ resolve(line: string): void; reject(err: Error): void }> = [];
  private stderr = '';
  private exited = false;

  constructor(command: string, args: readonly string[], env: NodeJS.ProcessEnv = process.env) {
    this.child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'], env });
    createInterface({ input: this.child.stdout, crlfDelay: Infinity }).on('line', (line) =>
      this.waiting.shift()?.resolve(line),
    );
    this.child.stderr.on('data', (chunk: Buffer) => {
      this.stderr = (this.stderr + chunk.toString()).slice(-2000);
    });
    const fail = (why: string) => {
      this.exited = true;
      for (const w of this.waiting.splice(0))
        w.reject(new Error(`${command} ${args.join(' ')}: ${why}; stderr: ${this.stderr.trim()}`));
    };
    this.child.on('error', (err) => fail(err.message));
    this.child.on('exit', (code, signal) => fail(`exited (${signal ?? code})`));
  }

  private send(request: unknown): Promise<Record<string, unknown>> {
    if (this.exited) return Promise.reject(new Error(`worker has exited; stderr: ${this.stderr.trim()}`));
    return new Promise((resolve, reject) => {
      this.waiting.push({
        resolve: (line) => {
          try {
            resolve(JSON.parse(line) as Record<string, unknown>);
          } catch {
            reject(new Error(`worker answered a non-JSON line: ${line.slice(0, 200)}`));
          }
        },
        reject,
      });
      this.child.stdin.write(`${JSON.stringify(request)}\n`);
    });
  }

  /** Runs one job; rejects with the worker's own error message when it reports one. */
  async job(request: { input: string; outDir: string; variants: unknown; draft?: boolean }): Promise<JobReply> {
    const reply = await this.send(request);
    if (typeof reply.error === 'string') throw new Error(reply.error);
    return reply as unknown as JobReply;
  }

  /**
   * Peak resident set of the worker since its exec (or of its largest child so far, for CLI
   * peers), with getrusage's figure beside it. Rejects when the worker has no VmHWM figure.
   */
  async peakMemory(): Promise<PeakMemory> {
    const reply = await this.send({ cmd: 'rss' });
    const kib = reply.peakRssKiB;
    if (typeof kib !== 'number' || !(kib > 0))
      throw new Error(`worker reported no peak memory figure: ${JSON.stringify(reply)}`);
    const old = reply.getrusageMaxRssKiB;
    return { vmHwmKiB: kib, getrusageMaxRssKiB: typeof old === 'number' ? old : undefined };
  }

  async close(): Promise<void> {
    if (this.exited) return;
    const gone = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.stdin.end(`${JSON.stringify({ cmd: 'exit' })}\n`);
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 5000);
    await gone;
    clearTimeout(timer);
  }
}
