/**
 * The image's own Runtime Interface Emulator: what `docker run -p 9000:8080 IMAGE` runs when no
 * Runtime API is given (AWS_LAMBDA_RUNTIME_API unset) and no RIE is mounted, as AWS's base images
 * run their bundled RIE. Our Runtime API on 127.0.0.1 inside the container, one aws-lambda-ric
 * process polling it (restarted after a crash or timeout, as Lambda resets a sandbox), and the RIE's
 * invoke endpoint `POST /2015-03-31/functions/function/invocations` on 0.0.0.0:8080. Unlike AWS's
 * RIE, concurrent invocations are queued and all answered (its issues #97 and #131).
 *
 * Bundled with esbuild into the image (containers/bundle.mjs, /var/runtime/emulator.mjs); the
 * entrypoint starts it as `node emulator.mjs <handler> <aws-lambda-ric entry>`.
 */
import path from 'node:path';
import { processLauncher, startLocalFunction, WIRING_KEYS, type LocalFunction } from './function-host';
import type { RuntimeApiEndpoint } from './runtime-api';
import type { LogSink } from './invoke-contract';

/** Where the RIE serves invocations in the container (`docker run -p 9000:8080`). */
export const EMULATOR_PORT = 8080;

export interface EmulatorOptions {
  /** Handler as the image's CMD names it, e.g. 'resize.handler'. */
  handler: string;
  /** aws-lambda-ric's entry module. */
  ric: string;
  /** The bundle's folder. @default '/var/task' */
  taskRoot?: string;
  /** Node running aws-lambda-ric. @default process.execPath */
  nodeBinary?: string;
  /** The container's environment: what the function gets besides Lambda's variables. */
  env: NodeJS.ProcessEnv;
  /** Invoke endpoint port. @default EMULATOR_PORT */
  port?: number;
  /** Invoke endpoint address. @default '0.0.0.0' (reachable through the published port) */
  host?: string;
  /** @default JSON lines on stdout, the function's own lines as it wrote them */
  logSink?: LogSink;
}

export interface Emulator {
  fn: LocalFunction;
  invokeEndpoint: RuntimeApiEndpoint;
}

/** A positive number from the environment, or `fallback`. */
function numberFrom(env: NodeJS.ProcessEnv, key: string, fallback: number): number {
  const value = Number(env[key]);
  return Number.isFinite(value) && value > 0 ? value : fallback;
}

/**
 * The function's own variables: the container's environment minus what the host wires (the
 * Runtime API address, _HANDLER, LAMBDA_TASK_ROOT) and what the launcher sets (PATH).
 */
function functionEnvironment(env: NodeJS.ProcessEnv): Record<string, string> {
  const skip = new Set([...WIRING_KEYS, 'PATH', 'LAMBDA_RUNTIME_DIR']);
  return Object.fromEntries(
    Object.entries(env).filter((e): e is [string, string] => e[1] !== undefined && !skip.has(e[0])),
  );
}

/** Prints platform lines as JSON and the function's output lines as it wrote them. */
const printLine: LogSink = (line) => {
  const output = 'stream' in line && 'line' in line ? line.line : line;
  process.stdout.write(`${typeof output === 'string' ? output : JSON.stringify(output)}\n`);
};

/**
 * Starts the emulator. Timeout and memory come from the RIE's variables AWS_LAMBDA_FUNCTION_TIMEOUT
 * (default 300 s, the RIE's) and AWS_LAMBDA_FUNCTION_MEMORY_SIZE (default 3008 MB, the RIE's).
 */
export async function startEmulator(opts: EmulatorOptions): Promise<Emulator> {
  const { env } = opts;
  const fn = await startLocalFunction({
    name: env.AWS_LAMBDA_FUNCTION_NAME || 'function',
    handler: opts.handler,
    launcher: processLauncher({
      taskRoot: opts.taskRoot ?? '/var/task',
      nodeBinary: opts.nodeBinary ?? process.execPath,
      ric: opts.ric,
    }),
    env: functionEnvironment(env),
    region: env.AWS_REGION || env.AWS_DEFAULT_REGION || 'us-east-1',
    timeoutSeconds: numberFrom(env, 'AWS_LAMBDA_FUNCTION_TIMEOUT', 300),
    memoryMb: numberFrom(env, 'AWS_LAMBDA_FUNCTION_MEMORY_SIZE', 3008),
    logSink: opts.logSink ?? printLine,
  });
  try {
    const invokeEndpoint = await fn.serveInvocations(opts.port ?? EMULATOR_PORT, opts.host ?? '0.0.0.0');
    return { fn, invokeEndpoint };
  } catch (err) {
    await fn.stop();
    throw err;
  }
}

/** `node emulator.mjs <handler> <ric>`: runs until SIGTERM/SIGINT (docker stop, Ctrl-C). */
export async function emulatorMain(argv = process.argv.slice(2), env = process.env): Promise<number> {
  const [handler, ric] = argv;
  if (!handler || !ric) {
    const message = 'usage: emulator.mjs <handler> <aws-lambda-ric entry>';
    process.stderr.write(`${JSON.stringify({ level: 'error', code: 'INVALID_CONFIG', message })}\n`);
    return 2;
  }
  const emulator = await startEmulator({ handler, ric, taskRoot: env.LAMBDA_TASK_ROOT, env });
  const { address, port } = emulator.invokeEndpoint;
  const where = `${address}:${port} (${handler}, ${path.basename(ric)})`;
  const message = `serving POST /2015-03-31/functions/function/invocations on ${where}`;
  process.stdout.write(`${JSON.stringify({ level: 'info', code: 'EMULATOR_READY', message })}\n`);
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGTERM', resolve);
    process.once('SIGINT', resolve);
  });
  await emulator.fn.stop();
  return signal === 'SIGINT' ? 130 : 0;
}
