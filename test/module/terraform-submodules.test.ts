/**
 * The plain module's optional features, with the real terraform binary offline (as terraform.test.ts):
 * examples/terraform-full (provisioned concurrency, the upload-api submodule with keep-warm, the
 * stream-source submodule) must validate and plan exactly the resources the modules declare, the
 * plan-time choices (counts) must follow the variables, and bad variables must be refused at plan time.
 *
 * Without terraform or the provider mirror these tests skip with a warning, except under CI=true.
 */
import { cpSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { PLAIN_MODULE_FILES, renderPlainModules, writePlainModules } from '../../scripts/synth-module';
import { FULL_EXAMPLE_IMAGE_VARS, TfJson, countedResourceAddresses, resourceAddresses } from './synth';
import { describeWhen } from '../helpers/requires';
import {
  findOfflineTerraform,
  runTerraform,
  writeMockCredentials,
  runTerraformOrThrow,
  offlineWorkDir,
} from './terraform-cli';

const ROOT = resolve(__dirname, '..', '..');
const terraform = findOfflineTerraform();

/** Module block name in examples/terraform-full -> file of PLAIN_MODULE_FILES it uses. */
const MODULES = {
  image_resize_chain: 'main.tf.json',
  upload_api: 'modules/upload-api/main.tf.json',
  stream_source: 'modules/stream-source/main.tf.json',
} as const;

/** The stream-source resources that exist only when the submodule creates its failure queue. */
const STREAM_FAILURE_QUEUE_RESOURCES = [
  'aws_sqs_queue.stream_source_stream_failures_queue',
  'aws_sqs_queue.stream_source_stream_failures_dlq',
  'aws_sqs_queue_policy.stream_source_stream_failures_policy',
  'aws_sqs_queue_policy.stream_source_stream_failures_dlq_policy',
  'aws_sqs_queue_redrive_allow_policy.stream_source_stream_failures_dlq_redrive_allow_policy',
  'aws_cloudwatch_metric_alarm.stream_source_stream_failures_alarm',
  'aws_cloudwatch_metric_alarm.stream_source_stream_failures_dlq_depth_alarm',
];

test('synth:module writes the main module and both submodules', () => {
  expect(Object.keys(PLAIN_MODULE_FILES).sort()).toEqual(Object.values(MODULES).sort());
});

test('the upload function environment and the stream mapping are driven by the submodule variables', () => {
  const rendered = renderPlainModules();
  const upload = JSON.parse(rendered[MODULES.upload_api]) as TfJson;
  const fn = Object.values(upload.resource?.aws_lambda_function ?? {})[0] as {
    environment: { variables: Record<string, string> };
  };
  expect(fn.environment.variables).toEqual({
    SOURCE_BUCKET: '${var.source_bucket_name}',
    UPLOADS_PREFIX: '${var.uploads_prefix}',
    ALLOWED_CONTENT_TYPES: '${join(",", var.allowed_content_types)}',
    MAX_UPLOAD_BYTES: '${var.max_upload_bytes}',
    UPLOAD_EXPIRES_SECONDS: '${var.expires_seconds}',
    LOG_LEVEL: '${var.log_level}',
  });
  const stream = JSON.parse(rendered[MODULES.stream_source]) as TfJson;
  const mapping = Object.values(stream.resource?.aws_lambda_event_source_mapping ?? {})[0];
  expect(mapping.function_name).toBe('${var.resize_invoke_target_arn}');
  expect(Object.values(stream.resource?.aws_iam_role_policy ?? {})[0].role).toBe('${var.resize_role_name}');
  // The main module hands over the alias (with provisioned concurrency) and waits for its environments.
  const main = JSON.parse(rendered[MODULES.image_resize_chain]) as TfJson & {
    output: Record<string, { value: string; depends_on?: string[] }>;
  };
  expect(main.output.resize_invoke_target_arn).toMatchObject({
    value:
      '${(var.resize_provisioned_concurrency >= 1) ? aws_lambda_alias.chain_resize_alias[0].arn : ' +
      'aws_lambda_function.chain_resize_function.arn}',
    depends_on: ['aws_lambda_provisioned_concurrency_config.chain_resize_provisioned_concurrency'],
  });
});

interface PlannedChange {
  address: string;
  change: { actions: string[]; after?: Record<string, unknown> };
}

describeWhen(terraform.missing, 'offline terraform: examples/terraform-full', () => {
  let work: string;
  let cli: string;
  let example: string;
  let docs: Record<keyof typeof MODULES, TfJson>;

  const tf = (args: string[]): string => runTerraformOrThrow(terraform.bin!, cli, example, args);

  /** plan -out + show -json: the planned changes and the summary line. */
  function plan(): { changes: PlannedChange[]; created: string[]; summary: string } {
    const out = tf(['plan', '-input=false', '-no-color', '-lock=false', '-out=tfplan', ...FULL_EXAMPLE_IMAGE_VARS]);
    const summary = /Plan: .*/.exec(out)?.[0] ?? '';
    console.log(`examples/terraform-full: ${summary}`);
    const changes = (JSON.parse(tf(['show', '-json', 'tfplan'])) as { resource_changes: PlannedChange[] })
      .resource_changes;
    return {
      changes,
      summary,
      created: changes.filter((c) => c.change.actions.includes('create')).map((c) => c.address),
    };
  }

  /** Every resource of a module without `count`, plus the counted ones named in `on` (as `<address>[0]`). */
  function expectedOf(module: keyof typeof MODULES, on: string[]): string[] {
    const doc = docs[module];
    const counted = countedResourceAddresses(doc);
    for (const address of on)
      expect({ address, counted: counted.includes(address) }).toEqual({ address, counted: true });
    return resourceAddresses(doc)
      .filter((a) => !counted.includes(a))
      .concat(on.map((a) => `${a}[0]`))
      .map((a) => `module.${module}.${a}`);
  }

  /** Runs `body` with an override file in the example (module arguments replaced), then removes it. */
  function withOverride<T>(hcl: string, body: () => T): T {
    const file = join(example, 'zz_test_override.tf');
    writeFileSync(file, hcl);
    try {
      return body();
    } finally {
      rmSync(file);
      rmSync(join(example, 'tfplan'), { force: true });
    }
  }

  beforeAll(() => {
    ({ work, cli } = offlineWorkDir('irc-tf-sub-', terraform.mirror!));
    // The modules rendered fresh from the constructs, where the example's relative sources expect them.
    writePlainModules(join(work, 'modules', 'terraform', 'image-resize-chain'));
    const rendered = renderPlainModules();
    docs = {
      image_resize_chain: JSON.parse(rendered[MODULES.image_resize_chain]) as TfJson,
      upload_api: JSON.parse(rendered[MODULES.upload_api]) as TfJson,
      stream_source: JSON.parse(rendered[MODULES.stream_source]) as TfJson,
    };
    example = join(work, 'examples', 'terraform-full');
    cpSync(join(ROOT, 'examples', 'terraform-full', 'main.tf'), join(example, 'main.tf'));
    writeMockCredentials(example);
    tf(['init', '-input=false', '-no-color']);
  });

  afterAll(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  test(
    'validates, and plans the chain with a provisioned live alias, ' +
      'the upload API with two keep-warm pings, and the stream source',
    () => {
      expect(tf(['validate', '-no-color'])).toContain('Success! The configuration is valid.');
      const { created, changes, summary } = plan();
      const expected = [
        ...expectedOf('image_resize_chain', [
          'aws_lambda_alias.chain_resize_alias',
          'aws_lambda_provisioned_concurrency_config.chain_resize_provisioned_concurrency',
        ]),
        ...expectedOf('upload_api', [
          'aws_cloudwatch_event_rule.upload_api_keep_warm_rule',
          'aws_cloudwatch_event_target.upload_api_keep_warm_target_1',
          'aws_cloudwatch_event_target.upload_api_keep_warm_target_2',
          'aws_lambda_permission.upload_api_keep_warm_permission',
        ]),
        // The failure queue, its DLQ and their alarms (count: on_failure_destination_arn is "").
        ...expectedOf('stream_source', STREAM_FAILURE_QUEUE_RESOURCES),
        'aws_sns_topic.alarms',
        'aws_kms_key.alarms',
      ];
      expect(created.sort()).toEqual(expected.sort());
      expect(summary).toBe(`Plan: ${expected.length} to add, 0 to change, 0 to destroy.`);
      // The named parts, spelled out.
      expect(created).toEqual(
        expect.arrayContaining([
          'module.image_resize_chain.aws_lambda_alias.chain_resize_alias[0]',
          'module.image_resize_chain.aws_lambda_provisioned_concurrency_config.chain_resize_provisioned_concurrency[0]',
          'module.upload_api.aws_apigatewayv2_api.upload_api_api',
          'module.upload_api.aws_apigatewayv2_route.upload_api_route',
          'module.upload_api.aws_lambda_function.upload_api_function_function',
          'module.upload_api.aws_cloudwatch_event_rule.upload_api_keep_warm_rule[0]',
          'module.stream_source.aws_kinesis_stream.stream_source_stream',
          'module.stream_source.aws_lambda_event_source_mapping.stream_source_mapping',
        ]),
      );
      expect(created.filter((a) => a.includes('keep_warm_target'))).toHaveLength(2);
      expect(created.filter((a) => a.includes('publish_alias') || a.includes('authorizer'))).toEqual([]);
      const after = (address: string): Record<string, unknown> =>
        changes.find((c) => c.address === address)!.change.after ?? {};
      expect(
        after(
          'module.image_resize_chain.aws_lambda_provisioned_concurrency_config.chain_resize_provisioned_concurrency[0]',
        ).provisioned_concurrent_executions,
      ).toBe(2);
      expect(after('module.image_resize_chain.aws_lambda_function.chain_resize_function').publish).toBe(true);
      expect(after('module.image_resize_chain.aws_lambda_function.chain_publish_function').publish).toBe(false);
      expect(after('module.stream_source.aws_kinesis_stream.stream_source_stream')).toMatchObject({
        name: 'media-uploads',
        shard_count: 2,
      });
      expect(after('module.upload_api.aws_apigatewayv2_route.upload_api_route')).toMatchObject({
        authorization_type: 'NONE',
        route_key: 'POST /uploads',
      });
      // (Its environment is unknown until the bucket exists: see the synth test of the variables below.)
      expect(after('module.upload_api.aws_lambda_function.upload_api_function_function')).toMatchObject({
        function_name: 'media-upload',
        architectures: ['arm64'],
      });
    },
  );

  test('the counts follow the variables: 7 pings (two rules), JWT, an ON_DEMAND stream, no provisioned concurrency', () => {
    const override = `
module "image_resize_chain" {
  resize_provisioned_concurrency = 0
}
module "upload_api" {
  keep_warm_concurrency = 7
  authorization_type    = "JWT"
  jwt_issuer            = "https://issuer.example.com/"
  jwt_audience          = ["media-app"]
}
module "stream_source" {
  stream_mode      = "ON_DEMAND"
  shard_count      = null
  readable_objects = [
    { bucket_arn = "arn:aws:s3:::partner-drop", prefix = "incoming/" },
    { bucket_arn = "arn:aws:s3:::archive", prefix = "" },
  ]
}
`;
    const { created, changes } = withOverride(override, plan);
    expect(created.filter((a) => /chain_resize_alias|provisioned_concurrency/.test(a))).toEqual([]);
    expect(created.filter((a) => a.includes('keep_warm_rule')).sort()).toEqual([
      'module.upload_api.aws_cloudwatch_event_rule.upload_api_keep_warm_rule[0]',
      'module.upload_api.aws_cloudwatch_event_rule.upload_api_keep_warm_rule_2[0]',
    ]);
    expect(created.filter((a) => a.includes('keep_warm_target')).sort()).toEqual(
      [1, 2, 3, 4, 5, 6, 7]
        .map((n) => `module.upload_api.aws_cloudwatch_event_target.upload_api_keep_warm_target_${n}[0]`)
        .sort(),
    );
    expect(created.filter((a) => a.includes('keep_warm_permission'))).toHaveLength(2);
    expect(created).toContain('module.upload_api.aws_apigatewayv2_authorizer.upload_api_authorizer[0]');
    const after = (address: string): Record<string, unknown> =>
      changes.find((c) => c.address === address)!.change.after ?? {};
    expect(after('module.upload_api.aws_apigatewayv2_route.upload_api_route').authorization_type).toBe('JWT');
    expect(after('module.stream_source.aws_kinesis_stream.stream_source_stream')).toMatchObject({
      stream_mode_details: [{ stream_mode: 'ON_DEMAND' }],
    });
    expect(after('module.image_resize_chain.aws_lambda_function.chain_resize_function').publish).toBe(false);
    // The stream's records may reference exactly the objects named, nothing else.
    const read = JSON.parse(String(after('module.stream_source.aws_iam_role_policy.resize_stream_objects').policy)) as {
      Statement: unknown[];
    };
    expect(read.Statement).toEqual([
      {
        Sid: 'ReadStreamObjects',
        Effect: 'Allow',
        Action: 's3:GetObject',
        Resource: ['arn:aws:s3:::partner-drop/incoming/*', 'arn:aws:s3:::archive/*'],
      },
    ]);
  });

  test.each([
    [
      'keep-warm concurrency 11',
      'module "upload_api" {\n  keep_warm_concurrency = 11\n}\n',
      /keep_warm_concurrency must be an integer from 1 to 10/,
    ],
    [
      'a keep-warm rate EventBridge refuses',
      'module "upload_api" {\n  keep_warm_rate = "rate(1 minutes)"\n}\n',
      /keep_warm_rate must be rate\(1 minute\|hour\|day\)/,
    ],
    [
      'stream shard_count 0',
      'module "stream_source" {\n  shard_count = 0\n}\n',
      /shard_count must be null or an integer from 1 to 500/,
    ],
    [
      'provisioned concurrency 1001',
      'module "image_resize_chain" {\n  resize_provisioned_concurrency = 1001\n}\n',
      /resize_provisioned_concurrency must be an integer from 0 to 1000/,
    ],
    [
      'provisioned concurrency above the mapping maximum (precondition)',
      'module "image_resize_chain" {\n  resize_provisioned_concurrency = 11\n}\n',
      /resize_provisioned_concurrency must be at most\s+resize_maximum_concurrency/,
    ],
    [
      'provisioned concurrency above the reserved concurrency (precondition)',
      'module "image_resize_chain" {\n  resize_reserved_concurrency = 1\n}\n',
      /resize_provisioned_concurrency must be at most\s+resize_reserved_concurrency/,
    ],
    [
      'shard_count with an ON_DEMAND stream (precondition)',
      'module "stream_source" {\n  stream_mode = "ON_DEMAND"\n}\n',
      /ON_DEMAND stream manages its own shards/,
    ],
    [
      'an anonymous API without allow_anonymous_uploads (precondition)',
      'module "upload_api" {\n  allow_anonymous_uploads = false\n}\n',
      /authorization_type NONE lets anyone who can reach the API get upload forms/,
    ],
    [
      'an upload image tagged for the other architecture (precondition)',
      'module "upload_api" {\n  image_uri = ' +
        '"123456789012.dkr.ecr.eu-west-1.amazonaws.com/irc-upload:x86_64-0123456789abcdef"\n}\n',
      /The tag of image_uri names the other architecture than var.architecture/,
    ],
    [
      'JWT without an issuer (precondition)',
      'module "upload_api" {\n  authorization_type = "JWT"\n}\n',
      /authorization_type JWT needs jwt_issuer/,
    ],
  ])('refuses %s at plan time (exit code 1, the message names the variable)', (_name, override, message) => {
    const run = withOverride(override, () =>
      runTerraform(terraform.bin!, cli, example, [
        'plan',
        '-input=false',
        '-no-color',
        '-lock=false',
        ...FULL_EXAMPLE_IMAGE_VARS,
      ]),
    );
    expect(run.code).toBe(1);
    // Terraform wraps long messages: compare with line breaks folded into spaces.
    expect(run.stderr.replace(/\s*\n[\s│]*/g, ' ')).toMatch(message);
  });
});
