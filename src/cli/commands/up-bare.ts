/**
 * `resize-chain up --bare`: the local cloud with no chain of its own. The endpoint serves the same
 * control plane as `up` (S3, SQS, Lambda, IAM, ECR, …) but holds no bucket, queue, function or
 * mapping until a client creates one, so every list API shows only what was applied: what
 * `terraform destroy` leaves behind is there to see, and an applied module cannot collide with
 * up's own names.
 */
import { configError } from '../../core/errors';
import { startLocalCloud, type LocalCloud } from '../../local/chain';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../../local/client-config';
import { startRegistryIfInstalled, type LocalRegistry } from '../../local/cloud/ecr/registry-process';
import { LOCAL_ENDPOINT_ENV, terraformOverride } from '../../local/terraform-provider';
import type { UpOptions } from './up';
import { clientEnvLines, terraformLines } from './up-lines';

/** The text banner of a bare cloud. */
function bareBanner(cloud: LocalCloud, opts: UpOptions, registry: LocalRegistry | undefined): string {
  const e = cloud.gateway.tlsEndpoint;
  const state = opts.chain?.stateDir
    ? `${opts.chain.stateDir} (kept across restarts)`
    : 'in memory (gone when this stops; --state DIR keeps it)';
  return [
    `resize-chain up --bare: local cloud on ${e}, no chain of its own (every resource is one you create)`,
    `  state            ${state}`,
    ...(registry ? [`  ECR registry     ${registry.host}   (repository URIs: ${registry.host}/<name>)`] : []),
    cloud.gateway.authEnabled
      ? '  IAM              enforced: requests signed with the key pair below (the root) or a role session'
      : '  IAM              off (--no-auth): any key pair, any signature, every request allowed',
    '',
    ...clientEnvLines(e, cloud.gateway.caPath, cloud.endpoint),
    '',
    ...terraformLines(e),
    '',
    'ready: Ctrl-C stops',
    '',
  ].join('\n');
}

/** The JSON ready line of a bare cloud (`up --bare --json`). */
function bareReadyDocument(cloud: LocalCloud, opts: UpOptions, registry: LocalRegistry | undefined): string {
  return JSON.stringify({
    event: 'up.ready',
    bare: true,
    endpoint: cloud.gateway.tlsEndpoint,
    plainEndpoint: cloud.endpoint,
    caBundle: cloud.gateway.caPath,
    region: LOCAL_REGION,
    state: opts.chain?.stateDir ?? null,
    ecrRegistry: registry?.host ?? null,
    terraform: {
      override: JSON.parse(terraformOverride(cloud.gateway.tlsEndpoint)) as unknown,
      cdktfEnv: { [LOCAL_ENDPOINT_ENV]: cloud.gateway.tlsEndpoint },
    },
    env: {
      AWS_ENDPOINT_URL: cloud.gateway.tlsEndpoint,
      AWS_CA_BUNDLE: cloud.gateway.caPath,
      AWS_REGION: LOCAL_REGION,
      AWS_DEFAULT_REGION: LOCAL_REGION,
      AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
    },
  });
}

/**
 * Runs the bare cloud until `stopRequested` resolves (upCommand's first signal), then stops it and
 * its registry. Resolves with the exit code (0).
 */
export async function runBareCloud(
  opts: UpOptions,
  stopRequested: Promise<NodeJS.Signals>,
  say: (text: string) => void,
  warn: (text: string) => void,
): Promise<number> {
  let registry: LocalRegistry | undefined;
  let cloud: LocalCloud;
  try {
    registry = await startRegistryIfInstalled({ stateDir: opts.chain?.stateDir }, warn);
    cloud = await startLocalCloud({ ...opts.chain, port: opts.port, registry });
  } catch (error) {
    await registry?.stop();
    if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE')
      throw configError('port', `${opts.port} on 127.0.0.1 is in use: stop what holds it or pass --port`);
    throw error;
  }
  say(opts.json ? bareReadyDocument(cloud, opts, registry) : bareBanner(cloud, opts, registry));
  const signal = await stopRequested;
  warn(`${signal}: stopping`);
  await cloud.stop();
  await registry?.stop();
  warn(`stopped${opts.chain?.stateDir ? `; state kept in ${opts.chain.stateDir}` : ''}`);
  return 0;
}
