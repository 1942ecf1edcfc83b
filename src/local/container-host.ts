/**
 * Sandboxes as containers of a handler's image (the Dockerfile at the repository root), polling our
 * Runtime API exactly as the bare aws-lambda-ric process does: same host, same bookkeeping
 * (function-host.ts), only the launcher differs. `docker run --network host` lets the container reach
 * the 127.0.0.1 listeners (Runtime API, local S3 + SQS); `--read-only` with a /tmp tmpfs of the
 * ephemeral storage size gives the function Lambda's file system rules, and lambdaLimits() its
 * memory, capability and process limits.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { configError, PipelineError } from '../core/errors';
import { startLocalFunction, type LocalFunction, type LocalFunctionOptions, type SandboxLauncher } from './function-host';

/** Label on every container we start, so leftovers can be found: docker ps -f label=image-resize-chain.sandbox */
export const SANDBOX_LABEL = 'image-resize-chain.sandbox';

/** Image of a handler as `npm run images` tags it. @default tag 'latest' */
export function defaultImage(handler: string, tag = 'latest'): string {
  return `image-resize-chain/${handler}:${tag}`;
}

/**
 * The docker client to use: $DOCKER, else the Debian client /usr/bin/docker when present (a newer
 * client first on PATH may lack buildx, DESIGN.md §5), else `docker` from PATH.
 */
export function dockerClient(): string {
  if (process.env.DOCKER) return process.env.DOCKER;
  return existsSync('/usr/bin/docker') ? '/usr/bin/docker' : 'docker';
}

/** True when a Docker engine answers (`docker version` with a server part) within `timeoutMs`. */
export function dockerAvailable(docker = dockerClient(), timeoutMs = 10_000): boolean {
  const res = spawnSync(docker, ['version', '--format', '{{.Server.Version}}'], { encoding: 'utf8', timeout: timeoutMs });
  return res.status === 0 && res.stdout.trim() !== '';
}

/** True when `image` exists in the engine's image store. */
export function imageExists(image: string, docker = dockerClient()): boolean {
  return spawnSync(docker, ['image', 'inspect', '--format', '{{.Id}}', image], { encoding: 'utf8' }).status === 0;
}

export interface ContainerLauncherOptions {
  /** Image to run, e.g. 'image-resize-chain/resize:latest'. */
  image: string;
  /** Docker client. @default dockerClient() */
  docker?: string;
  /** Extra `docker run` arguments, placed before the image (e.g. ['--memory', '1g']). @default [] */
  runArgs?: string[];
  /** Mount the root file system read-only with a /tmp tmpfs, as Lambda does. @default true */
  readOnly?: boolean;
  /** Size of the /tmp tmpfs in MB, the function's ephemeral storage (512-10240, as Lambda allows). @default 512 */
  ephemeralStorageMb?: number;
  /**
   * The function's ImageConfig.Command: the arguments given to the image's entrypoint in place of
   * its CMD (for our images, the handler: ['resize.handler']).
   * @default - the image's own CMD, as Lambda runs an image whose function sets no command
   */
  command?: string[];
}

/**
 * A launcher that runs each sandbox as `docker run --rm --network host <image> [command…]` with the
 * sandbox's Lambda environment, started as Lambda starts an image: its entrypoint, given its CMD or
 * the configured `command`, and only Lambda's variables (no _HANDLER: the entrypoint learns the
 * handler from its argument). Values travel in the docker client's environment (`-e NAME`), not
 * on its command line. The container's own PATH, LAMBDA_TASK_ROOT and entrypoint are kept.
 * Throws PipelineError('INVALID_CONFIG') when the image does not exist.
 */
export function containerLauncher(opts: ContainerLauncherOptions): SandboxLauncher {
  const docker = opts.docker ?? dockerClient();
  const ephemeralMb = opts.ephemeralStorageMb ?? 512;
  if (!Number.isInteger(ephemeralMb) || ephemeralMb < 512 || ephemeralMb > 10240) {
    throw configError('ephemeralStorageMb', `${ephemeralMb} is not an integer in [512, 10240] (Lambda's ephemeral storage range)`);
  }
  if (!imageExists(opts.image, docker)) {
    throw new PipelineError(
      'INVALID_CONFIG',
      `image ${opts.image} not found in the Docker engine (${docker}): build it with npm run images (scripts/images.mjs)`,
      { field: 'image' },
    );
  }
  return {
    kind: 'container',
    launch({ sandboxId, env }) {
      const name = `irc-${sandboxId.replace(/[^A-Za-z0-9_.-]/g, '-')}-${randomBytes(3).toString('hex')}`;
      const args = ['run', '--rm', '--name', name, '--label', SANDBOX_LABEL, '--network', 'host', ...lambdaLimits(env)];
      if (opts.readOnly ?? true) args.push('--read-only', '--tmpfs', `/tmp:rw,exec,size=${ephemeralMb}m`);
      for (const key of Object.keys(env)) args.push('-e', key);
      args.push(...(opts.runArgs ?? []), opts.image, ...(opts.command ?? []));
      const child = spawn(docker, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
      liveContainers.set(name, { docker, child });
      const forget = () => liveContainers.delete(name);
      child.once('exit', forget);
      child.once('error', forget);
      return {
        child,
        describe: { container: name, image: opts.image },
        kill: () => {
          // Killing the client would leave the container running: kill the container, the client follows.
          const killer = spawn(docker, ['kill', name], { stdio: 'ignore' });
          killer.once('error', () => child.kill('SIGKILL'));
          killer.once('exit', (code) => {
            if (code !== 0) child.kill('SIGKILL'); // not created yet, or already gone
          });
        },
      };
    },
  };
}

/**
 * What Lambda's sandbox allows a function, as `docker run` arguments: memory capped at the
 * function's memory size (AWS_LAMBDA_FUNCTION_MEMORY_SIZE) with no swap beyond it, no Linux
 * capabilities, no privilege gain through setuid binaries, and Lambda's limit of 1,024 processes
 * and threads.
 */
export function lambdaLimits(env: Record<string, string>): string[] {
  const memoryMb = Number(env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE);
  const memory = Number.isInteger(memoryMb) && memoryMb > 0 ? ['--memory', `${memoryMb}m`, '--memory-swap', `${memoryMb}m`] : [];
  return [...memory, '--cap-drop', 'ALL', '--security-opt', 'no-new-privileges', '--pids-limit', '1024'];
}

export interface ContainerFunctionOptions extends Omit<LocalFunctionOptions, 'launcher' | 'taskRoot' | 'nodeBinary' | 'handler'>, ContainerLauncherOptions {}

/** startLocalFunction with container sandboxes: `concurrency` containers of `image` polling our Runtime API. */
export function startContainerFunction(opts: ContainerFunctionOptions): Promise<LocalFunction> {
  const { image, docker, runArgs, readOnly, command, ephemeralStorageMb, ...fn } = opts;
  return startLocalFunction({ ...fn, launcher: containerLauncher({ image, docker, runArgs, readOnly, command, ephemeralStorageMb }) });
}

/** Containers still running when this process exits without stop(): removed synchronously (no orphans). */
const liveContainers = new Map<string, { docker: string; child: ChildProcess }>();
process.on('exit', () => {
  const byClient = new Map<string, string[]>();
  for (const [name, { docker }] of liveContainers) byClient.set(docker, [...(byClient.get(docker) ?? []), name]);
  for (const [docker, names] of byClient) spawnSync(docker, ['rm', '-f', ...names], { stdio: 'ignore', timeout: 10_000 });
});
