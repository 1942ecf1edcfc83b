/**
 * A Terraform configuration applied to `resize-chain up`: `up` as a child process, a fresh work
 * folder holding the fixture, an offline CLI config for the provider mirror and the override file
 * `resize-chain tf-override` writes, `terraform init` done; then terraform and the AWS CLI against it.
 * For the deploy-local tests (test/integration/deploy-local*.test.ts).
 */
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { copyExample } from '../../src/cli/commands/deploy-local';
import { killUp, runAws, startUp, type UpProcess } from './up-process';
import { runTerraformAsync, writeCliConfig, type TerraformRun } from '../module/terraform-cli';

const ROOT = resolve(__dirname, '..', '..');

/** A terraform run with how long it took. */
export type TimedTerraformRun = TerraformRun & { seconds: number };

export interface TerraformAgainstUp {
  readonly up: UpProcess;
  /** The work folder (main.tf, the CLI config, the override, the state). */
  readonly work: string;
  /**
   * Runs terraform there (`-no-color` added); fails with its output unless it exits with one of `codes`.
   * @default codes [0]
   */
  tf(args: string[], codes?: number[]): Promise<TimedTerraformRun>;
  /** Runs the AWS CLI against `up` with `--output json` and parses what it prints. */
  aws(args: string[]): Promise<unknown>;
  /** The same, printed text as is (some commands print nothing). */
  awsText(args: string[]): Promise<string>;
  /** Stops `up` (what a failed test left applied goes with its in-memory state) and removes the work folder. */
  stop(): Promise<void>;
}

/** The line of `run`'s output matching `pattern` (e.g. `Apply complete! …`), else its end, to show in a failure. */
export function summaryLine(run: TerraformRun, pattern: RegExp): string {
  return pattern.exec(run.stdout)?.[0] ?? `(no summary line)\n${run.stdout.slice(-2000)}`;
}

/**
 * Starts `up` (with `upArgs`), prepares a work folder named from `prefix` with `fixture` as main.tf
 * (or, when `fixture` is a folder such as examples/terraform-full, its .tf files with their relative
 * module sources pointed at the repository, as deploy-local copies an example), and runs `terraform init`.
 * @param terraform the binary and provider mirror (findOfflineTerraform)
 * @param awsCli the AWS CLI's path (findAwsCli)
 * @param upArgs more arguments of `up` @default none
 */
export async function startTerraformAgainstUp(
  fixture: string,
  prefix: string,
  terraform: { bin: string; mirror: string },
  awsCli: string,
  upArgs: string[] = [],
): Promise<TerraformAgainstUp> {
  const work = mkdtempSync(join(tmpdir(), prefix));
  if (statSync(fixture).isDirectory()) copyExample(ROOT, { dir: relative(ROOT, fixture) }, work);
  else cpSync(fixture, join(work, 'main.tf'));
  const cliConfig = writeCliConfig(work, terraform.mirror);
  let up: UpProcess | undefined;
  const stop = async (): Promise<void> => {
    await killUp(up);
    rmSync(work, { recursive: true, force: true });
  };
  try {
    up = await startUp(upArgs);
    const started: UpProcess = up;
    const written = spawnSync(
      process.execPath,
      [join(ROOT, 'dist', 'cli.js'), 'tf-override', '--dir', work, '--endpoint', started.endpoint],
      { encoding: 'utf8' },
    );
    if (written.status !== 0 || written.stderr !== '')
      throw new Error(`resize-chain tf-override exited ${written.status}: ${written.stderr}`);
    const tf = async (args: string[], codes: number[] = [0]): Promise<TimedTerraformRun> => {
      const begun = Date.now();
      const run = await runTerraformAsync(terraform.bin, cliConfig, work, [...args, '-no-color']);
      const seconds = Math.round((Date.now() - begun) / 100) / 10;
      if (!codes.includes(run.code))
        throw new Error(
          `terraform ${args.join(' ')} exited ${run.code} after ${seconds} s:\n` +
            `${run.stderr}\n${run.stdout.slice(-6000)}`,
        );
      return { ...run, seconds };
    };
    const awsText = (args: string[]): Promise<string> =>
      runAws(awsCli, started.endpoint, [...args, '--output', 'json'], 60_000);
    await tf(['init', '-input=false']);
    return {
      up: started,
      work,
      tf,
      awsText,
      aws: async (args) => JSON.parse(await awsText(args)) as unknown,
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
