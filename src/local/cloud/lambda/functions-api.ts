/**
 * Lambda's control API for functions (REST + JSON, the 2015-03-31 paths and their later siblings)
 * and its Invoke, as gateway routes: CreateFunction, GetFunction(Configuration), ListFunctions,
 * UpdateFunctionCode/Configuration, DeleteFunction, PublishVersion, ListVersionsByFunction,
 * aliases, reserved and provisioned concurrency, permissions (AddPermission, GetPolicy,
 * RemovePermission), tags and GetFunctionCodeSigningConfig — what the AWS provider calls for
 * aws_lambda_function, aws_lambda_alias, aws_lambda_permission and
 * aws_lambda_provisioned_concurrency_config. Errors are Lambda's: `{Type, message}` with the
 * `x-amzn-ErrorType` header. State and refusals are function-store.ts's, invocations applied-functions.ts's.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { HTTPMethod } from 'find-my-way';
import { asError } from '../../../core/errors';
import type { GatewayRoute, RouteParams } from '../gateway/gateway';
import { readBody, sendJson, sendText } from '../http-io';
import { LambdaError } from './function-config';
import type { FunctionStore } from './function-store';
import type { AppliedFunctions } from './applied-functions';
import type { LogSink } from './invoke-contract';

/** Lambda's limit on a synchronous invocation's payload (6 MB), and more than any control request needs. */
const MAX_BODY_BYTES = 6 * 1024 * 1024;

/** Lambda's headers of every answer: a request id, and the error type of an error. */
function lambdaHeaders(errorType?: string): Record<string, string> {
  return { 'x-amzn-requestid': randomUUID(), ...(errorType ? { 'x-amzn-errortype': errorType } : {}) };
}

/**
 * The LambdaError an error stands for: itself, an error carrying a Lambda error `code` (the image
 * resolver's refusals) as a 400 of that code, anything else as Lambda's ServiceException.
 */
function lambdaErrorOf(err: unknown): LambdaError {
  if (err instanceof LambdaError) return err;
  const { code, status } = (err ?? {}) as { code?: unknown; status?: unknown };
  if (typeof code === 'string' && /Exception$/.test(code))
    return new LambdaError(code, asError(err).message, typeof status === 'number' ? status : 400);
  return new LambdaError('ServiceException', asError(err).message, 500);
}

/** Answers a LambdaError (see lambdaErrorOf for other errors). */
function sendLambdaError(res: ServerResponse, err: unknown): void {
  const error = lambdaErrorOf(err);
  sendJson(
    res,
    error.status,
    { Type: error.status >= 500 ? 'Service' : 'User', message: error.message, ...error.extra },
    lambdaHeaders(error.code),
  );
}

async function readJsonBody(req: IncomingMessage): Promise<Record<string, unknown>> {
  const body = await readBody(req, MAX_BODY_BYTES);
  if (body === undefined)
    throw new LambdaError('RequestTooLargeException', `Request must be smaller than ${MAX_BODY_BYTES} bytes`, 413);
  const text = body.toString('utf8').trim();
  if (!text) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new LambdaError(
      'InvalidRequestContentException',
      `Could not parse request body into json: ${asError(err).message}`,
    );
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    throw new LambdaError('InvalidRequestContentException', 'Could not parse request body into json: not an object');
  return parsed as Record<string, unknown>;
}

/** What a route handler gets: the request, its path parameters and query. */
interface Call {
  req: IncomingMessage;
  res: ServerResponse;
  name: string;
  params: RouteParams;
  query: URLSearchParams;
}

type Handler = (call: Call) => Promise<void> | void;

const answer =
  (status: number, work: (call: Call) => unknown): Handler =>
  async (call) => {
    const value = await work(call);
    if (status === 204) return sendText(call.res, 204, '', lambdaHeaders());
    sendJson(call.res, status, value, lambdaHeaders());
  };

const withBody =
  (status: number, work: (call: Call, body: Record<string, unknown>) => unknown): Handler =>
  async (call) =>
    answer(status, async (c) => work(c, await readJsonBody(c.req)))(call);

export interface FunctionsApiOptions {
  store: FunctionStore;
  functions: AppliedFunctions;
  /** @default no logging */
  logSink?: LogSink;
}

/** The routes of Lambda's functions API (see the file comment). */
export function lambdaFunctionRoutes(opts: FunctionsApiOptions): GatewayRoute[] {
  const { store, functions } = opts;
  const log: LogSink = opts.logSink ?? (() => {});
  const qualifier = (c: Call): string | null => c.query.get('Qualifier');

  async function invoke(call: Call): Promise<void> {
    const type = String(call.req.headers['x-amz-invocation-type'] ?? 'RequestResponse');
    if (!['RequestResponse', 'Event', 'DryRun'].includes(type))
      throw new LambdaError(
        'InvalidParameterValueException',
        `1 validation error detected: Value '${type}' at 'invocationType' failed to satisfy constraint: ` +
          `Member must satisfy enum value set: [Event, RequestResponse, DryRun]`,
      );
    const body = await readBody(call.req, MAX_BODY_BYTES);
    if (body === undefined)
      throw new LambdaError(
        'RequestTooLargeException',
        `Request must be smaller than ${MAX_BODY_BYTES} bytes for the InvokeFunction operation`,
        413,
      );
    const text = body.toString('utf8');
    let event: unknown = {};
    try {
      if (text.trim()) event = JSON.parse(text);
    } catch (err) {
      throw new LambdaError(
        'InvalidRequestContentException',
        `Could not parse request body into json: Could not parse payload into json: ${asError(err).message}`,
      );
    }
    const target = store.invokeTarget(call.name, qualifier(call));
    const version = target.config.version;
    if (type === 'DryRun') return sendText(call.res, 204, '', lambdaHeaders());
    if (type === 'Event') {
      sendText(call.res, 202, '', lambdaHeaders());
      functions.invoke(call.name, event, qualifier(call) ?? undefined).then(
        (result) =>
          log({ event: 'lambda.async_invoke', function: call.name, ok: result.ok, requestId: result.requestId }),
        (err: unknown) =>
          log({ event: 'lambda.async_invoke', level: 'error', function: call.name, error: asError(err).message }),
      );
      return;
    }
    const result = await functions.invoke(call.name, event, qualifier(call) ?? undefined);
    const headers = {
      'x-amzn-requestid': result.requestId,
      'x-amz-executed-version': version,
      ...(result.ok ? {} : { 'x-amz-function-error': 'Unhandled' }),
    };
    sendText(call.res, 200, JSON.stringify(result.ok ? (result.payload ?? null) : result.error), {
      'content-type': 'application/json',
      ...headers,
    });
  }

  const table: Array<[HTTPMethod, string, Handler]> = [
    ['POST', '/2015-03-31/functions', withBody(201, (_c, body) => store.createFunction(body))],
    ['GET', '/2015-03-31/functions', answer(200, () => store.listFunctions())],
    ['GET', '/2015-03-31/functions/:name', answer(200, (c) => store.getFunction(c.name, qualifier(c)))],
    ['DELETE', '/2015-03-31/functions/:name', answer(204, (c) => store.deleteFunction(c.name, qualifier(c)))],
    [
      'GET',
      '/2015-03-31/functions/:name/configuration',
      answer(200, (c) => store.getConfiguration(c.name, qualifier(c))),
    ],
    [
      'PUT',
      '/2015-03-31/functions/:name/configuration',
      withBody(200, (c, body) => store.updateConfiguration(c.name, body)),
    ],
    ['PUT', '/2015-03-31/functions/:name/code', withBody(200, (c, body) => store.updateCode(c.name, body))],
    ['GET', '/2015-03-31/functions/:name/versions', answer(200, (c) => store.listVersions(c.name))],
    ['POST', '/2015-03-31/functions/:name/versions', withBody(201, (c, body) => store.publishVersion(c.name, body))],
    ['GET', '/2015-03-31/functions/:name/aliases', answer(200, (c) => store.listAliases(c.name))],
    ['POST', '/2015-03-31/functions/:name/aliases', withBody(201, (c, body) => store.createAlias(c.name, body))],
    [
      'GET',
      '/2015-03-31/functions/:name/aliases/:alias',
      answer(200, (c) => store.getAlias(c.name, c.params.alias ?? '')),
    ],
    [
      'PUT',
      '/2015-03-31/functions/:name/aliases/:alias',
      withBody(200, (c, body) => store.updateAlias(c.name, c.params.alias ?? '', body)),
    ],
    [
      'DELETE',
      '/2015-03-31/functions/:name/aliases/:alias',
      answer(204, (c) => store.deleteAlias(c.name, c.params.alias ?? '')),
    ],
    ['GET', '/2015-03-31/functions/:name/policy', answer(200, (c) => store.getPolicy(c.name, qualifier(c)))],
    [
      'POST',
      '/2015-03-31/functions/:name/policy',
      withBody(201, (c, body) => store.addPermission(c.name, qualifier(c), body)),
    ],
    [
      'DELETE',
      '/2015-03-31/functions/:name/policy/:sid',
      answer(204, (c) => store.removePermission(c.name, qualifier(c), c.params.sid ?? '')),
    ],
    ['POST', '/2015-03-31/functions/:name/invocations', invoke],
    ['PUT', '/2017-10-31/functions/:name/concurrency', withBody(200, (c, body) => store.putConcurrency(c.name, body))],
    ['DELETE', '/2017-10-31/functions/:name/concurrency', answer(204, (c) => store.deleteConcurrency(c.name))],
    ['GET', '/2019-09-30/functions/:name/concurrency', answer(200, (c) => store.getConcurrency(c.name))],
    [
      'GET',
      '/2019-09-30/functions/:name/provisioned-concurrency',
      answer(200, (c) => store.getProvisionedConcurrency(c.name, qualifier(c))),
    ],
    [
      'PUT',
      '/2019-09-30/functions/:name/provisioned-concurrency',
      withBody(202, (c, body) => store.putProvisionedConcurrency(c.name, qualifier(c), body)),
    ],
    [
      'DELETE',
      '/2019-09-30/functions/:name/provisioned-concurrency',
      answer(204, (c) => store.deleteProvisionedConcurrency(c.name, qualifier(c))),
    ],
    ['GET', '/2020-06-30/functions/:name/code-signing-config', answer(200, (c) => store.getCodeSigningConfig(c.name))],
  ];

  // The SDKs send ListFunctions to `/2015-03-31/functions/`, CreateFunction to `/2015-03-31/functions`.
  const paths = table.flatMap(([method, path, handler]): Array<[HTTPMethod, string, Handler]> =>
    path === '/2015-03-31/functions'
      ? [
          [method, path, handler],
          [method, `${path}/`, handler],
        ]
      : [[method, path, handler]],
  );
  return paths.map(([method, path, handler]) => ({
    method,
    path,
    handler: async (req: IncomingMessage, res: ServerResponse, params: RouteParams) => {
      const query = new URL(req.url ?? '/', 'http://local').searchParams;
      const call: Call = { req, res, params, query, name: params.name ?? '' };
      try {
        await handler(call);
      } catch (err) {
        const error = lambdaErrorOf(err);
        log({
          event: error.status >= 500 ? 'lambda.api_error' : 'lambda.refused',
          level: error.status >= 500 ? 'error' : 'warn',
          method,
          path,
          function: call.name || undefined,
          code: error.code,
          message: error.message,
        });
        req.resume();
        sendLambdaError(res, err);
      }
    },
    onError: sendLambdaError,
  }));
}
