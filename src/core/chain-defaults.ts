/**
 * The chain's defaults, said once: the module (modules/) deploys with them and the local chain
 * (`resize-chain start` / `up`) runs with them, so the two cannot drift. Here rather than in modules/
 * because the module may import src/core and the local cloud may not import the module (it would
 * pull cdktf into the CLI). The module re-exports them (STAGE_DEFAULTS from modules/image-resize-chain.ts).
 */

/** The module's default `namePrefix`. */
export const DEFAULT_NAME_PREFIX = 'image-resize-chain';

/** The module's default `uploadsPrefix`: the key prefix whose new objects start the chain. */
export const DEFAULT_UPLOADS_PREFIX = 'uploads/';

/**
 * Defaults of the resize and publish stages (function and queue mapping): memory (MB), timeout (s),
 * records per batch, batching window (s) and the mapping's maximum concurrency.
 *
 * No batching window (0 s, Lambda's own default for SQS): a mapping invokes as soon as a receive
 * returns messages, and a receive returns up to the batch size of those waiting, so a burst still
 * fills batches. A window holds a lone upload instead: 1 s per stage delayed each manifest of
 * one-at-a-time traffic by up to 2 s, to save invocations and receives worth $0.79 per million
 * evenly spread images (`resize-chain cost`: $141.03 with 1 s windows, $141.82 without, at 2,048 MB;
 * the publish function writes one manifest per event, batched or not). On the local chain 12
 * uploads at once reached their last manifest in 2.8 s with 1 s windows and 1.8 s without
 * (bench/results.md, "Where the chain's time goes").
 */
export const STAGE_DEFAULTS = Object.freeze({
  resize: Object.freeze({ memorySize: 2048, timeout: 60, batchSize: 10, maxBatchingWindow: 0, maximumConcurrency: 10 }),
  publish: Object.freeze({ memorySize: 256, timeout: 30, batchSize: 10, maxBatchingWindow: 0, maximumConcurrency: 5 }),
});

/**
 * Images the resize function processes at once inside one invocation (its `CONCURRENCY` variable,
 * 1-16): the handler's default when the variable is unset, and the module's `resizeConcurrency`
 * default. 4 is what the worst-case memory bench measured to fit the default 2,048 MB.
 */
export const DEFAULT_RESIZE_CONCURRENCY = 4;

/** Receives of a message before its queue moves it to the DLQ (`maxReceiveCount`). */
export const DEFAULT_MAX_RECEIVE_COUNT = 5;

/** What the chain's mappings accept from a function: partial batch failures (`batchItemFailures`). */
export const FUNCTION_RESPONSE_TYPES: readonly ['ReportBatchItemFailures'] = Object.freeze([
  'ReportBatchItemFailures',
] as const);

/**
 * A stage queue's visibility timeout: 6 times the function timeout plus the batching window, AWS's
 * recommendation ("set the source queue's visibility timeout to at least six times the function
 * timeout, plus the value of MaximumBatchingWindowInSeconds").
 */
export function defaultVisibilityTimeout(functionTimeoutSeconds: number, batchingWindowSeconds: number): number {
  return 6 * functionTimeoutSeconds + batchingWindowSeconds;
}

/** The stream source's on-failure queue: 5 minutes of visibility, 14 days of retention (it waits for a person). */
export const FAILURE_QUEUE_DEFAULTS = Object.freeze({
  visibilityTimeoutSeconds: 300,
  messageRetentionSeconds: 1209600,
});

/** The upload function's defaults (memory in MB, timeout in s). */
export const UPLOAD_FUNCTION_DEFAULTS = Object.freeze({ memorySize: 256, timeout: 10 });

/** The stream source's defaults (modules/stream-source.ts). */
export const STREAM_SOURCE_DEFAULTS = Object.freeze({
  shardCount: 1,
  batchSize: 100,
  bisectBatchOnFunctionError: true,
  maximumRetryAttempts: 3,
  maximumRecordAgeSeconds: -1,
  parallelizationFactor: 1,
});
