/**
 * `on_failure_destination_arn` of the plain stream-source submodule, with the real terraform binary
 * offline (as terraform-submodules.test.ts): given an existing SQS queue or SNS topic, the failure
 * queue, its DLQ and their alarms are not planned, the mapping sends failure records to the given ARN,
 * and the resize role may send exactly there (sqs:SendMessage or sns:Publish, nothing else); a
 * malformed ARN is refused at plan time.
 *
 * The role policy also names the stream, whose ARN is unknown in a plain plan, so its document is
 * checked with `terraform test` on the submodule: a mock provider with the stream's (and queue's)
 * attributes overridden during plan, and assertions comparing the whole planned document.
 *
 * Without terraform or the provider mirror these tests skip with a warning, except under CI=true.
 */
import { cpSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { renderPlainModules, writePlainModules } from '../../scripts/synth-module';
import { FULL_EXAMPLE_IMAGE_VARS, TfJson, countedResourceAddresses, resourceAddresses, statementsOf } from './synth';
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

const STREAM_SOURCE_FILE = 'modules/stream-source/main.tf.json';
const QUEUE_ARN = 'arn:aws:sqs:eu-west-1:210987654321:shared-stream-failures';
const TOPIC_ARN = 'arn:aws:sns:eu-west-1:210987654321:stream-failures.fifo';

/** What exists only when the submodule creates the failure queue. */
const FAILURE_QUEUE_RESOURCES = [
  'aws_cloudwatch_metric_alarm.stream_source_stream_failures_alarm',
  'aws_cloudwatch_metric_alarm.stream_source_stream_failures_dlq_depth_alarm',
  'aws_sqs_queue.stream_source_stream_failures_dlq',
  'aws_sqs_queue.stream_source_stream_failures_queue',
  'aws_sqs_queue_policy.stream_source_stream_failures_dlq_policy',
  'aws_sqs_queue_policy.stream_source_stream_failures_policy',
  'aws_sqs_queue_redrive_allow_policy.stream_source_stream_failures_dlq_redrive_allow_policy',
];

const streamSource = (): TfJson => JSON.parse(renderPlainModules()[STREAM_SOURCE_FILE]) as TfJson;

test('the submodule counts exactly the failure queue, its DLQ and their alarms, on on_failure_destination_arn', () => {
  const doc = streamSource();
  expect(countedResourceAddresses(doc).sort()).toEqual(FAILURE_QUEUE_RESOURCES);
  for (const address of FAILURE_QUEUE_RESOURCES) {
    const [type, name] = address.split('.') as [string, string];
    expect({ address, count: doc.resource![type][name].count }).toEqual({
      address,
      count: '${var.on_failure_destination_arn == "" ? 1 : 0}',
    });
  }
  expect(doc.variable?.on_failure_destination_arn).toMatchObject({ type: 'string', default: '', nullable: false });
  // One send grant, whose action and resource follow the chosen destination.
  const policy = Object.values(doc.resource?.aws_iam_role_policy ?? {})[0];
  const sends = statementsOf(policy.policy).filter((s) => JSON.stringify(s).includes('stream_failure'));
  expect(sends).toEqual([
    {
      Sid: 'SendStreamFailures',
      Effect: 'Allow',
      Action: '${local.stream_failure_send_action}',
      Resource: '${local.stream_failure_destination_arn}',
    },
  ]);
});

interface PlannedChange {
  address: string;
  change: { actions: string[]; after?: Record<string, unknown> };
}

interface ShownPlan {
  resource_changes: PlannedChange[];
  output_changes?: Record<string, { after?: unknown; after_unknown?: boolean }>;
}

describeWhen(terraform.missing, 'offline terraform: on_failure_destination_arn of the stream-source submodule', () => {
  let work: string;
  let cli: string;
  let example: string;
  let doc: TfJson;

  const tf = (cwd: string, args: string[]): string => runTerraformOrThrow(terraform.bin!, cli, cwd, args);

  /** Runs `body` with extra files in the example (an override of the module and root outputs), then removes them. */
  function withFiles<T>(files: Record<string, string>, body: () => T): T {
    for (const [name, content] of Object.entries(files)) writeFileSync(join(example, name), content);
    try {
      return body();
    } finally {
      for (const name of Object.keys(files)) rmSync(join(example, name));
      rmSync(join(example, 'tfplan'), { force: true });
    }
  }

  const destinationOverride = (arn: string): string =>
    `module "stream_source" {\n  on_failure_destination_arn = ${JSON.stringify(arn)}\n}\n`;

  beforeAll(() => {
    ({ work, cli } = offlineWorkDir('irc-tf-failure-', terraform.mirror!));
    writePlainModules(join(work, 'modules', 'terraform', 'image-resize-chain'));
    doc = streamSource();
    example = join(work, 'examples', 'terraform-full');
    cpSync(join(ROOT, 'examples', 'terraform-full', 'main.tf'), join(example, 'main.tf'));
    writeMockCredentials(example);
    tf(example, ['init', '-input=false', '-no-color']);
  });

  afterAll(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  test.each([
    ['an SQS queue', QUEUE_ARN],
    ['an SNS topic', TOPIC_ARN],
  ])('examples/terraform-full with %s as destination plans no failure queue and maps failures to it', (_kind, arn) => {
    const outputs = [
      'output "stream_failure_destination_arn" {\n  value = module.stream_source.stream_failure_destination_arn\n}\n',
      'output "stream_failure_queue_url" {\n  value = module.stream_source.stream_failure_queue_url\n}\n',
    ].join('');
    const { changes, summary, shown } = withFiles(
      { 'zz_test_override.tf': destinationOverride(arn), 'zz_test_outputs.tf': outputs },
      () => {
        const out = tf(example, [
          'plan',
          '-input=false',
          '-no-color',
          '-lock=false',
          '-out=tfplan',
          ...FULL_EXAMPLE_IMAGE_VARS,
        ]);
        const plan = JSON.parse(tf(example, ['show', '-json', 'tfplan'])) as ShownPlan;
        return { changes: plan.resource_changes, summary: /Plan: .*/.exec(out)?.[0] ?? '', shown: plan };
      },
    );
    console.log(`examples/terraform-full, on_failure_destination_arn = ${arn}: ${summary}`);

    const created = changes.filter((c) => c.change.actions.includes('create')).map((c) => c.address);
    const planned = created.filter((a) => a.startsWith('module.stream_source.')).sort();
    expect(planned).toEqual(
      resourceAddresses(doc)
        .filter((a) => !FAILURE_QUEUE_RESOURCES.includes(a))
        .map((a) => `module.stream_source.${a}`)
        .sort(),
    );
    expect(changes.filter((c) => c.address.includes('stream_failures'))).toEqual([]);
    // The counted resources fewer than the default plan of the example (88).
    expect(summary).toBe(`Plan: ${88 - FAILURE_QUEUE_RESOURCES.length} to add, 0 to change, 0 to destroy.`);

    const mapping = changes.find(
      (c) => c.address === 'module.stream_source.aws_lambda_event_source_mapping.stream_source_mapping',
    )!;
    expect(mapping.change.after?.destination_config).toEqual([{ on_failure: [{ destination_arn: arn }] }]);
    expect(shown.output_changes?.stream_failure_destination_arn).toMatchObject({ after: arn, after_unknown: false });
    expect(shown.output_changes?.stream_failure_queue_url).toMatchObject({ after: null, after_unknown: false });
  });

  describe('the planned role policy document (terraform test, mock provider)', () => {
    const STREAM_ARN = 'arn:aws:kinesis:eu-west-1:123456789012:stream/media-uploads';
    const CREATED_QUEUE_ARN = 'arn:aws:sqs:eu-west-1:123456789012:media-stream-failures';
    const CREATED_QUEUE_URL = 'https://sqs.eu-west-1.amazonaws.com/123456789012/media-stream-failures';
    const READ_STATEMENTS = [
      {
        Sid: 'ReadUploadStream',
        Effect: 'Allow',
        Action: [
          'kinesis:GetRecords',
          'kinesis:GetShardIterator',
          'kinesis:DescribeStream',
          'kinesis:DescribeStreamSummary',
          'kinesis:ListShards',
        ],
        Resource: STREAM_ARN,
      },
      { Sid: 'ListKinesisStreams', Effect: 'Allow', Action: 'kinesis:ListStreams', Resource: '*' },
    ];
    /**
     * Run name, on_failure_destination_arn, the send action and resource the document must hold, the queue resources
     * planned, the queue URL output.
     */
    const CASES: Array<[string, string, string, string, number, string | null]> = [
      ['given_sqs_queue', QUEUE_ARN, 'sqs:SendMessage', QUEUE_ARN, 0, null],
      ['given_sns_topic', TOPIC_ARN, 'sns:Publish', TOPIC_ARN, 0, null],
      ['created_queue', '', 'sqs:SendMessage', CREATED_QUEUE_ARN, 1, CREATED_QUEUE_URL],
    ];

    /** A run block asserting the whole policy document, the queue count and the outputs. */
    const runBlock = ([name, given, action, resource, queues, url]: (typeof CASES)[number]): string => {
      const expected = JSON.stringify({
        Version: '2012-10-17',
        Statement: [
          { Sid: 'SendStreamFailures', Effect: 'Allow', Action: action, Resource: resource },
          ...READ_STATEMENTS,
        ],
      });
      return `
run "${name}" {
  command = plan
  variables {
    on_failure_destination_arn = ${JSON.stringify(given)}
  }
  assert {
    condition = (
      jsondecode(aws_iam_role_policy.resize_access_policy.policy) == jsondecode(${JSON.stringify(expected)})
    )
    error_message = "unexpected resize role policy: \${aws_iam_role_policy.resize_access_policy.policy}"
  }
  assert {
    condition = (
      length(aws_sqs_queue.stream_source_stream_failures_queue) == ${queues} &&
      length(aws_sqs_queue.stream_source_stream_failures_dlq) == ${queues} &&
      length(aws_cloudwatch_metric_alarm.stream_source_stream_failures_alarm) == ${queues} &&
      length(aws_cloudwatch_metric_alarm.stream_source_stream_failures_dlq_depth_alarm) == ${queues}
    )
    error_message = "expected ${queues} of each failure queue resource"
  }
  assert {
    condition = (
      aws_lambda_event_source_mapping.stream_source_mapping.destination_config[0].on_failure[0].destination_arn ==
      ${JSON.stringify(resource)}
    )
    error_message = "unexpected mapping destination"
  }
  assert {
    condition = (
      output.stream_failure_destination_arn == ${JSON.stringify(resource)} &&
      output.stream_failure_queue_url == ${url === null ? 'null' : JSON.stringify(url)}
    )
    error_message = join("", [
      "unexpected outputs: ",
      jsonencode([output.stream_failure_destination_arn, output.stream_failure_queue_url]),
    ])
  }
}
`;
    };

    test(
      'grants exactly sqs:SendMessage or sns:Publish on exactly ' +
        'the destination (given queue, given topic, created queue)',
      () => {
        const dir = join(work, 'stream-source-under-test');
        mkdirSync(join(dir, 'tests'), { recursive: true });
        cpSync(join(work, 'modules', 'terraform', 'image-resize-chain', STREAM_SOURCE_FILE), join(dir, 'main.tf.json'));
        const file = `# Generated by test/module/terraform-stream-failure.test.ts
mock_provider "aws" {
  override_during = plan
}

override_resource {
  target          = aws_kinesis_stream.stream_source_stream
  override_during = plan
  values          = { arn = ${JSON.stringify(STREAM_ARN)} }
}

override_resource {
  target          = aws_sqs_queue.stream_source_stream_failures_queue
  override_during = plan
  values          = { arn = ${JSON.stringify(CREATED_QUEUE_ARN)}, url = ${JSON.stringify(CREATED_QUEUE_URL)} }
}

variables {
  name_prefix              = "media"
  resize_invoke_target_arn = "arn:aws:lambda:eu-west-1:123456789012:function:media-resize:live"
  resize_role_name         = "media-resize"
  source_bucket_arn        = "arn:aws:s3:::media-src-1"
  # Empty, the check "alarm_actions" block would fail every run of terraform test.
  alarm_actions            = ["arn:aws:sns:eu-west-1:123456789012:media-alarms"]
}
${CASES.map(runBlock).join('')}`;
        writeFileSync(join(dir, 'tests', 'failure_destination.tftest.hcl'), file);
        tf(dir, ['init', '-input=false', '-no-color']);
        const run = runTerraform(terraform.bin!, cli, dir, ['test', '-no-color']);
        expect({ code: run.code, summary: /(Success|Failure)! .*/.exec(run.stdout)?.[0], stderr: run.stderr }).toEqual({
          code: 0,
          summary: `Success! ${CASES.length} passed, 0 failed.`,
          stderr: '',
        });
      },
    );
  });

  test.each([
    ['the queue URL instead of its ARN', 'https://sqs.eu-west-1.amazonaws.com/210987654321/shared-stream-failures'],
    ['an S3 bucket ARN', 'arn:aws:s3:::stream-failures'],
    ['an ARN with a short account id', 'arn:aws:sqs:eu-west-1:21098765:shared-stream-failures'],
  ])('refuses %s at plan time (exit code 1, the message names the variable)', (_name, arn) => {
    const run = withFiles({ 'zz_test_override.tf': destinationOverride(arn) }, () =>
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
    expect(run.stderr.replace(/\s*\n[\s│]*/g, ' ')).toMatch(
      /on_failure_destination_arn must be "" \(create the failure queue\) or the ARN of an SQS queue or SNS topic/,
    );
  });
});
