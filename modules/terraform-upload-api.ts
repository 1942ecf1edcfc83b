/**
 * The plain Terraform submodule `modules/upload-api`: the `UploadApi` construct (HTTP API
 * `POST /uploads` answering with a presigned POST, its function, access logs, optional JWT or IAM
 * authorization and keep-warm pings) driven by variables. It takes the source bucket and uploads
 * prefix from the main module's outputs.
 *
 * The construct decides authorization and the number of keep-warm rules and targets at synth time;
 * here it is synthesized with a JWT authorizer and the most keep-warm targets, and each of those
 * resources gets a `count` chosen from the variables at plan time.
 */
import { Fn, TerraformOutput, TerraformResource, Token } from 'cdktf';
import { Construct } from 'constructs';
import { AwsProvider } from '@cdktf/provider-aws/lib/provider';
import { Apigatewayv2Authorizer } from '@cdktf/provider-aws/lib/apigatewayv2-authorizer';
import { CloudwatchEventTarget } from '@cdktf/provider-aws/lib/cloudwatch-event-target';
import { LambdaPermission } from '@cdktf/provider-aws/lib/lambda-permission';
import { DEFAULT_ALLOWED_CONTENT_TYPES } from '../src/core/upload';
import { DEFAULT_LIMITS } from '../src/core/limits';
import { ReadableStack } from './readable-stack';
import {
  ModuleVariables,
  NAME_PREFIX_RULE,
  Rule,
  hcl,
  imageArchitecturePrecondition,
  list,
  synthModuleDocument,
  warnAtPlanWithoutAlarmActions,
} from './terraform-plain-module';
import { UploadApi } from './upload-api';
import { LOG_RETENTION_DAYS } from './validation';

/** The most keep-warm pings per tick (the construct's limit). */
export const MAX_KEEP_WARM_CONCURRENCY = 10;
/** EventBridge accepts at most five targets per rule (the construct makes one rule per five pings). */
const TARGETS_PER_RULE = 5;
/** Values of `authorization_type`, as the route's `authorization_type` takes them. */
export const UPLOAD_AUTHORIZATION_TYPES = ['NONE', 'JWT', 'AWS_IAM'] as const;

/** `aws_x.name[0].attribute`: an attribute of a counted resource, where it exists. */
const first = (resource: TerraformResource, attribute: string): string =>
  `${resource.terraformResourceType}.${resource.friendlyUniqueId}[0].${attribute}`;

/**
 * The construct's `checkScheduleExpression` as a variable validation: `rate(1 minute|hour|day)`,
 * `rate(N minutes|hours|days)` with N >= 2, or `cron(...)` with six fields.
 */
const SCHEDULE_RULE: Rule = [
  String.raw`can(regex("^rate\\(0*1 (minute|hour|day)\\)$", var.keep_warm_rate))` +
    String.raw` || can(regex("^rate\\(0*([2-9]|[1-9][0-9]+) (minutes|hours|days)\\)$", var.keep_warm_rate))` +
    String.raw` || (can(regex("^cron\\([0-9A-Za-z*?/,#\\- ]+\\)$", var.keep_warm_rate)) && length(regexall("[^ ]+",` +
    String.raw` trimspace(trimsuffix(trimprefix(var.keep_warm_rate, "cron("), ")")))) == 6)`,
  'keep_warm_rate must be rate(1 minute|hour|day), rate(N minutes|hours|days) ' +
    'with a whole N >= 2, or cron(minutes hours day-of-month month day-of-week year).',
];

/** The stack that synthesizes to modules/upload-api/main.tf.json. */
export class UploadApiModuleStack extends ReadableStack {
  readonly uploadApi: UploadApi;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    new AwsProvider(this, 'aws', {});
    const vars = new ModuleVariables(this);

    const namePrefix = vars.str(
      'name_prefix',
      'name_prefix of the main module (names <name_prefix>-upload-api and the function <name_prefix>-upload).',
      'image-resize-chain',
      [NAME_PREFIX_RULE('name_prefix')],
    );
    const imageUri = vars.str('image_uri', 'ECR image URI of the upload handler (built with HANDLER=upload).');
    const bucketName = vars.str('source_bucket_name', 'The main module output source_bucket_name: where uploads land.');
    const bucketArn = vars.str('source_bucket_arn', 'The main module output source_bucket_arn.', undefined, [
      [
        'can(regex("^arn:[a-z-]+:s3:::[a-z0-9][a-z0-9.-]{1,62}$", var.source_bucket_arn))',
        'source_bucket_arn must be an S3 bucket ARN.',
      ],
    ]);
    const uploadsPrefix = vars.str(
      'uploads_prefix',
      'The main module output uploads_prefix: forms are signed only for keys under it.',
      'uploads/',
      [
        [
          'var.uploads_prefix == "" || (endswith(var.uploads_prefix, "/") && !startswith(var.uploads_prefix, "/"))',
          'uploads_prefix must be "" or end with "/" (and not start with "/").',
        ],
      ],
    );
    const architecture = vars.str('architecture', 'CPU architecture of the upload image: x86_64 or arm64.', 'x86_64', [
      ['contains(["x86_64", "arm64"], var.architecture)', 'architecture must be x86_64 or arm64.'],
    ]);
    const contentTypes = vars.stringList(
      'allowed_content_types',
      'Content types the API signs uploads for.',
      [...DEFAULT_ALLOWED_CONTENT_TYPES],
      [
        [
          'length(var.allowed_content_types) >= 1 && alltrue([for t in var.allowed_content_types : ' +
            'can(regex("^[a-z0-9][a-z0-9!#$&^_.+-]*/[a-z0-9][a-z0-9!#$&^_.+-]*$", t))])',
          'allowed_content_types must name at least one lower-case media type such as image/jpeg.',
        ],
      ],
    );
    const maxUploadBytes = vars.num(
      'max_upload_bytes',
      "Largest upload in bytes (the form's content-length-range; keep it at most the main module's max_input_bytes)",
      DEFAULT_LIMITS.maxInputBytes,
      1,
      5 * 1024 * 1024 * 1024,
    );
    const expires = vars.num('expires_seconds', 'Lifetime of a presigned POST in seconds', 300, 60, 3600);
    const corsOrigins = vars.stringList(
      'cors_allow_origins',
      'Origins allowed by CORS (no credentials are sent cross-origin).',
      ['*'],
      [['length(var.cors_allow_origins) >= 1', 'cors_allow_origins must name at least one origin ("*" for any).']],
    );
    vars.str(
      'authorization_type',
      `Who may call POST /uploads: ${UPLOAD_AUTHORIZATION_TYPES.join(', ')} (JWT ` +
        `needs jwt_issuer and jwt_audience; AWS_IAM needs SigV4-signed requests).`,
      'NONE',
      [
        [
          `contains(${list(UPLOAD_AUTHORIZATION_TYPES)}, var.authorization_type)`,
          `authorization_type must be one of ${UPLOAD_AUTHORIZATION_TYPES.join(', ')}.`,
        ],
      ],
    );
    const jwtIssuer = vars.str(
      'jwt_issuer',
      'With authorization_type JWT: the https OIDC issuer of accepted tokens.',
      '',
      [
        [
          String.raw`var.jwt_issuer == "" || can(regex("^https://[^\\s]+$", var.jwt_issuer))`,
          'jwt_issuer must be "" or an https URL.',
        ],
      ],
    );
    const jwtAudience = vars.stringList(
      'jwt_audience',
      'With authorization_type JWT: accepted values of the token aud claim.',
      [],
    );
    vars.bool(
      'allow_anonymous_uploads',
      'Allow authorization_type NONE: anyone who can reach the API gets upload forms. ' +
        'Must be set explicitly; refused at plan otherwise.',
      false,
    );
    const memorySize = vars.num('memory_size', 'Memory of the upload function in MB', 256, 128, 10240);
    const timeout = vars.num(
      'timeout',
      'Timeout of the upload function in seconds (the API waits at most 10)',
      10,
      1,
      900,
    );
    const reserved = vars.optionalNum(
      'reserved_concurrency',
      'Concurrency reserved for (and capping) the upload function, default 10; null leaves it in the unreserved pool',
      0,
      10000,
    );
    reserved.addOverride('default', 10);
    const logRetention = vars.variable('log_retention_days', {
      type: 'number',
      description: 'Days CloudWatch keeps function and access logs.',
      default: 30,
      validation: [
        {
          condition: hcl(`contains(${list(LOG_RETENTION_DAYS)}, var.log_retention_days)`),
          errorMessage: `log_retention_days must be one of ${LOG_RETENTION_DAYS.join(', ')}.`,
        },
      ],
    });
    const logLevel = vars.str('log_level', 'LOG_LEVEL of the upload function.', 'INFO', [
      ['contains(["DEBUG", "INFO", "WARN", "ERROR"], var.log_level)', 'log_level must be DEBUG, INFO, WARN or ERROR.'],
    ]);
    vars.bool(
      'keep_warm_enabled',
      'Ping the upload function on a schedule so callers rarely meet a cold start ' +
        '(for a guaranteed number of warm environments use provisioned concurrency).',
      false,
    );
    const keepWarmRate = vars.str(
      'keep_warm_rate',
      'EventBridge schedule of the keep-warm pings: rate(N minutes|hours|days) or a 6-field cron(...).',
      'rate(5 minutes)',
      [SCHEDULE_RULE],
    );
    vars.num('keep_warm_concurrency', 'Keep-warm pings per tick (one rule per five)', 1, 1, MAX_KEEP_WARM_CONCURRENCY);
    const tags = vars.tags();
    const alarmActions = vars.variable('alarm_actions', {
      type: 'list(string)',
      description: "ARNs (e.g. SNS topics) notified by the upload function's alarms and the API's 5xx alarm.",
      default: [],
    });

    this.uploadApi = new UploadApi(this, 'upload-api', {
      namePrefix: namePrefix.stringValue,
      imageUri: imageUri.stringValue,
      sourceBucketName: bucketName.stringValue,
      sourceBucketArn: bucketArn.stringValue,
      uploadsPrefix: uploadsPrefix.stringValue,
      architecture: architecture.stringValue as 'x86_64',
      // One element that renders as the joined list: the construct joins the list for the environment.
      allowedContentTypes: [Fn.join(',', contentTypes.listValue)],
      maxUploadBytes: maxUploadBytes.numberValue,
      expiresSeconds: expires.numberValue,
      corsAllowOrigins: corsOrigins.listValue,
      authorization: { type: 'jwt', issuer: jwtIssuer.stringValue, audience: jwtAudience.listValue },
      memorySize: memorySize.numberValue,
      timeout: timeout.numberValue,
      reservedConcurrency: reserved.numberValue,
      logRetentionDays: logRetention.numberValue,
      logLevel: logLevel.stringValue,
      tags: Token.asStringMap(tags.value),
      keepWarm: { rate: keepWarmRate.stringValue, concurrency: MAX_KEEP_WARM_CONCURRENCY },
      alarmActions: alarmActions.listValue,
    });
    warnAtPlanWithoutAlarmActions(this);
    this.uploadApi.function.function.addOverride('lifecycle.precondition', [
      imageArchitecturePrecondition('image_uri'),
    ]);
    this.chooseAuthorizationAtPlanTime();
    this.chooseKeepWarmAtPlanTime();

    const output = (name: string, value: string, description: string): TerraformOutput =>
      new TerraformOutput(this, name, { value, description });
    output('upload_api_url', this.uploadApi.url, 'Base URL of the upload API (POST <url>/uploads).');
    output('upload_api_id', this.uploadApi.api.id, 'ID of the HTTP API.');
    output(
      'upload_api_execution_arn',
      this.uploadApi.api.executionArn,
      'Execution ARN of the HTTP API (for execute-api:Invoke grants with AWS_IAM).',
    );
    output('upload_function_name', this.uploadApi.function.functionName, 'Name of the upload function.');
    output('upload_function_arn', this.uploadApi.function.functionArn, 'ARN of the upload function.');
    output('upload_role_arn', this.uploadApi.function.role.arn, 'Execution role of the upload function.');
  }

  /** The authorizer exists only with JWT; the route takes the type from the variable. */
  private chooseAuthorizationAtPlanTime(): void {
    const authorizer = this.uploadApi.authorizer as Apigatewayv2Authorizer;
    authorizer.addOverride('count', hcl('var.authorization_type == "JWT" ? 1 : 0'));
    authorizer.addOverride('lifecycle.precondition', [
      {
        condition: hcl('var.jwt_issuer != "" && length(var.jwt_audience) >= 1'),
        error_message: 'authorization_type JWT needs jwt_issuer and at least one jwt_audience.',
      },
    ]);
    this.uploadApi.route.addOverride('authorization_type', hcl('var.authorization_type'));
    this.uploadApi.route.addOverride('lifecycle.precondition', [
      {
        condition: hcl('var.authorization_type != "NONE" || var.allow_anonymous_uploads'),
        error_message:
          'authorization_type NONE lets anyone who can reach the API get upload forms: ' +
          'set JWT or AWS_IAM, or allow_anonymous_uploads = true to mean it.',
      },
    ]);
    this.uploadApi.route.addOverride(
      'authorizer_id',
      hcl(`var.authorization_type == "JWT" ? ${first(authorizer, 'id')} : null`),
    );
  }

  /** Rule i exists from 5i+1 pings, target n from n pings; targets and permissions name their rule's [0]. */
  private chooseKeepWarmAtPlanTime(): void {
    const rules = this.uploadApi.keepWarmRules;
    rules.forEach((rule, index) => {
      const count = hcl(`var.keep_warm_enabled && var.keep_warm_concurrency > ${index * TARGETS_PER_RULE} ? 1 : 0`);
      rule.addOverride('count', count);
      const permission = this.uploadApi.node.findChild(
        `keep-warm-permission${index === 0 ? '' : `-${index + 1}`}`,
      ) as LambdaPermission;
      permission.addOverride('count', count);
      permission.addOverride('source_arn', hcl(first(rule, 'arn')));
    });
    for (let n = 1; n <= MAX_KEEP_WARM_CONCURRENCY; n += 1) {
      const target = this.uploadApi.node.findChild(`keep-warm-target-${n}`) as CloudwatchEventTarget;
      target.addOverride('count', hcl(`var.keep_warm_enabled && var.keep_warm_concurrency >= ${n} ? 1 : 0`));
      target.addOverride('rule', hcl(first(rules[Math.floor((n - 1) / TARGETS_PER_RULE)], 'name')));
    }
  }
}

/** Synthesizes the upload-api submodule (see `synthModuleDocument`). */
export function synthUploadApiModule(): Record<string, unknown> {
  return synthModuleDocument((app, id) => new UploadApiModuleStack(app, id));
}
