// What the container tests share: is there an engine (CI requires one), and the images built from the
// current sources (scripts/images.mjs, reusing an image whose source-hash tag already exists).
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { dockerAvailable, dockerClient } from '../../src/local/cloud/lambda/container-host';
import { ensureImages as buildImages, type BuiltImages } from '../../scripts/ensure-images';

export type { BuiltImages };

export const ROOT = join(__dirname, '..', '..');
export const DOCKER = dockerClient();

/**
 * Why the container tests cannot run here (no Docker engine answers), or undefined when one does.
 * Pass it to describeWhen (test/helpers/requires.ts), which skips loudly, or fails under CI=true.
 */
export function missingDocker(): string | undefined {
  return dockerAvailable(DOCKER) ? undefined : `no Docker engine answers via ${DOCKER} (run scripts/docker-setup.sh)`;
}

/**
 * Builds (or reuses) the images of `handlers` for the current sources with this client.
 * @param platform default linux/amd64
 */
export function ensureImages(handlers: string[], platform = 'linux/amd64'): BuiltImages {
  return buildImages(handlers, { platform, docker: DOCKER });
}

/**
 * Why linux/arm64 binaries cannot run here, or undefined when they can: natively, or through QEMU
 * registered with binfmt_misc (scripts/docker-setup.sh --arm64). For describeWhen.
 */
export function missingArm64(): string | undefined {
  if (process.arch === 'arm64') return undefined;
  const handler = '/proc/sys/fs/binfmt_misc/qemu-aarch64';
  if (existsSync(handler) && readFileSync(handler, 'utf8').startsWith('enabled')) return undefined;
  return `no arm64 emulation (${handler} is not registered; run scripts/docker-setup.sh --arm64)`;
}

/** Runs the docker client synchronously; throws with its stderr on failure. */
export function docker(
  args: string[],
  opts: { input?: string; allowFail?: boolean } = {},
): { status: number; stdout: string; stderr: string } {
  const res = spawnSync(DOCKER, args, { encoding: 'utf8', input: opts.input, maxBuffer: 64 * 1024 * 1024 });
  const out = { status: res.status ?? 1, stdout: res.stdout ?? '', stderr: res.stderr ?? '' };
  if (out.status !== 0 && !opts.allowFail)
    throw new Error(`docker ${args.join(' ')} failed (${out.status}): ${out.stderr}`);
  return out;
}
