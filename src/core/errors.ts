/**
 * The error taxonomy of the chain. Every failure that crosses a module boundary is a
 * `PipelineError` with a stable `code`, a `permanent` flag and the object it concerns.
 *
 * Permanent errors are properties of the input (retrying cannot help): the record goes to the
 * rejected queue once and is never retried. Transient errors are properties of the moment
 * (S3/SQS faults, throttling): the record is reported in `batchItemFailures` and redelivered.
 */

/** Codes for failures caused by the input itself. */
export const PERMANENT_CODES = [
  'NOT_AN_IMAGE',
  'CORRUPT',
  'TRUNCATED',
  'TOO_MANY_PIXELS',
  'TOO_LARGE',
  'EMPTY',
  'UNSUPPORTED_FORMAT',
  'ANIMATED',
  'INVALID_KEY',
  'INVALID_EVENT',
  'NOT_FOUND',
] as const;

/** Codes for failures of the moment: retry later. */
export const TRANSIENT_CODES = ['S3_ERROR', 'SQS_ERROR', 'THROTTLED', 'TIMEOUT', 'WEBHOOK_ERROR', 'INTERNAL'] as const;

/** Codes for configuration mistakes, reported at start-up (cold start / synth / CLI). */
export const CONFIG_CODES = ['INVALID_CONFIG'] as const;

export type PermanentCode = (typeof PERMANENT_CODES)[number];
export type TransientCode = (typeof TRANSIENT_CODES)[number];
export type ConfigCode = (typeof CONFIG_CODES)[number];
export type ErrorCode = PermanentCode | TransientCode | ConfigCode;

/** What a failure concerns: an S3 object, a config field, a message. */
export interface ErrorSubject {
  bucket?: string;
  key?: string;
  field?: string;
  messageId?: string;
}

export class PipelineError extends Error {
  override readonly name = 'PipelineError';
  readonly code: ErrorCode;
  readonly subject: ErrorSubject;

  constructor(code: ErrorCode, message: string, subject: ErrorSubject = {}, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.subject = subject;
  }

  /** True when retrying the same input cannot succeed. Config errors count as permanent. */
  get permanent(): boolean {
    return !(TRANSIENT_CODES as readonly string[]).includes(this.code);
  }

  /** A plain object for structured logs and CLI output. */
  toJSON(): { code: ErrorCode; message: string; permanent: boolean; subject: ErrorSubject } {
    return { code: this.code, message: this.message, permanent: this.permanent, subject: this.subject };
  }
}

/**
 * The message of a thrown value: `err.message` for an Error, otherwise the value rendered by `render`.
 * @default render String
 */
export function errorMessage(err: unknown, render: (value: unknown) => string = String): string {
  return err instanceof Error ? err.message : render(err);
}

/** A thrown value for logs: `Name: message` for an Error (keeps the AWS SDK error name), else the value as a string. */
export function errorNameAndMessage(err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
}

/** A thrown value as an Error: itself when it is one, otherwise an Error whose message is the value as a string. */
export function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}

export function isPipelineError(err: unknown): err is PipelineError {
  return err instanceof PipelineError;
}

/** A failure not classified at its source is treated as transient: retried, then the DLQ keeps it. */
export function toPipelineError(err: unknown, subject: ErrorSubject = {}): PipelineError {
  if (isPipelineError(err)) return err;
  return new PipelineError('INTERNAL', errorMessage(err), subject, { cause: err });
}

/** Shorthand for configuration errors: names the field, the bad value and what is accepted. */
export function configError(field: string, message: string): PipelineError {
  return new PipelineError('INVALID_CONFIG', `${field}: ${message}`, { field });
}
