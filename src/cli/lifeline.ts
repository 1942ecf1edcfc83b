/**
 * Ending with the process the user started. Launchers do not all pass signals on: `npx` and
 * `npm start` forward SIGINT/SIGTERM to the `sh -c` they run the command in, which dies of SIGTERM
 * without passing it on, and (dash) catches SIGINT and keeps it until its child exits; a process
 * manager may signal only the PID it started, and the rest is orphaned. So besides the signals
 * themselves, a process of ours that runs the local cloud watches its parent (watchParent).
 */
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';

/** How often the parent is checked. @default 500 ms */
export const PARENT_POLL_MS = 500;

/** Shells npm and npx wrap a command in (`sh -c <command>`). */
const SHELLS = new Set(['sh', 'dash', 'bash', 'ash', 'zsh']);

/** True when `pid` is a non-interactive shell running a command string (`sh -c …`). */
function isShellWrapper(pid: number): boolean {
  try {
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    return SHELLS.has(basename(argv[0] ?? '')) && argv.slice(1).includes('-c');
  } catch {
    return false; // no procfs (not Linux), or the parent is gone
  }
}

/** The voluntary context switches of `pid` (Linux procfs), or undefined. */
function wakeups(pid: number): number | undefined {
  try {
    const m = /^voluntary_ctxt_switches:\s+(\d+)$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Calls `onStop` once: with 'SIGTERM' when this process's parent changes (it died and we were
 * reparented to init or a subreaper), or with 'SIGINT' when the parent is a `sh -c` wrapper that
 * woke up. Such a shell sleeps in wait() for us and wakes only for a signal; the SIGINT npm
 * forwards to it is one it catches and keeps until we exit (dash), so it never reaches us. The
 * timer does not keep the process alive. Returns a function that stops watching.
 */
export function watchParent(onStop: (signal: NodeJS.Signals) => void, intervalMs = PARENT_POLL_MS): () => void {
  const parent = process.ppid;
  // Read now: the shell went to sleep in wait() right after starting us, long before this runs.
  let settled = isShellWrapper(parent) ? wakeups(parent) : undefined;
  // The shell also wakes when we are stopped and continued (Ctrl-Z, fg: SIGCHLD). A wakeup counts
  // only if it is still unexplained one poll later; SIGCONT explains it.
  let suspect = false;
  const onContinue = (): void => {
    settled = wakeups(parent) ?? settled;
    suspect = false;
  };
  if (settled !== undefined) process.on('SIGCONT', onContinue);
  const timer = setInterval(() => {
    if (process.ppid !== parent) return stop('SIGTERM');
    if (settled === undefined) return;
    const count = wakeups(parent);
    if (count === undefined || count <= settled) return;
    if (suspect) return stop('SIGINT');
    suspect = true;
  }, intervalMs);
  timer.unref();
  function unwatch(): void {
    clearInterval(timer);
    process.off('SIGCONT', onContinue);
  }
  function stop(signal: NodeJS.Signals): void {
    unwatch();
    onStop(signal);
  }
  return unwatch;
}

/**
 * Resolves with the first SIGINT or SIGTERM, or what watchParent() reads from the parent.
 * `dispose()` removes the listeners and the watch.
 */
export function stopRequest(): { readonly requested: Promise<NodeJS.Signals>; dispose(): void } {
  let resolve: (signal: NodeJS.Signals) => void = () => undefined;
  const requested = new Promise<NodeJS.Signals>((r) => {
    resolve = r;
  });
  const onSignal = (signal: NodeJS.Signals): void => resolve(signal);
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const unwatch = watchParent(resolve);
  return {
    requested,
    dispose() {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      unwatch();
    },
  };
}

/**
 * Runs `run` with a promise of the first stop request (stopRequest()): a signal, or the launcher
 * gone or signalled (watchParent), and removes the listeners when it settles.
 */
export async function untilStopped<T>(run: (stop: Promise<NodeJS.Signals>) => Promise<T>): Promise<T> {
  const stop = stopRequest();
  try {
    return await run(stop.requested);
  } finally {
    stop.dispose();
  }
}
