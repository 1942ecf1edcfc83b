/**
 * What `resize-chain up` offers a handler image started by hand (`docker run -p 9000:8080 IMAGE`,
 * then curl an event into it): an env file with the endpoint, region, credentials, buckets and
 * queue URLs as a container reaches them, and the exact `docker run` line.
 *
 * The endpoint listens on 127.0.0.1, which a container on Docker's bridge network cannot reach (its
 * 127.0.0.1 is its own). The container reaches this machine at the bridge's gateway address
 * (`--add-host host.docker.internal:host-gateway`), so a TCP forwarder listens on that address only
 * (docker0, e.g. 172.17.0.1: reachable from the bridge's containers and this machine, not from
 * other machines as 0.0.0.0 would be) and passes connections to the endpoint unchanged. The
 * function containers of `--containers` reach the endpoint and their Runtime API through the same
 * forwarders (container-host.ts), shared by port (acquireBridgeForwarder).
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { configError, errorMessage } from '../../../core/errors';
import type { VariantSpec } from '../../../core/variants';
import type { LocalChain } from '../../chain';
import { dockerClient } from './container-host';
import { localAwsEnv } from '../../client-config';

/** The host name a container uses for this machine (Docker Desktop's, and `--add-host …:host-gateway`). */
export const CONTAINER_HOST_ALIAS = 'host.docker.internal';

/** Where a container finds the local CA (local-tls.ts), mounted read-only, as NODE_EXTRA_CA_CERTS names it. */
export const CONTAINER_CA_PATH = '/etc/resize-chain/local-ca.pem';

/**
 * The IPv4 gateway address of Docker's default bridge network (docker0, e.g. 172.17.0.1), as the
 * engine reports it: its configured gateway, else the subnet's first address (the engine's choice
 * when none is configured, and the address `host-gateway` resolves to). Undefined without an engine.
 * (Node's own interface list leaves docker0 out while no container is attached: it is down then.)
 */
export function dockerBridgeAddress(docker = dockerClient()): string | undefined {
  const format = '{{range .IPAM.Config}}{{.Gateway}}/{{.Subnet}} {{end}}';
  const res = spawnSync(docker, ['network', 'inspect', 'bridge', '--format', format], {
    encoding: 'utf8',
    timeout: 10_000,
  });
  if (res.status !== 0) return undefined;
  for (const entry of res.stdout.trim().split(/\s+/)) {
    const [gateway, subnet] = entry.split('/', 2);
    if (gateway && net.isIPv4(gateway)) return gateway;
    if (subnet && net.isIPv4(subnet)) return firstHost(subnet);
  }
  return undefined;
}

/** The first host address of an IPv4 network address (172.17.0.0 -> 172.17.0.1). */
function firstHost(networkAddress: string): string {
  const octets = networkAddress.split('.').map(Number);
  octets[3] = octets[3] + 1;
  return octets.join('.');
}

export interface BridgeForwarder {
  /** http://host.docker.internal:<port>: the endpoint as containers reach it. */
  readonly containerEndpoint: string;
  readonly address: string;
  readonly port: number;
  /** The 127.0.0.1 port it forwards to. */
  readonly targetPort: number;
  close(): Promise<void>;
}

/**
 * Listens on `address` (the bridge gateway) and forwards every connection to 127.0.0.1:`targetPort`.
 * Takes `preferredPort` (the endpoint's own port, so URLs differ only in the host) when free there,
 * else an ephemeral one.
 */
export async function openBridgeForwarder(
  address: string,
  targetPort: number,
  preferredPort = targetPort,
): Promise<BridgeForwarder> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((inbound) => {
    const outbound = net.connect(targetPort, '127.0.0.1');
    for (const s of [inbound, outbound]) {
      sockets.add(s);
      s.once('close', () => sockets.delete(s));
      s.on('error', () => {
        inbound.destroy();
        outbound.destroy();
      });
    }
    inbound.pipe(outbound).pipe(inbound);
  });
  const listenOn = (port: number): Promise<number> =>
    new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, address, () => {
        server.off('error', reject);
        resolve((server.address() as net.AddressInfo).port);
      });
    });
  const port = await listenOn(preferredPort).catch(() => listenOn(0));
  return {
    containerEndpoint: `http://${CONTAINER_HOST_ALIAS}:${port}`,
    address,
    port,
    targetPort,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** Forwarders in use, by `address:targetPort`, with how many holders each has (acquireBridgeForwarder). */
const sharedForwarders = new Map<string, { forwarder: Promise<BridgeForwarder>; holders: number }>();

/** A held share of a forwarder: release() closes it when the last holder lets go. */
export interface HeldForwarder {
  readonly forwarder: BridgeForwarder;
  release(): Promise<void>;
}

/**
 * openBridgeForwarder shared by everyone needing `targetPort` on `address` (the endpoint's forwarder
 * serves `up`'s docker run line and every function container at once, on the endpoint's own port);
 * it closes when the last holder releases it.
 */
export async function acquireBridgeForwarder(address: string, targetPort: number): Promise<HeldForwarder> {
  const key = `${address}:${targetPort}`;
  let entry = sharedForwarders.get(key);
  if (!entry) {
    entry = { forwarder: openBridgeForwarder(address, targetPort), holders: 0 };
    sharedForwarders.set(key, entry);
  }
  const held = entry;
  held.holders += 1;
  let forwarder: BridgeForwarder;
  try {
    forwarder = await held.forwarder;
  } catch (err) {
    held.holders -= 1;
    if (sharedForwarders.get(key) === held) sharedForwarders.delete(key);
    throw err;
  }
  let released = false;
  return {
    forwarder,
    release: async () => {
      if (released) return;
      released = true;
      held.holders -= 1;
      if (held.holders > 0) return;
      if (sharedForwarders.get(key) === held) sharedForwarders.delete(key);
      await forwarder.close();
    },
  };
}

/** `KEY=value` lines as `docker run --env-file` reads them (no quoting: the value is the rest of the line). */
export function envFileText(env: Record<string, string>): string {
  return Object.entries(env)
    .map(([key, value]) => {
      if (/[\r\n]/.test(value))
        throw configError(`env.${key}`, 'holds a line break, which docker run --env-file cannot carry');
      return `${key}=${value}\n`;
    })
    .join('');
}

/** Replaces the origin `from` (e.g. http://127.0.0.1:4566) with `to` in a URL that starts with it. */
export function rehost(url: string, from: string, to: string): string {
  return url.startsWith(from) ? `${to}${url.slice(from.length)}` : url;
}

/**
 * Writes `env` to `<name>` in a fresh temporary folder (0700; the file 0600: it holds credentials,
 * even if only local ones). Returns the file and how to remove the folder.
 */
export function writeEnvFile(env: Record<string, string>, name: string): { file: string; remove(): void } {
  const folder = mkdtempSync(path.join(tmpdir(), 'resize-chain-up-'));
  chmodSync(folder, 0o700);
  const file = path.join(folder, name);
  writeFileSync(file, envFileText(env), { mode: 0o600 });
  const remove = (): void => rmSync(folder, { recursive: true, force: true });
  process.once('exit', remove); // also when a second signal exits at once
  return { file, remove };
}

/**
 * The `docker run` line that starts `image` against the endpoint, serving invocations on `hostPort`;
 * with `caPath`, the local CA mounted where the env file's NODE_EXTRA_CA_CERTS names it. @default no mount
 */
export function dockerRunLine(envFile: string, image: string, hostPort = 9000, caPath?: string): string {
  const ca = caPath ? `-v ${caPath}:${CONTAINER_CA_PATH}:ro ` : '';
  return (
    `docker run --rm -p 127.0.0.1:${hostPort}:8080 ` +
    `--add-host ${CONTAINER_HOST_ALIAS}:host-gateway ${ca}--env-file ${envFile} ${image}`
  );
}

/** What `up` prints and keeps open for containers started by hand. */
export interface DockerRunAccess {
  /** The printed lines (the docker run line and the curl to try), or why there are none. */
  readonly lines: string[];
  readonly line?: string;
  readonly envFile?: string;
  readonly containerEndpoint?: string;
  /** Closes the forwarder and removes the env file. */
  close(): Promise<void>;
}

/**
 * Opens the bridge forwarder and writes the resize function's env file (endpoint, region,
 * credentials, bucket, queue URLs and variants as a container reaches them), for `up`'s banner.
 * Without a Docker bridge on this machine, only says so.
 * @param image @default 'image-resize-chain/resize'
 */
export async function offerDockerRun(
  chain: Pick<LocalChain, 'endpoint' | 'resources' | 'outputPrefix' | 'gateway'>,
  variants: readonly VariantSpec[] | undefined,
  image = 'image-resize-chain/resize',
): Promise<DockerRunAccess> {
  const address = dockerBridgeAddress();
  if (!address) {
    return {
      lines: ['# no Docker engine answered (no bridge network): start Docker and restart up for a docker run line'],
      close: async () => undefined,
    };
  }
  let held: HeldForwarder;
  try {
    held = await acquireBridgeForwarder(address, Number(new URL(chain.endpoint).port));
  } catch (err) {
    // E.g. an engine on another machine (DOCKER_HOST), whose bridge address is not this machine's.
    const reason = errorMessage(err);
    return {
      lines: [`# no docker run line: cannot listen on the Docker bridge address ${address} (${reason})`],
      close: async () => undefined,
    };
  }
  const { forwarder } = held;
  // Over TLS, as the chain's queue URLs are: the module's policies refuse plain HTTP.
  const from = new URL(chain.gateway.tlsEndpoint).origin;
  const to = forwarder.containerEndpoint.replace(/^http:/, 'https:');
  const { queues, buckets } = chain.resources;
  const env = {
    ...localAwsEnv(to),
    OUTPUT_BUCKET: buckets.output,
    OUTPUT_PREFIX: chain.outputPrefix,
    RESIZED_QUEUE_URL: rehost(queues.resized.url, from, to),
    REJECTED_QUEUE_URL: rehost(queues.rejected.url, from, to),
    ...(variants ? { VARIANTS: JSON.stringify(variants) } : {}),
  };
  const written = writeEnvFile({ ...env, NODE_EXTRA_CA_CERTS: CONTAINER_CA_PATH }, 'resize.env');
  const line = dockerRunLine(written.file, image, 9000, chain.gateway.caPath);
  return {
    lines: [
      `# the resize image against this endpoint (from containers: ${to}, via ${address}:${forwarder.port}):`,
      line,
      'curl -XPOST localhost:9000/2015-03-31/functions/function/invocations -d @event.json',
    ],
    line,
    envFile: written.file,
    containerEndpoint: to,
    close: async () => {
      written.remove();
      await held.release();
    },
  };
}
