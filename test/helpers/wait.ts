/**
 * Polls `probe` until it yields a value (neither undefined nor a rejection) and returns it; throws
 * naming `what` after `timeoutMs` (default 90 s), polling every `everyMs` (default 300 ms).
 */
export async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 90_000, everyMs = 300): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
