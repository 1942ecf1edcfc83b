import { PipelineError, type ErrorSubject } from '../core/errors';

/** The fields of an AWS SDK v3 service exception that classification needs. */
interface SdkErrorShape {
  name?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
  $retryable?: { throttling?: boolean };
}

const THROTTLING = new Set([
  'SlowDown',
  'Throttling',
  'ThrottlingException',
  'RequestThrottled',
  'RequestThrottledException',
  'TooManyRequestsException',
  'RequestLimitExceeded',
]);

/** The code of a service's non-throttling faults; the webhook secret is read only for the webhook. */
const SERVICE_CODES = { S3: 'S3_ERROR', SQS: 'SQS_ERROR', SecretsManager: 'WEBHOOK_ERROR' } as const;

/** HTTP status of an SDK error, if the service answered at all. */
export function httpStatusOf(err: unknown): number | undefined {
  return (err as SdkErrorShape | undefined)?.$metadata?.httpStatusCode;
}

/**
 * Classifies an AWS SDK error: throttling and every other service or network fault is transient
 * (the message is retried, then kept by the DLQ). Access errors are transient too: they are
 * configuration faults, not faults of the image, so the message must not be rejected as bad input.
 */
export function classifyAwsError(
  service: keyof typeof SERVICE_CODES,
  err: unknown,
  subject: ErrorSubject,
): PipelineError {
  if (err instanceof PipelineError) return err;
  const e = (err ?? {}) as SdkErrorShape;
  const name = e.name ?? 'Error';
  const status = httpStatusOf(err);
  const detail = `${service} ${name}${status ? ` (HTTP ${status})` : ''}: ${e.message ?? String(err)}`;
  if (THROTTLING.has(name) || e.$retryable?.throttling || status === 429) {
    return new PipelineError('THROTTLED', detail, subject, { cause: err });
  }
  return new PipelineError(SERVICE_CODES[service], detail, subject, { cause: err });
}
