/**
 * Terraform deploys an HTTP API and Kinesis streams to the local cloud: `resize-chain up` as a child
 * process, the real terraform binary and the AWS provider from the filesystem mirror, pointed at
 * `up` by `resize-chain tf-override`. The fixture holds what the module's upload API and stream
 * source create (API with CORS, $default stage with access logs and throttling, AWS_PROXY
 * integration with payload 2.0, JWT authorizer and route; a KMS-encrypted PROVISIONED stream with
 * longer retention and an ON_DEMAND one). It applies, a second plan shows no changes, the AWS CLI
 * sees the API and writes to the stream, the applied API answers as API Gateway does, and destroy
 * leaves nothing.
 *
 * Needs terraform, the provider mirror and the AWS CLI: skipped loudly without them, failing under CI=true.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { describeWhen } from '../helpers/requires';
import {
  AWS_CLI_MISSING,
  findAwsCli,
  killUp,
  putRecordArgs,
  runAws,
  startUp,
  type UpProcess,
  localFetch,
} from '../helpers/up-process';
import { findOfflineTerraform, runTerraformAsync, writeCliConfig, type TerraformRun } from '../module/terraform-cli';

const ROOT = resolve(__dirname, '..', '..');
const FIXTURE = join(ROOT, 'test', 'fixtures', 'terraform-http-api-stream', 'main.tf');
const terraform = findOfflineTerraform();
const cli = findAwsCli();
const missing = terraform.missing ?? (cli ? undefined : AWS_CLI_MISSING);

describeWhen(
  missing,
  'terraform apply / plan / destroy of an HTTP API and Kinesis streams against resize-chain up',
  () => {
    const name = `tfa-${randomBytes(3).toString('hex')}`;
    let up: UpProcess | undefined;
    let work: string;
    let cliConfig: string;
    let outputs: { api_id: string; api_endpoint: string; stream_arn: string };

    /** Runs terraform in the work folder; fails with its output unless it exits with one of `codes`. */
    async function tf(args: string[], codes: number[] = [0]): Promise<TerraformRun & { seconds: number }> {
      const started = Date.now();
      const run = await runTerraformAsync(terraform.bin!, cliConfig, work, [...args, '-no-color']);
      const seconds = Math.round((Date.now() - started) / 100) / 10;
      if (!codes.includes(run.code))
        throw new Error(
          `terraform ${args.join(' ')} exited ${run.code} after ${seconds} s:\n` +
            `${run.stderr}\n${run.stdout.slice(-6000)}`,
        );
      return { ...run, seconds };
    }
    const aws = async (args: string[]): Promise<unknown> =>
      JSON.parse(await runAws(cli!.path, up!.endpoint, [...args, '--output', 'json'], 60_000)) as unknown;
    const summary = (run: TerraformRun, pattern: RegExp): string =>
      pattern.exec(run.stdout)?.[0] ?? `(no summary line)\n${run.stdout.slice(-2000)}`;

    beforeAll(async () => {
      work = mkdtempSync(join(tmpdir(), 'irc-deploy-api-'));
      cpSync(FIXTURE, join(work, 'main.tf'));
      cliConfig = writeCliConfig(work, terraform.mirror!);
      up = await startUp();
      const written = spawnSync(
        process.execPath,
        [join(ROOT, 'dist', 'cli.js'), 'tf-override', '--dir', work, '--endpoint', up.endpoint],
        { encoding: 'utf8' },
      );
      expect({ code: written.status, stderr: written.stderr }).toEqual({ code: 0, stderr: '' });
      await tf(['init', '-input=false']);
    }, 180_000);

    afterAll(async () => {
      // Whatever a failed test left applied goes with up's in-memory state.
      await killUp(up);
      if (work) rmSync(work, { recursive: true, force: true });
    });

    test('terraform apply creates the API, its stage, routes, integration and authorizer, and both streams', async () => {
      const apply = await tf(['apply', '-auto-approve', '-input=false', '-var', `name=${name}`]);
      const line = summary(apply, /Apply complete! Resources: .*/);
      console.log(`apply: ${line} (${apply.seconds} s)`);
      expect(line).toBe('Apply complete! Resources: 10 added, 0 changed, 0 destroyed.');
      const out = await tf(['output', '-json']);
      const parsed = JSON.parse(out.stdout) as Record<string, { value: string }>;
      outputs = {
        api_id: parsed.api_id.value,
        api_endpoint: parsed.api_endpoint.value,
        stream_arn: parsed.stream_arn.value,
      };
      expect(outputs.api_endpoint).toBe(`${up!.endpoint}/_api/${outputs.api_id}`);
    }, 600_000);

    test('a second plan shows no changes (terraform plan -detailed-exitcode exits 0)', async () => {
      const plan = await tf(['plan', '-detailed-exitcode', '-input=false', '-var', `name=${name}`], [0, 2]);
      console.log(`plan: ${summary(plan, /No changes\..*|Plan: .*/)} (${plan.seconds} s)`);
      // Exit 2 means changes: the diff is shown as the failure.
      expect({ code: plan.code, diff: plan.code === 0 ? '' : plan.stdout }).toEqual({ code: 0, diff: '' });
    }, 600_000);

    test('the AWS CLI lists the API with its routes and writes to the applied streams', async () => {
      const apis = (await aws(['apigatewayv2', 'get-apis'])) as { Items: Array<Record<string, unknown>> };
      expect(apis.Items).toEqual([
        expect.objectContaining({
          ApiId: outputs.api_id,
          Name: `${name}-upload-api`,
          ProtocolType: 'HTTP',
          ApiEndpoint: outputs.api_endpoint,
          Tags: { api: 'upload', application: 'deploy-local-test' },
        }),
      ]);
      const routes = (await aws(['apigatewayv2', 'get-routes', '--api-id', outputs.api_id])) as {
        Items: Array<{ RouteKey: string; AuthorizationType: string }>;
      };
      expect(routes.Items.map((r) => `${r.RouteKey} ${r.AuthorizationType}`).sort()).toEqual([
        'POST /anonymous/uploads NONE',
        'POST /signed/uploads AWS_IAM',
        'POST /uploads JWT',
      ]);

      const put = (await aws(putRecordArgs(`${name}-uploads`, 'photo-1', '{"key":"uploads/a.jpg"}'))) as {
        ShardId: string;
        EncryptionType: string;
      };
      expect(put).toMatchObject({ ShardId: expect.stringMatching(/^shardId-00000000000[01]$/), EncryptionType: 'KMS' });
      const provisioned = (await aws(['kinesis', 'describe-stream-summary', '--stream-name', `${name}-uploads`])) as {
        StreamDescriptionSummary: Record<string, unknown>;
      };
      expect(provisioned.StreamDescriptionSummary).toMatchObject({
        StreamARN: outputs.stream_arn,
        StreamStatus: 'ACTIVE',
        StreamModeDetails: { StreamMode: 'PROVISIONED' },
        RetentionPeriodHours: 48,
        EncryptionType: 'KMS',
        KeyId: 'alias/aws/kinesis',
        OpenShardCount: 2,
      });
      const onDemand = (await aws(['kinesis', 'describe-stream-summary', '--stream-name', `${name}-events`])) as {
        StreamDescriptionSummary: Record<string, unknown>;
      };
      expect(onDemand.StreamDescriptionSummary).toMatchObject({
        StreamModeDetails: { StreamMode: 'ON_DEMAND' },
        OpenShardCount: 4,
      });
      expect(await aws(['kinesis', 'list-tags-for-stream', '--stream-name', `${name}-uploads`])).toEqual({
        Tags: [
          { Key: 'application', Value: 'deploy-local-test' },
          { Key: 'stream', Value: 'provisioned' },
        ],
        HasMoreTags: false,
      });
    }, 300_000);

    test('the applied API answers as API Gateway does: 404 off its routes, 401 on the JWT route without a token', async () => {
      const unknown = await localFetch(`${outputs.api_endpoint}/nowhere`, { method: 'POST', body: '{}' });
      expect({ status: unknown.status, body: await unknown.json() }).toEqual({
        status: 404,
        body: { message: 'Not Found' },
      });
      const noToken = await localFetch(`${outputs.api_endpoint}/uploads`, { method: 'POST', body: '{}' });
      expect({ status: noToken.status, body: await noToken.json() }).toEqual({
        status: 401,
        body: { message: 'Unauthorized' },
      });
      // The made-up function does not run here: API Gateway's answer to a failing integration.
      const anonymous = await localFetch(`${outputs.api_endpoint}/anonymous/uploads`, { method: 'POST', body: '{}' });
      expect({ status: anonymous.status, body: await anonymous.json() }).toEqual({
        status: 500,
        body: { message: 'Internal Server Error' },
      });
    }, 60_000);

    test('terraform destroy removes all 10; get-apis and list-streams show none of them', async () => {
      const destroy = await tf(['destroy', '-auto-approve', '-input=false', '-var', `name=${name}`]);
      const line = summary(destroy, /Destroy complete! Resources: .*/);
      console.log(`destroy: ${line} (${destroy.seconds} s)`);
      expect(line).toBe('Destroy complete! Resources: 10 destroyed.');
      expect(await aws(['apigatewayv2', 'get-apis'])).toEqual({ Items: [] });
      const streams = (await aws(['kinesis', 'list-streams'])) as { StreamNames: string[] };
      expect(streams.StreamNames.filter((n) => n.startsWith(name))).toEqual([]);
      expect(await aws(['logs', 'describe-log-groups', '--log-group-name-prefix', `/aws/apigateway/${name}`])).toEqual({
        logGroups: [],
      });
    }, 600_000);
  },
);
