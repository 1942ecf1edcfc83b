/**
 * `resize-chain tf-override [--dir D] [--endpoint URL]`: writes the provider override file that
 * points a Terraform configuration's aws provider at the local cloud (terraform-provider.ts).
 */
import { existsSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { configError } from '../../core/errors';
import { DEFAULT_LOCAL_ENDPOINT, TF_OVERRIDE_FILE, parseLocalEndpoint, terraformOverride } from '../../local/terraform-provider';

export interface TfOverrideOptions {
  /** The Terraform configuration's folder. @default the current folder */
  dir?: string;
  /** The local cloud's endpoint, as `up` prints it. @default http://127.0.0.1:4566 */
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
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw configError('--dir', `${JSON.stringify(opts.dir ?? '.')} is not a folder`);
  const endpoint = parseLocalEndpoint(opts.endpoint ?? DEFAULT_LOCAL_ENDPOINT);
  if (!endpoint) throw configError('--endpoint', `wants http(s)://host:port such as ${DEFAULT_LOCAL_ENDPOINT}, got ${JSON.stringify(opts.endpoint)}`);
  const file = join(dir, TF_OVERRIDE_FILE);
  writeFileSync(file, terraformOverride(endpoint));
  (opts.out ?? process.stdout).write(`wrote ${file}: the aws provider now deploys to ${endpoint} (delete the file to deploy to AWS)\n`);
  return 0;
}
