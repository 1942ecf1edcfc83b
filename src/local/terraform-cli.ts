/**
 * The Terraform CLI run offline against a filesystem mirror of the AWS provider: finds the binary
 * (TERRAFORM_BIN, else `terraform` on PATH) and the mirror of hashicorp/aws 5.100.0
 * (TF_PROVIDER_MIRROR, known places, else a search of the root filesystem), writes a CLI config
 * that installs the provider only from that mirror, and runs terraform with that config and no
 * ambient AWS or TF_ settings. Used by `resize-chain deploy-local` and by the Terraform tests.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

export const AWS_PROVIDER_VERSION = '5.100.0';
const PROVIDER_DIR = join('registry.terraform.io', 'hashicorp', 'aws', AWS_PROVIDER_VERSION);

function isMirror(dir: string): boolean {
  return existsSync(join(dir, PROVIDER_DIR));
}

/**
 * The filesystem mirror holding hashicorp/aws 5.100.0: TF_PROVIDER_MIRROR, known places, then a search of the root
 * filesystem.
 */
export function findProviderMirror(): { dir?: string; reason: string } {
  const fromEnv = process.env.TF_PROVIDER_MIRROR;
  if (fromEnv)
    return isMirror(fromEnv)
      ? { dir: fromEnv, reason: 'TF_PROVIDER_MIRROR' }
      : { reason: `TF_PROVIDER_MIRROR=${fromEnv} holds no ${PROVIDER_DIR}` };
  const known = [
    '/opt/tf-plugins',
    join(homedir(), '.terraform.d', 'plugins'),
    '/usr/local/share/terraform/plugins',
    '/usr/share/terraform/plugins',
  ];
  const hit = known.find(isMirror);
  if (hit) return { dir: hit, reason: 'known location' };
  try {
    const out = execFileSync(
      'find',
      [
        '/',
        '-xdev',
        '-type',
        'f',
        '-name',
        `terraform-provider-aws_v${AWS_PROVIDER_VERSION}*`,
        '-not',
        '-path',
        '*/.terraform/*',
      ],
      {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'ignore'],
        timeout: 30000,
      },
    );
    for (const file of out.split('\n').filter(Boolean)) {
      const idx = file.indexOf(join('registry.terraform.io', 'hashicorp', 'aws'));
      if (idx > 0 && isMirror(file.slice(0, idx)))
        return { dir: file.slice(0, idx).replace(/\/$/, ''), reason: 'find' };
    }
  } catch (err) {
    // find exits non-zero on unreadable directories while still printing hits; fall through.
    const out = (err as { stdout?: string }).stdout ?? '';
    for (const file of out.split('\n').filter(Boolean)) {
      const idx = file.indexOf('registry.terraform.io');
      if (idx > 0 && isMirror(file.slice(0, idx)))
        return { dir: file.slice(0, idx).replace(/\/$/, ''), reason: 'find' };
    }
  }
  return { reason: `no filesystem mirror of hashicorp/aws ${AWS_PROVIDER_VERSION} found (set TF_PROVIDER_MIRROR)` };
}

/** The terraform binary: TERRAFORM_BIN, else `terraform` on PATH. */
export function findTerraform(): { bin?: string; reason: string } {
  const bin = process.env.TERRAFORM_BIN ?? 'terraform';
  const res = spawnSync(bin, ['version'], {
    encoding: 'utf8',
    env: { ...process.env, CHECKPOINT_DISABLE: '1', TF_CLI_CONFIG_FILE: '/dev/null' },
  });
  return res.status === 0
    ? { bin, reason: res.stdout.split('\n')[0] ?? '' }
    : { reason: `no terraform binary (${bin}): ${res.error?.message ?? res.stderr}` };
}

/** Writes a CLI config that installs hashicorp/aws only from `mirror` and never from the network. */
export function writeCliConfig(dir: string, mirror: string): string {
  const file = join(dir, 'offline.tfrc');
  writeFileSync(
    file,
    [
      'provider_installation {',
      '  filesystem_mirror {',
      `    path    = ${JSON.stringify(mirror)}`,
      '    include = ["registry.terraform.io/hashicorp/aws"]',
      '  }',
      '  direct {',
      '    exclude = ["registry.terraform.io/*/*"]',
      '  }',
      '}',
      '',
    ].join('\n'),
  );
  return file;
}

export interface TerraformRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** The environment terraform runs with: only the offline CLI config, no ambient AWS or TF_ configuration. */
export function terraformEnv(cliConfig: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('AWS_') && !k.startsWith('TF_')) env[k] = v;
  Object.assign(env, {
    TF_CLI_CONFIG_FILE: cliConfig,
    TF_IN_AUTOMATION: '1',
    TF_INPUT: '0',
    CHECKPOINT_DISABLE: '1',
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_REGION: 'us-east-1',
  });
  return env;
}

/**
 * Runs terraform (or a program that runs it, such as the cdktf CLI) in `cwd` without blocking the
 * process (which keeps reading a local cloud's output meanwhile), with terraformEnv plus `env`;
 * killed after `timeoutMs` (code -1). @default timeoutMs 600000, env {}
 */
export function runTerraformAsync(
  bin: string,
  cliConfig: string,
  cwd: string,
  args: string[],
  timeoutMs = 600_000,
  env: NodeJS.ProcessEnv = {},
): Promise<TerraformRun> {
  return new Promise((resolve) => {
    const child = spawn(bin, [...args], {
      cwd,
      env: { ...terraformEnv(cliConfig), ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', (err) => {
      clearTimeout(timer);
      resolve({ code: -1, stdout, stderr: `${stderr}${String(err)}` });
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, stdout, stderr });
    });
  });
}

/**
 * What offline Terraform runs need: the binary and the provider mirror, or `missing`
 * saying why they cannot run here.
 */
export function findOfflineTerraform(): { bin?: string; mirror?: string; missing?: string } {
  const terraform = findTerraform();
  if (!terraform.bin) return { missing: `terraform: ${terraform.reason}` };
  const mirror = findProviderMirror();
  return mirror.dir
    ? { bin: terraform.bin, mirror: mirror.dir }
    : { missing: `terraform and the provider mirror: ${mirror.reason}` };
}
