/**
 * A loader that runs `load` on its first call and hands every later caller the same promise, so
 * concurrent first callers share one load. A rejected load is forgotten: the next call retries
 * (a sandbox whose first load failed, e.g. on a transient file system error, is not stuck).
 */
export function lazily<T>(load: () => Promise<T>): () => Promise<T> {
  let pending: Promise<T> | undefined;
  return () => {
    pending ??= load().catch((err: unknown) => {
      pending = undefined;
      throw err;
    });
    return pending;
  };
}
