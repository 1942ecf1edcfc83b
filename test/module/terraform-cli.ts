/**
 * Runs the Terraform CLI offline for tests: finds the binary and the AWS provider mirror, writes
 * a CLI config that installs providers only from that mirror, and adds mock credentials.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { terraformEnv, writeCliConfig, type TerraformRun } from '../../src/local/terraform-cli';

export {
  AWS_PROVIDER_VERSION,
  findOfflineTerraform,
  findProviderMirror,
  findTerraform,
  runTerraformAsync,
  writeCliConfig,
  type TerraformRun,
} from '../../src/local/terraform-cli';

/** An override file giving the aws provider mock credentials and no AWS calls at plan time. */
export function writeMockCredentials(dir: string): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(dir, 'zz_mock_credentials_override.tf.json'),
    JSON.stringify({
      provider: {
        aws: [
          {
            access_key: 'mock-access-key',
            secret_key: 'mock-secret-key',
            skip_credentials_validation: true,
            skip_requesting_account_id: true,
            skip_metadata_api_check: true,
            skip_region_validation: true,
          },
        ],
      },
    }),
  );
}

/** Runs terraform in `cwd` with only the offline CLI config and no ambient AWS configuration. */
export function runTerraform(bin: string, cliConfig: string, cwd: string, args: string[]): TerraformRun {
  const res = spawnSync(bin, [...args], {
    cwd,
    env: terraformEnv(cliConfig),
    encoding: 'utf8',
    timeout: 180000,
    maxBuffer: 64 * 1024 * 1024,
  });
  return {
    code: res.status ?? -1,
    stdout: res.stdout ?? '',
    stderr: `${res.stderr ?? ''}${res.error ? String(res.error) : ''}`,
  };
}

/** runTerraform's stdout; throws with its exit code, stderr and the end of its stdout when it fails. */
export function runTerraformOrThrow(bin: string, cliConfig: string, cwd: string, args: string[]): string {
  const run = runTerraform(bin, cliConfig, cwd, args);
  if (run.code !== 0)
    throw new Error(`terraform ${args.join(' ')} failed (${run.code}):\n${run.stderr}\n${run.stdout.slice(-4000)}`);
  return run.stdout;
}

/** A fresh temporary directory (named from `prefix`) holding an offline CLI config for `mirror`. */
export function offlineWorkDir(prefix: string, mirror: string): { work: string; cli: string } {
  const work = mkdtempSync(join(tmpdir(), prefix));
  return { work, cli: writeCliConfig(work, mirror) };
}
