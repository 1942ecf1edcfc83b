/**
 * Sandboxes as containers of a handler's image (the Dockerfile at the repository root), polling our
 * Runtime API exactly as the bare aws-lambda-ric process does: same host, same bookkeeping
 * (function-host.ts), only the launcher differs. The container runs on Docker's default bridge
 * network, not the host's: its 127.0.0.1 is its own, so of this machine it reaches only what its
 * environment names (the Runtime API it polls, the endpoint and queue URLs), each through a
 * forwarder on the bridge gateway address (docker-run.ts) as `host.docker.internal`, and no other
 * loopback port. `--read-only` with a /tmp tmpfs of the ephemeral storage size gives the function
 * Lambda's file system rules, and lambdaLimits() its memory, capability and process limits.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { configError, PipelineError } from '../../../core/errors';
import {
  acquireBridgeForwarder,
  CONTAINER_CA_PATH,
  CONTAINER_HOST_ALIAS,
  dockerBridgeAddress,
  type HeldForwarder,
} from './docker-run';
import {
  startLocalFunction,
  type LocalFunction,
  type LocalFunctionOptions,
  type SandboxLauncher,
} from './function-host';

/** Label on every container we start, so leftovers can be found: docker ps -f label=image-resize-chain.sandbox */
export const SANDBOX_LABEL = 'image-resize-chain.sandbox';

/** Image of a handler as `npm run images` tags it. @default tag 'latest' */
export function defaultImage(handler: string, tag = 'latest'): string {
  return `image-resize-chain/${handler}:${tag}`;
}

/**
 * The docker client to use: $DOCKER, else the Debian client /usr/bin/docker when present (a newer
 * client first on PATH may lack buildx: docs/ARCHITECTURE.md, "Facts measured on the build machines"),
 * else `docker` from PATH.
 */
export function dockerClient(): string {
  if (process.env.DOCKER) return process.env.DOCKER;
  return existsSync('/usr/bin/docker') ? '/usr/bin/docker' : 'docker';
}

/** True when a Docker engine answers (`docker version` with a server part) within `timeoutMs`. */
export function dockerAvailable(docker = dockerClient(), timeoutMs = 10_000): boolean {
  const res = spawnSync(docker, ['version', '--format', '{{.Server.Version}}'], {
    encoding: 'utf8',
    timeout: timeoutMs,
  });
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
  /**
   * The program the container starts in place of the image's ENTRYPOINT (`docker run --entrypoint`);
   * `command` then holds all of its arguments.
   * @default - the image's own ENTRYPOINT
   */
  entrypoint?: string;
  /** The working directory in place of the image's WORKDIR. @default - the image's own */
  workingDir?: string;
}

/**
 * A launcher that runs each sandbox as `docker run --rm --network bridge --add-host
 * host.docker.internal:host-gateway <image> [command…]` with the sandbox's Lambda environment,
 * started as Lambda starts an image: its entrypoint, given its CMD or the configured `command`, and
 * only Lambda's variables (no _HANDLER: the entrypoint learns the handler from its argument), their
 * loopback addresses rewritten as the container reaches them (containerReach). Values travel in the
 * docker client's environment (`-e NAME`), not on its command line. The container's own PATH,
 * LAMBDA_TASK_ROOT and entrypoint are kept.
 * Throws PipelineError('INVALID_CONFIG') when the image does not exist or the engine has no bridge
 * network on this machine.
 */
export function containerLauncher(opts: ContainerLauncherOptions): SandboxLauncher {
  const docker = opts.docker ?? dockerClient();
  const ephemeralMb = opts.ephemeralStorageMb ?? 512;
  if (!Number.isInteger(ephemeralMb) || ephemeralMb < 512 || ephemeralMb > 10240) {
    throw configError(
      'ephemeralStorageMb',
      `${ephemeralMb} is not an integer in [512, 10240] (Lambda's ephemeral storage range)`,
    );
  }
  if (!imageExists(opts.image, docker)) {
    throw new PipelineError(
      'INVALID_CONFIG',
      `image ${opts.image} not found in the Docker engine (${docker}): ` +
        `build it with npm run images (scripts/images.mjs)`,
      { field: 'image' },
    );
  }
  const bridge = dockerBridgeAddress(docker);
  if (!bridge) {
    throw new PipelineError(
      'INVALID_CONFIG',
      `the Docker engine (${docker}) reports no IPv4 bridge network, ` +
        `which function containers run on to reach this machine's endpoint and Runtime API only`,
      { field: 'docker' },
    );
  }
  return {
    kind: 'container',
    async launch({ sandboxId, env: lambdaEnv }) {
      const reach = await containerReach(bridge, lambdaEnv);
      const env = reach.env;
      const caMount = mountLocalCa(env);
      const name = `irc-${sandboxId.replace(/[^A-Za-z0-9_.-]/g, '-')}-${randomBytes(3).toString('hex')}`;
      const args = [
        'run',
        '--rm',
        '--name',
        name,
        '--label',
        SANDBOX_LABEL,
        '--network',
        'bridge',
        '--add-host',
        `${CONTAINER_HOST_ALIAS}:host-gateway`,
        ...lambdaLimits(env),
        ...caMount,
      ];
      if (opts.readOnly ?? true) args.push('--read-only', '--tmpfs', `/tmp:rw,exec,size=${ephemeralMb}m`);
      for (const key of Object.keys(env)) args.push('-e', key);
      if (opts.entrypoint !== undefined) args.push('--entrypoint', opts.entrypoint);
      if (opts.workingDir !== undefined) args.push('--workdir', opts.workingDir);
      args.push(...(opts.runArgs ?? []), opts.image, ...(opts.command ?? []));
      const child = spawn(docker, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
      liveContainers.set(name, { docker, child });
      const forget = () => {
        liveContainers.delete(name);
        void reach.release();
      };
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
 * The local CA file NODE_EXTRA_CA_CERTS names on this machine, mounted read-only into the container
 * (`docker run -v` arguments), and the variable renamed to the mounted copy; none without it.
 */
function mountLocalCa(env: Record<string, string>): string[] {
  const hostPath = env.NODE_EXTRA_CA_CERTS;
  if (!hostPath) return [];
  env.NODE_EXTRA_CA_CERTS = CONTAINER_CA_PATH;
  return ['--volume', `${hostPath}:${CONTAINER_CA_PATH}:ro`];
}

/** A loopback origin at the start of an environment value: http://127.0.0.1:4566/…, localhost:9001. */
const LOOPBACK_ORIGIN = /^((?:https?:\/\/)?)(?:127\.0\.0\.1|localhost):(\d+)(?=[/?#]|$)/;

/**
 * A sandbox's environment as its container on the bridge reaches this machine: each loopback
 * origin a value starts with (AWS_LAMBDA_RUNTIME_API, the endpoint, queue URLs) becomes
 * host.docker.internal at the port of a forwarder on the bridge gateway `address` to that port
 * (the same port when free there, so URLs differ only in the host). Those ports, and no other
 * loopback port of this machine, are what the container can reach here. release() lets go of the
 * forwarders (they close when no container needs them any more).
 */
export async function containerReach(
  address: string,
  env: Record<string, string>,
): Promise<{ env: Record<string, string>; release(): Promise<void> }> {
  const ports = new Set<number>();
  for (const value of Object.values(env)) {
    const match = LOOPBACK_ORIGIN.exec(value);
    if (match) ports.add(Number(match[2]));
  }
  const held = await Promise.allSettled([...ports].map((port) => acquireBridgeForwarder(address, port)));
  const acquired = held.flatMap((h) => (h.status === 'fulfilled' ? [h.value] : []));
  const release = async (): Promise<void> => {
    await Promise.all(acquired.map((h) => h.release()));
  };
  const failed = held.find((h): h is PromiseRejectedResult => h.status === 'rejected');
  if (failed) {
    await release();
    throw failed.reason;
  }
  const byPort = new Map<number, HeldForwarder>(acquired.map((h) => [h.forwarder.targetPort, h]));
  const rewritten = Object.fromEntries(
    Object.entries(env).map(([key, value]) => [
      key,
      value.replace(
        LOOPBACK_ORIGIN,
        (_all, scheme: string, port: string) =>
          `${scheme}${CONTAINER_HOST_ALIAS}:${byPort.get(Number(port))!.forwarder.port}`,
      ),
    ]),
  );
  return { env: rewritten, release };
}

/**
 * What Lambda's sandbox allows a function, as `docker run` arguments: memory capped at the
 * function's memory size (AWS_LAMBDA_FUNCTION_MEMORY_SIZE) with no swap beyond it, no Linux
 * capabilities, no privilege gain through setuid binaries, and Lambda's limit of 1,024 processes
 * and threads.
 */
export function lambdaLimits(env: Record<string, string>): string[] {
  const memoryMb = Number(env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE);
  const memory =
    Number.isInteger(memoryMb) && memoryMb > 0 ? ['--memory', `${memoryMb}m`, '--memory-swap', `${memoryMb}m`] : [];
  return [...memory, '--cap-drop', 'ALL', '--security-opt', 'no-new-privileges', '--pids-limit', '1024'];
}

export interface ContainerFunctionOptions
  extends Omit<LocalFunctionOptions, 'launcher' | 'taskRoot' | 'nodeBinary' | 'handler'>, ContainerLauncherOptions {}

/** startLocalFunction with container sandboxes: `concurrency` containers of `image` polling our Runtime API. */
export function startContainerFunction(opts: ContainerFunctionOptions): Promise<LocalFunction> {
  const { image, docker, runArgs, readOnly, command, ephemeralStorageMb, entrypoint, workingDir, ...fn } = opts;
  return startLocalFunction({
    ...fn,
    launcher: containerLauncher({
      image,
      docker,
      runArgs,
      readOnly,
      command,
      ephemeralStorageMb,
      entrypoint,
      workingDir,
    }),
  });
}

/** Containers still running when this process exits without stop(): removed synchronously (no orphans). */
const liveContainers = new Map<string, { docker: string; child: ChildProcess }>();
process.on('exit', () => {
  const byClient = new Map<string, string[]>();
  for (const [name, { docker }] of liveContainers) byClient.set(docker, [...(byClient.get(docker) ?? []), name]);
  for (const [docker, names] of byClient)
    spawnSync(docker, ['rm', '-f', ...names], { stdio: 'ignore', timeout: 10_000 });
});
