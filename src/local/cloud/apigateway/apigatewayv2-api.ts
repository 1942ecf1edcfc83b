/**
 * API Gateway v2's control plane over its REST-JSON protocol (`/v2/apis/...`, `/v2/tags/...`), the
 * calls the AWS provider makes for aws_apigatewayv2_api, _stage, _route, _integration and
 * _authorizer and the AWS CLI's `aws apigatewayv2 ...`: create (201), get, update (PATCH), delete
 * (204) and list of each, DeleteCorsConfiguration and the tag calls. Errors are API Gateway's: the
 * status, `x-amzn-ErrorType` and `{"message"}`. No S3 bucket can be named `v2` (names have 3 to 63
 * characters), so these paths never shadow a path-style S3 request.
 *
 * An API's `apiEndpoint` is where the local cloud serves it (http-api-proxy.ts): the origin the
 * client called, then `/_api/<apiId>`.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { HTTPMethod } from 'find-my-way';
import type { GatewayRoute, RouteParams } from '../gateway/gateway';
import { cameOverTls, readBody, sendJson } from '../http-io';
import type { LogSink } from '../lambda/invoke-contract';
import { API_BASE_PATH } from './http-api';
import { ApiGatewayError, type HttpApi, type HttpApiStore } from './http-api-store';

/** The largest control-plane request body (an OpenAPI import would be larger; none is served). */
const MAX_BODY_BYTES = 1024 * 1024;

type Wire = Record<string, unknown>;

interface Call {
  req: IncomingMessage;
  params: RouteParams;
  body: Wire;
}

/** One operation: its name (for the log), its success status and what it answers. */
interface Operation {
  method: HTTPMethod;
  path: string;
  name: string;
  status: 200 | 201 | 204;
  run(call: Call): unknown;
}

function param(params: RouteParams, name: string): string {
  return params[name] ?? '';
}

/** The origin a client called (its scheme and Host header), for the endpoints the API reports. */
function originOf(req: IncomingMessage): string {
  return `${cameOverTls(req) ? 'https' : 'http'}://${req.headers.host ?? '127.0.0.1'}`;
}

function sendApiGatewayError(res: ServerResponse, error: ApiGatewayError): void {
  sendJson(
    res,
    error.status,
    { message: error.message },
    { 'x-amzn-errortype': error.code, 'x-amzn-requestid': randomUUID() },
  );
}

/** The control-plane routes of API Gateway v2 over `store` (see the file comment). */
export function apiGatewayV2Routes(store: HttpApiStore, log: LogSink = () => {}): GatewayRoute[] {
  const apiOut = (req: IncomingMessage, api: HttpApi): Wire => ({
    ...api.wire,
    apiEndpoint: `${originOf(req)}${API_BASE_PATH}/${String(api.wire.apiId)}`,
  });
  const items = (list: Iterable<unknown>): Wire => ({ items: [...list] });

  /** Create/get/update/delete/list of one kind of an API's parts, under /v2/apis/:apiId/<plural>. */
  function partOperations(
    plural: string,
    idParam: string,
    ops: {
      create(apiId: string, input: Wire): Wire;
      get(apiId: string, id: string): Wire;
      update(apiId: string, id: string, input: Wire): Wire;
      remove(apiId: string, id: string): void;
      all(api: HttpApi): Iterable<Wire>;
    },
    singular: string,
  ): Operation[] {
    const base = `/v2/apis/:apiId/${plural}`;
    const id = (params: RouteParams): string => param(params, idParam);
    return [
      {
        method: 'POST',
        path: base,
        name: `Create${singular}`,
        status: 201,
        run: (c) => ops.create(param(c.params, 'apiId'), c.body),
      },
      {
        method: 'GET',
        path: base,
        name: `Get${singular}s`,
        status: 200,
        run: (c) => items(ops.all(store.api(param(c.params, 'apiId')))),
      },
      {
        method: 'GET',
        path: `${base}/:${idParam}`,
        name: `Get${singular}`,
        status: 200,
        run: (c) => ops.get(param(c.params, 'apiId'), id(c.params)),
      },
      {
        method: 'PATCH',
        path: `${base}/:${idParam}`,
        name: `Update${singular}`,
        status: 200,
        run: (c) => ops.update(param(c.params, 'apiId'), id(c.params), c.body),
      },
      {
        method: 'DELETE',
        path: `${base}/:${idParam}`,
        name: `Delete${singular}`,
        status: 204,
        run: (c) => ops.remove(param(c.params, 'apiId'), id(c.params)),
      },
    ];
  }

  const tagArn = (params: RouteParams): string => param(params, '*');
  const operations: Operation[] = [
    {
      method: 'POST',
      path: '/v2/apis',
      name: 'CreateApi',
      status: 201,
      run: (c) => apiOut(c.req, store.createApi(c.body)),
    },
    {
      method: 'GET',
      path: '/v2/apis',
      name: 'GetApis',
      status: 200,
      run: (c) => items(store.list().map((api) => apiOut(c.req, api))),
    },
    {
      method: 'GET',
      path: '/v2/apis/:apiId',
      name: 'GetApi',
      status: 200,
      run: (c) => apiOut(c.req, store.api(param(c.params, 'apiId'))),
    },
    {
      method: 'PATCH',
      path: '/v2/apis/:apiId',
      name: 'UpdateApi',
      status: 200,
      run: (c) => apiOut(c.req, store.updateApi(param(c.params, 'apiId'), c.body)),
    },
    {
      method: 'DELETE',
      path: '/v2/apis/:apiId',
      name: 'DeleteApi',
      status: 204,
      run: (c) => store.deleteApi(param(c.params, 'apiId')),
    },
    {
      method: 'DELETE',
      path: '/v2/apis/:apiId/cors',
      name: 'DeleteCorsConfiguration',
      status: 204,
      run: (c) => store.deleteCors(param(c.params, 'apiId')),
    },
    ...partOperations(
      'stages',
      'stageName',
      {
        create: (apiId, input) => store.createStage(apiId, input),
        get: (apiId, name) => store.stage(apiId, name),
        update: (apiId, name, input) => store.updateStage(apiId, name, input),
        remove: (apiId, name) => store.deleteStage(apiId, name),
        all: (api) => api.stages.values(),
      },
      'Stage',
    ),
    ...partOperations(
      'routes',
      'routeId',
      {
        create: (apiId, input) => store.createRoute(apiId, input),
        get: (apiId, id) => store.route(apiId, id),
        update: (apiId, id, input) => store.updateRoute(apiId, id, input),
        remove: (apiId, id) => store.deleteRoute(apiId, id),
        all: (api) => api.routes.values(),
      },
      'Route',
    ),
    ...partOperations(
      'integrations',
      'integrationId',
      {
        create: (apiId, input) => store.createIntegration(apiId, input),
        get: (apiId, id) => store.integration(apiId, id),
        update: (apiId, id, input) => store.updateIntegration(apiId, id, input),
        remove: (apiId, id) => store.deleteIntegration(apiId, id),
        all: (api) => api.integrations.values(),
      },
      'Integration',
    ),
    ...partOperations(
      'authorizers',
      'authorizerId',
      {
        create: (apiId, input) => store.createAuthorizer(apiId, input),
        get: (apiId, id) => store.authorizer(apiId, id),
        update: (apiId, id, input) => store.updateAuthorizer(apiId, id, input),
        remove: (apiId, id) => store.deleteAuthorizer(apiId, id),
        all: (api) => api.authorizers.values(),
      },
      'Authorizer',
    ),
    {
      method: 'GET',
      path: '/v2/tags/*',
      name: 'GetTags',
      status: 200,
      run: (c) => ({ tags: store.tagsOf(tagArn(c.params)) }),
    },
    {
      method: 'POST',
      path: '/v2/tags/*',
      name: 'TagResource',
      status: 201,
      run: (c) => store.tag(tagArn(c.params), c.body.tags),
    },
    {
      method: 'DELETE',
      path: '/v2/tags/*',
      name: 'UntagResource',
      status: 204,
      run: (c) =>
        store.untag(tagArn(c.params), new URL(c.req.url ?? '/', 'http://local').searchParams.getAll('tagKeys')),
    },
  ];

  async function serve(op: Operation, req: IncomingMessage, res: ServerResponse, params: RouteParams): Promise<void> {
    try {
      const raw = await readBody(req, MAX_BODY_BYTES);
      if (raw === undefined)
        throw new ApiGatewayError('BadRequestException', `Request body larger than ${MAX_BODY_BYTES} bytes`);
      const body = parseBody(raw.toString('utf8'));
      const answer = op.run({ req, params, body });
      if (op.status === 204) {
        res.writeHead(204, { 'x-amzn-requestid': randomUUID() });
        res.end();
      } else sendJson(res, op.status, answer ?? {}, { 'x-amzn-requestid': randomUUID() });
    } catch (err) {
      if (!(err instanceof ApiGatewayError)) throw err;
      log({
        event: 'controlplane.refused',
        level: 'warn',
        service: 'apigateway',
        operation: op.name,
        code: err.code,
        message: err.message,
      });
      sendApiGatewayError(res, err);
    }
  }

  const routes: GatewayRoute[] = operations.map((op) => ({
    method: op.method,
    path: op.path,
    handler: (req, res, params) => serve(op, req, res, params),
  }));
  // What API Gateway v2 has that the local cloud does not serve (domain names, VPC links, models, …).
  routes.push({
    method: 'ANY',
    path: '/v2/*',
    handler(req, res) {
      req.resume();
      const operation = `${req.method ?? 'GET'} ${(req.url ?? '/').split('?')[0]}`;
      log({
        event: 'controlplane.unknown_operation',
        level: 'warn',
        service: 'apigateway',
        operation,
        protocol: 'rest',
      });
      sendJson(
        res,
        404,
        { message: `apigateway: ${operation} is not served by the local cloud` },
        { 'x-amzn-errortype': 'UnknownOperationException', 'x-amzn-requestid': randomUUID() },
      );
    },
  });
  return routes;
}

function parseBody(text: string): Wire {
  if (text.trim() === '') return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new ApiGatewayError('BadRequestException', 'Could not parse request body into json');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    throw new ApiGatewayError('BadRequestException', 'Could not parse request body into json: not an object');
  return parsed as Wire;
}
