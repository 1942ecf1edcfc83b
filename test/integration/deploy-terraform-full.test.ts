/**
 * examples/terraform-full deployed to the local cloud end to end, as a user would deploy it to AWS:
 * one bare `resize-chain up` (IAM enforced, over TLS, as the module's policies require), the real
 * terraform binary and the AWS provider from the mirror, one apply shared by the tests below. After
 * the apply a second plan shows no changes; provisioned concurrency reads READY and its sandboxes run
 * before the first invoke; the applied HTTP API hands out a presigned POST that a real multipart
 * upload uses, and the chain writes every variant and the manifest; an AWS CLI `kinesis put-record`
 * naming that image has it resized again through the stream source; the keep-warm rule invokes the
 * upload function; and after `terraform destroy` no list API shows anything of the deployment. The
 * apply/plan/destroy summary lines and their durations are printed.  Needs terraform, the provider
 * mirror, the AWS CLI and Docker (the functions run as containers): skipped loudly without them,
 * failing under CI=true.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { EXAMPLES, sampleImage } from '../../src/cli/commands/deploy-local';
import { dockerAvailable, dockerClient } from '../../src/local/cloud/lambda/container-host';
import { CONTAINER_HOST_ALIAS, dockerBridgeAddress } from '../../src/local/cloud/lambda/docker-run';
import { manifestKey, variantKey } from '../../src/core/keys';
import { DEFAULT_VARIANTS } from '../../src/core/variants';
import { describeWhen } from '../helpers/requires';
import { startTerraformAgainstUp, summaryLine as summary, type TerraformAgainstUp } from '../helpers/terraform-up';
import { AWS_CLI_MISSING, findAwsCli, localFetch, putRecordArgs } from '../helpers/up-process';
import { localCaPath } from '../../src/local/local-tls';
import { waitFor } from '../helpers/wait';
import { findOfflineTerraform } from '../module/terraform-cli';

const ROOT = resolve(__dirname, '..', '..');
const EXAMPLE = EXAMPLES['terraform-full'];
const terraform = findOfflineTerraform();
const cli = findAwsCli();
const missing =
  terraform.missing ??
  (cli ? undefined : AWS_CLI_MISSING) ??
  (dockerAvailable() ? undefined : 'Docker not available (the functions run as containers)');

/** The example's name prefix (locals.name_prefix in its main.tf). */
const PREFIX = 'media';
const RESIZE_FUNCTION = `${PREFIX}-resize`;
const UPLOAD_FUNCTION = `${PREFIX}-upload`;
const KEEP_WARM_RULE = `${PREFIX}-upload-keep-warm`;
const OUTPUT_PREFIX = 'images/';

/** Every key the chain writes for `source`: the default variants and the manifest. */
const outputKeys = (source: string): string[] =>
  [...DEFAULT_VARIANTS.map((v) => variantKey(source, OUTPUT_PREFIX, v)), manifestKey(source, OUTPUT_PREFIX)].sort();

/** The lines of `file` (JSON lines that `up --logs` writes), parsed; none while it does not exist. */
function jsonLines(file: string): Array<Record<string, unknown>> {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

/**
 * POSTs `form` (multipart, as a browser sends it) to `url`. The upload function runs in a container
 * and signs with the endpoint it reaches, `host.docker.internal:<port>` (a forwarder on Docker's
 * bridge address): that name is resolved here to the bridge address, as an /etc/hosts entry (or
 * Docker Desktop) does, and the URL and its Host header stay as signed.
 */
async function postForm(url: string, form: FormData): Promise<{ status: number; body: string }> {
  const encoded = new Response(form);
  const body = Buffer.from(await encoded.arrayBuffer());
  const target = new URL(url);
  const address = target.hostname === CONTAINER_HOST_ALIAS ? dockerBridgeAddress() : target.hostname;
  // Over TLS the certificate names host.docker.internal (SNI and the name checked), not the bridge address.
  const tls = target.protocol === 'https:' ? { ca: readFileSync(localCaPath()), servername: target.hostname } : {};
  const send = target.protocol === 'https:' ? httpsRequest : request;
  return new Promise((done, fail) => {
    const req = send(
      {
        ...tls,
        host: address,
        port: target.port,
        path: `${target.pathname}${target.search}`,
        method: 'POST',
        headers: {
          host: target.host,
          'content-type': encoded.headers.get('content-type') ?? '',
          'content-length': body.length,
        },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
        res.on('end', () => done({ status: res.statusCode ?? 0, body: text }));
      },
    );
    req.once('error', fail);
    req.end(body);
  });
}

describeWhen(missing, 'examples/terraform-full deployed to resize-chain up (terraform apply, plan, destroy)', () => {
  const vars = Object.entries(EXAMPLE.vars({})).flatMap(([k, v]) => ['-var', `${k}=${v}`]);
  const logs = mkdtempSync(join(tmpdir(), 'irc-deploy-full-logs-'));
  let deploy: TerraformAgainstUp;
  let outputs: { source: string; output: string; api: string; stream: string };
  /** The key the presigned POST gave, once uploaded. */
  let uploadedKey: string | undefined;
  const aws = (args: string[]): Promise<unknown> => deploy.aws(args);
  /** The AWS CLI's answer; {} when it prints nothing (as it does for some empty lists). */
  const answer = async (args: string[]): Promise<Record<string, unknown>> => {
    const printed = (await deploy.awsText(args)).trim();
    return printed === '' ? {} : (JSON.parse(printed) as Record<string, unknown>);
  };

  /** The keys of the output bucket under `source`'s output folder. */
  async function outputsOf(source: string): Promise<string[]> {
    const prefix = manifestKey(source, OUTPUT_PREFIX).replace(/manifest\.json$/, '');
    const listed = (await answer(['s3api', 'list-objects-v2', '--bucket', outputs.output, '--prefix', prefix])) as {
      Contents?: Array<{ Key: string }>;
    };
    return (listed.Contents ?? []).map((o) => o.Key).sort();
  }

  /** Names of what the deployment holds, per list API (filtered by the example's prefix). */
  async function deploymentListing(): Promise<Record<string, string[]>> {
    const ours = (names: Array<string | undefined>): string[] =>
      names.filter((n): n is string => typeof n === 'string' && n.includes(PREFIX)).sort();
    type Named = Array<Record<string, string | undefined>>;
    const field = (answer: Record<string, unknown>, list: string, name: string): Array<string | undefined> =>
      ((answer[list] as Named | undefined) ?? []).map((item) => item[name]);
    return {
      buckets: ours(field(await answer(['s3api', 'list-buckets']), 'Buckets', 'Name')),
      queues: ours((((await answer(['sqs', 'list-queues'])).QueueUrls as string[] | undefined) ?? []).slice()),
      functions: ours(field(await answer(['lambda', 'list-functions']), 'Functions', 'FunctionName')),
      mappings: ours(
        field(await answer(['lambda', 'list-event-source-mappings']), 'EventSourceMappings', 'FunctionArn'),
      ),
      roles: ours(field(await answer(['iam', 'list-roles']), 'Roles', 'RoleName')),
      logGroups: ours(field(await answer(['logs', 'describe-log-groups']), 'logGroups', 'logGroupName')),
      rules: ours(field(await answer(['events', 'list-rules']), 'Rules', 'Name')),
      apis: ours(field(await answer(['apigatewayv2', 'get-apis']), 'Items', 'Name')),
      streams: ours(((await answer(['kinesis', 'list-streams'])).StreamNames as string[] | undefined) ?? []),
      repositories: ours(field(await answer(['ecr', 'describe-repositories']), 'repositories', 'repositoryName')),
      alarms: ours(field(await answer(['cloudwatch', 'describe-alarms']), 'MetricAlarms', 'AlarmName')),
      topics: ours(field(await answer(['sns', 'list-topics']), 'Topics', 'TopicArn')),
    };
  }

  beforeAll(async () => {
    const found = { bin: terraform.bin!, mirror: terraform.mirror! };
    const upArgs = ['--bare', '--logs', logs];
    deploy = await startTerraformAgainstUp(join(ROOT, EXAMPLE.dir), 'irc-deploy-full-', found, cli!.path, upArgs);
  }, 180_000);

  afterAll(async () => {
    // Whatever a failed test left applied goes with up's in-memory state and its containers.
    await deploy?.stop();
    rmSync(logs, { recursive: true, force: true });
  });

  test('terraform apply creates all 88 resources of the example', async () => {
    const apply = await deploy.tf(['apply', '-auto-approve', '-input=false', ...vars]);
    const line = summary(apply, /Apply complete! Resources: .*/);
    console.log(`terraform-full apply: ${line} (${apply.seconds} s)`);
    expect(line).toBe('Apply complete! Resources: 88 added, 0 changed, 0 destroyed.');
    const parsed = JSON.parse((await deploy.tf(['output', '-json'])).stdout) as Record<string, { value: string }>;
    outputs = {
      source: parsed.source_bucket_name.value,
      output: parsed.output_bucket_name.value,
      api: parsed.upload_api_url.value,
      stream: parsed.stream_name.value,
    };
    expect(outputs).toMatchObject({ api: expect.stringMatching(/^https:\/\/127\.0\.0\.1:\d+\/_api\/\w+$/) as string });
  }, 600_000);

  test('a second plan shows no changes (terraform plan -detailed-exitcode exits 0)', async () => {
    const plan = await deploy.tf(['plan', '-detailed-exitcode', '-input=false', ...vars], [0, 2]);
    console.log(`terraform-full plan: ${summary(plan, /No changes\..*|Plan: .*/)} (${plan.seconds} s)`);
    expect({ code: plan.code, diff: plan.code === 0 ? '' : plan.stdout }).toEqual({ code: 0, diff: '' });
  }, 600_000);

  test('provisioned concurrency of the live alias reads READY, and its 2 sandboxes run before the first invoke', async () => {
    const config = await aws([
      'lambda',
      'get-provisioned-concurrency-config',
      '--function-name',
      RESIZE_FUNCTION,
      '--qualifier',
      'live',
    ]);
    expect(config).toMatchObject({
      RequestedProvisionedConcurrentExecutions: 2,
      AllocatedProvisionedConcurrentExecutions: 2,
      Status: 'READY',
    });
    // The provisioned sandboxes of version 1 (the alias) are the only ones of resize: every invoke
    // (the S3 test event the notification sent, then the uploads and records below) lands on them.
    const starts = jsonLines(join(logs, 'lambda.log')).filter(
      (l) => l.event === 'lambda.sandboxes_starting' && l.function === RESIZE_FUNCTION,
    );
    expect(starts).toEqual([expect.objectContaining({ version: '1', sandboxes: 2 })]);
    const running = await waitFor('the provisioned resize containers', () => {
      const ps = spawnSync(
        dockerClient(),
        ['ps', '--filter', 'label=image-resize-chain.sandbox', '--filter', `name=irc-${RESIZE_FUNCTION}-`, '-q'],
        { encoding: 'utf8' },
      );
      const ids = ps.stdout.split('\n').filter(Boolean);
      return ids.length === 2 ? ids : undefined;
    });
    expect(running).toHaveLength(2);
    expect(jsonLines(join(logs, 'lambda.log')).filter((l) => l.event === 'lambda.provisioned_started')).toEqual([
      expect.objectContaining({ function: RESIZE_FUNCTION, qualifier: 'live', sandboxes: 2 }),
    ]);
  }, 120_000);

  test('the keep-warm rule and its two targets exist as applied; moved to rate(1 minute) so its first firing comes soon', async () => {
    expect(await aws(['events', 'describe-rule', '--name', KEEP_WARM_RULE])).toMatchObject({
      Name: KEEP_WARM_RULE,
      ScheduleExpression: 'rate(5 minutes)',
      State: 'ENABLED',
    });
    const targets = (await aws(['events', 'list-targets-by-rule', '--rule', KEEP_WARM_RULE])) as {
      Targets: Array<{ Id: string; Arn: string; Input: string }>;
    };
    expect(targets.Targets.map((t) => [t.Id, t.Arn.split(':').pop(), t.Input]).sort()).toEqual([
      ['keep-warm-1', UPLOAD_FUNCTION, '{"source":"resize-chain.keep-warm"}'],
      ['keep-warm-2', UPLOAD_FUNCTION, '{"source":"resize-chain.keep-warm"}'],
    ]);
    // A rate rule first fires one period after its schedule was put: the applied rate(5 minutes)
    // would hold the run five minutes, so the schedule is put again at EventBridge's shortest rate.
    await deploy.awsText([
      'events',
      'put-rule',
      '--name',
      KEEP_WARM_RULE,
      '--schedule-expression',
      'rate(1 minute)',
      '--description',
      `Keeps ${PREFIX}-upload environments initialised`,
    ]);
  }, 120_000);

  test('the HTTP API hands out a presigned POST; a multipart upload with it yields all variants and the manifest', async () => {
    const image = await sampleImage();
    // This is the upload function's first invoke: its cold start under arm64 emulation (about 7 s of
    // init, then the first request) can exceed the route's 10 s integration timeout, which API
    // Gateway answers 503, as on AWS. A client asks again, as ours does.
    const asked = await waitFor(
      'an answer of the upload API other than 503',
      async () => {
        const answer = await localFetch(`${outputs.api}/uploads`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ filename: 'holiday.jpg', contentType: 'image/jpeg', size: image.length }),
        });
        return answer.status === 503 ? undefined : answer;
      },
      120_000,
      1000,
    );
    const signed = (await asked.json()) as { url: string; fields: Record<string, string>; key: string };
    expect({ status: asked.status, key: signed.key }).toEqual({
      status: 201,
      key: expect.stringMatching(/^uploads\/.+\.jpg$/) as string,
    });
    const form = new FormData();
    for (const [name, value] of Object.entries(signed.fields)) form.append(name, value);
    form.append('file', new Blob([image], { type: 'image/jpeg' }), 'holiday.jpg');
    console.log(`terraform-full presigned POST to ${signed.url} (fields: ${Object.keys(signed.fields).join(', ')})`);
    expect(await postForm(signed.url, form)).toEqual({ status: 204, body: '' });
    uploadedKey = signed.key;
    const written = await waitFor(
      `the variants and manifest of ${signed.key}`,
      async () => {
        const keys = await outputsOf(signed.key);
        return keys.length === outputKeys(signed.key).length ? keys : undefined;
      },
      180_000,
      1000,
    );
    expect(written).toEqual(outputKeys(signed.key));
  }, 240_000);

  test('an AWS CLI kinesis put-record naming the uploaded image has it resized again through the stream source', async () => {
    const key = uploadedKey!;
    // Remove what the upload produced, so what appears now comes from the stream record.
    for (const written of await outputsOf(key))
      await deploy.awsText(['s3api', 'delete-object', '--bucket', outputs.output, '--key', written]);
    expect(await outputsOf(key)).toEqual([]);
    const put = (await aws(putRecordArgs(outputs.stream, key, JSON.stringify({ bucket: outputs.source, key })))) as {
      ShardId: string;
    };
    expect(put.ShardId).toMatch(/^shardId-00000000000[01]$/);
    const written = await waitFor(
      `the variants and manifest of ${key} again`,
      async () => {
        const keys = await outputsOf(key);
        return keys.length === outputKeys(key).length ? keys : undefined;
      },
      180_000,
      1000,
    );
    expect(written).toEqual(outputKeys(key));
  }, 240_000);

  test('the keep-warm rule invokes its targets: EventBridge delivers both pings to the upload function, which answers', async () => {
    const delivered = await waitFor(
      'both keep-warm deliveries',
      () => {
        const lines = jsonLines(join(logs, 'cloud.log')).filter(
          (l) => l.event === 'events.delivered' && l.rule === KEEP_WARM_RULE,
        );
        return lines.length >= 2 ? lines : undefined;
      },
      150_000,
      1000,
    );
    expect(delivered.slice(0, 2)).toEqual([
      expect.objectContaining({ target: expect.stringContaining(`:function:${UPLOAD_FUNCTION}`) as string }),
      expect.objectContaining({ target: expect.stringContaining(`:function:${UPLOAD_FUNCTION}`) as string }),
    ]);
  }, 180_000);

  test('terraform destroy removes all 88; no list API shows anything of the deployment', async () => {
    const before = await deploymentListing();
    // What each list shows while applied, so that the empty lists after destroy mean something.
    for (const [api, names] of Object.entries(before))
      if (api !== 'repositories') expect({ api, shown: names.length > 0 }).toEqual({ api, shown: true });
    // S3 refuses to delete a bucket holding objects, and the module's buckets are not force_destroy.
    for (const bucket of [outputs.source, outputs.output])
      await deploy.awsText(['s3', 'rm', `s3://${bucket}`, '--recursive']);
    const destroy = await deploy.tf(['destroy', '-auto-approve', '-input=false', ...vars]);
    const line = summary(destroy, /Destroy complete! Resources: .*/);
    console.log(`terraform-full destroy: ${line} (${destroy.seconds} s)`);
    expect(line).toBe('Destroy complete! Resources: 88 destroyed.');
    const after = await deploymentListing();
    expect(after).toEqual(Object.fromEntries(Object.keys(before).map((api) => [api, []])));
  }, 600_000);
});
