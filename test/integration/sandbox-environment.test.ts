// The environment a function host hands a sandbox is the set of variables Lambda defines for a
// function's runtime (its "defined runtime environment variables"), plus the one local-only variable
// README lists for every sandbox (AWS_EC2_METADATA_DISABLED), and nothing more: no HOME (Lambda sets
// none). AWS_EXECUTION_ENV says how the function is packaged:
// `AWS_Lambda_Image` for an image (a container sandbox), the managed runtime's name for a zip-style
// process sandbox.
import { spawn, type ChildProcess } from 'node:child_process';
import { startLocalFunction, type SandboxLauncher } from '../../src/local/cloud/lambda/function-host';
import { waitFor } from '../helpers/wait';

/** What Lambda defines for a function (less the credentials, which the local cloud passes in `env`). */
const LAMBDA_DEFINED = [
  'AWS_DEFAULT_REGION',
  'AWS_EXECUTION_ENV',
  'AWS_LAMBDA_FUNCTION_MEMORY_SIZE',
  'AWS_LAMBDA_FUNCTION_NAME',
  'AWS_LAMBDA_FUNCTION_VERSION',
  'AWS_LAMBDA_INITIALIZATION_TYPE',
  'AWS_LAMBDA_LOG_GROUP_NAME',
  'AWS_LAMBDA_LOG_STREAM_NAME',
  'AWS_LAMBDA_RUNTIME_API',
  'AWS_REGION',
  'LANG',
  'TZ',
];

/** What the local cloud adds to every sandbox, and README explains. */
const LOCAL_ONLY = ['AWS_EC2_METADATA_DISABLED'];

/** A launcher of the given kind that records the environment it is asked to start a sandbox with. */
function recordingLauncher(
  kind: string,
  seen: Array<Record<string, string>>,
  children: ChildProcess[],
): SandboxLauncher {
  return {
    kind,
    launch({ env }) {
      seen.push(env);
      const child = spawn(process.execPath, ['-e', 'setInterval(() => undefined, 1000)'], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      children.push(child);
      return { child, kill: () => child.kill('SIGKILL') };
    },
  };
}

describe.each([
  ['container', 'AWS_Lambda_Image'],
  ['process', 'AWS_Lambda_nodejs22.x'],
])('the environment of a %s sandbox', (kind, executionEnv) => {
  it("holds Lambda's defined variables and nothing else", async () => {
    const seen: Array<Record<string, string>> = [];
    const children: ChildProcess[] = [];
    const fn = await startLocalFunction({
      name: 'env-fn',
      launcher: recordingLauncher(kind, seen, children),
      initTimeoutMs: 60_000,
      logSink: () => undefined,
    });
    try {
      const env = await waitFor('a sandbox to be launched', () => seen[0], 20_000, 50);
      expect({ keys: Object.keys(env).sort(), executionEnv: env.AWS_EXECUTION_ENV }).toEqual({
        keys: [...LAMBDA_DEFINED, ...LOCAL_ONLY].sort(),
        executionEnv,
      });
    } finally {
      await fn.stop();
    }
    expect(children.every((c) => c.exitCode !== null || c.signalCode !== null)).toBe(true);
  }, 60_000);
});
