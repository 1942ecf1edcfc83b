import { DEFAULT_RESIZE_CONCURRENCY } from './chain-defaults';
import { boolEnv, intEnv, requiredEnv, type Env } from './env';
import { configError } from './errors';
import { parseImageLimits } from './limits';
import type { ResizeConfig } from './resize-batch';
import { DEFAULT_VARIANTS, parseVariantSpecs } from './variants';

/** Cache-Control on every variant: keys are stable across overwrites, so no `immutable`. */
export const DEFAULT_CACHE_CONTROL = 'public, max-age=86400';

/** Queues the resize stage writes to. */
export interface ResizeQueues {
  readonly resizedQueueUrl: string;
  readonly rejectedQueueUrl: string;
}

/**
 * Reads the resize stage's configuration from its environment, once, at cold start. A bad value
 * is an `INVALID_CONFIG` error naming the variable, which Lambda reports as an init error.
 *
 * - `OUTPUT_BUCKET` (required), `OUTPUT_PREFIX` (default `""`)
 * - `RESIZED_QUEUE_URL`, `REJECTED_QUEUE_URL` (required)
 * - `VARIANTS`: JSON variant spec (default: `DEFAULT_VARIANTS`)
 * - `MAX_INPUT_BYTES`, `MAX_INPUT_PIXELS`, `ALLOW_ANIMATED`: see `parseImageLimits`
 * - `CONCURRENCY`: sources processed at once per invocation, 1-16 (default `DEFAULT_RESIZE_CONCURRENCY`, 4)
 * - `CACHE_CONTROL`: on every variant (default `DEFAULT_CACHE_CONTROL`)
 */
export function resizeConfigFromEnv(env: Env): ResizeConfig & ResizeQueues {
  return {
    outputBucket: requiredEnv(env, 'OUTPUT_BUCKET'),
    outputPrefix: outputPrefixFromEnv(env),
    variants: env.VARIANTS ? parseVariantSpecs(env.VARIANTS, 'VARIANTS') : [...DEFAULT_VARIANTS],
    limits: parseImageLimits(env),
    concurrency: intEnv(env, 'CONCURRENCY', DEFAULT_RESIZE_CONCURRENCY, 1, 16),
    cacheControl: env.CACHE_CONTROL ?? DEFAULT_CACHE_CONTROL,
    resizedQueueUrl: requiredEnv(env, 'RESIZED_QUEUE_URL'),
    rejectedQueueUrl: requiredEnv(env, 'REJECTED_QUEUE_URL'),
  };
}

export interface PublishConfig {
  readonly outputBucket: string;
  readonly outputPrefix: string;
  readonly concurrency: number;
  /**
   * `secretArn`: the Secrets Manager secret holding the signing key; without it, `WEBHOOK_SECRET` holds the key itself.
   */
  readonly webhook?: { readonly url: string; readonly timeoutMs: number; readonly secretArn?: string };
}

/**
 * Reads the publish stage's configuration. The webhook is optional; its URL must be https
 * unless `WEBHOOK_ALLOW_HTTP=true` (for the local cloud). Its signing secret is read from Secrets
 * Manager (`WEBHOOK_SECRET_ARN`, on AWS) or, locally, from `WEBHOOK_SECRET`; it is never logged.
 *
 * - `OUTPUT_BUCKET` (required), `OUTPUT_PREFIX` (default `""`): where manifests go
 * - `WEBHOOK_URL` (optional), `WEBHOOK_TIMEOUT_MS` 100-30000 (default 5000)
 * - `CONCURRENCY`: events handled at once, 1-32 (default 8)
 */
export function publishConfigFromEnv(env: Env): PublishConfig {
  const url = env.WEBHOOK_URL?.trim();
  let webhook: PublishConfig['webhook'];
  if (url) {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw configError('WEBHOOK_URL', `is not a URL: ${JSON.stringify(url)}`);
    }
    const allowHttp = boolEnv(env, 'WEBHOOK_ALLOW_HTTP', false);
    if (parsed.protocol !== 'https:' && !(allowHttp && parsed.protocol === 'http:')) {
      throw configError(
        'WEBHOOK_URL',
        `must use https (set WEBHOOK_ALLOW_HTTP=true to allow http), got ${parsed.protocol}`,
      );
    }
    const secretArn = env.WEBHOOK_SECRET_ARN?.trim() || undefined;
    if (!env.WEBHOOK_SECRET && !secretArn) {
      throw configError(
        'WEBHOOK_SECRET_ARN',
        'or WEBHOOK_SECRET is required when WEBHOOK_URL is set (deliveries are always signed)',
      );
    }
    webhook = { url, timeoutMs: intEnv(env, 'WEBHOOK_TIMEOUT_MS', 5000, 100, 30000), secretArn };
  }
  return {
    outputBucket: requiredEnv(env, 'OUTPUT_BUCKET'),
    outputPrefix: outputPrefixFromEnv(env),
    concurrency: intEnv(env, 'CONCURRENCY', 8, 1, 32),
    webhook,
  };
}

function outputPrefixFromEnv(env: Env): string {
  const prefix = env.OUTPUT_PREFIX ?? '';
  if (prefix.startsWith('/'))
    throw configError('OUTPUT_PREFIX', `must not start with "/", got ${JSON.stringify(prefix)}`);
  if (prefix !== '' && !prefix.endsWith('/'))
    throw configError('OUTPUT_PREFIX', `must end with "/", got ${JSON.stringify(prefix)}`);
  return prefix;
}
