// A launcher that prepares before it starts a sandbox (a container launcher opens its forwarders
// first) can be asked to stop in between: stop() then waits for the sandbox it launches and ends it,
// so nothing is left running.
import { spawn, type ChildProcess } from 'node:child_process';
import {
  startLocalFunction,
  type LaunchedSandbox,
  type SandboxLauncher,
} from '../../src/local/cloud/lambda/function-host';
import { waitFor } from '../helpers/wait';

/** A real process that idles until killed (it never polls: a sandbox still initializing). */
function idleProcess(): ChildProcess {
  return spawn(process.execPath, ['-e', 'setInterval(() => undefined, 1000)'], { stdio: ['ignore', 'pipe', 'pipe'] });
}

function launched(child: ChildProcess): LaunchedSandbox {
  return { child, kill: () => child.kill('SIGKILL') };
}

describe('a launcher that prepares asynchronously', () => {
  it('stopped while it prepares a sandbox: stop() ends the sandbox it then launches, and waits for it', async () => {
    const children: ChildProcess[] = [];
    let finishPreparing: (() => void) | undefined;
    const preparing = new Promise<void>((resolve) => {
      finishPreparing = resolve;
    });
    let calls = 0;
    const launcher: SandboxLauncher = {
      kind: 'prepared',
      async launch() {
        calls += 1;
        if (calls > 1) await preparing; // the replacement sandbox: held until the test lets it go
        const child = idleProcess();
        children.push(child);
        if (calls === 1) child.once('spawn', () => child.kill('SIGKILL')); // the first one dies at once
        return launched(child);
      },
    };
    const lines: Record<string, unknown>[] = [];
    const fn = await startLocalFunction({
      name: 'prepared',
      launcher,
      initTimeoutMs: 60_000,
      logSink: (l) => lines.push(l),
    });
    await waitFor(
      'the first sandbox to be gone',
      async () => (lines.some((l) => l.type === 'SANDBOX_EXIT') ? true : undefined),
      20_000,
      50,
    );
    // An invocation brings a replacement, whose launcher is still preparing when stop() comes.
    const invocation = fn.invoke({});
    await waitFor('the replacement to be asked for', async () => (calls === 2 ? true : undefined), 20_000, 50);
    const stopped = fn.stop();
    finishPreparing!();
    await stopped;
    const replacement = children[1];
    expect({ launched: children.length, exit: replacement.exitCode ?? replacement.signalCode }).toEqual({
      launched: 2,
      exit: 'SIGKILL',
    });
    expect(await invocation).toMatchObject({ ok: false });
  }, 60_000);
});
