/**
 * The real cdktf CLI (`npx cdktf`, the cdktf-cli devDependency) deploying main.ts to the local
 * cloud, offline: what `resize-chain deploy-local --example cdktf` runs and the test runs, the same
 * commands the README shows.
 * - main.ts reads RESIZE_CHAIN_ENDPOINT (the provider settings of terraform-provider.ts) and
 *   RESIZE_IMAGE_URI + PUBLISH_IMAGE_URI (images that exist, here the local tags): the user's code
 *   is not edited.
 * - TF_CLI_CONFIG_FILE names a CLI config installing the AWS provider from its filesystem mirror
 *   (writeCliConfig), which the terraform that cdktf runs honours.
 * - `--skip-provider-lock`: otherwise cdktf runs `terraform providers lock`, which asks the
 *   registry for every platform's checksums whatever the CLI config says, and fails offline.
 */
import { join } from 'node:path';
import { runTerraformAsync, type TerraformRun } from './terraform-cli';
import { LOCAL_ENDPOINT_ENV } from './terraform-provider';

/** The stack of main.ts holding the chain. */
export const CDKTF_CHAIN_STACK = 'image-resize-chain';

/** Flags every offline, scripted cdktf run takes (see the file comment). */
export const CDKTF_OFFLINE_FLAGS: readonly string[] = ['--skip-provider-lock', '--no-color'];

/** What main.ts is told to deploy to the local cloud. */
export interface CdktfLocalTarget {
  /** The local cloud's endpoint (RESIZE_CHAIN_ENDPOINT). */
  readonly endpoint: string;
  /** Image of the resize function (RESIZE_IMAGE_URI). */
  readonly resizeImage: string;
  /** Image of the publish function (PUBLISH_IMAGE_URI). */
  readonly publishImage: string;
}

/** The environment main.ts reads to deploy `target` (CI=true: cdktf prints plain lines, asks nothing). */
export function cdktfLocalEnv(target: CdktfLocalTarget): NodeJS.ProcessEnv {
  return {
    [LOCAL_ENDPOINT_ENV]: target.endpoint,
    RESIZE_IMAGE_URI: target.resizeImage,
    PUBLISH_IMAGE_URI: target.publishImage,
    CI: 'true',
  };
}

/** The arguments of `cdktf deploy` of the chain stack, synthesized into `output`. */
export function cdktfDeployArgs(output: string, outputsFile: string): string[] {
  return [
    'deploy',
    CDKTF_CHAIN_STACK,
    '--auto-approve',
    '--output',
    output,
    '--outputs-file',
    outputsFile,
    ...CDKTF_OFFLINE_FLAGS,
  ];
}

/** The arguments of `cdktf diff` of the chain stack. */
export function cdktfDiffArgs(output: string): string[] {
  return ['diff', CDKTF_CHAIN_STACK, '--output', output, ...CDKTF_OFFLINE_FLAGS];
}

/**
 * The arguments of `cdktf destroy` of the chain stack. The consumer stack of main.ts depends on it;
 * `--ignore-missing-stack-dependencies` destroys the chain alone (the consumer was never deployed).
 */
export function cdktfDestroyArgs(output: string): string[] {
  return [
    'destroy',
    CDKTF_CHAIN_STACK,
    '--auto-approve',
    '--ignore-missing-stack-dependencies',
    '--output',
    output,
    ...CDKTF_OFFLINE_FLAGS,
  ];
}

/** The folder terraform runs in for the chain stack (its cdk.tf.json, .terraform/). */
export function cdktfStackDir(output: string): string {
  return join(output, 'stacks', CDKTF_CHAIN_STACK);
}

/**
 * Runs `npx --no-install cdktf …args` (the project's own cdktf-cli, never a download) in the project
 * `root` with the offline CLI config and `target`'s environment.
 * @default timeoutMs 900000 (a deploy takes about 2 minutes here)
 */
export function runCdktfAsync(
  root: string,
  cliConfig: string,
  target: CdktfLocalTarget,
  args: string[],
  timeoutMs = 900_000,
): Promise<TerraformRun> {
  const npxArgs = ['--no-install', 'cdktf', ...args];
  return runTerraformAsync('npx', cliConfig, root, npxArgs, timeoutMs, cdktfLocalEnv(target));
}
