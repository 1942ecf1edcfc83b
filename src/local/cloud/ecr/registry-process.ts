/**
 * The container registry behind the local ECR: Debian's `docker-registry` (the CNCF distribution
 * registry, 2.8) as a child process on 127.0.0.1. Docker treats registries on 127.0.0.0/8 as
 * insecure by default, so `docker login` / `docker push 127.0.0.1:<port>/<name>:<tag>` work over
 * plain HTTP with no daemon configuration.
 *
 * The registry keeps no credentials: it listens on loopback only, as the local cloud's endpoint
 * does, and the local ECR's authorization token is the fixed `AWS:<token>` pair `docker login`
 * sends (and the registry ignores). Its storage is `<state dir>/registry` (kept across restarts,
 * 0700 like the rest of the state) or a temporary folder removed when the registry stops, also
 * when the process exits without stop().
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { PipelineError } from '../../../core/errors';
import { STATE_DIR_MODE } from '../../state-dir';

/** Environment variable naming the registry binary. @default '/usr/bin/docker-registry' (Debian) */
export const REGISTRY_BIN_ENV = 'RESIZE_CHAIN_REGISTRY_BIN';

/** Where Debian's `docker-registry` package installs the binary. */
export const DEBIAN_REGISTRY_BIN = '/usr/bin/docker-registry';

/** A running registry. */
export interface LocalRegistry {
  /** `127.0.0.1:<port>`: the host part of every repository URI. */
  readonly host: string;
  /** `http://127.0.0.1:<port>`: its HTTP API (`/v2/…`). */
  readonly url: string;
  /** Root of its filesystem storage (`docker/registry/v2/repositories/<name>/…` below it). */
  readonly storageDir: string;
  /** Process id of the registry. */
  readonly pid: number;
  /** Stops it (SIGTERM, SIGKILL after 5 s) and removes temporary storage. Safe to call twice. */
  stop(): Promise<void>;
}

export interface RegistryOptions {
  /** The registry binary. @default $RESIZE_CHAIN_REGISTRY_BIN, else /usr/bin/docker-registry */
  binary?: string;
  /** Keep images in `<stateDir>/registry`. @default a temporary folder removed on stop */
  stateDir?: string;
  /** How long to wait for `/v2/` to answer. @default 15000 ms */
  readyTimeoutMs?: number;
}

/** The registry binary to run, or undefined when there is none (up then serves ECR's "no registry" error). */
export function findRegistryBinary(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const candidate = env[REGISTRY_BIN_ENV] || DEBIAN_REGISTRY_BIN;
  return existsSync(candidate) ? candidate : undefined;
}

/** A port free on 127.0.0.1 right now (the registry's config takes a fixed address). */
function freeLoopbackPort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolvePort(port));
    });
  });
}

/** The registry's configuration: loopback address, filesystem storage, deletes on (BatchDeleteImage). */
function registryConfig(storageDir: string, port: number): string {
  return [
    'version: 0.1',
    'log:',
    '  level: warn',
    '  accesslog:',
    '    disabled: true',
    'storage:',
    '  filesystem:',
    `    rootdirectory: ${JSON.stringify(storageDir)}`,
    '  delete:',
    '    enabled: true',
    'http:',
    `  addr: 127.0.0.1:${port}`,
    '',
  ].join('\n');
}

/** Every registry of this process still running, killed (and its temporary storage removed) at exit. */
const liveRegistries = new Set<{ child: ChildProcess; temporary?: string }>();
process.on('exit', () => {
  for (const { child, temporary } of liveRegistries) {
    try {
      child.kill('SIGKILL');
    } catch {
      // already gone
    }
    if (temporary) rmSync(temporary, { recursive: true, force: true });
  }
});

/** util-linux's setpriv (Debian: always installed), which sets a parent-death signal and execs the program. */
const SETPRIV = '/usr/bin/setpriv';

/**
 * The command line that runs `binary` so that it is sent SIGTERM when this process dies, however it
 * dies (SIGKILL included, when no exit handler runs): `setpriv --pdeathsig TERM` execs the binary in
 * place (same pid, so stop() and the exit handler below still reach it). The registry does not watch
 * its parent itself. Without setpriv, the binary as it is.
 */
export function dieWithParent(binary: string, args: string[]): [string, string[]] {
  return existsSync(SETPRIV) ? [SETPRIV, ['--pdeathsig', 'TERM', '--', binary, ...args]] : [binary, args];
}

/** Resolves when GET /v2/ answers 200; rejects when the child exits first or the deadline passes. */
async function untilServing(url: string, child: ChildProcess, timeoutMs: number, stderr: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null)
      throw new Error(`exited before serving (code ${child.exitCode}, signal ${child.signalCode}): ${stderr()}`);
    try {
      const res = await fetch(`${url}/v2/`);
      if (res.status === 200) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`not serving after ${timeoutMs} ms: ${stderr()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * Starts the registry on a free port of 127.0.0.1 and resolves once its API answers. A port taken
 * between the pick and the bind is retried on another (three attempts).
 * @throws PipelineError INVALID_CONFIG when there is no binary, INTERNAL when it does not start
 */
export async function startRegistry(opts: RegistryOptions = {}): Promise<LocalRegistry> {
  const binary = opts.binary ?? findRegistryBinary();
  if (!binary || !existsSync(binary))
    throw new PipelineError(
      'INVALID_CONFIG',
      `no container registry binary (${binary ?? DEBIAN_REGISTRY_BIN}): apt-get install docker-registry, ` +
        `or set ${REGISTRY_BIN_ENV}`,
      { field: REGISTRY_BIN_ENV },
    );
  const runDir = mkdtempSync(join(tmpdir(), 'resize-chain-registry-'));
  const storageDir = opts.stateDir ? resolve(opts.stateDir, 'registry') : join(runDir, 'storage');
  mkdirSync(storageDir, { recursive: true, mode: STATE_DIR_MODE });
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      return await launch(binary, runDir, storageDir, opts.readyTimeoutMs ?? 15_000);
    } catch (error) {
      lastError = error;
    }
  }
  rmSync(runDir, { recursive: true, force: true });
  throw new PipelineError('INTERNAL', `container registry ${binary}: ${(lastError as Error).message}`);
}

/** One start of the registry on a fresh port; the run folder (its config, maybe its storage) goes with stop(). */
async function launch(binary: string, runDir: string, storageDir: string, timeoutMs: number): Promise<LocalRegistry> {
  const port = await freeLoopbackPort();
  const config = join(runDir, 'config.yml');
  writeFileSync(config, registryConfig(storageDir, port), { mode: 0o600 });
  const child = spawn(...dieWithParent(binary, ['serve', config]), { stdio: ['ignore', 'ignore', 'pipe'] });
  const entry = { child, temporary: runDir };
  liveRegistries.add(entry);
  const stderr: string[] = [];
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    stderr.push(chunk);
    if (stderr.length > 20) stderr.shift();
  });
  child.once('error', (err) => stderr.push(String(err)));
  const exited = new Promise<void>((done) => child.once('close', () => done()));
  const url = `http://127.0.0.1:${port}`;
  try {
    await untilServing(url, child, timeoutMs, () => stderr.join('').trim().slice(-2000));
  } catch (error) {
    liveRegistries.delete(entry);
    child.kill('SIGKILL');
    await exited;
    throw error;
  }
  let stopping: Promise<void> | undefined;
  return {
    host: `127.0.0.1:${port}`,
    url,
    storageDir,
    pid: child.pid ?? -1,
    stop() {
      stopping ??= (async () => {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(timer);
        liveRegistries.delete(entry);
        rmSync(runDir, { recursive: true, force: true });
      })();
      return stopping;
    },
  };
}

/**
 * `up`'s registry: started when a binary is installed; otherwise undefined, and `warn` says that
 * ECR calls will be refused and what to install (the rest of the local cloud runs without it).
 */
export async function startRegistryIfInstalled(
  opts: RegistryOptions,
  warn: (line: string) => void,
): Promise<LocalRegistry | undefined> {
  const binary = opts.binary ?? findRegistryBinary();
  if (!binary) {
    warn(
      `ECR: no container registry (${DEBIAN_REGISTRY_BIN} not found; apt-get install docker-registry, or set ` +
        `${REGISTRY_BIN_ENV}): ECR calls are refused`,
    );
    return undefined;
  }
  return startRegistry({ ...opts, binary });
}
