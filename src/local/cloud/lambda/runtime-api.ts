/**
 * Our Lambda Runtime API (version 2018-06-01): the HTTP server a runtime interface client such as
 * `aws-lambda-ric` polls for invocations and posts results to, exactly as it does inside Lambda.
 * It also serves the Runtime Interface Emulator's invoke endpoint
 * (`POST /2015-03-31/functions/function/invocations`), and unlike the RIE it queues concurrent
 * invocations and hands them to as many runtimes as are polling.
 *
 * The server knows nothing of processes. A host that runs runtimes itself opens one "sandbox
 * endpoint" (its own port) per runtime process, so every invocation is attributed to the process
 * that took it: that is what lets the host kill the right process on a timeout and fail the right
 * invocation when a process dies. Runtimes started elsewhere (a container) poll the main port.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { PipelineError, errorMessage } from '../../../core/errors';
import { sendJson } from '../http-io';
import type { InvokeFailureKind, InvokeResult, LambdaErrorDocument, LogSink } from './invoke-contract';

/** Lambda's synchronous payload limit, for both the event and the response (6 MiB). */
export const MAX_PAYLOAD_BYTES = 6 * 1024 * 1024;

/** The sandbox id of invocations handed out through the main port (runtimes we did not start). */
export const SHARED_SANDBOX = 'shared';

const API_PREFIX = '/2018-06-01/runtime';
const NEXT_PATH = `${API_PREFIX}/invocation/next`;
const INIT_ERROR_PATH = `${API_PREFIX}/init/error`;
const INVOCATION_RESULT_PATH = /^\/2018-06-01\/runtime\/invocation\/([^/]+)\/(response|error)$/;
const RIE_INVOKE_PATH = /^\/2015-03-31\/functions\/([^/]+)\/invocations$/;

/** Header carrying the error type on `/error` and `/init/error` posts. */
const ERROR_TYPE_HEADER = 'lambda-runtime-function-error-type';

export interface LambdaRuntimeApiOptions {
  /** Function name: used in the invoked function ARN and in log lines. */
  functionName: string;
  /** Region in the invoked function ARN. @default 'us-east-1' */
  region?: string;
  /** Deadline of an invocation, counted from the moment a runtime takes it. @default 30000 */
  timeoutMs?: number;
  /** Port of the main listener. @default 0 (ephemeral) */
  port?: number;
  /** Where START/REPORT/INIT_ERROR lines go. @default discard */
  logSink?: LogSink;
}

export interface RuntimeApiEndpoint {
  port: number;
  address: string;
}

/** Events the host listens to. `sandboxId` is SHARED_SANDBOX for runtimes on the main port. */
export interface RuntimeApiEvents {
  /** An invocation was queued (programmatic or RIE endpoint): a host starts runtimes on demand here. */
  invocationQueued: [{ requestId: string }];
  /** An invocation resolved, whichever way. */
  invocationDone: [{ result: InvokeResult }];
  /** A runtime called /next for the first time: its init phase is over. */
  runtimeReady: [{ sandboxId: string }];
  /** A runtime posted /init/error. Pending invocations are NOT failed here: the host decides. */
  initError: [{ sandboxId: string; error: LambdaErrorDocument }];
  /** A runtime took an invocation. `coldStart` is true for the first one a sandbox serves. */
  invocationStart: [{ sandboxId: string; requestId: string; coldStart: boolean }];
  /** A deadline passed: the invocation already resolved with kind 'timeout'; the runtime must be replaced. */
  timeout: [{ sandboxId: string; requestId: string }];
}

/** Per-invocation options of `invoke`. */
export interface InvokeOptions {
  /** Overrides the server's timeoutMs for this invocation. */
  timeoutMs?: number;
}

/** Internal: what an invocation resolved to, plus the raw body for the RIE endpoint. */
interface Completion {
  result: InvokeResult;
  /** The exact bytes the runtime posted (payload or error document), as Lambda returns them. */
  rawBody: string;
}

interface Invocation {
  requestId: string;
  body: string;
  timeoutMs: number;
  traceId: string;
  enqueuedAt: number;
  startedAt?: number;
  sandboxId?: string;
  timer?: NodeJS.Timeout;
  resolve: (completion: Completion) => void;
}

interface Waiter {
  sandboxId: string;
  res: http.ServerResponse;
}

interface Sandbox {
  server: http.Server;
  served: number;
  ready: boolean;
  /** When its first invocation's time budget began, if before it was handed out (a retried init). */
  budgetStartedAt?: number;
}

/**
 * A Lambda Runtime API server on 127.0.0.1.
 *
 * Routes: `GET /2018-06-01/runtime/invocation/next` (long poll, FIFO, any number of concurrent
 * pollers), `POST .../invocation/{id}/response`, `POST .../invocation/{id}/error`,
 * `POST /2018-06-01/runtime/init/error`, and the RIE-compatible
 * `POST /2015-03-31/functions/function/invocations`. Unknown request ids get 400 InvalidRequestID,
 * payloads over 6 MiB get 413, as Lambda answers.
 */
export class LambdaRuntimeApi extends EventEmitter<RuntimeApiEvents> {
  private readonly functionName: string;
  private readonly functionArn: string;
  private readonly timeoutMs: number;
  private readonly port: number;
  private readonly log: LogSink;
  private readonly sandboxes = new Map<string, Sandbox>();
  private readonly queue: Invocation[] = [];
  private readonly waiters: Waiter[] = [];
  private readonly inFlight = new Map<string, Invocation>();
  /** Listeners of listenForInvocations(). */
  private readonly invokeServers: http.Server[] = [];
  private endpoint?: RuntimeApiEndpoint;
  private stopped = false;

  constructor(options: LambdaRuntimeApiOptions) {
    super();
    this.functionName = options.functionName;
    this.functionArn = `arn:aws:lambda:${options.region ?? 'us-east-1'}:000000000000:function:${options.functionName}`;
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.port = options.port ?? 0;
    this.log = options.logSink ?? (() => undefined);
  }

  /**
   * Opens a listener that serves only the RIE-compatible invoke endpoint, on `host` (e.g. 0.0.0.0
   * inside a container, so `docker run -p 9000:8080` reaches it while the Runtime API itself stays
   * on 127.0.0.1). Closed by stop().
   */
  async listenForInvocations(port: number, host: string): Promise<RuntimeApiEndpoint> {
    if (this.stopped) throw new PipelineError('INTERNAL', `runtime API of ${this.functionName} is stopped`);
    const server = http.createServer((req, res) => {
      const url = (req.url ?? '/').split('?')[0];
      const handled = RIE_INVOKE_PATH.test(url)
        ? req.method === 'POST'
          ? this.rieInvoke(req, res)
          : methodNotAllowed(req, res)
        : readBody(req).then(() =>
            sendJson(res, 404, { errorType: 'NotFound', errorMessage: `no route for ${req.method ?? 'GET'} ${url}` }),
          );
      handled.catch((err: unknown) => {
        if (!res.headersSent) sendJson(res, 500, { errorType: 'InternalServerError', errorMessage: String(err) });
        else res.destroy();
      });
    });
    server.requestTimeout = 0; // an invocation may take the whole function timeout
    this.invokeServers.push(server);
    return listen(server, port, host);
  }

  /** Starts the main listener on 127.0.0.1. */
  async start(): Promise<RuntimeApiEndpoint> {
    if (this.endpoint) return this.endpoint;
    const server = this.createServer(SHARED_SANDBOX);
    this.sandboxes.set(SHARED_SANDBOX, { server, served: 0, ready: false });
    this.endpoint = await listen(server, this.port);
    return this.endpoint;
  }

  /**
   * Opens a listener (ephemeral port) dedicated to one runtime process, so what that process takes
   * and reports is attributed to `sandboxId`. `budgetStartedAt`: when the time budget of the first
   * invocation it takes began (a retried init's start: Lambda counts that init against the function's
   * timeout); by default, when that invocation is handed out.
   */
  async openSandbox(sandboxId: string, opts: { budgetStartedAt?: number } = {}): Promise<RuntimeApiEndpoint> {
    if (this.stopped) throw new PipelineError('INTERNAL', `runtime API of ${this.functionName} is stopped`);
    if (this.sandboxes.has(sandboxId)) {
      throw new PipelineError('INTERNAL', `sandbox ${sandboxId} is already open`, { field: 'sandboxId' });
    }
    const server = this.createServer(sandboxId);
    const sandbox: Sandbox = { server, served: 0, ready: false, budgetStartedAt: opts.budgetStartedAt };
    this.sandboxes.set(sandboxId, sandbox);
    const endpoint = await listen(server, 0);
    if (this.sandboxes.get(sandboxId) !== sandbox) {
      // Closed (or the API stopped) while it was binding: do not leave the port open.
      await closeServer(server);
      throw new PipelineError('INTERNAL', `sandbox ${sandboxId} was closed while opening`);
    }
    return endpoint;
  }

  /**
   * Closes a sandbox's listener and drops its pollers. Its in-flight invocations resolve with
   * `failure(requestId)` (e.g. kind 'crash' when its process died).
   */
  async closeSandbox(
    sandboxId: string,
    failure: (requestId: string) => { kind: InvokeFailureKind; error: LambdaErrorDocument },
  ): Promise<void> {
    const sandbox = this.sandboxes.get(sandboxId);
    if (!sandbox || sandboxId === SHARED_SANDBOX) return;
    this.sandboxes.delete(sandboxId);
    for (let i = this.waiters.length - 1; i >= 0; i--) {
      if (this.waiters[i].sandboxId === sandboxId) this.waiters.splice(i, 1);
    }
    for (const invocation of [...this.inFlight.values()]) {
      if (invocation.sandboxId !== sandboxId) continue;
      const { kind, error } = failure(invocation.requestId);
      this.fail(invocation, kind, error);
    }
    await closeServer(sandbox.server);
  }

  /** Sandboxes that have called /next at least once (their init is over), shared one excluded. */
  readySandboxes(): string[] {
    return [...this.sandboxes].filter(([id, s]) => id !== SHARED_SANDBOX && s.ready).map(([id]) => id);
  }

  /** Number of invocations waiting for a runtime to take them. */
  queuedCount(): number {
    return this.queue.length;
  }

  /** Resolves every queued (not yet taken) invocation with this failure, e.g. after an init error. */
  failQueued(kind: InvokeFailureKind, error: LambdaErrorDocument): void {
    for (const invocation of this.queue.splice(0)) this.fail(invocation, kind, error);
  }

  /**
   * Invokes the function once: queues the event for the next runtime that polls and resolves when
   * it responds, errors, or misses its deadline. Rejects with PipelineError('INVALID_EVENT') if the
   * event is not JSON-serializable or exceeds 6 MiB (Lambda refuses those before any runtime sees them).
   */
  async invoke(event: unknown, opts: InvokeOptions = {}): Promise<InvokeResult> {
    let body: string;
    try {
      body = JSON.stringify(event === undefined ? null : event);
    } catch (err) {
      throw new PipelineError('INVALID_EVENT', `event is not JSON-serializable: ${errorMessage(err)}`);
    }
    return (await this.enqueue(body, opts.timeoutMs)).result;
  }

  /** Stops every listener; invocations still open resolve with kind 'crash'. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    const stoppedError = (requestId: string): LambdaErrorDocument => ({
      errorType: 'Runtime.Stopped',
      errorMessage: `RequestId: ${requestId} Error: the local function was stopped before the invocation completed`,
    });
    for (const invocation of this.queue.splice(0)) this.fail(invocation, 'crash', stoppedError(invocation.requestId));
    for (const invocation of [...this.inFlight.values()]) {
      this.fail(invocation, 'crash', stoppedError(invocation.requestId));
    }
    this.waiters.splice(0);
    const servers = [...this.sandboxes.values()].map((s) => s.server).concat(this.invokeServers.splice(0));
    this.sandboxes.clear();
    await Promise.all(servers.map(closeServer));
  }

  private enqueue(body: string, timeoutMs: number | undefined): Promise<Completion> {
    if (this.stopped) {
      return Promise.reject(new PipelineError('INTERNAL', `runtime API of ${this.functionName} is stopped`));
    }
    const size = Buffer.byteLength(body);
    if (size > MAX_PAYLOAD_BYTES) {
      return Promise.reject(
        new PipelineError(
          'INVALID_EVENT',
          `event of ${size} bytes exceeds Lambda's ${MAX_PAYLOAD_BYTES}-byte payload limit`,
        ),
      );
    }
    return new Promise<Completion>((resolve) => {
      const requestId = randomUUID();
      this.queue.push({
        requestId,
        body,
        timeoutMs: timeoutMs ?? this.timeoutMs,
        traceId: newTraceId(),
        enqueuedAt: Date.now(),
        resolve,
      });
      this.emit('invocationQueued', { requestId });
      this.dispatch();
    });
  }

  /** Pairs queued invocations with waiting runtimes, oldest first on both sides. */
  private dispatch(): void {
    while (this.queue.length > 0 && this.waiters.length > 0) {
      const waiter = this.waiters.shift()!;
      if (waiter.res.destroyed || waiter.res.writableEnded) continue; // poller went away
      this.handOver(this.queue.shift()!, waiter);
    }
  }

  private handOver(invocation: Invocation, waiter: Waiter): void {
    const sandbox = this.sandboxes.get(waiter.sandboxId);
    const coldStart = sandbox !== undefined && sandbox.served === 0;
    if (sandbox) sandbox.served += 1;
    invocation.sandboxId = waiter.sandboxId;
    invocation.startedAt = Date.now();
    // After a retried init, the init and the first invocation share the timeout (as on Lambda): the
    // invocation is charged the init time it waited through, from the later of the two starts.
    const retriedInitAt = coldStart ? sandbox?.budgetStartedAt : undefined;
    const budgetStartedAt =
      retriedInitAt === undefined ? invocation.startedAt : Math.max(retriedInitAt, invocation.enqueuedAt);
    const deadline = budgetStartedAt + invocation.timeoutMs;
    this.inFlight.set(invocation.requestId, invocation);
    invocation.timer = setTimeout(() => this.expire(invocation), Math.max(0, deadline - invocation.startedAt));

    waiter.res.writeHead(200, {
      'Content-Type': 'application/json',
      'Lambda-Runtime-Aws-Request-Id': invocation.requestId,
      'Lambda-Runtime-Deadline-Ms': String(deadline),
      'Lambda-Runtime-Invoked-Function-Arn': this.functionArn,
      'Lambda-Runtime-Trace-Id': invocation.traceId,
      'Content-Length': Buffer.byteLength(invocation.body),
    });
    waiter.res.end(invocation.body);

    this.log({
      type: 'START',
      fn: this.functionName,
      requestId: invocation.requestId,
      sandbox: waiter.sandboxId,
      coldStart,
    });
    this.emit('invocationStart', { sandboxId: waiter.sandboxId, requestId: invocation.requestId, coldStart });
  }

  private expire(invocation: Invocation): void {
    if (!this.inFlight.has(invocation.requestId)) return;
    const seconds = (invocation.timeoutMs / 1000).toFixed(2);
    this.fail(invocation, 'timeout', {
      errorType: 'Sandbox.Timedout',
      errorMessage: `RequestId: ${invocation.requestId} Error: Task timed out after ${seconds} seconds`,
    });
    this.emit('timeout', { sandboxId: invocation.sandboxId ?? SHARED_SANDBOX, requestId: invocation.requestId });
  }

  private fail(invocation: Invocation, kind: InvokeFailureKind, error: LambdaErrorDocument): void {
    this.complete(invocation, {
      result: { ok: false, requestId: invocation.requestId, kind, error, durationMs: this.durationOf(invocation) },
      rawBody: JSON.stringify(error),
    });
  }

  private complete(invocation: Invocation, completion: Completion): void {
    clearTimeout(invocation.timer);
    this.inFlight.delete(invocation.requestId);
    const { result } = completion;
    this.log({
      type: 'REPORT',
      fn: this.functionName,
      requestId: invocation.requestId,
      sandbox: invocation.sandboxId ?? null,
      durationMs: result.durationMs,
      outcome: result.ok ? 'ok' : result.kind,
      ...(result.ok ? {} : { errorType: result.error.errorType }),
    });
    invocation.resolve(completion);
    this.emit('invocationDone', { result });
  }

  /** Time the runtime had the invocation; for one never taken, the time it waited. */
  private durationOf(invocation: Invocation): number {
    return Date.now() - (invocation.startedAt ?? invocation.enqueuedAt);
  }

  private createServer(sandboxId: string): http.Server {
    const server = http.createServer((req, res) => {
      this.route(sandboxId, req, res).catch((err: unknown) => {
        if (!res.headersSent) sendJson(res, 500, { errorType: 'InternalServerError', errorMessage: String(err) });
        else res.destroy();
      });
    });
    // A runtime keeps one connection for its whole life and may sit in a handler for up to the
    // function timeout between requests: never close it for idleness.
    server.keepAliveTimeout = 0;
    server.requestTimeout = 0;
    return server;
  }

  private async route(sandboxId: string, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = (req.url ?? '/').split('?')[0];
    const method = req.method ?? 'GET';

    if (url === NEXT_PATH) {
      if (method !== 'GET') return methodNotAllowed(req, res);
      return this.next(sandboxId, req, res);
    }
    if (url === INIT_ERROR_PATH) {
      if (method !== 'POST') return methodNotAllowed(req, res);
      return this.initError(sandboxId, req, res);
    }
    const result = INVOCATION_RESULT_PATH.exec(url);
    if (result) {
      if (method !== 'POST') return methodNotAllowed(req, res);
      return this.invocationResult(
        sandboxId,
        decodeURIComponent(result[1]),
        result[2] as 'response' | 'error',
        req,
        res,
      );
    }
    if (RIE_INVOKE_PATH.test(url)) {
      if (method !== 'POST') return methodNotAllowed(req, res);
      return this.rieInvoke(req, res);
    }
    await readBody(req);
    sendJson(res, 404, { errorType: 'NotFound', errorMessage: `no route for ${method} ${url}` });
  }

  private async next(sandboxId: string, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    await readBody(req);
    const sandbox = this.sandboxes.get(sandboxId);
    if (sandbox && !sandbox.ready) {
      sandbox.ready = true;
      this.emit('runtimeReady', { sandboxId });
    }
    const waiter: Waiter = { sandboxId, res };
    res.on('close', () => {
      const i = this.waiters.indexOf(waiter);
      if (i >= 0) this.waiters.splice(i, 1);
    });
    this.waiters.push(waiter);
    this.dispatch();
  }

  private async initError(sandboxId: string, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const body = await readBody(req);
    if (body.tooLarge) return sendJson(res, 413, tooLargeDocument());
    const error = toErrorDocument(body.text, req.headers[ERROR_TYPE_HEADER]);
    this.log({
      type: 'INIT_ERROR',
      fn: this.functionName,
      sandbox: sandboxId,
      errorType: error.errorType,
      errorMessage: error.errorMessage,
    });
    sendJson(res, 202, { status: 'OK' });
    this.emit('initError', { sandboxId, error });
  }

  private async invocationResult(
    sandboxId: string,
    requestId: string,
    outcome: 'response' | 'error',
    req: http.IncomingMessage,
    res: http.ServerResponse,
  ): Promise<void> {
    const body = await readBody(req);
    const invocation = this.inFlight.get(requestId);
    // Lambda's RAPID only knows the invocation its own sandbox holds: an id handed to another
    // runtime, or one already answered or timed out, is as unknown as a made-up one.
    if (!invocation || invocation.sandboxId !== sandboxId) {
      return sendJson(res, 400, { errorType: 'InvalidRequestID', errorMessage: 'Invalid request ID' });
    }
    const durationMs = this.durationOf(invocation);

    if (body.tooLarge) {
      // As Lambda: the runtime hears 413, the caller gets a function error in its place.
      const error = {
        errorType: 'Function.ResponseSizeTooLarge',
        errorMessage: `Response payload size exceeded maximum allowed payload size (${MAX_PAYLOAD_BYTES} bytes).`,
      };
      this.complete(invocation, {
        result: { ok: false, requestId, kind: 'handled', error, durationMs },
        rawBody: JSON.stringify(error),
      });
      return sendJson(res, 413, tooLargeDocument());
    }

    sendJson(res, 202, { status: 'OK' });
    if (outcome === 'response') {
      this.complete(invocation, {
        result: { ok: true, requestId, payload: parseJsonOr(body.text), durationMs },
        rawBody: body.text,
      });
    } else {
      const error = toErrorDocument(body.text, req.headers[ERROR_TYPE_HEADER]);
      this.complete(invocation, {
        result: { ok: false, requestId, kind: 'handled', error, durationMs },
        rawBody: body.text,
      });
    }
  }

  /** The RIE's invoke endpoint: body = event; 200 with the payload, or the error document and X-Amz-Function-Error. */
  private async rieInvoke(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const body = await readBody(req);
    if (body.tooLarge) {
      return sendJson(res, 413, {
        errorType: 'RequestEntityTooLarge',
        errorMessage: `Request must be smaller than ${MAX_PAYLOAD_BYTES} bytes for the InvokeFunction operation`,
      });
    }
    const text = body.text.trim() === '' ? '{}' : body.text;
    try {
      JSON.parse(text);
    } catch {
      return sendJson(res, 400, {
        errorType: 'InvalidRequestContentException',
        errorMessage: 'Could not parse request body into json',
      });
    }
    let completion: Completion;
    try {
      completion = await this.enqueue(text, undefined);
    } catch (err) {
      return sendJson(res, 500, {
        errorType: 'ServiceException',
        errorMessage: errorMessage(err),
      });
    }
    const headers: http.OutgoingHttpHeaders = {
      'Content-Type': 'application/json',
      'X-Amz-Executed-Version': '$LATEST',
      'X-Amzn-RequestId': completion.result.requestId,
    };
    if (!completion.result.ok) headers['X-Amz-Function-Error'] = 'Unhandled';
    res.writeHead(200, headers);
    res.end(completion.rawBody);
  }
}

function listen(server: http.Server, port: number, host = '127.0.0.1'): Promise<RuntimeApiEndpoint> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      const address = server.address() as AddressInfo;
      resolve({ port: address.port, address: address.address });
    });
  });
}

function closeServer(server: http.Server): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) return resolve();
    server.close(() => resolve());
    // Long polls and keep-alive runtime connections would hold close() open forever.
    server.closeAllConnections();
  });
}

interface Body {
  text: string;
  tooLarge: boolean;
}

/** Reads a request body, keeping at most MAX_PAYLOAD_BYTES (the rest is drained, not buffered). */
function readBody(req: http.IncomingMessage): Promise<Body> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_PAYLOAD_BYTES) tooLarge = true;
      if (!tooLarge) chunks.push(chunk);
    });
    req.on('end', () => resolve({ text: tooLarge ? '' : Buffer.concat(chunks).toString('utf8'), tooLarge }));
    req.on('error', reject);
  });
}

async function methodNotAllowed(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  await readBody(req);
  sendJson(res, 405, { errorType: 'MethodNotAllowed', errorMessage: `${req.method} is not allowed on ${req.url}` });
}

function tooLargeDocument(): LambdaErrorDocument {
  return {
    errorType: 'RequestEntityTooLarge',
    errorMessage: `Exceeded maximum allowed payload size (${MAX_PAYLOAD_BYTES} bytes).`,
  };
}

function parseJsonOr(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/**
 * Normalizes what a runtime posted as an error. aws-lambda-ric sends
 * `{ errorType, errorMessage, trace }`; other runtimes send `stackTrace`, or only the header.
 */
export function toErrorDocument(text: string, headerType: string | string[] | undefined): LambdaErrorDocument {
  const fallbackType = (Array.isArray(headerType) ? headerType[0] : headerType) || 'Unhandled';
  const parsed = parseJsonOr(text);
  if (typeof parsed !== 'object' || parsed === null) {
    return { errorType: fallbackType, errorMessage: text };
  }
  const doc = parsed as Record<string, unknown>;
  const stack = Array.isArray(doc.stackTrace) ? doc.stackTrace : Array.isArray(doc.trace) ? doc.trace : undefined;
  return {
    errorType: typeof doc.errorType === 'string' && doc.errorType !== '' ? doc.errorType : fallbackType,
    errorMessage: typeof doc.errorMessage === 'string' ? doc.errorMessage : '',
    ...(stack ? { stackTrace: stack.map(String) } : {}),
  };
}

/** An X-Ray trace header as Lambda passes it when the function is not sampled. */
function newTraceId(): string {
  const epoch = Math.floor(Date.now() / 1000)
    .toString(16)
    .padStart(8, '0');
  return `Root=1-${epoch}-${randomBytes(12).toString('hex')};Parent=${randomBytes(8).toString('hex')};Sampled=0`;
}
