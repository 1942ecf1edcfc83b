/**
 * Scale on paper: what a deployment sustains on AWS, from per-image figures measured by
 * `npm run bench`, the module's settings and Lambda's and SQS's documented quotas. Pure arithmetic
 * (bench/scale-model.ts feeds it and renders the report's section).
 *
 * The model: each resize environment works through its batches one image-time after another
 * (`msPerImage` is billed, CPU-bound time at the function's memory, so images resized at once
 * inside an invocation share the same vCPUs and do not add throughput), the mapping runs at most
 * `maximumConcurrency` environments, and the event source mapping ramps from its documented start
 * (5 concurrent batches) by its documented rate (+300 per minute). Publish is modelled the same way
 * with its ms per invocation of a full batch. Retries, cold starts during the ramp and S3's
 * request rates are not modelled.
 */

/** Documented quotas the model checks settings against (defaults of a fresh account). */
export const AWS_QUOTAS = Object.freeze({
  /** Concurrent executions per account and region (a soft quota). */
  lambdaConcurrentExecutions: 1000,
  /** New execution environments per function every 10 seconds. */
  lambdaScalingPer10s: 1000,
  /** Concurrent batches an SQS event source mapping processes at most (and MaximumConcurrency's range 2..1000). */
  sqsMappingMaxConcurrency: 1000,
  /** Concurrent batches an SQS mapping starts with when messages appear. */
  sqsMappingInitialConcurrency: 5,
  /** Batches an SQS mapping adds per minute while messages remain. */
  sqsMappingRampPerMinute: 300,
  /** In-flight messages (received, not deleted) of a standard queue, approximately. */
  sqsStandardInFlight: 120_000,
  sources: [
    'https://docs.aws.amazon.com/lambda/latest/dg/scaling-behavior.html',
    'https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-scaling.html',
    'https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/quotas-queues.html',
  ],
});

export type AwsQuotas = Omit<typeof AWS_QUOTAS, 'sources'>;

export interface StageScale {
  /** The mapping's maximum concurrency (environments). */
  readonly maximumConcurrency: number;
  /** Messages per batch. */
  readonly batchSize: number;
}

export interface ScaleInputs {
  /** Billed ms of resizing one image at the function's memory. */
  readonly resizeMsPerImage: number;
  /** Billed ms of one publish invocation of a full batch. */
  readonly publishMsPerBatch: number;
  readonly resize: StageScale;
  readonly publish: StageScale;
  /** Uploads arriving at once. */
  readonly burst: number;
}

export interface QuotaCheck {
  readonly quota: string;
  readonly needed: number;
  readonly limit: number;
  readonly ok: boolean;
}

export interface ScaleResult {
  /** Images per second one resize environment sustains. */
  readonly resizePerEnvironment: number;
  /** Images per second of the resize stage at its maximum concurrency. */
  readonly resizeImagesPerSecond: number;
  /** Images per second of the publish stage at its maximum concurrency. */
  readonly publishImagesPerSecond: number;
  /** The chain's rate: the slower stage. */
  readonly imagesPerSecond: number;
  readonly bottleneck: 'resize' | 'publish';
  /** Seconds until the mapping reaches its maximum concurrency from its initial 5 batches. */
  readonly rampSeconds: number;
  /** Seconds to drain the burst, ramp included: the age of the burst's last message when it is taken. */
  readonly drainSeconds: number;
  readonly checks: QuotaCheck[];
}

function positive(name: string, value: number): void {
  if (!(Number.isFinite(value) && value > 0)) throw new RangeError(`${name} must be a positive number, got ${value}`);
}

/** Seconds for the mapping to go from its initial concurrency to `target` at its ramp rate (0 when already there). */
export function rampSeconds(target: number, quotas: AwsQuotas = AWS_QUOTAS): number {
  const start = Math.min(target, quotas.sqsMappingInitialConcurrency);
  return ((target - start) / quotas.sqsMappingRampPerMinute) * 60;
}

/**
 * Seconds to process `count` images at `perEnvironment` images/s per environment, the environment
 * count ramping linearly from the mapping's initial concurrency to `maxEnvironments`.
 */
export function drainSeconds(
  count: number,
  perEnvironment: number,
  maxEnvironments: number,
  quotas: AwsQuotas = AWS_QUOTAS,
): number {
  const start = Math.min(maxEnvironments, quotas.sqsMappingInitialConcurrency);
  const ramp = rampSeconds(maxEnvironments, quotas);
  const slope = (maxEnvironments - start) / (ramp || 1);
  // Images done during the ramp: the integral of (start + slope t) * perEnvironment over [0, ramp].
  const duringRamp = perEnvironment * (start * ramp + (slope * ramp * ramp) / 2);
  if (count <= duringRamp) {
    // Solve perEnvironment (start t + slope t^2 / 2) = count for t.
    const a = (perEnvironment * slope) / 2;
    const b = perEnvironment * start;
    return a === 0 ? count / b : (-b + Math.sqrt(b * b + 4 * a * count)) / (2 * a);
  }
  return ramp + (count - duringRamp) / (perEnvironment * maxEnvironments);
}

/** What the settings sustain, and whether they fit the quotas. Throws RangeError on non-positive inputs. */
export function scaleModel(inputs: ScaleInputs, quotas: AwsQuotas = AWS_QUOTAS): ScaleResult {
  positive('resizeMsPerImage', inputs.resizeMsPerImage);
  positive('publishMsPerBatch', inputs.publishMsPerBatch);
  positive('burst', inputs.burst);
  for (const [name, stage] of Object.entries({ resize: inputs.resize, publish: inputs.publish })) {
    positive(`${name}.maximumConcurrency`, stage.maximumConcurrency);
    positive(`${name}.batchSize`, stage.batchSize);
  }
  const resizePerEnvironment = 1000 / inputs.resizeMsPerImage;
  const publishPerEnvironment = (inputs.publish.batchSize * 1000) / inputs.publishMsPerBatch;
  const resizeImagesPerSecond = resizePerEnvironment * inputs.resize.maximumConcurrency;
  const publishImagesPerSecond = publishPerEnvironment * inputs.publish.maximumConcurrency;
  const bottleneck = publishImagesPerSecond < resizeImagesPerSecond ? 'publish' : 'resize';
  const [perEnvironment, environments] =
    bottleneck === 'resize'
      ? [resizePerEnvironment, inputs.resize.maximumConcurrency]
      : [publishPerEnvironment, inputs.publish.maximumConcurrency];
  const check = (quota: string, needed: number, limit: number): QuotaCheck => ({
    quota,
    needed,
    limit,
    ok: needed <= limit,
  });
  return {
    resizePerEnvironment,
    resizeImagesPerSecond,
    publishImagesPerSecond,
    imagesPerSecond: Math.min(resizeImagesPerSecond, publishImagesPerSecond),
    bottleneck,
    rampSeconds: rampSeconds(environments, quotas),
    drainSeconds: drainSeconds(inputs.burst, perEnvironment, environments, quotas),
    checks: [
      check(
        'Lambda concurrent executions per region (resize + publish)',
        inputs.resize.maximumConcurrency + inputs.publish.maximumConcurrency,
        quotas.lambdaConcurrentExecutions,
      ),
      check('SQS mapping concurrency (resize)', inputs.resize.maximumConcurrency, quotas.sqsMappingMaxConcurrency),
      check('SQS mapping concurrency (publish)', inputs.publish.maximumConcurrency, quotas.sqsMappingMaxConcurrency),
      check(
        'SQS in-flight messages, ingest queue',
        inputs.resize.maximumConcurrency * inputs.resize.batchSize,
        quotas.sqsStandardInFlight,
      ),
      check('Lambda new environments per 10 s (resize)', inputs.resize.maximumConcurrency, quotas.lambdaScalingPer10s),
    ],
  };
}

/**
 * The smallest maximum concurrencies (resize, publish) that reach `factor` times the current rate
 * of the chain, each stage sized for the target on its own and never below its current setting.
 */
export function concurrencyFor(
  factor: number,
  inputs: ScaleInputs,
): { resize: number; publish: number; targetImagesPerSecond: number } {
  positive('factor', factor);
  const now = scaleModel(inputs);
  const target = now.imagesPerSecond * factor;
  const publishPerEnvironment = (inputs.publish.batchSize * 1000) / inputs.publishMsPerBatch;
  return {
    resize: Math.max(2, inputs.resize.maximumConcurrency, Math.ceil(target / now.resizePerEnvironment - 1e-9)),
    publish: Math.max(2, inputs.publish.maximumConcurrency, Math.ceil(target / publishPerEnvironment - 1e-9)),
    targetImagesPerSecond: target,
  };
}
