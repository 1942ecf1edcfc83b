/**
 * Contracts shared inside the local cloud: how an event source mapping calls a function, and what
 * comes back. Mirrors Lambda's Invoke API: a function either returns a payload or fails with an
 * error document `{ errorType, errorMessage, stackTrace? }`.
 */

/** The error document Lambda returns for a failed invocation. */
export interface LambdaErrorDocument {
  errorType: string;
  errorMessage: string;
  stackTrace?: string[];
}

/** Why an invocation failed: the handler threw, init failed, the deadline passed, or the process died. */
export type InvokeFailureKind = 'handled' | 'init' | 'timeout' | 'crash';

export type InvokeResult =
  | { ok: true; requestId: string; payload: unknown; durationMs: number }
  | { ok: false; requestId: string; kind: InvokeFailureKind; error: LambdaErrorDocument; durationMs: number };

/** Invokes a function once with an event, as Lambda's synchronous Invoke does. */
export type InvokeFn = (event: unknown) => Promise<InvokeResult>;

/**
 * How the local cloud reaches a function: its invoke for a function ARN (as an integration or a
 * rule target names it, possibly with a version or alias qualifier), or undefined when no such
 * function runs.
 */
export type FunctionInvoker = (functionArn: string) => InvokeFn | undefined;

/** One structured log line from the local cloud or a function. */
export type LogSink = (line: Record<string, unknown>) => void;
