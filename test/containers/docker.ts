// What the container tests share: is there an engine (CI requires one), and the images built from the
// current sources (scripts/images.mjs, reusing an image whose source-hash tag already exists).
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { dockerAvailable, dockerClient } from '../../src/local/container-host';

export const ROOT = join(__dirname, '..', '..');
export const DOCKER = dockerClient();

/**
 * True when a Docker engine answers. Without one: under CI=true throws (the tests must run there),
 * otherwise warns loudly and returns false so the caller skips.
 */
export function requireDocker(suite: string): boolean {
  if (dockerAvailable(DOCKER)) return true;
  const message = `${suite}: no Docker engine answers via ${DOCKER} (run scripts/docker-setup.sh)`;
  if (process.env.CI === 'true') throw new Error(`${message}; CI=true requires these tests to run`);
  console.warn(`SKIPPED ${message}`);
  return false;
}

export interface BuiltImages {
  base: string;
  hash: string;
  /** handler -> image tag pinned to the current sources (image-resize-chain/<h>:src-<hash>). */
  images: Record<string, string>;
}

/**
 * Builds (or reuses) the images of `handlers` for the current sources; the build log is returned on failure.
 * @param platform default linux/amd64 (another CPU builds as scripts/images.mjs does: cross, plus QEMU)
 */
export function ensureImages(handlers: string[], platform = 'linux/amd64'): BuiltImages {
  const res = spawnSync(process.execPath, [join(ROOT, 'scripts', 'images.mjs'), ...handlers, '--platform', platform, '--if-missing', '--json'], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...process.env, DOCKER },
    maxBuffer: 64 * 1024 * 1024,
  });
  if (res.status !== 0) throw new Error(`scripts/images.mjs failed (${res.status}):\n${(res.stderr ?? '').slice(-4000)}`);
  const summary = JSON.parse(res.stdout.trim().split('\n').pop() ?? '{}') as { base: string; hash: string; images: Array<{ handler: string; pinned: string }> };
  return { base: summary.base, hash: summary.hash, images: Object.fromEntries(summary.images.map((i) => [i.handler, i.pinned])) };
}

/**
 * True when this machine runs linux/arm64 binaries: natively, or through QEMU registered with
 * binfmt_misc (scripts/docker-setup.sh --arm64). Without it: throws under CI=true, else warns and returns false.
 */
export function requireArm64(suite: string): boolean {
  if (process.arch === 'arm64') return true;
  const handler = '/proc/sys/fs/binfmt_misc/qemu-aarch64';
  if (existsSync(handler) && readFileSync(handler, 'utf8').startsWith('enabled')) return true;
  const message = `${suite}: no arm64 emulation (${handler} is not registered; run scripts/docker-setup.sh --arm64)`;
  if (process.env.CI === 'true') throw new Error(`${message}; CI=true requires these tests to run`);
  console.warn(`SKIPPED ${message}`);
  return false;
}

/** Runs the docker client synchronously; throws with its stderr on failure. */
export function docker(args: string[], opts: { input?: string; allowFail?: boolean } = {}): { status: number; stdout: string; stderr: string } {
  const res = spawnSync(DOCKER, args, { encoding: 'utf8', input: opts.input, maxBuffer: 64 * 1024 * 1024 });
  const out = { status: res.status ?? 1, stdout: res.stdout ?? '', stderr: res.stderr ?? '' };
  if (out.status !== 0 && !opts.allowFail) throw new Error(`docker ${args.join(' ')} failed (${out.status}): ${out.stderr}`);
  return out;
}
