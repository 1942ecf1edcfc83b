import type { Context } from 'aws-lambda';
import type { ResizePorts } from '../core/resize-batch';
import { isOnDemandSandbox } from './metrics';

/**
 * Structured JSON logs, one object per line, with the fields and order of the Powertools for AWS
 * Lambda logger: `level`, `message`, `timestamp`, `service`, then after `addContext` `cold_start`,
 * `function_arn`, `function_memory_size`, `function_name`, `function_request_id`, then
 * `xray_trace_id` when the invocation is traced, then the caller's fields. Errors anywhere in the
 * fields become `{ name, message, stack, ...own fields }` (a PipelineError keeps `code` and `subject`).
 *
 * Ours rather than `@aws-lambda-powertools/logger` because of cold-start time: see README,
 * Performance ("Powertools logger"). We use none of its other features (sampling, buffering,
 * correlation ids, custom formatters).
 */
export interface Logger {
  debug(message: string, fields?: LogFields | Error): void;
  info(message: string, fields?: LogFields | Error): void;
  warn(message: string, fields?: LogFields | Error): void;
  error(message: string, fields?: LogFields | Error): void;
  /**
   * Adds the invocation's request id and function fields to every later line; the first call of the sandbox sets
   * `cold_start`.
   */
  addContext(context: Context): void;
}

export type LogFields = Record<string, unknown>;
export type LogLevelName = 'TRACE' | 'DEBUG' | 'INFO' | 'WARN' | 'ERROR' | 'CRITICAL' | 'SILENT';

/** Thresholds as Powertools numbers them; a line is written when its level is at or above the logger's. */
const LEVELS: Record<LogLevelName, number> = {
  TRACE: 6,
  DEBUG: 8,
  INFO: 12,
  WARN: 16,
  ERROR: 20,
  CRITICAL: 24,
  SILENT: 28,
};

export interface LoggerOptions {
  /** Environment read once, at creation. @default process.env */
  env?: NodeJS.ProcessEnv;
  /** Where a finished line goes. @default DEBUG and INFO to stdout, WARN and ERROR to stderr, as Powertools does */
  write?: (level: 'DEBUG' | 'INFO' | 'WARN' | 'ERROR', line: string) => void;
  /** Clock. @default () => new Date() */
  now?: () => Date;
}

function levelOf(value: string | undefined): LogLevelName | undefined {
  const name = value?.trim().toUpperCase();
  if (name === 'FATAL') return 'CRITICAL'; // Lambda's advanced logging controls call it FATAL
  return name && name in LEVELS ? (name as LogLevelName) : undefined;
}

/**
 * The level in force: `POWERTOOLS_LOG_LEVEL` or `LOG_LEVEL` (default INFO), raised to Lambda's
 * `AWS_LAMBDA_LOG_LEVEL` when that is stricter (Lambda would drop the extra lines anyway).
 * `invalid` names a setting that is not a level (it is then ignored, as Powertools ignores it).
 */
export function logLevelFromEnv(env: NodeJS.ProcessEnv): { level: LogLevelName; invalid?: string } {
  const raw = env.POWERTOOLS_LOG_LEVEL || env.LOG_LEVEL;
  const asked = levelOf(raw);
  const lambda = levelOf(env.AWS_LAMBDA_LOG_LEVEL);
  let level: LogLevelName = asked ?? 'INFO';
  if (lambda && LEVELS[lambda] > LEVELS[level]) level = lambda;
  return raw && !asked ? { level, invalid: raw } : { level };
}

/**
 * The X-Ray trace id of the current invocation: aws-lambda-ric's invoke store, else `_X_AMZN_TRACE_ID`
 * (Root=…;Parent=…).
 */
function xrayTraceId(env: NodeJS.ProcessEnv): string | undefined {
  // aws-lambda-ric publishes its per-invocation store on globalThis.awslambda (Powertools reads it the same way).
  const store = (globalThis as { awslambda?: { InvokeStore?: { getXRayTraceId?: () => string | undefined } } })
    .awslambda?.InvokeStore;
  const header = store?.getXRayTraceId?.() ?? env._X_AMZN_TRACE_ID;
  if (!header) return undefined;
  if (!header.includes('=')) return header;
  for (const part of header.split(';')) {
    const [key, value] = part.split('=');
    if (key === 'Root') return value;
  }
  return undefined;
}

/** Error -> plain object; bigint -> string; repeated references -> '[Circular]'. */
function jsonReplacer(): (this: unknown, key: string, value: unknown) => unknown {
  const seen = new WeakSet<object>();
  return function replace(key, value) {
    if (typeof value === 'bigint') return value.toString();
    // `value` has been through toJSON already (PipelineError has one); the holder still has the error.
    const raw = (this as Record<string, unknown>)[key];
    if (raw instanceof Error) value = raw;
    if (typeof value !== 'object' || value === null) return value;
    if (seen.has(value)) return '[Circular]';
    seen.add(value);
    if (!(value instanceof Error)) return value;
    // Own enumerable fields follow the standard ones: PipelineError's code and subject, an SDK error's $metadata.
    // eslint-disable-next-line @typescript-eslint/no-misused-spread -- a plain copy of the error's own fields
    const own: Record<string, unknown> = { ...value };
    const { name, message, stack, cause } = value;
    return { name, message, stack, ...own, ...(cause === undefined ? {} : { cause }) };
  };
}

const writeToStdio: NonNullable<LoggerOptions['write']> = (level, line) => {
  (level === 'WARN' || level === 'ERROR' ? process.stderr : process.stdout).write(`${line}\n`);
};

/** A logger for `serviceName` (the `service` field). Defaults: see LoggerOptions. */
export function createLogger(serviceName: string, opts: LoggerOptions = {}): Logger {
  const env = opts.env ?? process.env;
  const write = opts.write ?? writeToStdio;
  const now = opts.now ?? (() => new Date());
  const { level, invalid } = logLevelFromEnv(env);
  const threshold = LEVELS[level];
  let coldStartPending = isOnDemandSandbox(env);
  let contextFields: LogFields = {};

  const log = (name: 'DEBUG' | 'INFO' | 'WARN' | 'ERROR', message: string, fields?: LogFields | Error) => {
    if (LEVELS[name] < threshold) return;
    const extra = fields instanceof Error ? { error: fields } : fields;
    const record = {
      level: name,
      message,
      timestamp: now().toISOString(),
      service: serviceName,
      ...contextFields,
      xray_trace_id: xrayTraceId(env),
      ...extra,
    };
    write(name, JSON.stringify(record, jsonReplacer()));
  };

  const logger: Logger = {
    debug: (message, fields) => log('DEBUG', message, fields),
    info: (message, fields) => log('INFO', message, fields),
    warn: (message, fields) => log('WARN', message, fields),
    error: (message, fields) => log('ERROR', message, fields),
    addContext(context) {
      contextFields = {
        cold_start: coldStartPending,
        function_arn: context.invokedFunctionArn,
        function_memory_size: context.memoryLimitInMB,
        function_name: context.functionName,
        function_request_id: context.awsRequestId,
      };
      coldStartPending = false;
    },
  };
  if (invalid !== undefined)
    logger.warn(
      `log level ${JSON.stringify(invalid)} is not one of ${Object.keys(LEVELS).join(', ')}: using ${level}`,
      { field: 'LOG_LEVEL' },
    );
  return logger;
}

/** Adapts a logger to the core's `log` port. */
export function logPort(logger: Logger): ResizePorts['log'] {
  return (level, message, fields) => logger[level](message, fields);
}
