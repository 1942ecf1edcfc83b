/**
 * Lambda's control API (2015-03-31, REST + JSON) for event source mappings, over the registry
 * (mapping-registry.ts): CreateEventSourceMapping (`POST /2015-03-31/event-source-mappings/`),
 * ListEventSourceMappings (`GET` there, `FunctionName`/`EventSourceArn`/`Marker`/`MaxItems`),
 * GetEventSourceMapping, UpdateEventSourceMapping and DeleteEventSourceMapping
 * (`GET`/`PUT`/`DELETE …/<uuid>`), and the mappings' tags (ListTags, TagResource, UntagResource on
 * `/2017-03-31/tags/<mapping ARN>`). Served by the gateway on the same endpoint as S3 and SQS, so the
 * AWS provider for Terraform, the AWS CLI and the SDKs manage mappings as on AWS. Errors are Lambda's:
 * `{Type, message}` with the `x-amzn-errortype` header.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import type { GatewayRoute, RouteParams } from '../gateway/gateway';
import { readBody, sendJson } from '../http-io';
import { LambdaApiError } from './mapping-settings';
import { tagsOf, type MappingRegistry } from './mapping-registry';

const MAPPINGS_PATH = '/2015-03-31/event-source-mappings';
const TAGS_PATH = '/2017-03-31/tags';
/** Lambda's largest request bodies are well under this (a filter pattern is 4 KB). */
const MAX_BODY_BYTES = 256 * 1024;

/** The headers of every Lambda API answer: a request id, and the error type of an error. */
function lambdaHeaders(errorType?: string): Record<string, string> {
  return { 'x-amzn-requestid': randomUUID(), ...(errorType ? { 'x-amzn-errortype': errorType } : {}) };
}

/** A Lambda REST API error: `{Type, message}` and the `x-amzn-errortype` header. */
function fail(res: ServerResponse, error: LambdaApiError): void {
  sendJson(
    res,
    error.status,
    { Type: error.status >= 500 ? 'Service' : 'User', message: error.message },
    lambdaHeaders(error.type),
  );
}

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  const body = await readBody(req, MAX_BODY_BYTES);
  if (body === undefined)
    throw new LambdaApiError('RequestTooLargeException', 'Request must be smaller than 262144 bytes', 413);
  const text = body.toString('utf8').trim();
  if (!text) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new LambdaApiError(
      'InvalidRequestContentException',
      `Could not parse request body into json: ${(err as Error).message}`,
    );
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed))
    throw new LambdaApiError('InvalidRequestContentException', 'Could not parse request body into json: not an object');
  return parsed as Record<string, unknown>;
}

const unsupported = (method: string, what: string): LambdaApiError =>
  new LambdaApiError('InvalidParameterValueException', `${method} is not supported on ${what} locally`, 405);

/** Answers `work`'s result with `status`, or its LambdaApiError. */
async function answer(res: ServerResponse, status: number, work: () => unknown): Promise<void> {
  try {
    const result = await work();
    if (status === 204) {
      res.writeHead(204, lambdaHeaders());
      res.end();
      return;
    }
    sendJson(res, status, result, lambdaHeaders());
  } catch (err) {
    if (err instanceof LambdaApiError) return fail(res, err);
    throw err;
  }
}

/** ListEventSourceMappings' page: `MaxItems` (1..10000, default 100) from the `Marker` (an index). */
function page(all: Record<string, unknown>[], query: URLSearchParams): Record<string, unknown> {
  const start = Number(query.get('Marker') ?? 0) || 0;
  const size = Math.min(Math.max(Number(query.get('MaxItems') ?? 100) || 100, 1), 10000);
  const items = all.slice(start, start + size);
  return {
    EventSourceMappings: items,
    ...(start + size < all.length ? { NextMarker: String(start + size) } : {}),
  };
}

/**
 * The routes of the mappings' API and their tags (see the file comment). `otherTags` holds the tags
 * of other Lambda resources (functions) the same tags API serves. @default none
 */
export function lambdaMappingsRoutes(
  registry: MappingRegistry,
  otherTags: (arn: string) => Map<string, string> | undefined = () => undefined,
): GatewayRoute[] {
  function collection(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const method = req.method ?? 'GET';
    const query = new URL(req.url ?? '/', 'http://local').searchParams;
    if (method === 'GET')
      return answer(res, 200, () =>
        page(
          registry.list({ functionName: query.get('FunctionName'), eventSourceArn: query.get('EventSourceArn') }),
          query,
        ),
      );
    if (method === 'POST') return answer(res, 202, async () => registry.create(await readJson(req)));
    return answer(res, 405, () => {
      throw unsupported(method, MAPPINGS_PATH);
    });
  }

  function one(req: IncomingMessage, res: ServerResponse, uuid: string): Promise<void> {
    const method = req.method ?? 'GET';
    if (method === 'GET') return answer(res, 200, () => registry.get(uuid));
    if (method === 'PUT') return answer(res, 202, async () => registry.update(uuid, await readJson(req)));
    if (method === 'DELETE') return answer(res, 202, () => registry.delete(uuid));
    return answer(res, 405, () => {
      throw unsupported(method, 'an event source mapping');
    });
  }

  function tags(req: IncomingMessage, res: ServerResponse, arn: string): Promise<void> {
    const method = req.method ?? 'GET';
    const found = (): Map<string, string> => {
      const held = registry.tagsOf(arn) ?? otherTags(arn);
      if (!held)
        throw new LambdaApiError(
          'ResourceNotFoundException',
          `The resource you requested does not exist. (ARN: ${arn})`,
          404,
        );
      return held;
    };
    if (method === 'GET') return answer(res, 200, () => ({ Tags: Object.fromEntries(found()) }));
    if (method === 'POST')
      return answer(res, 204, async () => {
        const held = found();
        for (const [key, value] of Object.entries(tagsOf((await readJson(req)).Tags))) held.set(key, value);
      });
    if (method === 'DELETE')
      return answer(res, 204, () => {
        const held = found();
        for (const key of new URL(req.url ?? '/', 'http://local').searchParams.getAll('tagKeys')) held.delete(key);
      });
    return answer(res, 405, () => {
      throw unsupported(method, TAGS_PATH);
    });
  }

  const onError = (res: ServerResponse, err: Error): void =>
    fail(res, new LambdaApiError('ServiceException', err.message, 500));
  return [
    { method: 'ANY', path: MAPPINGS_PATH, handler: collection, onError },
    {
      method: 'ANY',
      path: `${MAPPINGS_PATH}/*`,
      // `…/mappings/` is the collection too (the SDKs send it); the wildcard arrives decoded.
      handler: (req: IncomingMessage, res: ServerResponse, params: RouteParams) => {
        const uuid = (params['*'] ?? '').replace(/\/$/, '');
        return uuid ? one(req, res, uuid) : collection(req, res);
      },
      onError,
    },
    {
      method: 'ANY',
      path: `${TAGS_PATH}/*`,
      handler: (req: IncomingMessage, res: ServerResponse, params: RouteParams) => tags(req, res, params['*'] ?? ''),
      onError,
    },
  ];
}
