/**
 * A Terraform configuration applied to `resize-chain up`: `up` as a child process, a fresh work
 * folder holding the fixture, an offline CLI config for the provider mirror and the override file
 * `resize-chain tf-override` writes, `terraform init` done; then terraform and the AWS CLI against it.
 * For the deploy-local tests (test/integration/deploy-local*.test.ts).
 */
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { killUp, runAws, startUp, type UpProcess } from './up-process';
import { runTerraformAsync, writeCliConfig, type TerraformRun } from '../module/terraform-cli';
import { copyTerraformFiles } from '../../src/cli/commands/deploy-local';

const ROOT = resolve(__dirname, '..', '..');

/** A terraform run with how long it took. */
export type TimedTerraformRun = TerraformRun & { seconds: number };

/** One terraform work folder: the fixture as main.tf, the CLI config, the override, its own state. */
export interface TerraformWork {
  /** The work folder (main.tf, the CLI config, the override, the state). */
  readonly work: string;
  /**
   * Runs terraform there (`-no-color` added); fails with its output unless it exits with one of `codes`.
   * @default codes [0]
   */
  tf(args: string[], codes?: number[]): Promise<TimedTerraformRun>;
}

export interface TerraformAgainstUp extends TerraformWork {
  readonly up: UpProcess;
  /** Another work folder of the same fixture against the same `up` (its own state), initialised. */
  another(): Promise<TerraformWork>;
  /** Runs the AWS CLI against `up` with `--output json` and parses what it prints ({} when it prints nothing). */
  aws(args: string[]): Promise<unknown>;
  /** The same, printed text as is (some commands print nothing). */
  awsText(args: string[]): Promise<string>;
  /** Stops `up` (what a failed test left applied goes with its in-memory state) and removes the work folders. */
  stop(): Promise<void>;
}

/** The line of `run`'s output matching `pattern` (e.g. `Apply complete! …`), else its end, to show in a failure. */
export function summaryLine(run: TerraformRun, pattern: RegExp): string {
  return pattern.exec(run.stdout)?.[0] ?? `(no summary line)\n${run.stdout.slice(-2000)}`;
}

/**
 * Starts `up` (`up --port 0 …upArgs`), prepares a work folder named from `prefix` with `fixture` (a file,
 * copied as main.tf; or a folder such as examples/terraform, its files copied with their relative module
 * sources made absolute), and runs `terraform init`.
 * @param terraform the binary and provider mirror (findOfflineTerraform)
 * @param awsCli the AWS CLI's path (findAwsCli)
 * @param upArgs more arguments of `up` @default []
 */
export async function startTerraformAgainstUp(
  fixture: string,
  prefix: string,
  terraform: { bin: string; mirror: string },
  awsCli: string,
  upArgs: string[] = [],
): Promise<TerraformAgainstUp> {
  const works: string[] = [];
  let up: UpProcess | undefined;
  const stop = async (): Promise<void> => {
    await killUp(up);
    for (const work of works) rmSync(work, { recursive: true, force: true });
  };
  const workFolder = async (endpoint: string): Promise<TerraformWork> => {
    const work = mkdtempSync(join(tmpdir(), prefix));
    works.push(work);
    if (statSync(fixture).isDirectory()) copyTerraformFiles(fixture, work);
    else cpSync(fixture, join(work, 'main.tf'));
    const cliConfig = writeCliConfig(work, terraform.mirror);
    const written = spawnSync(
      process.execPath,
      [join(ROOT, 'dist', 'cli.js'), 'tf-override', '--dir', work, '--endpoint', endpoint],
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
    await tf(['init', '-input=false']);
    return { work, tf };
  };
  try {
    up = await startUp(upArgs);
    const started: UpProcess = up;
    const awsText = (args: string[]): Promise<string> =>
      runAws(awsCli, started.endpoint, [...args, '--output', 'json'], 60_000);
    const first = await workFolder(started.endpoint);
    return {
      ...first,
      up: started,
      another: () => workFolder(started.endpoint),
      awsText,
      aws: async (args) => {
        const out = await awsText(args);
        return out.trim() === '' ? {} : (JSON.parse(out) as unknown);
      },
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
