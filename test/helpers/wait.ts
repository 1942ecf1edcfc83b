import { inspect } from 'node:util';
import { errorMessage } from '../../src/core/errors';

/** Describes the last thing a probe gave, for the timeout message. */
function lastSeen(last: { value?: unknown; error?: unknown }): string {
  if (last.error !== undefined) return `its last attempt failed: ${errorMessage(last.error, inspect)}`;
  let shown: string;
  try {
    shown = JSON.stringify(last.value) ?? String(last.value);
  } catch {
    shown = String(last.value);
  }
  return `the last value seen was ${shown.length > 500 ? `${shown.slice(0, 500)}...` : shown}`;
}

/**
 * The suite's one polling helper. Calls `probe` until it yields a value (neither undefined nor false,
 * nor a rejection) and returns it; throws after `timeoutMs` (default 90 s) naming `what` and the last
 * value or error seen, polling every `everyMs` (default 300 ms). To have what a probe saw in that
 * message, throw it from the probe (e.g. `throw new Error(state)`) instead of returning undefined.
 */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined | false> | T | undefined | false,
  timeoutMs = 90_000,
  everyMs = 300,
): Promise<Exclude<T, false>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const last: { value?: unknown; error?: unknown } = {};
    try {
      last.value = await probe();
    } catch (err) {
      last.error = err;
    }
    if (last.error === undefined && last.value !== undefined && last.value !== false)
      return last.value as Exclude<T, false>;
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}: ${lastSeen(last)}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
