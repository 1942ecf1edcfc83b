/**
 * The data plane of the HTTP APIs a client applied (http-api-store.ts): a request to
 * `/_api/<apiId>/<path>` (an API's `apiEndpoint`, path style, on the local cloud's one origin) is
 * served by the API's stage (`/<stage>/…` for a named stage, else `$default`), matched to a route
 * the way API Gateway matches them (exact path before path variables before a greedy `{proxy+}`,
 * an exact method before ANY, then `$default`), authorized (JWT; AWS_IAM: a SigV4 signature for
 * execute-api with the local credentials), and sent to its integration: an
 * AWS_PROXY integration to a Lambda function is invoked with the payload 2.0 event through the
 * injected FunctionInvoker, and its result answered. API Gateway's own answers hold: 404
 * {"message":"Not Found"} without a route, 401 {"message":"Unauthorized"} without a valid token, 403
 * {"message":"Forbidden"} for an AWS_IAM route without a signature, 500
 * {"message":"Internal Server Error"} when the integration fails, 503 {"message":"Service
 * Unavailable"} past its timeout. CORS preflights are answered from the API's corsConfiguration.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { LOCAL_CREDENTIALS } from '../../client-config';
import type { GatewayRoute, RouteParams } from '../gateway/gateway';
import { verifySigV4, type CredentialsLookup } from '../iam/sigv4-verify';
import { readBody, sendJson } from '../http-io';
import type { InvokeFn, InvokeResult, LogSink } from '../lambda/invoke-contract';
import { API_BASE_PATH, sendIntegrationAnswer, toHttpApiEvent, type HttpApiEventContext } from './http-api';
import { wireText, type HttpApi, type HttpApiStore } from './http-api-store';
import { jwtVerifier, type JwtConfiguration } from './jwt-authorizer';

/** API Gateway's payload limit for HTTP APIs. */
const MAX_REQUEST_BYTES = 10 * 1024 * 1024;

/**
 * How the data plane reaches a function: its invoke for a function ARN (as an integration names it,
 * possibly with a version or alias qualifier), or undefined when no such function runs.
 */
export type FunctionInvoker = (functionArn: string) => InvokeFn | undefined;

type Wire = Record<string, unknown>;

/** A route that matched, and the path variables it bound. */
interface Matched {
  route: Wire;
  pathParameters: Record<string, string> | undefined;
}

/**
 * How specific a route key is for a path, or undefined when it does not match: higher wins. Literal
 * segments count most, then path variables; a greedy variable least; an exact method beats ANY.
 */
function matchRoute(
  routeKey: string,
  method: string,
  path: string,
): { score: number; params: Record<string, string> } | undefined {
  const [routeMethod, routePath] = routeKey.split(' ');
  if (routeMethod !== 'ANY' && routeMethod !== method) return undefined;
  const wanted = (routePath ?? '').split('/').slice(1);
  const given = path.split('/').slice(1);
  const params: Record<string, string> = {};
  let score = routeMethod === 'ANY' ? 0 : 1;
  for (let i = 0; i < wanted.length; i++) {
    const segment = wanted[i];
    const variable = /^\{([^}]+)\}$/.exec(segment)?.[1];
    if (variable?.endsWith('+')) {
      const rest = given.slice(i).join('/');
      if (rest === '') return undefined;
      params[variable.slice(0, -1)] = rest;
      return { score: score + 10 * i, params };
    }
    const part = given[i];
    if (part === undefined) return undefined;
    if (variable) {
      if (part === '') return undefined;
      params[variable] = decodeURIComponent(part);
      score += 1000;
    } else if (segment === part) score += 100_000;
    else return undefined;
  }
  return given.length === wanted.length ? { score: score + 1_000_000, params } : undefined;
}

/** The route of `api` for a request, or undefined (then API Gateway answers 404). */
export function routeFor(api: HttpApi, method: string, path: string): Matched | undefined {
  let best: { score: number; route: Wire; params: Record<string, string> } | undefined;
  for (const route of api.routes.values()) {
    const key = String(route.routeKey);
    if (key === '$default') continue;
    const m = matchRoute(key, method, path);
    if (m && (!best || m.score > best.score)) best = { ...m, route };
  }
  if (best) return { route: best.route, pathParameters: Object.keys(best.params).length ? best.params : undefined };
  const fallback = [...api.routes.values()].find((r) => r.routeKey === '$default');
  return fallback ? { route: fallback, pathParameters: undefined } : undefined;
}

/** The stage serving a path on the API, and the path under it; undefined when none is deployed there. */
function stageFor(api: HttpApi, path: string): { stage: Wire; routePath: string } | undefined {
  const deployed = (stage: Wire | undefined): Wire | undefined =>
    stage && (stage.autoDeploy === true || stage.deploymentId !== undefined) ? stage : undefined;
  const first = path.split('/')[1] ?? '';
  const named = first && first !== '$default' ? deployed(api.stages.get(decodeURIComponent(first))) : undefined;
  if (named) return { stage: named, routePath: path.slice(first.length + 1) || '/' };
  const fallback = deployed(api.stages.get('$default'));
  return fallback ? { stage: fallback, routePath: path } : undefined;
}

/** The function ARN of an AWS_PROXY integration URI (a function ARN, or API Gateway's invocation ARN). */
export function functionArnOf(integrationUri: string): string {
  return /:lambda:path\/2015-03-31\/functions\/(.+)\/invocations$/.exec(integrationUri)?.[1] ?? integrationUri;
}

/** The value of an identity source such as `$request.header.Authorization`, or undefined. */
function identityOf(req: IncomingMessage, source: string): string | undefined {
  const header = /^\$request\.header\.(.+)$/i.exec(source)?.[1];
  if (header) {
    const value = req.headers[header.toLowerCase()];
    return (Array.isArray(value) ? value[0] : value) || undefined;
  }
  const query = /^\$request\.querystring\.(.+)$/i.exec(source)?.[1];
  if (query) return new URL(req.url ?? '/', 'http://local').searchParams.get(query) ?? undefined;
  return undefined;
}

/** The CORS headers API Gateway adds for an allowed Origin (none when the API has no configuration). */
function corsHeaders(api: HttpApi, req: IncomingMessage): Record<string, string> {
  const cors = api.wire.corsConfiguration as
    { allowOrigins?: string[]; allowCredentials?: boolean; exposeHeaders?: string[] } | undefined;
  const origin = req.headers.origin;
  if (!cors || !origin) return {};
  const origins = cors.allowOrigins ?? [];
  if (!origins.includes('*') && !origins.includes(origin)) return {};
  return {
    'access-control-allow-origin': origins.includes('*') && !cors.allowCredentials ? '*' : origin,
    ...(cors.allowCredentials ? { 'access-control-allow-credentials': 'true' } : {}),
    ...(cors.exposeHeaders?.length ? { 'access-control-expose-headers': cors.exposeHeaders.join(',') } : {}),
    vary: 'Origin',
  };
}

/** Answers a CORS preflight from the API's configuration; false when the request is not one. */
function answerPreflight(api: HttpApi, req: IncomingMessage, res: ServerResponse): boolean {
  const cors = api.wire.corsConfiguration as
    { allowMethods?: string[]; allowHeaders?: string[]; maxAge?: number } | undefined;
  const requested = req.headers['access-control-request-method'];
  if (!cors || req.method !== 'OPTIONS' || !req.headers.origin || !requested) return false;
  const allowed = corsHeaders(api, req);
  const methods = (cors.allowMethods ?? []).map((m) => m.toUpperCase());
  if (!allowed['access-control-allow-origin'] || !(methods.includes('*') || methods.includes(requested))) {
    res.writeHead(204);
    res.end();
    return true;
  }
  res.writeHead(204, {
    ...allowed,
    'access-control-allow-methods': methods.join(','),
    ...(cors.allowHeaders?.length ? { 'access-control-allow-headers': cors.allowHeaders.join(',') } : {}),
    ...(cors.maxAge !== undefined ? { 'access-control-max-age': String(cors.maxAge) } : {}),
  });
  res.end();
  return true;
}

/** `invoke(event)`, or a 'timeout' failure once `timeoutMs` passed (the function goes on running, as on AWS). */
async function invokeWithin(invoke: InvokeFn, event: unknown, timeoutMs: number): Promise<InvokeResult | 'timeout'> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), timeoutMs);
  });
  try {
    return await Promise.race([invoke(event), late]);
  } finally {
    clearTimeout(timer);
  }
}

export interface HttpApiProxyOptions {
  store: HttpApiStore;
  /** @default no function runs: AWS_PROXY integrations answer 500 */
  functionInvoker?: FunctionInvoker;
  /** @default no logging */
  logSink?: LogSink;
  /** Checks JWTs (tests inject their issuer's keys). @default jwtVerifier() over the network */
  verifyJwt?: ReturnType<typeof jwtVerifier>;
  /** The credentials AWS_IAM routes take. @default the local cloud's own (client-config.ts) */
  credentials?: CredentialsLookup;
}

/** The gateway routes serving every applied HTTP API under `/_api/<apiId>` (see the file comment). */
export function httpApiProxyRoutes(opts: HttpApiProxyOptions): GatewayRoute[] {
  const log: LogSink = opts.logSink ?? (() => {});
  const verifyJwt = opts.verifyJwt ?? jwtVerifier();
  const credentials: CredentialsLookup =
    opts.credentials ??
    ((accessKeyId) => (accessKeyId === LOCAL_CREDENTIALS.accessKeyId ? LOCAL_CREDENTIALS : undefined));
  const notFound = (res: ServerResponse, extra: Record<string, string> = {}): void =>
    sendJson(res, 404, { message: 'Not Found' }, extra);

  async function serve(req: IncomingMessage, res: ServerResponse, params: RouteParams): Promise<void> {
    const apiId = params.apiId ?? '';
    const api = opts.store.list().find((a) => a.wire.apiId === apiId);
    if (!api) {
      req.resume();
      return notFound(res);
    }
    if (answerPreflight(api, req, res)) return void req.resume();
    const cors = corsHeaders(api, req);
    const path = (req.url ?? '/').split('?')[0].slice(`${API_BASE_PATH}/${apiId}`.length) || '/';
    const method = req.method ?? 'GET';
    const staged = stageFor(api, path);
    const matched = staged && routeFor(api, method, staged.routePath);
    if (!staged || !matched) {
      req.resume();
      return notFound(res, cors);
    }
    const routeKey = String(matched.route.routeKey);
    const logged = { apiId, stage: staged.stage.stageName, routeKey };
    const body = await readBody(req, MAX_REQUEST_BYTES);
    if (body === undefined) return sendJson(res, 413, { message: 'Request Entity Too Large' }, cors);
    const jwt = await authorizeJwt(api, matched.route, req);
    if (jwt === 'refused')
      return sendJson(res, 401, { message: 'Unauthorized' }, { ...cors, 'www-authenticate': 'Bearer' });
    const iamRefusal = await refuseUnsigned(matched.route, req, body, logged);
    if (iamRefusal) return sendJson(res, 403, { message: iamRefusal }, cors);
    const integration = api.integrations.get(wireText(matched.route.target).replace(/^integrations\//, ''));
    if (!integration) {
      log({ event: 'apigateway.no_integration', level: 'warn', ...logged });
      return notFound(res, cors);
    }
    const context: HttpApiEventContext = {
      apiId,
      stage: String(staged.stage.stageName),
      routeKey,
      pathParameters: matched.pathParameters,
      jwt: jwt ?? undefined,
    };
    const failure = unservedIntegration(integration);
    const functionArn = functionArnOf(String(integration.integrationUri));
    const invoke = failure ? undefined : opts.functionInvoker?.(functionArn);
    if (!invoke) {
      log({
        event: 'apigateway.integration_failed',
        level: 'error',
        ...logged,
        reason: failure ?? `no function ${functionArn} runs in the local cloud`,
      });
      return sendJson(res, 500, { message: 'Internal Server Error' }, cors);
    }
    const event = toHttpApiEvent(req, path, body, new Date(), context);
    const result = await invokeWithin(invoke, event, Number(integration.timeoutInMillis ?? 30000));
    if (result === 'timeout') {
      log({
        event: 'apigateway.integration_timeout',
        level: 'error',
        ...logged,
        timeoutMs: integration.timeoutInMillis,
      });
      return sendJson(res, 503, { message: 'Service Unavailable' }, cors);
    }
    if (!result.ok)
      log({
        event: 'apigateway.integration_failed',
        level: 'error',
        ...logged,
        requestId: result.requestId,
        error: result.error,
      });
    sendIntegrationAnswer(res, result, cors);
  }

  /**
   * For an AWS_IAM route, API Gateway's refusal of a request not signed (SigV4, service execute-api)
   * with credentials the local cloud knows, or undefined when it may pass.
   */
  async function refuseUnsigned(
    route: Wire,
    req: IncomingMessage,
    body: Buffer,
    logged: Record<string, unknown>,
  ): Promise<string | undefined> {
    if (route.authorizationType !== 'AWS_IAM') return undefined;
    const verdict = await verifySigV4(
      { method: req.method ?? 'GET', url: req.url ?? '/', headers: req.headers, body },
      credentials,
      new Date(),
      { service: 'execute-api', protocol: 'rest-json' },
    );
    if (verdict.ok && !('anonymous' in verdict)) return undefined;
    const reason = verdict.ok ? 'no signature' : verdict.error.message;
    log({ event: 'apigateway.forbidden', level: 'warn', ...logged, reason });
    return verdict.ok || verdict.error.code === 'MissingAuthenticationTokenException' ? 'Forbidden' : reason;
  }

  /** A JWT route's verdict: the token's claims, 'refused', or null when the route needs no JWT. */
  async function authorizeJwt(
    api: HttpApi,
    route: Wire,
    req: IncomingMessage,
  ): Promise<{ claims: Record<string, unknown>; scopes: string[] | undefined } | 'refused' | null> {
    if (route.authorizationType !== 'JWT') return null;
    const authorizer = api.authorizers.get(wireText(route.authorizerId));
    const sources = (authorizer?.identitySource as string[] | undefined) ?? [];
    const token = sources.map((source) => identityOf(req, source)).find((v) => v !== undefined);
    const verdict = !authorizer
      ? { ok: false as const, reason: `no authorizer ${String(route.authorizerId)} on the API` }
      : !token
        ? { ok: false as const, reason: `no token in ${sources.join(', ')}` }
        : await verifyJwt(
            token,
            authorizer.jwtConfiguration as JwtConfiguration,
            (route.authorizationScopes as string[] | undefined) ?? [],
          );
    if (verdict.ok) return { claims: verdict.claims, scopes: verdict.scopes };
    log({
      event: 'apigateway.unauthorized',
      level: 'warn',
      apiId: api.wire.apiId,
      routeKey: route.routeKey,
      authorizerId: route.authorizerId,
      reason: verdict.reason,
    });
    return 'refused';
  }

  return [
    { method: 'ANY', path: `${API_BASE_PATH}/:apiId`, handler: serve },
    { method: 'ANY', path: `${API_BASE_PATH}/:apiId/*`, handler: serve },
  ];
}

/** Why the local cloud cannot serve an integration, or undefined when it can (AWS_PROXY, payload 2.0). */
function unservedIntegration(integration: Wire): string | undefined {
  if (integration.integrationType !== 'AWS_PROXY')
    return `integration type ${String(integration.integrationType)} is not served locally (AWS_PROXY is)`;
  if (integration.payloadFormatVersion !== '2.0')
    return `payload format ${String(integration.payloadFormatVersion)} is not served locally (2.0 is)`;
  return undefined;
}
