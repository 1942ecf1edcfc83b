/**
 * A container-image Lambda function deployed to the local cloud by the real terraform and the AWS
 * provider from the filesystem mirror (test/fixtures/terraform-lambda/main.tf: role, function with
 * image_config.command, alias, permission, reserved and provisioned concurrency), then run as Lambda
 * runs it: `aws lambda invoke` starts a container of its image with the applied command and answers
 * with the handler's result. Also the deploy blockers Lambda reports: a role whose trust policy does
 * not let lambda.amazonaws.com in (CreateFunction refused with AWS's message), and an image without
 * CMD on a function without image_config.command (the invocation fails as on Lambda).
 *
 * Needs terraform, the provider mirror, the AWS CLI and Docker: skipped loudly without them, failing
 * under CI=true. Run it under `flock /tmp/irc-docker.lock` on a machine shared with other builds.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { describeWhen } from '../helpers/requires';
import { AWS_CLI_MISSING, findAwsCli, killUp, runAws, startUp, type UpProcess } from '../helpers/up-process';
import { findOfflineTerraform, runTerraformAsync, writeCliConfig, type TerraformRun } from '../module/terraform-cli';
import { waitFor } from '../helpers/wait';
import { DOCKER, ROOT, docker, ensureImages, missingDocker } from './docker';
import { SANDBOX_LABEL } from '../../src/local/cloud/lambda/container-host';

const FIXTURE = join(ROOT, 'test', 'fixtures', 'terraform-lambda', 'main.tf');
const terraform = findOfflineTerraform();
const cli = findAwsCli();
const missing = terraform.missing ?? (cli ? undefined : AWS_CLI_MISSING) ?? missingDocker();

/** Names of the running function containers whose name starts with `irc-<functionName>`. */
function functionContainers(functionName: string): string[] {
  const res = spawnSync(
    DOCKER,
    ['ps', '--filter', `label=${SANDBOX_LABEL}`, '--filter', `name=irc-${functionName}-`, '--format', '{{.Names}}'],
    { encoding: 'utf8' },
  );
  return res.stdout.split('\n').filter(Boolean);
}

describeWhen(missing, 'a container-image Lambda function: terraform apply / plan / invoke / destroy against up', () => {
  const name = `tfn-${randomBytes(3).toString('hex')}`;
  const functionName = `${name}-publish`;
  const noCmdImage = `irc-test/no-cmd:${name}`;
  let image: string;
  let up: UpProcess | undefined;
  let cliConfig: string;
  const dirs: string[] = [];
  let untrustedApply: Promise<TerraformRun> | undefined;

  /** A work folder with the fixture, the override for `up` and an initialized provider. */
  async function workDir(): Promise<string> {
    const dir = mkdtempSync(join(tmpdir(), 'irc-deploy-lambda-'));
    dirs.push(dir);
    cpSync(FIXTURE, join(dir, 'main.tf'));
    const written = spawnSync(
      process.execPath,
      [join(ROOT, 'dist', 'cli.js'), 'tf-override', '--dir', dir, '--endpoint', up!.endpoint],
      { encoding: 'utf8' },
    );
    expect({ code: written.status, stderr: written.stderr }).toEqual({ code: 0, stderr: '' });
    await tf(dir, ['init', '-input=false']);
    return dir;
  }

  /** Runs terraform in `dir`; fails with its output unless it exits with one of `codes`. */
  async function tf(dir: string, args: string[], codes: number[] = [0]): Promise<TerraformRun & { seconds: number }> {
    const started = Date.now();
    const run = await runTerraformAsync(terraform.bin!, cliConfig, dir, [...args, '-no-color']);
    const seconds = Math.round((Date.now() - started) / 100) / 10;
    if (!codes.includes(run.code))
      throw new Error(
        `terraform ${args.join(' ')} exited ${run.code} after ${seconds} s:\n${run.stderr}\n${run.stdout.slice(-6000)}`,
      );
    return { ...run, seconds };
  }
  const vars = (...extra: string[]): string[] => ['-var', `name=${name}`, '-var', `image=${image}`, ...extra];
  const aws = async (args: string[]): Promise<unknown> =>
    JSON.parse(await runAws(cli!.path, up!.endpoint, [...args, '--output', 'json'], 120_000)) as unknown;
  const summary = (run: TerraformRun, pattern: RegExp): string =>
    pattern.exec(run.stdout)?.[0] ?? `(no summary line)\n${run.stdout.slice(-2000)}`;

  /** `aws lambda invoke` with `payload`: the CLI's answer and the function's response. */
  async function invoke(fn: string, payload: unknown): Promise<{ answer: Record<string, unknown>; response: unknown }> {
    const outFile = join(dirs[0], `response-${randomBytes(3).toString('hex')}.json`);
    const answer = (await aws([
      'lambda',
      'invoke',
      '--function-name',
      fn,
      '--cli-binary-format',
      'raw-in-base64-out',
      '--payload',
      JSON.stringify(payload),
      outFile,
    ])) as Record<string, unknown>;
    return { answer, response: JSON.parse(readFileSync(outFile, 'utf8')) as unknown };
  }

  beforeAll(async () => {
    image = ensureImages(['publish']).images.publish!;
    // An image as a Dockerfile without CMD leaves it: the handler image with its CMD cleared.
    docker(['build', '-q', '-t', noCmdImage, '-'], { input: `FROM ${image}\nCMD []\n` });
    expect(docker(['image', 'inspect', '--format', '{{json .Config.Cmd}}', noCmdImage]).stdout.trim()).toMatch(
      /^(null|\[\])$/,
    );
    const configDir = mkdtempSync(join(tmpdir(), 'irc-deploy-lambda-cli-'));
    dirs.push(configDir);
    cliConfig = writeCliConfig(configDir, terraform.mirror!);
    up = await startUp();
    // The provider retries "cannot be assumed" for minutes (IAM propagation on AWS): started now, checked last.
    const untrusted = await workDir();
    untrustedApply = runTerraformAsync(terraform.bin!, cliConfig, untrusted, [
      'apply',
      '-auto-approve',
      '-input=false',
      '-no-color',
      ...['-var', `name=${name}-untrusted`, '-var', `image=${image}`, '-var', 'trusted_service=ec2.amazonaws.com'],
    ]);
  }, 900_000);

  afterAll(async () => {
    await untrustedApply;
    await killUp(up);
    docker(['image', 'rm', '-f', noCmdImage], { allowFail: true });
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  }, 900_000);

  let applied: string;

  test('terraform apply creates the role, the function, its alias, permission and provisioned concurrency', async () => {
    applied = await workDir();
    const apply = await tf(applied, ['apply', '-auto-approve', '-input=false', ...vars()]);
    const line = summary(apply, /Apply complete! Resources: .*/);
    console.log(`apply: ${line} (${apply.seconds} s)`);
    expect(line).toBe('Apply complete! Resources: 5 added, 0 changed, 0 destroyed.');
  }, 600_000);

  test('a second plan shows no changes (terraform plan -detailed-exitcode exits 0)', async () => {
    const plan = await tf(applied, ['plan', '-detailed-exitcode', '-input=false', ...vars()], [0, 2]);
    console.log(`plan: ${summary(plan, /No changes\..*|Plan: .*/)} (${plan.seconds} s)`);
    expect({ code: plan.code, diff: plan.code === 0 ? '' : plan.stdout }).toEqual({ code: 0, diff: '' });
  }, 600_000);

  test('the AWS CLI reads the function as applied: image, command, concurrency, policy', async () => {
    const fn = (await aws(['lambda', 'get-function', '--function-name', functionName])) as {
      Configuration: Record<string, unknown>;
      Code: Record<string, unknown>;
      Concurrency: unknown;
      Tags: unknown;
    };
    expect(fn.Configuration).toMatchObject({
      PackageType: 'Image',
      State: 'Active',
      LastUpdateStatus: 'Successful',
      MemorySize: 256,
      Timeout: 20,
      ImageConfigResponse: { ImageConfig: { Command: ['publish.handler'] } },
      Environment: { Variables: { OUTPUT_BUCKET: `${name}-output` } },
      EphemeralStorage: { Size: 1024 },
    });
    expect(fn.Code.ImageUri).toBe(image);
    expect(fn.Concurrency).toEqual({ ReservedConcurrentExecutions: 2 });
    expect(fn.Tags).toEqual({ stage: 'deploy-lambda-local-test' });
    const alias = await aws(['lambda', 'get-alias', '--function-name', functionName, '--name', 'live']);
    expect(alias).toMatchObject({ Name: 'live', FunctionVersion: '1' });
    const { Policy } = (await aws(['lambda', 'get-policy', '--function-name', functionName])) as { Policy: string };
    expect(JSON.parse(Policy)).toMatchObject({
      Statement: [{ Sid: 'AllowBucketInvoke', Principal: { Service: 's3.amazonaws.com' } }],
    });
  }, 300_000);

  test('aws lambda invoke runs the image with the applied command and answers with the handler result', async () => {
    const { answer, response } = await invoke(`${functionName}:live`, { Records: [] });
    expect(answer).toMatchObject({ StatusCode: 200, ExecutedVersion: '1' });
    expect(answer.FunctionError).toBeUndefined();
    // The publish handler's answer to an empty SQS batch.
    expect(response).toEqual({ batchItemFailures: [] });
  }, 300_000);

  test('an image without CMD on a function without image_config.command: the invocation fails as on Lambda', async () => {
    const dir = await workDir();
    const broken = `${name}-nocmd`;
    const args = ['-var', `name=${broken}`, '-var', `image=${noCmdImage}`, '-var', 'command=[]'];
    // Lambda accepts such a function; only its invocations fail.
    await tf(dir, ['apply', '-auto-approve', '-input=false', ...args]);
    const { answer, response } = await invoke(`${broken}-publish`, { Records: [] });
    expect(answer).toMatchObject({ StatusCode: 200, FunctionError: 'Unhandled' });
    // The image's entrypoint exits at once without a handler: the runtime never comes up.
    expect(response).toMatchObject({ errorType: 'Runtime.ExitError' });
    expect((response as { errorMessage: string }).errorMessage).toMatch(/exit status 142/);
    await tf(dir, ['destroy', '-auto-approve', '-input=false', ...args]);
  }, 600_000);

  test('a role whose trust policy does not let lambda.amazonaws.com in: apply fails with AWS message', async () => {
    const run = await untrustedApply!;
    expect(run.code).toBe(1);
    expect(`${run.stdout}\n${run.stderr}`).toContain(
      'InvalidParameterValueException: The role defined for the function cannot be assumed by Lambda.',
    );
  }, 900_000);

  test('terraform destroy removes all 5 and stops the function containers; list-functions shows none', async () => {
    const destroy = await tf(applied, ['destroy', '-auto-approve', '-input=false', ...vars()]);
    const line = summary(destroy, /Destroy complete! Resources: .*/);
    console.log(`destroy: ${line} (${destroy.seconds} s)`);
    expect(line).toBe('Destroy complete! Resources: 5 destroyed.');
    const { Functions } = (await aws(['lambda', 'list-functions'])) as { Functions: Array<{ FunctionName: string }> };
    expect(Functions.map((f) => f.FunctionName).filter((n) => n.startsWith(name))).toEqual([]);
    await waitFor(
      `no container of ${functionName} running`,
      () => functionContainers(functionName).length === 0,
      30_000,
    );
  }, 600_000);

  test('stopping up ends the containers of a function created and invoked with the AWS CLI', async () => {
    const fn = `${name}-cli`;
    await aws([
      'iam',
      'create-role',
      '--role-name',
      fn,
      '--assume-role-policy-document',
      JSON.stringify({
        Version: '2012-10-17',
        Statement: [{ Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' }],
      }),
    ]);
    await aws([
      'lambda',
      'create-function',
      '--function-name',
      fn,
      '--package-type',
      'Image',
      '--code',
      `ImageUri=${image}`,
      '--role',
      `arn:aws:iam::000000000000:role/${fn}`,
      '--environment',
      `Variables={OUTPUT_BUCKET=${fn}-output}`,
      // The default 3 s covers the first event's load of sharp and the SDK at the 128 MB CPU share (0.07 CPU) only
      // on an idle machine; this test is about the containers up stops, not that margin.
      '--timeout',
      '30',
    ]);
    const { response } = await invoke(fn, { Records: [] });
    expect(response).toEqual({ batchItemFailures: [] });
    expect(functionContainers(fn).length).toBeGreaterThan(0);
    await killUp(up);
    await waitFor(`no container of ${fn} running after up stopped`, () => functionContainers(fn).length === 0, 30_000);
  }, 300_000);
});
