/**
 * Runs one Lambda function on this machine the way Lambda does: a Runtime API server of ours, and
 * `concurrency` sandboxes, each a real `aws-lambda-ric` polling that API with the environment Lambda
 * sets. A sandbox that dies (crash, or killed at its deadline) fails its in-flight invocation and is
 * replaced by a new one (a new cold start); one that fails its init is not restarted until the next
 * invoke, so a broken bundle cannot spin in a restart loop.
 *
 * What a sandbox is comes from a `SandboxLauncher`: by default a Node 22 process running the bundle
 * in `taskRoot` (processLauncher); container-host.ts launches the handler's container image instead.
 * The bookkeeping above (slots, init timeouts, crashes, restarts) is the same for both.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { inspect } from 'node:util';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { configError, errorMessage } from '../../../core/errors';
import { resolveNode22, ricEntry } from './node-runtime';
import { LambdaRuntimeApi, type RuntimeApiEndpoint } from './runtime-api';
import type { InvokeFn, InvokeResult, LambdaErrorDocument, LogSink } from './invoke-contract';

export interface LocalFunctionOptions {
  /** Function name (AWS_LAMBDA_FUNCTION_NAME, ARN, log group). */
  name: string;
  /**
   * Handler as a zip function's configuration names it, e.g. 'resize.handler' (file resize.mjs in
   * taskRoot): what process sandboxes run, handed to them in `_HANDLER` as Lambda's managed runtime
   * does. Container sandboxes ignore it: as on Lambda, an image gets its handler from its CMD or the
   * launcher's command. Required without `launcher`.
   */
  handler?: string;
  /** Directory holding the bundle: LAMBDA_TASK_ROOT and the processes' cwd. Required unless `launcher` is given. */
  taskRoot?: string;
  /** Function environment variables; they win over the defaults (AWS credentials come from here). */
  env?: Record<string, string>;
  /** Number of sandboxes, i.e. invocations served at once. @default 1 */
  concurrency?: number;
  /** Invocation deadline. @default 30 */
  timeoutSeconds?: number;
  /** AWS_LAMBDA_FUNCTION_MEMORY_SIZE (not enforced). @default 1024 */
  memoryMb?: number;
  /** @default 'us-east-1' */
  region?: string;
  /**
   * Receives platform lines (START, REPORT, INIT_REPORT, SANDBOX_*) and every function output line.
   * @default JSON lines on stdout
   */
  logSink?: LogSink;
  /** Node binary running aws-lambda-ric (process sandboxes only). @default resolveNode22() */
  nodeBinary?: string;
  /** Starts one sandbox. @default processLauncher({ taskRoot, nodeBinary }): a Node 22 process on the host */
  launcher?: SandboxLauncher;
  /**
   * A sandbox that has not polled /next by then is killed. As on Lambda, the init is then retried
   * once in a new sandbox when an invocation is waiting (at once, or at the next invoke), with the
   * function's timeout for the retried init and that invocation together; only a retry that also
   * runs out fails the waiting invocations (Sandbox.Timedout).
   * @default 10000 (Lambda's init limit)
   */
  initTimeoutMs?: number;
}

export interface LocalFunctionStats {
  invocations: number;
  errors: number;
  /** Invocations that were the first of their sandbox. */
  coldStarts: number;
  /** Sandboxes started after the initial `concurrency`. */
  restarts: number;
  /** Sandboxes alive now (starting or ready); 0 once every slot is parked, waiting for the next invoke. */
  sandboxes: number;
}

export interface LocalFunction {
  name: string;
  /** The main Runtime API port: RIE invoke endpoint, and /next for runtimes started elsewhere. */
  runtimeApi: RuntimeApiEndpoint;
  invoke: InvokeFn;
  /**
   * Serves the RIE-compatible invoke endpoint alone on another listener (see LambdaRuntimeApi.listenForInvocations).
   */
  serveInvocations(port: number, host: string): Promise<RuntimeApiEndpoint>;
  /** Kills every sandbox process and waits for them to exit; open invocations resolve as failed. */
  stop(): Promise<void>;
  stats(): LocalFunctionStats;
}

/** What a launcher is asked to start: one runtime polling `runtimeApi`, with Lambda's environment. */
export interface SandboxLaunchRequest {
  /** Unique per sandbox, e.g. 'image-resize-0.3'. */
  sandboxId: string;
  /** The sandbox's own Runtime API listener (127.0.0.1:port). */
  runtimeApi: RuntimeApiEndpoint;
  /**
   * The environment Lambda gives every function, AWS_LAMBDA_RUNTIME_API included; it holds no
   * _HANDLER, PATH, LAMBDA_TASK_ROOT or LAMBDA_RUNTIME_DIR: those depend on how the runtime is
   * packaged (a zip runtime gets _HANDLER, an image its CMD) and where it lives.
   */
  env: Record<string, string>;
  /** The function's configured handler (LocalFunctionOptions.handler), for launchers of zip-style runtimes. */
  handler?: string;
}

/** A started sandbox: a child process whose output is the function's, and how to end it. */
export interface LaunchedSandbox {
  /** Emits 'exit' when the sandbox is gone, 'error' if it could not start; stdout/stderr are piped. */
  child: ChildProcess;
  /** Ends the sandbox at once (SIGKILL semantics); 'exit' follows. */
  kill(): void;
  /** Extra fields for SANDBOX_START log lines (e.g. the container name). */
  describe?: Record<string, unknown>;
}

/** Starts sandboxes for a function host: a process on the host, a container, ... */
export interface SandboxLauncher {
  /** 'process' or 'container': logged, and part of error messages. */
  readonly kind: string;
  /** Starts the sandbox, possibly after some preparation (a container's forwarders): then a promise. */
  launch(request: SandboxLaunchRequest): LaunchedSandbox | Promise<LaunchedSandbox>;
}

/** Keys the host wires itself; letting `env` override them would disconnect the runtime from us. */
export const WIRING_KEYS = ['AWS_LAMBDA_RUNTIME_API', '_HANDLER', 'LAMBDA_TASK_ROOT'];

/** Grace for aws-lambda-ric to exit on its own after posting /init/error before we kill it. */
const INIT_ERROR_EXIT_GRACE_MS = 1000;

/**
 * Starts a function: its Runtime API and `concurrency` sandbox processes. Resolves once the
 * processes are spawned (not initialized: invocations queue until a runtime polls).
 */
export async function startLocalFunction(opts: LocalFunctionOptions): Promise<LocalFunction> {
  const host = new FunctionHost(opts);
  await host.start();
  return {
    name: opts.name,
    runtimeApi: host.endpoint(),
    invoke: (event) => host.invoke(event),
    serveInvocations: (port, address) => host.serveInvocations(port, address),
    stop: () => host.stop(),
    stats: () => host.stats(),
  };
}

type KillReason = 'timeout' | 'init-timeout' | 'init-error' | 'stop';

interface Sandbox {
  id: string;
  slot: number;
  state: 'starting' | 'ready' | 'gone';
  child?: ChildProcess;
  spawnedAt: number;
  logStreamName: string;
  initError?: LambdaErrorDocument;
  killReason?: KillReason;
  /** True while the launcher prepares it: a kill then waits for the launched sandbox to end it. */
  launching?: boolean;
  launched?: LaunchedSandbox;
  timers: NodeJS.Timeout[];
  exited: Promise<void>;
  markExited: () => void;
  /** A retried init (the previous init in its slot timed out): its init and first invocation share the timeout. */
  retriedInit?: boolean;
}

class FunctionHost {
  private readonly opts: LocalFunctionOptions;
  private readonly concurrency: number;
  private readonly timeoutMs: number;
  private readonly initTimeoutMs: number;
  private readonly launcher: SandboxLauncher;
  private readonly log: LogSink;
  private readonly api: LambdaRuntimeApi;
  /** One entry per concurrency slot; undefined = parked, to be started by the next invoke. */
  private readonly slots: (Sandbox | undefined)[];
  /** Slots whose last sandbox timed out in init: the next sandbox there retries the init (see initTimeoutMs). */
  private readonly initTimedOut = new Set<number>();
  private readonly sandboxes = new Map<string, Sandbox>();
  private readonly counters: Omit<LocalFunctionStats, 'sandboxes'> = {
    invocations: 0,
    errors: 0,
    coldStarts: 0,
    restarts: 0,
  };
  private mainEndpoint?: RuntimeApiEndpoint;
  private generation = 0;
  private stopping = false;

  constructor(opts: LocalFunctionOptions) {
    validate(opts);
    this.opts = opts;
    this.concurrency = opts.concurrency ?? 1;
    this.timeoutMs = (opts.timeoutSeconds ?? 30) * 1000;
    this.initTimeoutMs = opts.initTimeoutMs ?? 10_000;
    this.launcher =
      opts.launcher ?? processLauncher({ taskRoot: opts.taskRoot as string, nodeBinary: opts.nodeBinary });
    this.log = opts.logSink ?? ((line) => process.stdout.write(`${JSON.stringify(line)}\n`));
    this.slots = new Array<Sandbox | undefined>(this.concurrency).fill(undefined);
    this.api = new LambdaRuntimeApi({
      functionName: opts.name,
      region: opts.region,
      timeoutMs: this.timeoutMs,
      logSink: this.log,
    });
    this.api.on('invocationQueued', () => this.onInvocationQueued());
    this.api.on('invocationDone', ({ result }) => {
      if (!result.ok) this.counters.errors += 1;
    });
    this.api.on('runtimeReady', ({ sandboxId }) => this.onReady(sandboxId));
    this.api.on('invocationStart', ({ coldStart }) => {
      if (coldStart) this.counters.coldStarts += 1;
    });
    this.api.on('initError', ({ sandboxId, error }) => this.onInitError(sandboxId, error));
    this.api.on('timeout', ({ sandboxId }) => {
      const sandbox = this.sandboxes.get(sandboxId);
      if (sandbox) this.kill(sandbox, 'timeout'); // as Lambda: a timed-out sandbox is reset, not reused
    });
  }

  async start(): Promise<void> {
    this.mainEndpoint = await this.api.start();
    await Promise.all(this.slots.map((_, slot) => this.spawnSandbox(slot)));
  }

  endpoint(): RuntimeApiEndpoint {
    if (!this.mainEndpoint) throw new Error('function host not started');
    return this.mainEndpoint;
  }

  stats(): LocalFunctionStats {
    return { ...this.counters, sandboxes: this.sandboxes.size };
  }

  invoke(event: unknown): Promise<InvokeResult> {
    return this.api.invoke(event);
  }

  serveInvocations(port: number, host: string): Promise<RuntimeApiEndpoint> {
    return this.api.listenForInvocations(port, host);
  }

  /** Parked slots (after an init failure, crash or timeout) get a new sandbox when work arrives. */
  private onInvocationQueued(): void {
    this.counters.invocations += 1;
    if (this.stopping) return;
    this.slots.forEach((sandbox, slot) => {
      if (sandbox) return;
      this.counters.restarts += 1;
      void this.spawnSandbox(slot);
    });
  }

  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    // Processes first, so none of them notices the API going away and logs about it; then the API
    // resolves whatever was still open as stopped and closes every port.
    const alive = [...this.sandboxes.values()];
    for (const sandbox of alive) this.kill(sandbox, 'stop');
    await Promise.all(alive.map((s) => s.exited));
    await this.api.stop();
  }

  private async spawnSandbox(slot: number): Promise<void> {
    this.generation += 1;
    const sandbox = this.newSandbox(slot, `${this.opts.name}-${slot}.${this.generation}`);
    sandbox.retriedInit = this.initTimedOut.delete(slot);
    this.slots[slot] = sandbox;
    this.sandboxes.set(sandbox.id, sandbox);

    let endpoint: RuntimeApiEndpoint;
    try {
      endpoint = await this.api.openSandbox(
        sandbox.id,
        sandbox.retriedInit ? { budgetStartedAt: sandbox.spawnedAt } : undefined,
      );
    } catch (err) {
      this.onGone(sandbox, { spawnError: err });
      return;
    }
    if (this.stopping || sandbox.state === 'gone') return this.onGone(sandbox, {});

    let launched: LaunchedSandbox;
    sandbox.launching = true;
    try {
      launched = await this.launcher.launch({
        sandboxId: sandbox.id,
        runtimeApi: endpoint,
        env: this.environment(endpoint, sandbox.logStreamName),
        handler: this.opts.handler,
      });
    } catch (err) {
      this.onGone(sandbox, { spawnError: err });
      return;
    } finally {
      sandbox.launching = false;
    }
    const { child } = launched;
    sandbox.launched = launched;
    sandbox.child = child;
    child.once('error', (err) => this.onGone(sandbox, { spawnError: err }));
    child.once('exit', (code, signal) => this.onGone(sandbox, { code, signal }));
    this.pipeOutput(child, 'stdout');
    this.pipeOutput(child, 'stderr');
    sandbox.timers.push(setTimeout(() => this.kill(sandbox, 'init-timeout'), this.initLimitOf(sandbox)));
    this.log({
      type: 'SANDBOX_START',
      fn: this.opts.name,
      sandbox: sandbox.id,
      kind: this.launcher.kind,
      pid: child.pid ?? null,
      ...launched.describe,
    });
    if (sandbox.killReason) launched.kill(); // stopped while the launcher prepared it: its exit ends it
  }

  private newSandbox(slot: number, id: string): Sandbox {
    let markExited = (): void => undefined;
    const exited = new Promise<void>((resolve) => {
      markExited = resolve;
    });
    return {
      id,
      slot,
      state: 'starting',
      spawnedAt: Date.now(),
      logStreamName: logStreamName(),
      timers: [],
      exited,
      markExited,
    };
  }

  /**
   * The environment of a sandbox: the variables Lambda defines for a function's runtime, plus
   * opts.env (the launcher adds PATH and the task root). The parent's environment is NOT passed
   * wholesale: it would hand the developer's credentials, proxies and NODE_OPTIONS to the function
   * and make local runs differ from Lambda (which sets no HOME, for one). AWS_EXECUTION_ENV is
   * `AWS_Lambda_Image` in a container, as for an image function, and the managed runtime's name in a
   * process, run as a zip function is. One local-only variable: AWS_EC2_METADATA_DISABLED (why: below).
   */
  private environment(endpoint: RuntimeApiEndpoint, streamName: string): Record<string, string> {
    const { name } = this.opts;
    const region = this.opts.region ?? 'us-east-1';
    const base: Record<string, string> = {
      LANG: 'en_US.UTF-8',
      TZ: ':UTC',
      AWS_REGION: region,
      AWS_DEFAULT_REGION: region,
      AWS_EXECUTION_ENV: this.launcher.kind === 'container' ? 'AWS_Lambda_Image' : 'AWS_Lambda_nodejs22.x',
      AWS_LAMBDA_INITIALIZATION_TYPE: 'on-demand',
      AWS_LAMBDA_FUNCTION_NAME: name,
      AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
      AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(this.opts.memoryMb ?? 1024),
      AWS_LAMBDA_LOG_GROUP_NAME: `/aws/lambda/${name}`,
      AWS_LAMBDA_LOG_STREAM_NAME: streamName,
    };
    // Local-only: Lambda gives a function no instance metadata service, but a sandbox on an EC2
    // machine could reach the machine's, and its SDK would take the machine's role when the function
    // was given no credentials (`resize-chain invoke` without them).
    const localOnly = { AWS_EC2_METADATA_DISABLED: 'true' };
    return {
      ...base,
      ...localOnly,
      ...this.opts.env,
      AWS_LAMBDA_RUNTIME_API: `${endpoint.address}:${endpoint.port}`,
    };
  }

  private pipeOutput(child: ChildProcess, stream: 'stdout' | 'stderr'): void {
    const input = child[stream];
    if (!input) return;
    const pid = child.pid ?? null;
    createInterface({ input, crlfDelay: Infinity }).on('line', (line) => {
      this.log({ fn: this.opts.name, stream, pid, line: parseJsonLine(line) });
    });
  }

  private onReady(sandboxId: string): void {
    const sandbox = this.sandboxes.get(sandboxId);
    if (!sandbox || sandbox.state !== 'starting') return;
    sandbox.state = 'ready';
    this.clearTimers(sandbox);
    this.log({
      type: 'INIT_REPORT',
      fn: this.opts.name,
      sandbox: sandboxId,
      pid: sandbox.child?.pid ?? null,
      initDurationMs: Date.now() - sandbox.spawnedAt,
      status: 'ok',
    });
  }

  private onInitError(sandboxId: string, error: LambdaErrorDocument): void {
    const sandbox = this.sandboxes.get(sandboxId);
    if (!sandbox || sandbox.state === 'gone') return;
    sandbox.initError = error;
    // aws-lambda-ric exits by itself after reporting; make sure of it, as Lambda resets the sandbox.
    sandbox.timers.push(setTimeout(() => this.kill(sandbox, 'init-error'), INIT_ERROR_EXIT_GRACE_MS));
  }

  private kill(sandbox: Sandbox, reason: KillReason): void {
    if (sandbox.state === 'gone') return;
    sandbox.killReason ??= reason;
    if (sandbox.child && sandbox.child.exitCode === null && sandbox.child.signalCode === null) {
      sandbox.launched?.kill();
    } else if (!sandbox.child && !sandbox.launching) {
      this.onGone(sandbox, {});
    }
  }

  /** A sandbox's process exited, failed to spawn, or never got one. Runs once per sandbox. */
  private onGone(
    sandbox: Sandbox,
    how: { code?: number | null; signal?: NodeJS.Signals | null; spawnError?: unknown },
  ): void {
    if (sandbox.state === 'gone') return;
    const wasReady = sandbox.state === 'ready';
    sandbox.state = 'gone';
    this.clearTimers(sandbox);
    this.sandboxes.delete(sandbox.id);
    if (this.slots[sandbox.slot] === sandbox) this.slots[sandbox.slot] = undefined;

    const exitStatus = describeExit(how);
    this.log({
      type: 'SANDBOX_EXIT',
      fn: this.opts.name,
      sandbox: sandbox.id,
      pid: sandbox.child?.pid ?? null,
      exit: exitStatus,
      reason: sandbox.killReason ?? (wasReady ? 'crash' : 'init-failure'),
    });
    if (!wasReady && !this.stopping) {
      this.log({
        type: 'INIT_REPORT',
        fn: this.opts.name,
        sandbox: sandbox.id,
        initDurationMs: Date.now() - sandbox.spawnedAt,
        status: sandbox.killReason === 'init-timeout' ? 'timeout' : 'error',
      });
    }

    if (this.stopping) {
      sandbox.markExited(); // api.stop() fails its invocations as stopped and closes its port
      return;
    }
    void this.api
      .closeSandbox(sandbox.id, (requestId) => ({
        kind: 'crash',
        error: {
          errorType: 'Runtime.ExitError',
          errorMessage: `RequestId: ${requestId} Error: Runtime exited with error: ${exitStatus}`,
        },
      }))
      .then(sandbox.markExited, sandbox.markExited);

    // Lambda retries a timed-out init once, with the function's timeout (initTimeoutMs).
    const retryInit = !wasReady && sandbox.killReason === 'init-timeout' && !sandbox.retriedInit;
    if (retryInit) this.initTimedOut.add(sandbox.slot);
    else if (!wasReady) this.onInitFailure(this.initFailureDocument(sandbox, exitStatus, how.spawnError));
    if ((wasReady || retryInit) && this.api.queuedCount() > 0) {
      // Work is waiting: replace the sandbox now. Otherwise the next invoke does (no idle restart loop).
      this.counters.restarts += 1;
      void this.spawnSandbox(sandbox.slot);
    }
  }

  /** Queued invocations fail with the init error only when no sandbox is left that could take them. */
  private onInitFailure(error: LambdaErrorDocument): void {
    const anyAlive = this.slots.some((s) => s !== undefined && s.state !== 'gone');
    if (!anyAlive) this.api.failQueued('init', error);
  }

  private initFailureDocument(sandbox: Sandbox, exitStatus: string, spawnError: unknown): LambdaErrorDocument {
    if (sandbox.initError) return sandbox.initError;
    if (spawnError !== undefined) {
      return {
        errorType: 'Runtime.InvalidEntrypoint',
        errorMessage: errorMessage(spawnError, inspect),
      };
    }
    if (sandbox.killReason === 'init-timeout') {
      return {
        errorType: 'Sandbox.Timedout',
        errorMessage: `Init timed out after ${(this.initLimitOf(sandbox) / 1000).toFixed(2)} seconds`,
      };
    }
    return {
      errorType: 'Runtime.ExitError',
      errorMessage: `Error: Runtime exited without providing a reason: ${exitStatus}`,
    };
  }

  /** A sandbox's init limit: Lambda's 10 s, or the function's timeout for a retried init. */
  private initLimitOf(sandbox: Sandbox): number {
    return sandbox.retriedInit ? this.timeoutMs : this.initTimeoutMs;
  }

  private clearTimers(sandbox: Sandbox): void {
    for (const timer of sandbox.timers.splice(0)) clearTimeout(timer);
  }
}

function validate(opts: LocalFunctionOptions): void {
  if (!opts.name || !/^[A-Za-z0-9_-]{1,64}$/.test(opts.name)) {
    throw configError('name', `${JSON.stringify(opts.name)} is not a Lambda function name (1-64 of A-Z a-z 0-9 _ -)`);
  }
  if (opts.handler === undefined && !opts.launcher)
    throw configError('handler', "is required for process sandboxes, e.g. 'resize.handler'");
  if (opts.handler !== undefined && !/^[^.]+(\.[^.]+)+$/.test(opts.handler)) {
    throw configError('handler', `${JSON.stringify(opts.handler)} is not '<file>.<export>', e.g. 'resize.handler'`);
  }
  if (!opts.taskRoot && !opts.launcher) throw configError('taskRoot', 'is required (the directory holding the bundle)');
  const concurrency = opts.concurrency ?? 1;
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 64) {
    throw configError('concurrency', `${concurrency} is not an integer in [1, 64]`);
  }
  const timeout = opts.timeoutSeconds ?? 30;
  if (!(timeout > 0 && timeout <= 900)) throw configError('timeoutSeconds', `${timeout} is not in (0, 900]`);
  const memory = opts.memoryMb ?? 1024;
  if (!Number.isInteger(memory) || memory < 128 || memory > 10240) {
    throw configError('memoryMb', `${memory} is not an integer in [128, 10240]`);
  }
  for (const key of WIRING_KEYS) {
    if (opts.env && key in opts.env) {
      throw configError(`env.${key}`, 'is reserved: the host sets it (use handler/taskRoot options instead)');
    }
  }
}

function describeExit(how: { code?: number | null; signal?: NodeJS.Signals | null; spawnError?: unknown }): string {
  if (how.signal) return `signal: ${how.signal === 'SIGKILL' ? 'killed' : how.signal}`;
  if (typeof how.code === 'number') return `exit status ${how.code}`;
  if (how.spawnError !== undefined) return `spawn failed: ${errorMessage(how.spawnError, inspect)}`;
  return 'not started';
}

/** Lambda's log stream naming: YYYY/MM/DD/[$LATEST]<32 hex>, one per sandbox. */
function logStreamName(): string {
  const day = new Date().toISOString().slice(0, 10).replaceAll('-', '/');
  return `${day}/[$LATEST]${randomBytes(16).toString('hex')}`;
}

function parseJsonLine(line: string): unknown {
  if (!line.startsWith('{')) return line;
  try {
    const parsed: unknown = JSON.parse(line);
    return typeof parsed === 'object' && parsed !== null ? parsed : line;
  } catch {
    return line;
  }
}

/**
 * Sandboxes as Node 22 processes on this machine running `aws-lambda-ric` on the bundle in
 * `taskRoot`, with PATH starting at that Node's folder (as /var/lang/bin does on Lambda), started
 * as Lambda's managed runtime starts a zip function: the configured handler in `_HANDLER` (which
 * aws-lambda-ric reads; it ignores its argument).
 * Defaults: nodeBinary = resolveNode22(), ric = ricEntry() (the installed aws-lambda-ric).
 */
export function processLauncher(opts: { taskRoot: string; nodeBinary?: string; ric?: string }): SandboxLauncher {
  const nodeBinary = opts.nodeBinary ?? resolveNode22();
  const ric = opts.ric ?? ricEntry();
  const taskRoot = path.resolve(opts.taskRoot);
  return {
    kind: 'process',
    launch({ env, handler }) {
      if (!handler) throw configError('handler', "is required for process sandboxes, e.g. 'resize.handler'");
      const processEnv: Record<string, string> = {
        PATH: [path.dirname(nodeBinary), process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin'].join(path.delimiter),
        LAMBDA_RUNTIME_DIR: path.dirname(ric),
        // Local-only (Lambda sets no HOME): without it the SDK of a process on this machine would fall
        // back to the developer's home and read their ~/.aws config; a container has its own home.
        HOME: '/tmp',
        ...env,
        _HANDLER: handler,
        LAMBDA_TASK_ROOT: taskRoot,
      };
      // Native modules (sharp's libvips) may rely on it on some hosts; Lambda sets its own.
      if (process.env.LD_LIBRARY_PATH && !('LD_LIBRARY_PATH' in env))
        processEnv.LD_LIBRARY_PATH = process.env.LD_LIBRARY_PATH;
      const child = spawn(nodeBinary, [ric, handler], {
        cwd: taskRoot,
        env: processEnv,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      liveChildren.add(child);
      child.once('exit', () => liveChildren.delete(child));
      child.once('error', () => liveChildren.delete(child));
      return { child, kill: () => child.kill('SIGKILL') };
    },
  };
}

/** Every sandbox process of this Node process, killed if it exits without stop() (no orphans). */
const liveChildren = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of liveChildren) {
    try {
      child.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
});
