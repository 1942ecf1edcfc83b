/**
 * `resize-chain tf-override [--dir D] [--endpoint URL]`: writes the provider override file that
 * points a Terraform configuration's aws provider at the local cloud (terraform-provider.ts).
 */
import { existsSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { configError } from '../../core/errors';
import {
  DEFAULT_LOCAL_ENDPOINT,
  TF_OVERRIDE_FILE,
  parseLocalEndpoint,
  terraformOverride,
} from '../../local/terraform-provider';
import type { CommandUsage } from '../usage';

/** `resize-chain tf-override`: the options it reads and the help shown for them. */
export const TF_OVERRIDE_USAGE = {
  name: 'tf-override',
  allowPositionals: true,
  options: {
    dir: { type: 'string', shown: '.' },
    endpoint: { type: 'string', shown: DEFAULT_LOCAL_ENDPOINT },
  },
  forms: [
    {
      shows: ['dir', 'endpoint'],
      description: [
        `Write <dir>/${TF_OVERRIDE_FILE}: the aws provider of that Terraform configuration`,
        'then deploys to the local cloud (every service endpoint the module uses, path-style S3, the local',
        'credentials, no AWS account checks). Delete the file to deploy to AWS. For CDKTF (main.ts), set',
        `RESIZE_CHAIN_ENDPOINT=${DEFAULT_LOCAL_ENDPOINT} instead. An https endpoint gets custom_ca_bundle, the`,
        "local cloud's CA. Every service the module's examples create is answered (see the README).",
      ].join('\n'),
    },
  ],
} satisfies CommandUsage;

export interface TfOverrideOptions {
  /** The Terraform configuration's folder. @default the current folder */
  dir?: string;
  /** The local cloud's endpoint, as `up` prints it. @default https://127.0.0.1:4566 */
  endpoint?: string;
  /** Where the confirmation line goes. @default process.stdout */
  out?: NodeJS.WritableStream;
}

/**
 * Writes `<dir>/resize_chain_local_override.tf.json` (replacing an earlier one) and prints its path.
 * Refuses a folder that does not exist and an endpoint that is not http(s)://host[:port]
 * (INVALID_CONFIG, exit 2). Returns the exit code.
 */
export function tfOverrideCommand(opts: TfOverrideOptions): number {
  const dir = resolve(opts.dir ?? '.');
  if (!existsSync(dir) || !statSync(dir).isDirectory())
    throw configError('--dir', `${JSON.stringify(opts.dir ?? '.')} is not a folder`);
  const endpoint = parseLocalEndpoint(opts.endpoint ?? DEFAULT_LOCAL_ENDPOINT);
  if (!endpoint)
    throw configError(
      '--endpoint',
      `wants http(s)://host:port such as ${DEFAULT_LOCAL_ENDPOINT}, got ${JSON.stringify(opts.endpoint)}`,
    );
  const file = writeOverrideFile(dir, endpoint);
  (opts.out ?? process.stdout).write(
    `wrote ${file}: the aws provider now deploys to ${endpoint} (delete the file to deploy to AWS)\n`,
  );
  return 0;
}

/** Writes `<dir>/resize_chain_local_override.tf.json` for `endpoint` (replacing an earlier one); returns its path. */
export function writeOverrideFile(dir: string, endpoint: string): string {
  const file = join(dir, TF_OVERRIDE_FILE);
  writeFileSync(file, terraformOverride(endpoint));
  return file;
}
