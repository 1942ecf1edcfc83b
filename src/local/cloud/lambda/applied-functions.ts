/**
 * The data plane of the functions the control plane holds (function-store.ts): an applied function
 * runs the way Lambda runs an image. Its sandboxes are containers of its image (container-host.ts),
 * started as Lambda starts one (imageStartCommand: ENTRYPOINT and CMD, each replaced by the
 * function's ImageConfig), with its environment, memory and the CPU share Lambda gives that memory
 * (lambdaCpuShare; none under emulation: sandboxCpuArgs), timeout, ephemeral storage and Lambda's own
 * variables (function-host.ts).
 *
 * Sandboxes start on the first invoke of a configuration, or when provisioned concurrency is put on
 * one of its versions (an alias or a version: its sandboxes start then, before any invoke, as Lambda
 * initialises provisioned environments ahead of traffic). A configuration that changes
 * (UpdateFunctionCode / UpdateFunctionConfiguration / concurrency) or a function that is deleted
 * retires its running sandboxes: the next invoke starts new ones, as Lambda does. stop() ends them all.
 *
 * The one local addition to a function's environment is `localEnv` (the endpoint its SDK must reach
 * in place of AWS, and the credentials it signs with there); everything else is what Lambda sets.
 */
import { randomUUID } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { inspect } from 'node:util';
import { errorMessage } from '../../../core/errors';
import { startContainerFunction, type ContainerFunctionOptions } from './container-host';
import type { LocalFunction } from './function-host';
import {
  LambdaError,
  imageArchitectureMismatch,
  imageStartCommand,
  sandboxCpuArgs,
  type FunctionVersionConfig,
} from './function-config';
import type { FunctionStore } from './function-store';
import type { InvokeFn, InvokeResult, LogSink } from './invoke-contract';

export interface AppliedFunctionsOptions {
  store: FunctionStore;
  /**
   * What the local cloud adds to every function's environment so its SDK reaches the local
   * endpoint (AWS_ENDPOINT_URL, credentials): asked at each sandbox start. The function's own
   * variables win over it.
   */
  localEnv: (fn: { name: string; role: string }) => Record<string, string>;
  /** Sandboxes per function at most (fewer when its reserved concurrency is lower). @default 2 */
  sandboxesPerFunction?: number;
  /** Docker client. @default dockerClient() */
  docker?: string;
  /** @default no logging */
  logSink?: LogSink;
  /** Starts a function's sandboxes. @default startContainerFunction */
  start?: (opts: ContainerFunctionOptions) => Promise<LocalFunction>;
}

interface Running {
  /** What it runs: the version's revision and the concurrency it was started with. */
  revisionId: string;
  sandboxes: number;
  host: Promise<LocalFunction>;
}

/** A failed invocation the platform reports before any sandbox runs (Lambda's error document). */
function platformFailure(errorType: string, message: (requestId: string) => string): InvokeResult {
  const requestId = randomUUID();
  return { ok: false, requestId, kind: 'init', error: { errorType, errorMessage: message(requestId) }, durationMs: 0 };
}

/** The applied functions' sandboxes, started on demand. */
export class AppliedFunctions {
  private readonly running = new Map<string, Running>();
  /** Hosts being stopped (retired), awaited by stop(). */
  private readonly stopping = new Set<Promise<void>>();
  private readonly log: LogSink;
  private stopped = false;

  constructor(private readonly opts: AppliedFunctionsOptions) {
    this.log = opts.logSink ?? (() => {});
    opts.store.onChange((name) => this.retire(name));
    opts.store.onProvisioned((name, qualifier) => void this.prestart(name, qualifier));
  }

  /**
   * Starts the sandboxes of `name:qualifier` now, the ones its invokes will use (provisioned
   * concurrency). A failure is logged; the next invoke tries again and answers it.
   */
  async prestart(functionName: string, qualifier: string): Promise<void> {
    if (this.stopped) return;
    try {
      const target = this.opts.store.invokeTarget(functionName, qualifier);
      const sandboxes = this.sandboxCount(target.reservedConcurrency);
      const { argv, workingDir } = imageStartCommand(target.config.image, target.config.imageConfig);
      if (sandboxes === 0 || argv.length === 0) return;
      await this.hostFor(target.config, sandboxes, argv, workingDir);
      this.log({ event: 'lambda.provisioned_started', function: functionName, qualifier, sandboxes });
    } catch (err) {
      this.log({
        event: 'lambda.provisioned_start_failed',
        level: 'error',
        function: functionName,
        qualifier,
        message: errorMessage(err, inspect),
      });
    }
  }

  /** Sandboxes a function runs: the per-function limit, or its reserved concurrency when lower. */
  private sandboxCount(reservedConcurrency: number | undefined): number {
    const limit = this.opts.sandboxesPerFunction ?? 2;
    return Math.min(limit, reservedConcurrency ?? limit);
  }

  /**
   * An InvokeFn for `functionName` (name, `name:qualifier`, or ARN), resolved at each call, so it
   * follows updates. It rejects with LambdaError when the function does not exist (ResourceNotFoundException)
   * or its reserved concurrency is 0 (TooManyRequestsException).
   */
  invoker(functionName: string, qualifier?: string): InvokeFn {
    return (event) => this.invoke(functionName, event, qualifier);
  }

  /** Invokes `functionName` once with `event` (Lambda's synchronous Invoke). See invoker(). */
  async invoke(functionName: string, event: unknown, qualifier?: string): Promise<InvokeResult> {
    if (this.stopped) throw new LambdaError('ServiceException', 'the local cloud is stopping', 500);
    const target = this.opts.store.invokeTarget(functionName, qualifier);
    const sandboxes = this.sandboxCount(target.reservedConcurrency);
    if (sandboxes === 0)
      throw new LambdaError('TooManyRequestsException', 'Rate Exceeded.', 429, {
        Reason: 'ReservedFunctionConcurrentInvocationLimitExceeded',
      });
    const { argv, workingDir } = imageStartCommand(target.config.image, target.config.imageConfig);
    if (argv.length === 0)
      return platformFailure(
        'Runtime.InvalidEntrypoint',
        (id) =>
          `RequestId: ${id} Error: Couldn't find valid bootstrap(s): ` +
          `[] (the image has no ENTRYPOINT or CMD and the function no ImageConfig)`,
      );
    if (imageArchitectureMismatch(target.config.image, target.config.architectures))
      return this.launchFormatError(target.config, argv, workingDir);
    let host: LocalFunction;
    try {
      host = await this.hostFor(target.config, sandboxes, argv, workingDir);
    } catch (err) {
      return platformFailure(
        'Runtime.InvalidEntrypoint',
        (id) => `RequestId: ${id} Error: ${errorMessage(err, inspect)}`,
      );
    }
    return host.invoke(event);
  }

  /**
   * What Lambda reports when the function's architecture is not its image's: the sandbox cannot
   * exec the entrypoint (Runtime.InvalidEntrypoint, "exec format error"), with its IMAGE launch log
   * line. Locally Docker would run the image anyway (QEMU emulates the other CPU), so it is not started.
   */
  private launchFormatError(
    config: FunctionVersionConfig,
    argv: string[],
    workingDir: string | undefined,
  ): InvokeResult {
    const [entrypoint, ...command] = argv;
    const failure = platformFailure(
      'Runtime.InvalidEntrypoint',
      (id) => `RequestId: ${id} Error: fork/exec ${entrypoint}: exec format error`,
    );
    this.log({
      event: 'lambda.image_launch_error',
      function: config.name,
      requestId: failure.requestId,
      errorType: 'Runtime.InvalidEntrypoint',
      message:
        `IMAGE\tLaunch error: fork/exec ${entrypoint}: exec format error\t` +
        `Entrypoint: [${entrypoint}]\tCmd: [${command.join(',')}]\tWorkingDir: [${workingDir ?? ''}]`,
      architectures: config.architectures,
      imageArchitecture: config.image.architecture,
    });
    return failure;
  }

  private keyOf(config: FunctionVersionConfig): string {
    return `${config.name}:${config.version}`;
  }

  private hostFor(
    config: FunctionVersionConfig,
    sandboxes: number,
    argv: string[],
    workingDir: string | undefined,
  ): Promise<LocalFunction> {
    const key = this.keyOf(config);
    const current = this.running.get(key);
    if (current && current.revisionId === config.revisionId && current.sandboxes === sandboxes) return current.host;
    if (current) this.stopRunning(key, current);
    const [entrypoint, ...command] = argv;
    const start = this.opts.start ?? startContainerFunction;
    const host = start({
      name: config.name,
      image: config.image.runRef,
      docker: this.opts.docker,
      entrypoint,
      command,
      workingDir,
      runArgs: sandboxCpuArgs(config.memorySize, config.architectures, {
        cpus: availableParallelism(),
        arch: process.arch,
      }),
      ephemeralStorageMb: config.ephemeralStorageMb,
      memoryMb: config.memorySize,
      timeoutSeconds: config.timeout,
      concurrency: sandboxes,
      region: this.opts.store.scope.region,
      // AWS_EXECUTION_ENV and Lambda's other variables: the container sandbox's host sets them.
      env: { ...this.opts.localEnv({ name: config.name, role: config.role }), ...config.environment },
      logSink: this.log,
    });
    const entry: Running = { revisionId: config.revisionId, sandboxes, host };
    this.running.set(key, entry);
    // A host that failed to start is forgotten, so the next invoke tries again.
    host.catch(() => {
      if (this.running.get(key) === entry) this.running.delete(key);
    });
    this.log({ event: 'lambda.sandboxes_starting', function: config.name, version: config.version, sandboxes });
    return host;
  }

  private stopRunning(key: string, entry: Running): void {
    if (this.running.get(key) === entry) this.running.delete(key);
    const stopped = entry.host.then(
      (host) => host.stop(),
      () => undefined,
    );
    this.stopping.add(stopped);
    void stopped.finally(() => this.stopping.delete(stopped));
  }

  /** Retires every running version of `name` (its configuration changed, or it was deleted). */
  private retire(name: string): void {
    for (const [key, entry] of [...this.running]) {
      if (key.startsWith(`${name}:`)) {
        this.log({ event: 'lambda.sandboxes_retired', function: name, key });
        this.stopRunning(key, entry);
      }
    }
  }

  /** Stops every sandbox; invocations still open resolve as failed. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const [key, entry] of [...this.running]) this.stopRunning(key, entry);
    await Promise.all([...this.stopping]);
  }
}
