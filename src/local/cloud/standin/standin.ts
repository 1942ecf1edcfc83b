/**
 * Starts and stops the stand-in S3 + SQS server (fauxqs) as a child process on Node 22.
 *
 * fauxqs is ESM-only and needs Node >= 22.5 while the CLI runs on Node 20, so it lives in its own
 * process (src/local/cloud/standin/standin-server.mjs). The child prints one JSON line with its port when ready.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { PipelineError } from '../../../core/errors';
import { resolveNode22 } from '../lambda/node-runtime';
import { prepareStateDir } from '../../state-dir';

/**
 * Largest object the local S3 takes in one request (a PutObject, an UploadPart or a POST upload's
 * file). fauxqs's own limit is 11 MiB, below the resize stage's 50 MiB MAX_INPUT_BYTES default, so
 * the stand-in raises it; S3's own single-request limit is 5 GiB, but the stand-in holds bodies in memory.
 */
export const MAX_LOCAL_OBJECT_BYTES = 64 * 1024 * 1024;

/** File name of the child script, beside the bundle in dist/ or in src/local/cloud/standin/. */
export const STANDIN_SCRIPT_NAME = 'standin-server.mjs';

/**
 * Where the stand-in child script is: next to this module (src/local/cloud/standin/ when run from source,
 * dist/ when bundled, since the build copies the script to dist/standin-server.mjs), else
 * `<dir>/../src/local/cloud/standin/` as a fallback for a bundle run inside the repository.
 */
export function resolveStandInScript(fromDir: string = __dirname): string {
  const candidates = [
    path.join(fromDir, STANDIN_SCRIPT_NAME),
    path.join(fromDir, '..', 'src', 'local', 'cloud', 'standin', STANDIN_SCRIPT_NAME),
  ];
  const found = candidates.find((candidate) => existsSync(candidate));
  if (!found) {
    throw new PipelineError('INVALID_CONFIG', `stand-in server script not found; looked in ${candidates.join(', ')}`, {
      field: 'standin-server.mjs',
    });
  }
  return found;
}

export interface StandInOptions {
  /** Port for the stand-in to listen on, on 127.0.0.1. @default 0 (ephemeral) */
  port?: number;
  /** Region used for queue ARNs when a request does not name one. @default 'us-east-1' */
  region?: string;
  /** How long to wait for the ready line. @default 15000 ms */
  readyTimeoutMs?: number;
  /**
   * Keep state in this folder (SQLite `fauxqs.db`): queues with their messages (in-flight ones with
   * their visibility deadlines), buckets and objects survive a restart on the same folder. The
   * folder is made (or tightened to) 0700 and the database 0600 (state-dir.ts).
   * @default undefined: state lives in memory and ends with the process
   */
  dataDir?: string;
}

export interface StandIn {
  /** http://127.0.0.1:port of the stand-in itself (clients should use the gateway in front of it). */
  endpoint: string;
  port: number;
  /** Process id of the child. */
  pid: number;
  /** Stops the child (SIGTERM, then SIGKILL after 5 s). Safe to call twice. */
  stop(): Promise<void>;
}

/** Starts the stand-in on 127.0.0.1 and resolves when it accepts requests. */
export async function startStandIn(opts: StandInOptions = {}): Promise<StandIn> {
  const script = resolveStandInScript();
  // fauxqs 2.x needs Node >= 22.5; on an older 22.x the child reports so on stderr, which we surface.
  const node = resolveNode22();
  // 1 MiB above the largest object: a POST upload's form fields and aws-chunked signatures ride along.
  const args = [
    '--disable-warning=ExperimentalWarning',
    script,
    '--port',
    String(opts.port ?? 0),
    '--body-limit',
    String(MAX_LOCAL_OBJECT_BYTES + 1024 * 1024),
  ];
  if (opts.region) args.push('--region', opts.region);
  if (opts.dataDir) {
    prepareStateDir(opts.dataDir);
    args.push('--data-dir', path.resolve(opts.dataDir));
  }
  const child = spawn(node, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  const stderr: string[] = [];
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => {
    stderr.push(chunk);
    if (stderr.length > 50) stderr.shift();
  });

  const port = await waitForReady(child, opts.readyTimeoutMs ?? 15000, () => stderr.join('').trim());
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });

  let stopping: Promise<void> | undefined;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    port,
    pid: child.pid ?? -1,
    stop() {
      stopping ??= (async () => {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(timer);
      })();
      return stopping;
    },
  };
}

function waitForReady(child: ChildProcess, timeoutMs: number, stderrTail: () => string): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    const fail = (message: string): void => {
      cleanup();
      child.kill('SIGKILL');
      const tail = stderrTail();
      reject(new PipelineError('INTERNAL', `stand-in server: ${message}${tail ? `; stderr: ${tail}` : ''}`));
    };
    const timer = setTimeout(() => fail(`not ready after ${timeoutMs} ms`), timeoutMs);
    const onExit = (code: number | null, signal: string | null): void =>
      fail(`exited before ready (code ${code}, signal ${signal})`);
    const onError = (err: Error): void => fail(`could not start: ${err.message}`);
    const onLine = (line: string): void => {
      let parsed: unknown;
      try {
        parsed = JSON.parse(line);
      } catch {
        return; // not our ready line
      }
      const ready = parsed as { ready?: boolean; port?: number };
      if (ready.ready === true && typeof ready.port === 'number') {
        cleanup();
        resolve(ready.port);
      }
    };
    function cleanup(): void {
      clearTimeout(timer);
      child.off('close', onExit);
      child.off('error', onError);
      lines.off('line', onLine);
    }
    // 'close', not 'exit': by then the stderr it wrote before dying has been read, for the message.
    child.once('close', onExit);
    child.once('error', onError);
    lines.on('line', onLine);
  });
}
