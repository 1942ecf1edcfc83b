/**
 * Synth-time refusals. Each throws a `PipelineError` with code `INVALID_CONFIG` whose message names
 * the prop, the bad value and what is accepted. Values that are cdktf tokens (Terraform variables in
 * the plain module) cannot be checked here: callers turn those checks into Terraform variable
 * validations or resource preconditions instead.
 */
import { Token } from 'cdktf';
import { checkInt } from '../src/core/checks';
import { configError } from '../src/core/errors';
import { outputsWouldLoop } from '../src/core/keys';

/** True when a value is known at synth time (not a Terraform expression). */
export function isKnown(value: unknown): boolean {
  return value !== undefined && !Token.isUnresolved(value);
}

/** Refuses a non-integer or out-of-range number. Unknown (token) values pass. */
export function checkIntRange(field: string, value: number, min: number, max: number): void {
  if (isKnown(value)) checkInt(field, value, min, max);
}

/** Refuses a value outside a fixed set. */
export function checkOneOf<T extends string | number>(field: string, value: T, accepted: readonly T[]): void {
  if (!isKnown(value)) return;
  if (!accepted.includes(value)) {
    throw configError(field, `must be one of ${accepted.join(', ')}, got ${JSON.stringify(value)}`);
  }
}

/** Lambda rejects a batch size above 10 for SQS unless a batching window of at least 1 s is set. */
export function checkBatchWindow(field: string, batchSize: number, maxBatchingWindow: number): void {
  if (!isKnown(batchSize) || !isKnown(maxBatchingWindow)) return;
  if (batchSize > 10 && maxBatchingWindow < 1) {
    throw configError(
      field,
      `batchSize ${batchSize} is above 10, ` +
        `which SQS event source mappings accept only with maxBatchingWindow >= 1 s (got ${maxBatchingWindow})`,
    );
  }
}

/**
 * AWS asks for a queue visibility timeout of at least 6x the function timeout, so a message is not
 * delivered again while a slow, throttled or retried invocation still holds it.
 */
export function checkVisibilityTimeout(field: string, visibilityTimeout: number, functionTimeout: number): void {
  if (!isKnown(visibilityTimeout) || !isKnown(functionTimeout)) return;
  if (visibilityTimeout < 6 * functionTimeout) {
    throw configError(
      field,
      `visibility timeout ${visibilityTimeout} s is below 6 x the ` +
        `function timeout (${functionTimeout} s = ${6 * functionTimeout} s); ` +
        'raise it or lower the timeout',
    );
  }
}

/** S3 event notifications cannot target FIFO queues. */
export function checkNotFifoForS3(field: string, fifo: boolean | undefined): void {
  if (fifo) {
    throw configError(field, 'a FIFO queue cannot be the destination of S3 event notifications; use a standard queue');
  }
}

/**
 * Refuses outputs written where the S3 notification would pick them up again (an endless chain).
 * Uses the same rule as the handlers (`outputsWouldLoop` in src/core/keys.ts). Skipped when bucket
 * names or prefixes are Terraform expressions and the buckets are known to be distinct resources.
 */
export function checkNoLoop(opts: {
  sameBucket: boolean;
  sourceBucketName: string;
  outputBucketName: string;
  uploadsPrefix: string;
  outputPrefix: string;
}): void {
  if (!isKnown(opts.uploadsPrefix) || !isKnown(opts.outputPrefix)) {
    if (opts.sameBucket) {
      throw configError(
        'outputPrefix',
        'with one bucket for uploads and outputs, ' +
          'uploadsPrefix and outputPrefix must be known at synth time so a loop can be ruled out',
      );
    }
    return;
  }
  const namesKnown = isKnown(opts.sourceBucketName) && isKnown(opts.outputBucketName);
  const sameBucket = opts.sameBucket || (namesKnown && opts.sourceBucketName === opts.outputBucketName);
  if (!sameBucket) return;
  if (
    outputsWouldLoop({
      sourceBucket: 'same',
      outputBucket: 'same',
      uploadsPrefix: opts.uploadsPrefix,
      outputPrefix: opts.outputPrefix,
    })
  ) {
    throw configError(
      'outputPrefix',
      `outputs under "${opts.outputPrefix}" in the source bucket ` +
        `would match the watched uploads prefix "${opts.uploadsPrefix}" ` +
        'and trigger the chain again; use a separate output bucket or prefixes where neither starts with the other',
    );
  }
}

/** CloudWatch Logs accepts only these retention periods (days). */
export const LOG_RETENTION_DAYS = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
] as const;

/**
 * Provisioned concurrency of a queue-driven function: 1..1000, and no more than the event source
 * mapping's maximum concurrency (the mapping never runs more invocations at once, so environments
 * above it would be paid for every second and never used) nor than the function's reserved
 * concurrency (AWS refuses provisioned concurrency above it).
 */
export function checkProvisionedConcurrency(
  field: string,
  provisioned: number | undefined,
  maximumConcurrency: number,
  reservedConcurrency?: number,
): void {
  if (provisioned === undefined || !isKnown(provisioned)) return;
  checkIntRange(field, provisioned, 1, 1000);
  if (isKnown(maximumConcurrency) && provisioned > maximumConcurrency) {
    throw configError(
      field,
      `${provisioned} is above the event source mapping's maximumConcurrency (${maximumConcurrency}): ` +
        `the mapping never runs more invocations at once, ` +
        'so the extra environments would be billed and never used; lower it or raise maximumConcurrency',
    );
  }
  if (reservedConcurrency !== undefined && isKnown(reservedConcurrency) && provisioned > reservedConcurrency) {
    throw configError(
      field,
      `${provisioned} is above the function's reservedConcurrency (${reservedConcurrency}), which AWS refuses`,
    );
  }
}

/**
 * The architecture an image tag names when it follows the module's `<arch>-<16 hex>` scheme (the tags
 * `ImageRepository` builds, e.g. `arm64-0123456789abcdef`); undefined for other tags and digests.
 */
export const ARCH_TAG_PATTERN = '^[^@]*:(x86_64|arm64)-[0-9a-f]{16}$';

export function imageTagArchitecture(imageUri: string): string | undefined {
  return new RegExp(ARCH_TAG_PATTERN).exec(imageUri)?.[1];
}

/**
 * Refuses an image whose tag says the other architecture: Lambda would create the function and fail
 * every invocation with an exec format error. Tags outside the scheme and unknown values pass.
 */
export function checkImageArchitecture(field: string, imageUri: string | undefined, architecture: string): void {
  if (!isKnown(imageUri) || !isKnown(architecture)) return;
  const tagged = imageTagArchitecture(imageUri!);
  if (tagged !== undefined && tagged !== architecture) {
    throw configError(
      field,
      `the tag of ${JSON.stringify(imageUri)} says ${tagged}, but the function runs on ${architecture}: ` +
        `build for ${architecture} or set architecture: '${tagged}'`,
    );
  }
}
