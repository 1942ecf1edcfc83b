/**
 * Builds (or reuses) handler images for the current sources through scripts/images.mjs
 * (`--if-missing --json`): what the container tests and the start-up benchmark both need.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

const ROOT = join(__dirname, '..');

export interface BuiltImages {
  base: string;
  hash: string;
  /** handler -> image tag pinned to the current sources (image-resize-chain/<h>:src-<hash>). */
  images: Record<string, string>;
}

/**
 * Runs images.mjs for `handlers`; throws with the tail of its log when it fails.
 * @param opts.platform default linux/amd64 (another CPU builds as images.mjs does: cross, plus QEMU)
 * @param opts.docker the client images.mjs uses (DOCKER), default its own choice
 * @param opts.showLog stream the build log to this process's stderr instead of keeping it; default false
 */
export function ensureImages(
  handlers: string[],
  opts: { platform?: string; docker?: string; showLog?: boolean } = {},
): BuiltImages {
  const res = spawnSync(
    process.execPath,
    [
      join(ROOT, 'scripts', 'images.mjs'),
      ...handlers,
      '--platform',
      opts.platform ?? 'linux/amd64',
      '--if-missing',
      '--json',
    ],
    {
      cwd: ROOT,
      encoding: 'utf8',
      env: opts.docker ? { ...process.env, DOCKER: opts.docker } : process.env,
      stdio: ['ignore', 'pipe', opts.showLog ? 'inherit' : 'pipe'],
      maxBuffer: 64 * 1024 * 1024,
    },
  );
  if (res.status !== 0)
    throw new Error(`scripts/images.mjs failed (${res.status}):\n${(res.stderr ?? '').slice(-4000)}`);
  const summary = JSON.parse(res.stdout.trim().split('\n').pop() ?? '{}') as {
    base: string;
    hash: string;
    images: Array<{ handler: string; pinned: string }>;
  };
  return {
    base: summary.base,
    hash: summary.hash,
    images: Object.fromEntries(summary.images.map((i) => [i.handler, i.pinned])),
  };
}
