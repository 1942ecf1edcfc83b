/**
 * The plain Terraform submodule `modules/stream-source`: the `StreamSource` construct driven by
 * variables, feeding the resize function of the main plain module. It takes that function from
 * the main module's outputs (`resize_invoke_target_arn`, `resize_role_name`) and attaches its own
 * inline policy (read the stream, send failure records) to the resize role.
 *
 * The on-failure destination (`on_failure_destination_arn`) is chosen at plan time: the construct is
 * synthesized with its created queue, and the queue, its DLQ and their alarms get a `count` that is 0
 * when an existing SQS queue or SNS topic ARN is given; references to them name `[0]`, and the
 * mapping, the failure grant and the outputs go through locals that pick the given ARN or the queue.
 */
import { TerraformLocal, TerraformOutput, TerraformResource, Token } from 'cdktf';
import { Construct } from 'constructs';
import { AwsProvider } from '@cdktf/provider-aws/lib/provider';
import { CloudwatchMetricAlarm } from '@cdktf/provider-aws/lib/cloudwatch-metric-alarm';
import { IamRolePolicy } from '@cdktf/provider-aws/lib/iam-role-policy';
import { SqsQueue } from '@cdktf/provider-aws/lib/sqs-queue';
import { PipelineError } from '../src/core/errors';
import { denyInsecureTransport, redriveAllowPolicyJson } from './buffered-queue';
import { PolicyStatement, resourcePolicyJson } from './policy';
import { ReadableStack } from './readable-stack';
import { RolePolicy } from './role-policy';
import { READ_STREAM_OBJECTS_SID, STREAM_MODES, StreamConsumer, StreamSource } from './stream-source';
import {
  ModuleVariables,
  NAME_PREFIX_RULE,
  Rule,
  hcl,
  list,
  synthModuleDocument,
  warnAtPlanWithoutAlarmActions,
} from './terraform-plain-module';

/** True at plan time when the module creates its failure queue (no destination given). */
const CREATES_FAILURE_QUEUE = 'var.on_failure_destination_arn == ""';

/** The construct's check of `onFailureDestinationArn` as a variable validation ("" = create the queue). */
const FAILURE_DESTINATION_RULE: Rule = [
  'var.on_failure_destination_arn == "" || ' +
    'can(regex("^arn:[a-z-]+:(sqs|sns):[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_.-]+$", var.on_failure_destination_arn))',
  'on_failure_destination_arn must be "" (create the failure queue) ' +
    'or the ARN of an SQS queue or SNS topic (arn:<partition>:sqs|sns:<region>:<account id>:<name>).',
];

/** Sid of the construct's grant to send failure records (the created queue's, or the given destination's). */
const FAILURE_GRANT_SID = 'SendStreamFailures';

/** `aws_x.name[0].attribute`: an attribute of a counted resource, where it exists. */
const first = (resource: TerraformResource, attribute: string): string =>
  `${resource.terraformResourceType}.${resource.friendlyUniqueId}[0].${attribute}`;

/** The construct no longer has the shape this submodule's plan-time overrides rely on. */
const submoduleDrift = (message: string): PipelineError =>
  new PipelineError('INTERNAL', `stream-source submodule: ${message}`, { field: 'StreamSourceModuleStack' });

/** A function of another module: grants become one inline policy on its role (by name). */
class ImportedStreamConsumer extends Construct implements StreamConsumer {
  readonly invokeTargetArn: string;
  readonly rolePolicy: IamRolePolicy;
  /** The main module's mapping target output already waits for its provisioned environments. */
  readonly provisionedConcurrencyConfig = undefined;
  /** Sids of the statements `rewrite` replaced (so the stack can check its seam still matches the construct). */
  readonly rewrittenSids: string[] = [];
  private readonly grants: RolePolicy;
  private readonly rewrite: (statement: PolicyStatement) => PolicyStatement | null | undefined;

  /**
   * @param props.rewrite returns a replacement for a statement, null to leave it out, or undefined to keep it
   * @default keeps every statement
   */
  constructor(
    scope: Construct,
    id: string,
    props: {
      roleName: string;
      policyName: string;
      invokeTargetArn: string;
      rewrite?: (statement: PolicyStatement) => PolicyStatement | null | undefined;
    },
  ) {
    super(scope, id);
    this.grants = new RolePolicy(this, 'access', { roleName: props.roleName, policyName: props.policyName });
    this.rolePolicy = this.grants.policy;
    this.invokeTargetArn = props.invokeTargetArn;
    this.rewrite = props.rewrite ?? (() => undefined);
  }

  addToPrincipalPolicy(statement: PolicyStatement): void {
    const replacement = this.rewrite(statement);
    if (replacement !== undefined) this.rewrittenSids.push(statement.sid);
    if (replacement !== null) this.grants.addToPrincipalPolicy(replacement ?? statement);
  }
}

/** The stack that synthesizes to modules/stream-source/main.tf.json. */
export class StreamSourceModuleStack extends ReadableStack {
  readonly source: StreamSource;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    new AwsProvider(this, 'aws', {});
    const vars = new ModuleVariables(this);

    const namePrefix = vars.str(
      'name_prefix',
      'name_prefix of the main module (names the failure queue, its alarm and the default stream).',
      'image-resize-chain',
      [NAME_PREFIX_RULE('name_prefix')],
    );
    const target = vars.str(
      'resize_invoke_target_arn',
      'What the stream mapping invokes: the main module output resize_invoke_target_arn ' +
        '(the live alias with provisioned concurrency, else the function).',
      undefined,
      [
        [
          'can(regex("^arn:[a-z-]+:lambda:[a-z0-9-]+:[0-9]{12}:function:[A-Za-z0-9_-]+(:[A-Za-z0-9_$-]+)?$", ' +
            'var.resize_invoke_target_arn))',
          'resize_invoke_target_arn must be a Lambda function or alias ARN.',
        ],
      ],
    );
    const roleName = vars.str(
      'resize_role_name',
      'The main module output resize_role_name: the resize execution role, ' +
        'which gets the stream read and failure send permissions.',
      undefined,
      [
        [
          'length(var.resize_role_name) >= 1 && length(var.resize_role_name) <= 64',
          'resize_role_name must be an IAM role name (1-64 characters).',
        ],
      ],
    );
    vars.str('stream_name', 'Name of the Kinesis stream ("" for <name_prefix>-uploads).', '', [
      [
        'var.stream_name == "" || can(regex("^[a-zA-Z0-9_.-]{1,128}$", var.stream_name))',
        'stream_name must be "" or 1-128 of a-z, A-Z, 0-9, "_", "-", ".".',
      ],
    ]);
    const streamMode = vars.str(
      'stream_mode',
      `Capacity mode of the stream: ${STREAM_MODES.join(' or ')} (ON_DEMAND scales shards by itself).`,
      'PROVISIONED',
      [[`contains(${list(STREAM_MODES)}, var.stream_mode)`, `stream_mode must be ${STREAM_MODES.join(' or ')}.`]],
    );
    const shardCount = vars.optionalNum(
      'shard_count',
      'Shards of a PROVISIONED stream; null means 1, and must stay null with ON_DEMAND',
      1,
      500,
    );
    const retentionHours = vars.num('retention_hours', 'Hours records are kept', 24, 24, 8760);
    const batchSize = vars.num('batch_size', 'Records per invocation', 100, 1, 10000);
    const parallelization = vars.num(
      'parallelization_factor',
      'Concurrent batches per shard; records of one partition key stay in order',
      1,
      1,
      10,
    );
    const bisect = vars.bool(
      'bisect_batch_on_function_error',
      'Split a failing batch in two and retry each half (does not count as a retry).',
      true,
    );
    const retries = vars.num(
      'maximum_retry_attempts',
      'Retries of a failing batch before its records go to the failure queue; -1 = until they expire',
      3,
      -1,
      10000,
    );
    const recordAge = vars.variable('maximum_record_age_seconds', {
      type: 'number',
      description: 'Records older than this go to the failure queue unprocessed (-1 = never, or 60-604800).',
      default: -1,
      validation: [
        {
          condition: hcl(
            'var.maximum_record_age_seconds == -1 || (var.maximum_record_age_seconds >= 60 && ' +
              'var.maximum_record_age_seconds <= 604800 && floor(var.maximum_record_age_seconds) ' +
              '== var.maximum_record_age_seconds)',
          ),
          errorMessage: 'maximum_record_age_seconds must be -1 (never) or an integer from 60 to 604800.',
        },
      ],
    });
    const iteratorAge = vars.num(
      'iterator_age_alarm_seconds',
      "Alarm when the stream's oldest unread record is older than this (seconds)",
      900,
      60,
      604800,
    );
    vars.str(
      'on_failure_destination_arn',
      'ARN of an existing SQS queue or SNS topic receiving the failure records of the stream mapping; ' +
        'the resize role gets sqs:SendMessage or sns:Publish on it. ' +
        '"" creates the queue <name_prefix>-stream-failures with a DLQ and alarms.',
      '',
      [FAILURE_DESTINATION_RULE],
    );
    const sourceBucketArn = vars.str(
      'source_bucket_arn',
      'The main module output source_bucket_arn: with uploads_prefix, ' +
        'what the resize role may read for stream records unless readable_objects says otherwise.',
      undefined,
      [
        [
          'can(regex("^arn:[a-z-]+:s3:::[a-z0-9][a-z0-9.-]{1,62}$", var.source_bucket_arn))',
          'source_bucket_arn must be an S3 bucket ARN.',
        ],
      ],
    );
    vars.str(
      'uploads_prefix',
      'The main module output uploads_prefix. ' +
        'Records under it are processed twice (the object also arrived through its S3 notification).',
      'uploads/',
      [
        [
          '!startswith(var.uploads_prefix, "/") && !strcontains(var.uploads_prefix, "*")',
          'uploads_prefix must not start with "/" or hold "*".',
        ],
      ],
    );
    vars.variable('readable_objects', {
      type: 'list(object({ bucket_arn = string, prefix = string }))',
      description:
        'Objects stream records may reference: the resize role gets s3:GetObject on <bucket_arn>/<prefix>* ' +
        'for each (and on nothing else for records). [] means the source bucket under uploads_prefix.',
      default: [],
      validation: [
        {
          condition: hcl(
            'alltrue([for o in var.readable_objects : can(regex("^arn:[a-z-]+:s3:::[a-z0-9][a-z0-9.-]{1,62}$", ' +
              'o.bucket_arn)) && !startswith(o.prefix, "/") && !strcontains(o.prefix, "*")])',
          ),
          errorMessage:
            'readable_objects: each bucket_arn must be an S3 bucket ARN ' +
            'and each prefix a key prefix without a leading "/" or "*".',
        },
      ],
    });
    const alarmActions = vars.stringList(
      'alarm_actions',
      'ARNs (e.g. SNS topics) notified by the iterator-age and failure-queue alarms.',
      [],
    );
    const tags = vars.tags();

    const effectiveName = new TerraformLocal(
      this,
      'stream-name',
      hcl('var.stream_name != "" ? var.stream_name : format("%s-uploads", var.name_prefix)'),
    );
    effectiveName.overrideLogicalId('stream_name');

    const resize = new ImportedStreamConsumer(this, 'resize', {
      roleName: roleName.stringValue,
      policyName: `${namePrefix.stringValue}-resize-stream-source`,
      invokeTargetArn: target.stringValue,
      // The failure grant names whatever destination is chosen at plan time (locals below).
      // The object read grant is a list chosen at plan time: its own policy below renders it with jsonencode.
      rewrite: (statement) => {
        if (statement.sid === FAILURE_GRANT_SID)
          return {
            sid: FAILURE_GRANT_SID,
            actions: [hcl('local.stream_failure_send_action')],
            resources: [hcl('local.stream_failure_destination_arn')],
          };
        return statement.sid === READ_STREAM_OBJECTS_SID ? null : undefined;
      },
    });
    this.source = new StreamSource(this, 'stream-source', {
      namePrefix: namePrefix.stringValue,
      fn: resize,
      defaultReadableObjects: [{ bucketArn: sourceBucketArn.stringValue, prefix: hcl('var.uploads_prefix') }],
      streamName: effectiveName.asString,
      streamMode: streamMode.stringValue as 'PROVISIONED',
      shardCount: shardCount.numberValue,
      retentionHours: retentionHours.numberValue,
      batchSize: batchSize.numberValue,
      parallelizationFactor: parallelization.numberValue,
      // a Terraform bool expression where the prop takes a boolean
      bisectBatchOnFunctionError: bisect.booleanValue as unknown as boolean,
      maximumRetryAttempts: retries.numberValue,
      maximumRecordAgeSeconds: recordAge.numberValue,
      iteratorAgeAlarmSeconds: iteratorAge.numberValue,
      alarmActions: alarmActions.listValue,
      tags: Token.asStringMap(tags.value),
    });

    // Synth-time choices of the construct, made at plan time here.
    this.source.stream.addOverride(
      'shard_count',
      hcl('var.stream_mode == "PROVISIONED" ? coalesce(var.shard_count, 1) : null'),
    );
    this.source.stream.addOverride('lifecycle.precondition', [
      {
        condition: hcl('var.stream_mode == "PROVISIONED" || var.shard_count == null'),
        error_message:
          'An ON_DEMAND stream manages its own shards: leave shard_count null or use stream_mode PROVISIONED.',
      },
    ]);
    const iteratorAlarm = this.source.alarms.find(
      (alarm) => alarm.node.id === 'iterator-age-alarm',
    ) as CloudwatchMetricAlarm;
    iteratorAlarm.addOverride('threshold', hcl('var.iterator_age_alarm_seconds * 1000'));
    if (resize.rewrittenSids.sort().join() !== [FAILURE_GRANT_SID, READ_STREAM_OBJECTS_SID].sort().join()) {
      throw submoduleDrift(
        `expected the construct to grant ${FAILURE_GRANT_SID} and ${READ_STREAM_OBJECTS_SID} once each, ` +
          `rewrote [${resize.rewrittenSids.join(', ')}]`,
      );
    }
    this.grantReadableObjectsAtPlanTime(namePrefix.stringValue, roleName.stringValue);
    const failureQueue = this.chooseFailureDestinationAtPlanTime();

    warnAtPlanWithoutAlarmActions(this);
    const output = (name: string, value: string, description: string): TerraformOutput =>
      new TerraformOutput(this, name, { value, description });
    output(
      'stream_name',
      this.source.streamName,
      'Kinesis stream of S3 object references feeding the resize function.',
    );
    output(
      'stream_arn',
      this.source.streamArn,
      'ARN of the Kinesis stream (producers need kinesis:PutRecord(s) on it).',
    );
    output(
      'stream_failure_destination_arn',
      hcl('local.stream_failure_destination_arn'),
      'Where the failure records of the stream mapping go: on_failure_destination_arn, or the created queue.',
    );
    output(
      'stream_failure_queue_url',
      hcl(`${CREATES_FAILURE_QUEUE} ? ${first(failureQueue, 'url')} : null`),
      'URL of the created failure queue; null when on_failure_destination_arn is given.',
    );
    output('event_source_mapping_uuid', this.source.mapping.uuid, 'UUID of the stream event source mapping.');
  }

  /** The construct's ReadStreamObjects grant, for the list `readable_objects` (or its default) names at plan time. */
  private grantReadableObjectsAtPlanTime(namePrefix: string, roleName: string): void {
    new TerraformLocal(
      this,
      'readable-object-arns',
      hcl(
        '[for o in (length(var.readable_objects) > 0 ? var.readable_objects : ' +
          '[{ bucket_arn = var.source_bucket_arn, prefix = var.uploads_prefix }]) : "${o.bucket_arn}/${o.prefix}*"]',
      ),
    ).overrideLogicalId('stream_readable_object_arns');
    new IamRolePolicy(this, 'resize-stream-objects', {
      name: `${namePrefix}-resize-stream-objects`,
      role: roleName,
      policy: hcl(
        `jsonencode({ Version = "2012-10-17", Statement = [{ Sid = "${READ_STREAM_OBJECTS_SID}", ` +
          `Effect = "Allow", Action = "s3:GetObject", Resource = local.stream_readable_object_arns }] })`,
      ),
    });
  }

  /**
   * The construct creates its failure queue (with DLQ and alarms); here they exist only when
   * `on_failure_destination_arn` is "". Returns the (counted) failure queue.
   */
  private chooseFailureDestinationAtPlanTime(): SqsQueue {
    const created = this.source.failureQueue;
    const notEmptyAlarm = this.source.alarms.find((alarm) => alarm.node.id === 'stream-failures-alarm');
    const dlqAlarm = created?.alarms.find((alarm) => alarm.node.id === 'dlq-depth-alarm');
    if (!created || !notEmptyAlarm || !dlqAlarm || created.alarms.length !== 1) {
      throw submoduleDrift(
        'expected the construct to create a failure queue with one alarm (dlq-depth-alarm) and a stream-failures-alarm',
      );
    }
    const counted = [
      ...created.node.findAll().filter((node) => TerraformResource.isTerraformResource(node)),
      notEmptyAlarm,
    ];
    for (const resource of counted) resource.addOverride('count', hcl(`${CREATES_FAILURE_QUEUE} ? 1 : 0`));

    // Every reference to a counted resource names its [0] (evaluated only where it exists).
    const { queue, deadLetterQueue } = created;
    const redrive = JSON.parse(queue.redrivePolicyInput!) as Record<string, unknown>;
    queue.addOverride(
      'redrive_policy',
      JSON.stringify({ ...redrive, deadLetterTargetArn: hcl(first(deadLetterQueue, 'arn')) }),
    );
    created.queuePolicy.addOverride('queue_url', hcl(first(queue, 'url')));
    created.queuePolicy.addOverride('policy', resourcePolicyJson([denyInsecureTransport(hcl(first(queue, 'arn')))]));
    created.deadLetterQueuePolicy.addOverride('queue_url', hcl(first(deadLetterQueue, 'url')));
    created.deadLetterQueuePolicy.addOverride(
      'policy',
      resourcePolicyJson([denyInsecureTransport(hcl(first(deadLetterQueue, 'arn')))]),
    );
    created.redriveAllowPolicy.addOverride('queue_url', hcl(first(deadLetterQueue, 'url')));
    created.redriveAllowPolicy.addOverride('redrive_allow_policy', redriveAllowPolicyJson(hcl(first(queue, 'arn'))));
    dlqAlarm.addOverride('dimensions.QueueName', hcl(first(deadLetterQueue, 'name')));
    notEmptyAlarm.addOverride('dimensions.QueueName', hcl(first(queue, 'name')));

    new TerraformLocal(
      this,
      'failure-destination',
      hcl(`${CREATES_FAILURE_QUEUE} ? ${first(queue, 'arn')} : var.on_failure_destination_arn`),
    ).overrideLogicalId('stream_failure_destination_arn');
    // The service is the third field of the ARN; "" (the created queue) is SQS.
    new TerraformLocal(
      this,
      'failure-send-action',
      hcl('can(regex("^arn:[a-z-]+:sns:", var.on_failure_destination_arn)) ? "sns:Publish" : "sqs:SendMessage"'),
    ).overrideLogicalId('stream_failure_send_action');
    this.source.mapping.addOverride(
      'destination_config.on_failure.destination_arn',
      hcl('local.stream_failure_destination_arn'),
    );
    return queue;
  }
}

/** Synthesizes the stream-source submodule (see `synthModuleDocument`). */
export function synthStreamSourceModule(): Record<string, unknown> {
  return synthModuleDocument((app, id) => new StreamSourceModuleStack(app, id));
}
