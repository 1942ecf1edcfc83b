/**
 * The plain Terraform module: the `ImageResizeChain` construct driven by Terraform variables and
 * synthesized to one self-contained `.tf.json` file that Terraform or OpenTofu users consume with
 * a `module` block (CDKTF is archived upstream; this is the way forward for non-CDKTF users).
 *
 * Props that the construct checks at synth time become variable validations or resource
 * preconditions here, since their values are only known when the module is planned.
 */
import { Token } from 'cdktf';
import { Construct } from 'constructs';
import { AwsProvider } from '@cdktf/provider-aws/lib/provider';
import { DEFAULT_VARIANTS, FITS, MAX_VARIANTS, MAX_VARIANT_DIMENSION, OUTPUT_FORMATS } from '../src/core/variants';
import { STAGE_DEFAULTS } from '../src/core/chain-defaults';
import { DEFAULT_LIMITS, MAX_INPUT_BYTES_CEILING, MAX_INPUT_PIXELS_CEILING } from '../src/core/limits';
import { ContainerFunction } from './container-function';
import { ImageResizeChain } from './image-resize-chain';
import { addChainOutputs } from './outputs';
import { ReadableStack } from './readable-stack';
import {
  MODULE_AWS_PROVIDER_CONSTRAINT,
  ModuleVariables,
  NAME_PREFIX_RULE,
  Rule,
  hcl,
  imageArchitecturePrecondition,
  list,
  synthModuleDocument,
  warnAtPlanWithoutAlarmActions,
} from './terraform-plain-module';
import { LOG_RETENTION_DAYS } from './validation';

export { MODULE_AWS_PROVIDER_CONSTRAINT };

/** A stack that synthesizes to the plain module. Its provider block is stripped by `synthPlainModule`. */
export class ImageResizeChainModuleStack extends ReadableStack {
  readonly chain: ImageResizeChain;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    // Only to satisfy cdktf's synth checks; the caller of the module configures the provider.
    new AwsProvider(this, 'aws', {});

    const vars = new ModuleVariables(this);
    const variable = vars.variable.bind(vars);
    const str = vars.str.bind(vars);
    const num = vars.num.bind(vars);
    const prefixRule = (name: string): Rule => [
      `var.${name} == "" || (endswith(var.${name}, "/") && !startswith(var.${name}, "/"))`,
      `${name} must be "" or end with "/" (and not start with "/").`,
    ];

    const namePrefix = str('name_prefix', 'Prefix of every resource name.', 'image-resize-chain', [
      NAME_PREFIX_RULE('name_prefix'),
    ]);
    const resizeImage = str('resize_image_uri', 'ECR image URI of the resize handler (built with HANDLER=resize).');
    const publishImage = str('publish_image_uri', 'ECR image URI of the publish handler (built with HANDLER=publish).');
    const architecture = str('architecture', 'CPU architecture of both images: x86_64 or arm64.', 'x86_64', [
      ['contains(["x86_64", "arm64"], var.architecture)', 'architecture must be x86_64 or arm64.'],
    ]);
    const uploadsPrefix = str(
      'uploads_prefix',
      'Key prefix in the source bucket that triggers the chain.',
      'uploads/',
      [prefixRule('uploads_prefix')],
    );
    const outputPrefix = str('output_prefix', 'Key prefix of outputs in the output bucket.', '', [
      prefixRule('output_prefix'),
    ]);
    const variantCheck =
      `can(jsondecode(var.variants_json)) && try(length(jsondecode(var.variants_json)) ` +
      `>= 1 && length(jsondecode(var.variants_json)) <= ${MAX_VARIANTS}, false)` +
      ` && try(alltrue([for v in jsondecode(var.variants_json) : can(regex("^[a-z0-9][a-z0-9_-]{0,63}$", v.name))` +
      ` && contains(${list(OUTPUT_FORMATS)}, v.format) ` +
      `&& v.width >= 1 && v.width <= ${MAX_VARIANT_DIMENSION} && floor(v.width) == v.width` +
      ` && contains(${list(FITS)}, try(v.fit, "inside"))]), false)`;
    const variants = str(
      'variants_json',
      'Variant spec as JSON: [{"name","width","height"?,"fit"?,"format","quality"?}]. ' +
        'Checked roughly here, fully by the resize function at cold start.',
      JSON.stringify(DEFAULT_VARIANTS),
      [
        [
          variantCheck,
          `variants_json must be a JSON array of 1-${MAX_VARIANTS} variants with a name (a-z, 0-9, -, ` +
            `_), an integer width 1-${MAX_VARIANT_DIMENSION} and a format in ${OUTPUT_FORMATS.join(', ')}.`,
        ],
      ],
    );
    // One variable each, both stages' module defaults (the batch size and the window apply to both).
    const { resize, publish } = STAGE_DEFAULTS;
    const resizeMemory = num(
      'resize_memory_size',
      'Memory of the resize function in MB',
      resize.memorySize,
      128,
      10240,
    );
    const resizeTimeout = num('resize_timeout', 'Timeout of the resize function in seconds', resize.timeout, 1, 900);
    const publishMemory = num(
      'publish_memory_size',
      'Memory of the publish function in MB',
      publish.memorySize,
      128,
      10240,
    );
    const publishTimeout = num(
      'publish_timeout',
      'Timeout of the publish function in seconds',
      publish.timeout,
      1,
      900,
    );
    const batchSize = num(
      'batch_size',
      'Messages per invocation of either function; above 10 needs maximum_batching_window >= 1',
      resize.batchSize,
      1,
      10000,
    );
    const window = num(
      'maximum_batching_window',
      'Seconds Lambda may wait to fill a batch',
      resize.maxBatchingWindow,
      0,
      300,
    );
    const resizeMaxConc = num(
      'resize_maximum_concurrency',
      'Most concurrent resize invocations',
      resize.maximumConcurrency,
      2,
      1000,
    );
    const publishMaxConc = num(
      'publish_maximum_concurrency',
      'Most concurrent publish invocations',
      publish.maximumConcurrency,
      2,
      1000,
    );
    const resizeProvisioned = num(
      'resize_provisioned_concurrency',
      'Environments of the resize function kept initialised on a "live" alias the queue mapping invokes; ' +
        '0 = off, at most resize_maximum_concurrency',
      0,
      0,
      1000,
    );
    const publishProvisioned = num(
      'publish_provisioned_concurrency',
      'Environments of the publish function kept initialised on a "live" alias the queue mapping invokes; ' +
        '0 = off, at most publish_maximum_concurrency',
      0,
      0,
      1000,
    );
    const resizeReserved = vars.optionalNum(
      'resize_reserved_concurrency',
      'Concurrency reserved for (and capping) the resize function; null leaves it in the unreserved pool',
      0,
      10000,
    );
    const publishReserved = vars.optionalNum(
      'publish_reserved_concurrency',
      'Concurrency reserved for (and capping) the publish function; null leaves it in the unreserved pool',
      0,
      10000,
    );
    const expireUploads = variable('uploads_expiration_days', {
      type: 'number',
      description:
        'Delete uploads this many days after they arrive (15-36500: longer than the 14 days a failed message ' +
        'can wait in a DLQ); 0 keeps them. Incomplete multipart uploads are always aborted after 1 day.',
      default: 0,
      nullable: false,
      validation: [
        {
          condition: hcl(
            'var.uploads_expiration_days == 0 || (var.uploads_expiration_days >= 15 && ' +
              'var.uploads_expiration_days <= 36500 && floor(var.uploads_expiration_days) ' +
              '== var.uploads_expiration_days)',
          ),
          errorMessage: 'uploads_expiration_days must be 0 (keep uploads) or an integer from 15 to 36500.',
        },
      ],
    });
    const resizeConcurrency = num('resize_concurrency', 'Images resized at once inside one invocation', 4, 1, 16);
    const maxInputBytes = num(
      'max_input_bytes',
      'Largest accepted source in bytes',
      DEFAULT_LIMITS.maxInputBytes,
      1,
      MAX_INPUT_BYTES_CEILING,
    );
    const maxInputPixels = num(
      'max_input_pixels',
      'Largest accepted source in pixels',
      DEFAULT_LIMITS.maxInputPixels,
      1,
      MAX_INPUT_PIXELS_CEILING,
    );
    const maxReceive = num('max_receive_count', 'Receives before a message moves to its DLQ', 5, 1, 1000);
    const retention = num(
      'message_retention_seconds',
      'Retention of the ingest and resized queues',
      345600,
      60,
      1209600,
    );
    const ageAlarm = num(
      'oldest_message_age_alarm_seconds',
      'Alarm threshold on the age of the oldest ingest/resized message',
      900,
      60,
      1209600,
    );
    const logRetention = variable('log_retention_days', {
      type: 'number',
      description: 'Days CloudWatch keeps function logs.',
      default: 30,
      nullable: false,
      validation: [
        {
          condition: hcl(`contains(${list(LOG_RETENTION_DAYS)}, var.log_retention_days)`),
          errorMessage: `log_retention_days must be one of ${LOG_RETENTION_DAYS.join(', ')}.`,
        },
      ],
    });
    const logLevel = str('log_level', 'LOG_LEVEL of both functions.', 'INFO', [
      ['contains(["DEBUG", "INFO", "WARN", "ERROR"], var.log_level)', 'log_level must be DEBUG, INFO, WARN or ERROR.'],
    ]);
    const alarmActions = variable('alarm_actions', {
      type: 'list(string)',
      description: 'ARNs (e.g. SNS topics) notified by every alarm.',
      default: [],
      nullable: false,
    });
    const webhookUrl = str(
      'webhook_url',
      'Optional https URL the publish stage POSTs image.resized events to ("" for none).',
      '',
      [['var.webhook_url == "" || startswith(var.webhook_url, "https://")', 'webhook_url must be "" or an https URL.']],
    );
    const webhookSecret = str(
      'webhook_secret_arn',
      'Secrets Manager secret ARN of the webhook signing key (required with webhook_url).',
      '',
      [
        [
          'var.webhook_secret_arn == "" || ' +
            'can(regex("^arn:[a-z-]+:secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:.+$", var.webhook_secret_arn))',
          'webhook_secret_arn must be "" or a Secrets Manager secret ARN.',
        ],
      ],
    );
    const forceDestroy = variable('force_destroy', {
      type: 'bool',
      description: 'Let terraform destroy delete the buckets while they hold objects.',
      default: false,
      nullable: false,
    });
    const tags = variable('tags', {
      type: 'map(string)',
      description: 'Tags on every taggable resource.',
      default: {},
      nullable: false,
    });

    this.chain = new ImageResizeChain(this, 'chain', {
      namePrefix: namePrefix.stringValue,
      images: { resize: resizeImage.stringValue, publish: publishImage.stringValue },
      architecture: architecture.stringValue as 'x86_64',
      uploadsPrefix: uploadsPrefix.stringValue,
      outputPrefix: outputPrefix.stringValue,
      variants: variants.stringValue,
      sourceBucket: { forceDestroy: forceDestroy.booleanValue },
      outputBucket: { forceDestroy: forceDestroy.booleanValue },
      resize: {
        memorySize: resizeMemory.numberValue,
        timeout: resizeTimeout.numberValue,
        batchSize: batchSize.numberValue,
        maxBatchingWindow: window.numberValue,
        maximumConcurrency: resizeMaxConc.numberValue,
        provisionedConcurrency: resizeProvisioned.numberValue,
        reservedConcurrency: resizeReserved.numberValue,
      },
      publish: {
        memorySize: publishMemory.numberValue,
        timeout: publishTimeout.numberValue,
        batchSize: batchSize.numberValue,
        maxBatchingWindow: window.numberValue,
        maximumConcurrency: publishMaxConc.numberValue,
        provisionedConcurrency: publishProvisioned.numberValue,
        reservedConcurrency: publishReserved.numberValue,
      },
      expireUploadsAfterDays: expireUploads.numberValue,
      resizeConcurrency: resizeConcurrency.numberValue,
      limits: { maxInputBytes: maxInputBytes.numberValue, maxInputPixels: maxInputPixels.numberValue },
      maxReceiveCount: maxReceive.numberValue,
      messageRetentionSeconds: retention.numberValue,
      oldestMessageAgeAlarmSeconds: ageAlarm.numberValue,
      logRetentionDays: logRetention.numberValue,
      logLevel: logLevel.stringValue as 'INFO',
      alarmActions: alarmActions.listValue,
      webhook: { url: webhookUrl.stringValue, secretArn: webhookSecret.stringValue },
      tags: Token.asStringMap(tags.value),
    });
    // Deliveries are always signed: a webhook URL needs a secret (checked when the module is planned).
    this.chain.publishFunction.function.addOverride('lifecycle.precondition', [
      {
        condition: hcl('var.webhook_url == "" || var.webhook_secret_arn != ""'),
        error_message: 'webhook_url needs webhook_secret_arn (deliveries are always signed).',
      },
      imageArchitecturePrecondition('publish_image_uri'),
    ]);
    // An image built for the other architecture would deploy and fail every invocation (exec format error).
    this.chain.resizeFunction.function.addOverride('lifecycle.precondition', [
      imageArchitecturePrecondition('resize_image_uri'),
    ]);
    // The construct refuses these at synth time; variables may refer to one another only in preconditions (before
    // Terraform 1.9).
    refuseUnusedProvisionedConcurrency(this.chain.resizeFunction, 'resize');
    refuseUnusedProvisionedConcurrency(this.chain.publishFunction, 'publish');
    addChainOutputs(this, this.chain);
    warnAtPlanWithoutAlarmActions(this);
  }
}

/** Provisioned environments above the mapping's maximum concurrency would be billed and never used. */
function refuseUnusedProvisionedConcurrency(fn: ContainerFunction, stage: 'resize' | 'publish'): void {
  fn.provisionedConcurrencyConfig?.addOverride('lifecycle.precondition', [
    {
      condition: hcl(`var.${stage}_provisioned_concurrency <= var.${stage}_maximum_concurrency`),
      error_message:
        `${stage}_provisioned_concurrency must be at most ${stage}_maximum_concurrency: the queue mapping ` +
        `never runs more invocations at once, so further environments would be billed and never used.`,
    },
    {
      // `||` does not short-circuit in Terraform: coalesce makes a null reservation compare equal.
      condition: hcl(
        `coalesce(var.${stage}_reserved_concurrency, ` +
          `var.${stage}_provisioned_concurrency) >= var.${stage}_provisioned_concurrency`,
      ),
      error_message:
        `${stage}_provisioned_concurrency must be at most ${stage}_reserved_concurrency ` +
        `(Lambda refuses more provisioned than reserved environments).`,
    },
  ]);
}

/**
 * Synthesizes the plain module and returns its JSON document: variables, resources, data sources,
 * outputs and `required_providers`, without a provider configuration, backend or cdktf metadata.
 */
export function synthPlainModule(): Record<string, unknown> {
  return synthModuleDocument((app, id) => new ImageResizeChainModuleStack(app, id));
}
