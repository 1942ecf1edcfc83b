/**
 * The upload API locally: API Gateway HTTP API (payload 2.0) in front of the upload function,
 * served as gateway routes on the local cloud's one origin, plus the upload page and a read-only
 * status endpoint it polls. The page posts its forms to the URL the API signed; opened from another
 * origin (e.g. localhost vs 127.0.0.1) the POST is cross-origin and needs the bucket's CORS rule, as on AWS.
 *
 * Paths start with `/_`, which no bucket name can (S3 path-style would read `/api/...` as bucket `api`):
 * - `POST /_api/uploads`: the handler's route, as `POST /uploads` on the API's stage
 * - `GET /_ui/`: the page; `GET /` from a browser (no Authorization header, HTML accepted) redirects there
 * - `GET /_ui/status?key=<source key>`: `{state: 'pending'}` or `{state: 'done', manifest}`
 */
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { manifestKey } from '../../../core/keys';
import type { GatewayRoute } from '../gateway/gateway';
import { readBody, sendJson, sendText } from '../http-io';
import type { InvokeFn, InvokeResult } from '../lambda/invoke-contract';

/** API Gateway's payload limit for HTTP APIs. */
const MAX_REQUEST_BYTES = 10 * 1024 * 1024;

export const API_BASE_PATH = '/_api';
export const UI_PATH = '/_ui/';

export interface UploadApiRouteOptions {
  /** The upload function's invoke, looked up per request (the function may start after the gateway). */
  invoke: () => InvokeFn | undefined;
  s3: S3Client;
  outputBucket: string;
  outputPrefix: string;
  /** The page's HTML. @default ui/index.html beside this file (or the CLI bundle) */
  pageHtml?: string;
}

/** Where a request arrived: which API, stage and route (and what the authorizer said). */
export interface HttpApiEventContext {
  apiId: string;
  stage: string;
  /** The matched route's key, e.g. `POST /uploads`, `GET /items/{id}` or `$default`. */
  routeKey: string;
  pathParameters?: Record<string, string>;
  /** A JWT authorizer's verdict: the token's claims and scopes. */
  jwt?: { claims: Record<string, unknown>; scopes: string[] | undefined };
}

/**
 * An API Gateway v2 event (payload format 2.0) for a request, as a Lambda proxy integration sends it.
 * @param path the request's path on the API (with the stage prefix of a named stage)
 * @param context @default the upload API's: apiId 'local', stage '$default', routeKey `<METHOD> <path>`
 */
export function toHttpApiEvent(
  req: IncomingMessage,
  path: string,
  body: Buffer,
  now = new Date(),
  context?: HttpApiEventContext,
): APIGatewayProxyEventV2 {
  const url = new URL(req.url ?? '/', 'http://local');
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers))
    if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(',') : value;
  const method = req.method ?? 'GET';
  const text = body.toString('utf8');
  // Like API Gateway: text bodies pass as they are, others base64-encoded.
  const isText =
    /^(text\/|application\/(json|x-www-form-urlencoded))/.test(headers['content-type'] ?? '') &&
    Buffer.from(text, 'utf8').equals(body);
  const routeKey = context?.routeKey ?? `${method} ${path}`;
  return {
    version: '2.0',
    routeKey,
    rawPath: path,
    rawQueryString: url.search.slice(1),
    headers,
    queryStringParameters: url.search ? Object.fromEntries(url.searchParams) : undefined,
    ...(context?.pathParameters ? { pathParameters: context.pathParameters } : {}),
    requestContext: {
      accountId: '000000000000',
      apiId: context?.apiId ?? 'local',
      ...(context?.jwt ? { authorizer: { jwt: { claims: context.jwt.claims, scopes: context.jwt.scopes } } } : {}),
      domainName: headers.host ?? '127.0.0.1',
      domainPrefix: 'local',
      http: {
        method,
        path,
        protocol: 'HTTP/1.1',
        sourceIp: req.socket.remoteAddress ?? '127.0.0.1',
        userAgent: headers['user-agent'] ?? '',
      },
      requestId: randomUUID(),
      routeKey,
      stage: context?.stage ?? '$default',
      time: now.toUTCString(),
      timeEpoch: now.getTime(),
    },
    body: body.length === 0 ? undefined : isText ? text : body.toString('base64'),
    isBase64Encoded: body.length > 0 && !isText,
  };
}

/**
 * Answers a request with what a Lambda proxy integration (payload 2.0) returned, as API Gateway
 * does: a failed invocation is 500 {"message":"Internal Server Error"}; a result with a
 * `statusCode` gives status, headers, cookies and body (base64-decoded when `isBase64Encoded`);
 * any other result is a 200 whose body is the result as JSON (a string as it is).
 * @param extraHeaders added under the function's own (e.g. CORS headers). @default none
 */
export function sendIntegrationAnswer(
  res: ServerResponse,
  result: InvokeResult,
  extraHeaders: Record<string, string> = {},
): void {
  if (!result.ok) return sendJson(res, 500, { message: 'Internal Server Error' }, extraHeaders);
  const payload = result.payload;
  const structured =
    typeof payload === 'object' && payload !== null && 'statusCode' in payload
      ? (payload as APIGatewayProxyStructuredResultV2)
      : undefined;
  if (!structured) {
    const text = typeof payload === 'string' ? payload : JSON.stringify(payload ?? null);
    return sendText(res, 200, text, { 'content-type': 'application/json', ...extraHeaders });
  }
  const headers: Record<string, string | string[]> = { 'content-type': 'application/json', ...extraHeaders };
  for (const [k, v] of Object.entries(structured.headers ?? {})) headers[k.toLowerCase()] = String(v);
  if (structured.cookies?.length) headers['set-cookie'] = structured.cookies;
  const raw = structured.body ?? '';
  const body = structured.isBase64Encoded ? Buffer.from(raw, 'base64') : Buffer.from(raw, 'utf8');
  res.writeHead(structured.statusCode ?? 200, { ...headers, 'content-length': body.length });
  res.end(body);
}

function defaultPage(): string {
  for (const dir of [join(__dirname, 'ui'), join(__dirname, '..', 'src', 'local', 'cloud', 'apigateway', 'ui')]) {
    try {
      return readFileSync(join(dir, 'index.html'), 'utf8');
    } catch {
      // try the next place: source tree vs. CLI bundle
    }
  }
  return '<!doctype html><title>resize-chain</title><p>ui/index.html not found beside the CLI</p>';
}

/** Gateway routes for the upload API, the page and its status endpoint (see the file comment). */
export function uploadApiRoutes(opts: UploadApiRouteOptions): GatewayRoute[] {
  let page: string | undefined = opts.pageHtml;

  async function invokeApi(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    const body = await readBody(req, MAX_REQUEST_BYTES);
    if (body === undefined) return sendJson(res, 413, { message: 'Request Entity Too Large' });
    const invoke = opts.invoke();
    if (!invoke) return sendJson(res, 503, { message: 'Service Unavailable' });
    sendIntegrationAnswer(res, await invoke(toHttpApiEvent(req, path, body)));
  }

  async function status(res: ServerResponse, key: string | null): Promise<void> {
    if (!key)
      return sendJson(res, 400, {
        error: { code: 'INVALID_EVENT', message: 'key: query parameter is required', field: 'key' },
      });
    const manifest = manifestKey(key, opts.outputPrefix);
    try {
      const got = await opts.s3.send(new GetObjectCommand({ Bucket: opts.outputBucket, Key: manifest }));
      const text = (await got.Body?.transformToString('utf8')) ?? '{}';
      sendJson(
        res,
        200,
        { state: 'done', outputBucket: opts.outputBucket, manifest: JSON.parse(text) as unknown },
        { 'cache-control': 'no-store' },
      );
    } catch (err) {
      const code = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
      if (code === 404) return sendJson(res, 200, { state: 'pending' }, { 'cache-control': 'no-store' });
      throw err;
    }
  }

  /**
   * One output object for the page's <img>: the output bucket is private (anonymous reads are
   * refused), so the page shows variants through the endpoint, as a CDN in front of the bucket would.
   */
  async function variant(res: ServerResponse, key: string | undefined): Promise<void> {
    if (!key) return sendJson(res, 400, { message: 'a variant key is required' });
    try {
      const got = await opts.s3.send(new GetObjectCommand({ Bucket: opts.outputBucket, Key: key }));
      const bytes = Buffer.from((await got.Body?.transformToByteArray()) ?? []);
      res.writeHead(200, {
        'content-type': got.ContentType ?? 'application/octet-stream',
        'content-length': bytes.length,
        'cache-control': 'no-store',
      });
      res.end(bytes);
    } catch (err) {
      const code = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
      if (code === 404) return sendJson(res, 404, { message: 'Not Found' });
      throw err;
    }
  }

  const onError = (res: ServerResponse, err: Error): void => sendJson(res, 502, { message: err.message });
  return [
    // A browser opening the endpoint's root lands on the page (AWS clients never ask for HTML).
    {
      method: 'GET',
      path: '/',
      constraints: { page: 'html' },
      handler: (_req, res) => void res.writeHead(302, { location: UI_PATH }).end(),
    },
    {
      method: 'GET',
      path: UI_PATH,
      handler(_req, res) {
        page ??= defaultPage();
        sendText(res, 200, page, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
      },
    },
    {
      method: 'GET',
      path: `${UI_PATH}status`,
      handler: (req, res) => status(res, new URL(req.url ?? '/', 'http://local').searchParams.get('key')),
      onError,
    },
    {
      method: 'GET',
      path: `${UI_PATH}variant/*`,
      handler: (_req, res, params) => variant(res, params['*']),
      onError,
    },
    {
      method: 'POST',
      path: `${API_BASE_PATH}/uploads`,
      handler: (req, res) => invokeApi(req, res, '/uploads'),
      onError,
    },
    {
      method: 'ANY',
      path: `${API_BASE_PATH}/*`,
      handler(req, res) {
        req.resume();
        sendJson(res, 404, { message: 'Not Found' });
      },
    },
  ];
}
