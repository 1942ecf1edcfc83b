/**
 * The gateway: one HTTP endpoint on 127.0.0.1 in front of the stand-in S3/SQS server, used by
 * every local client as AWS_ENDPOINT_URL. It forwards requests verbatim (bodies streamed, headers
 * and signatures untouched; only Host is set to the stand-in's and virtual-hosted requests become
 * path-style; the stand-in does not verify signatures), points queue URLs in SQS answers at itself, emits S3 bucket
 * notifications to SQS after object-creating writes, injects faults on demand, and counts. SQS
 * requests in the older Query protocol (form-encoded, XML answers: the AWS CLI before 2.13) are
 * translated to the JSON protocol the stand-in speaks (sqs-query.ts). Browser POST uploads are
 * held to their signed POST policy as S3 holds them before anything reaches the stand-in
 * (post-upload.ts). Extra routes (the local Lambda mappings API) are served on the same endpoint.
 * Before anything else, callers from outside are refused (endpoint-guard.ts); S3 requests are held
 * to S3's refusals the stand-in lacks (presign-expiry.ts, s3-validation.ts), and object answers
 * report S3's default encryption (s3-encryption.ts).
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes, randomUUID } from 'node:crypto';
import { classifyRequest, type AwsRequestInfo } from './aws-request';
import { FaultInjector, sendErrorAnswer, type FaultEffect } from './gateway-faults';
import {
  NotificationRouter,
  type NotificationConfig,
  type ObjectCreatedEventName,
  type ResolvedNotificationConfig,
} from '../s3/notification-router';
import type { GatewayRoute } from '../lambda/lambda-api';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../../client-config';
import { parseSqsQuery, sqsQueryError, sqsQueryResponse, type SqsQueryRequest } from '../sqs/sqs-query';
import { checkPostUpload, sendS3Error } from '../s3/post-upload';
import { entityTooLarge, type S3ErrorShape } from '../s3/post-policy';
import { MAX_LOCAL_OBJECT_BYTES } from '../standin/standin';
import { createBucketCors } from '../s3/s3-cors';
import { s3RequestRefusal } from '../s3/s3-validation';
import { presignRefusal } from '../s3/presign-expiry';
import { addDefaultEncryption } from '../s3/s3-encryption';
import { endpointRefusal } from './endpoint-guard';
import { controlPlaneRoute } from './control-plane';
import type { LogSink } from '../lambda/invoke-contract';

export type { FaultRule, FaultEffect, FaultHandle } from './gateway-faults';
export type { NotificationConfig } from '../s3/notification-router';
export type { GatewayRoute } from '../lambda/lambda-api';

export interface GatewayOptions {
  /** The stand-in's endpoint, e.g. http://127.0.0.1:4566. */
  upstream: string;
  /** @default 'us-east-1' */
  region?: string;
  /** Bucket notifications in force from the start (each sends an s3:TestEvent unless `testEvents` is false). */
  notifications?: NotificationConfig[];
  /** @default true */
  testEvents?: boolean;
  /** Seed of the fault probability draws. @default 1 */
  seed?: number;
  /** Port on 127.0.0.1. @default 0 (ephemeral) */
  port?: number;
  /** @default no logging */
  logSink?: LogSink;
  /** Tried in order before anything else; a route that returns true has taken the request. @default none */
  routes?: GatewayRoute[];
  /**
   * Browser origins let in besides the endpoint's own pages (exact `scheme://host[:port]`, as sent in
   * Origin), e.g. a web app under development. @default none (endpoint-guard.ts)
   */
  allowedOrigins?: readonly string[];
}

export interface GatewayCounters {
  /** Requests per `<service>:<operation>`, e.g. 's3:PutObject'. */
  requests: Record<string, number>;
  faultsInjected: number;
  notificationsSent: number;
  notificationRetries: number;
}

export interface Gateway {
  /** http://127.0.0.1:port: the AWS endpoint for every local client. */
  readonly endpoint: string;
  readonly port: number;
  readonly faults: FaultInjector;
  /** Adds a bucket notification configuration (sends the s3:TestEvent unless told not to). */
  configureNotification(config: NotificationConfig, opts?: { testEvent?: boolean }): Promise<ResolvedNotificationConfig>;
  notifications(): readonly ResolvedNotificationConfig[];
  /** Resolves when every notification scheduled so far was delivered. */
  notificationsSettled(): Promise<void>;
  counters(): GatewayCounters;
  /** Stops accepting requests, closes connections, flushes pending notifications. */
  stop(): Promise<void>;
}

/** SQS operations whose answers carry queue URLs. */
const QUEUE_URL_OPERATIONS = new Set(['CreateQueue', 'GetQueueUrl', 'ListQueues', 'ListDeadLetterSourceQueues']);

const CREATED_EVENTS: Record<string, ObjectCreatedEventName> = {
  PutObject: 'ObjectCreated:Put',
  PostObject: 'ObjectCreated:Post',
  CopyObject: 'ObjectCreated:Copy',
  CompleteMultipartUpload: 'ObjectCreated:CompleteMultipartUpload',
};

/** Form-encoded bodies larger than this are not SQS Query requests (SQS caps a request at 1 MiB). */
const MAX_QUERY_BODY_BYTES = 2 * 1024 * 1024;

function isFormPost(req: IncomingMessage): boolean {
  return req.method === 'POST' && String(req.headers['content-type'] ?? '').toLowerCase().includes('application/x-www-form-urlencoded');
}

/** Reads a request body, or `undefined` as soon as it passes `limit` bytes. */
export async function readBody(req: IncomingMessage, limit: number): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) return undefined;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/** Hop-by-hop headers are the connection's business, not the message's. */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'te', 'trailer']);

function withoutHopByHop(headers: http.IncomingHttpHeaders): http.OutgoingHttpHeaders {
  const result: http.OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined && !HOP_BY_HOP.has(name)) result[name] = value;
  }
  return result;
}

/** Rewrites the origin of every queue URL in an SQS JSON answer to `origin`. */
export function rewriteQueueUrls(body: string, origin: string): string {
  return body.replace(/"(https?:\/\/[^/"]+)(\/\d{12}\/[^"]+)"/g, (_match, _host: string, path: string) => `"${origin}${path}"`);
}

/** Starts the gateway on 127.0.0.1. */
/** S3 operations whose body becomes (part of) an object: held to MAX_LOCAL_OBJECT_BYTES. */
const OBJECT_BODY_OPERATIONS = new Set(['PutObject', 'UploadPart']);

/** S3's EntityTooLarge for an object body above what the stand-in takes, else undefined. */
function objectTooLarge(req: IncomingMessage, info: AwsRequestInfo): S3ErrorShape | undefined {
  if (info.service !== 's3' || !OBJECT_BODY_OPERATIONS.has(info.operation)) return undefined;
  // aws-chunked bodies (streaming signatures) declare the object's own size apart from the framing.
  const size = Number(req.headers['x-amz-decoded-content-length'] ?? req.headers['content-length']);
  if (!(size > MAX_LOCAL_OBJECT_BYTES)) return undefined;
  return entityTooLarge(size, MAX_LOCAL_OBJECT_BYTES, `the local cloud takes ${MAX_LOCAL_OBJECT_BYTES} bytes per request; use a multipart upload`);
}

export async function startGateway(opts: GatewayOptions): Promise<Gateway> {
  const upstream = new URL(opts.upstream);
  const region = opts.region ?? LOCAL_REGION;
  const log: LogSink = opts.logSink ?? (() => {});
  const faults = new FaultInjector(opts.seed ?? 1);
  const router = new NotificationRouter({ upstream: opts.upstream, region, logSink: log });
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  const requests: Record<string, number> = {};
  const bucketCors = createBucketCors({ upstream: opts.upstream });
  const controlPlane = controlPlaneRoute({ upstream: opts.upstream, region, logSink: log });
  const localCredentials = (accessKeyId: string) => (accessKeyId === LOCAL_CREDENTIALS.accessKeyId ? LOCAL_CREDENTIALS : undefined);

  const server = http.createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      log({ event: 'gateway.error', level: 'error', error: err instanceof Error ? err.message : String(err) });
      if (!res.headersSent) {
        res.writeHead(502, { 'content-type': 'text/plain' });
        res.end('gateway error');
      } else {
        res.destroy();
      }
    });
  });
  // The SDK keeps connections alive; do not let idle ones hold stop() up.
  server.keepAliveTimeout = 5000;
  // An object too large for the stand-in is refused before its body is sent (no 100 Continue), so
  // the client reads the refusal instead of a connection reset halfway through its upload.
  server.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => {
    if (refuseForeignCaller(req, res)) return;
    const tooLarge = objectTooLarge(req, classifyRequest(req.method ?? 'GET', req.url ?? '/', req.headers));
    if (tooLarge) return refuseObject(req, res, tooLarge);
    res.writeContinue();
    server.emit('request', req, res);
  });

  /**
   * Refuses a request from outside (a Host that is not loopback, a browser page that is not the
   * endpoint's own: endpoint-guard.ts) with the 403 AccessDenied of its protocol; false when it may pass.
   */
  function refuseForeignCaller(req: IncomingMessage, res: ServerResponse): boolean {
    const refusal = endpointRefusal(req, port, opts.allowedOrigins);
    if (!refusal) return false;
    const classified = classifyRequest(req.method ?? 'GET', req.url ?? '/', req.headers);
    // The REST APIs served as routes (Lambda's /2015-03-31/…, our /_api/ and /_ui/) answer JSON errors.
    const info: AwsRequestInfo = /^\/(\d{4}-\d\d-\d\d|_[a-z]+)\//.test(req.url ?? '/') ? { service: 'other', operation: 'Unknown' } : classified;
    const queryProtocol = info.service === 'other' && isFormPost(req);
    const code = info.service === 'other' && !queryProtocol ? 'AccessDeniedException' : 'AccessDenied';
    log({ event: 'gateway.caller_refused', level: 'warn', rule: refusal.rule, host: req.headers.host, origin: req.headers.origin, method: req.method, path: (req.url ?? '/').split('?')[0] });
    res.setHeader('connection', 'close');
    sendErrorAnswer(req, res, info, { status: 403, code, message: `Access Denied: ${refusal.reason}` }, queryProtocol);
    return true;
  }

  /** Answers an S3 error S3 gives before reading the body, closing the connection; whatever body was sent is discarded. */
  function refuseObject(req: IncomingMessage, res: ServerResponse, error: S3ErrorShape): void {
    log({ event: 'gateway.object_refused', level: 'warn', method: req.method, path: (req.url ?? '/').split('?')[0], code: error.code, message: error.message, ...error.details });
    res.setHeader('connection', 'close');
    sendS3Error(res, error);
    req.resume();
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (refuseForeignCaller(req, res)) return;
    for (const route of opts.routes ?? []) if (route(req, res)) return;
    if (controlPlane(req, res)) return;
    const method = req.method ?? 'GET';
    let info = classifyRequest(method, req.url ?? '/', req.headers);
    let query: SqsQueryRequest | undefined;
    let body: Buffer | undefined;
    if (isFormPost(req)) {
      body = await readBody(req, MAX_QUERY_BODY_BYTES);
      if (body === undefined) {
        res.writeHead(413, { 'content-type': 'text/plain' });
        res.end('request body too large');
        return;
      }
      query = parseSqsQuery(body.toString('utf8'));
      if (query) info = { service: 'sqs', operation: query.action };
    }
    const counterKey = `${info.service}:${info.operation}`;
    requests[counterKey] = (requests[counterKey] ?? 0) + 1;

    // Bucket CORS (s3-cors.ts): its operations and preflights are answered there; matched origins get their headers.
    if (await bucketCors.handle(req, res, info)) return;
    const tooLarge = objectTooLarge(req, info);
    if (tooLarge) return refuseObject(req, res, tooLarge);
    const refusal = info.service === 's3' ? (presignRefusal(req.url ?? '/', new Date()) ?? s3RequestRefusal(info)) : undefined;
    if (refusal) return refuseObject(req, res, refusal);
    const effect = faults.pick(info);
    if (effect && (await injectFault(req, res, info, effect, query !== undefined))) return;
    if (info.operation === 'PostObject' && info.service === 's3') {
      // The stand-in stores any form; S3 holds a form with a policy to it (post-upload.ts).
      const upload = await checkPostUpload(req, { bucket: info.bucket ?? '', region, credentials: localCredentials });
      if (upload.action === 'forward') await forward(req, res, info, { body: upload.body, headers: upload.headers, postKey: upload.key });
      else if (upload.action === 'refuse') {
        log({ event: 'gateway.post_refused', level: 'warn', bucket: info.bucket, code: upload.error.code, message: upload.error.message });
        sendS3Error(res, upload.error);
      }
      return;
    }
    if (query) await forwardSqsQuery(req, res, query);
    else await forward(req, res, info, { body });
  }

  /**
   * Sends a Query request on as its JSON equivalent and answers in XML. The signature no longer
   * matches the body, which does not matter: the stand-in checks none.
   */
  async function forwardSqsQuery(req: IncomingMessage, res: ServerResponse, query: SqsQueryRequest): Promise<void> {
    const payload = Buffer.from(JSON.stringify(query.json));
    const headers: http.OutgoingHttpHeaders = {
      ...withoutHopByHop(req.headers),
      host: upstream.host,
      'content-type': 'application/x-amz-json-1.0',
      'x-amz-target': `AmazonSQS.${query.action}`,
      'content-length': payload.length,
    };
    const answer = await new Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }>((resolve, reject) => {
      const upstreamReq = http.request({ host: upstream.hostname, port: upstream.port, method: 'POST', path: '/', headers, agent }, (upstreamRes) => {
        const chunks: Buffer[] = [];
        upstreamRes.on('data', (chunk: Buffer) => chunks.push(chunk));
        upstreamRes.on('error', reject);
        upstreamRes.on('end', () => resolve({ status: upstreamRes.statusCode ?? 502, headers: upstreamRes.headers, body: Buffer.concat(chunks).toString('utf8') }));
      });
      upstreamReq.on('error', reject);
      upstreamReq.end(payload);
    });
    const requestId = String(answer.headers['x-amzn-requestid'] ?? randomUUID());
    let xml: string;
    if (answer.status < 300) {
      const json = QUEUE_URL_OPERATIONS.has(query.action) ? rewriteQueueUrls(answer.body, `http://${req.headers.host ?? `127.0.0.1:${port}`}`) : answer.body;
      xml = sqsQueryResponse(query.action, json, requestId);
    } else {
      const queryError = answer.headers['x-amzn-query-error'];
      xml = sqsQueryError(answer.body, Array.isArray(queryError) ? queryError[0] : queryError, answer.status, requestId);
    }
    res.writeHead(answer.status, { 'content-type': 'text/xml', 'x-amzn-requestid': requestId, 'content-length': Buffer.byteLength(xml) });
    res.end(xml);
  }

  /** Applies a fault; false when only a delay was asked for and the request goes on. */
  async function injectFault(req: IncomingMessage, res: ServerResponse, info: AwsRequestInfo, effect: FaultEffect, queryProtocol = false): Promise<boolean> {
    log({ event: 'gateway.fault', service: info.service, operation: info.operation, bucket: info.bucket, key: info.key, ...effect });
    if (effect.delayMs) await new Promise((resolve) => setTimeout(resolve, effect.delayMs));
    if (effect.drop) {
      req.socket.destroy();
      return true;
    }
    if (effect.status === undefined) return false;
    sendErrorAnswer(req, res, info, { ...effect, status: effect.status }, queryProtocol);
    return true;
  }

  /**
   * Forwards a request. `read.body`: its body when the gateway already read it, sent with
   * `read.headers` replacing the request's own; `read.postKey`: a POST upload's key, read from its form.
   */
  function forward(req: IncomingMessage, res: ServerResponse, info: AwsRequestInfo, read: { body?: Buffer; headers?: http.OutgoingHttpHeaders; postKey?: string } = {}): Promise<void> {
    const createdEvent = info.service === 's3' && info.bucket && router.watches(info.bucket) ? CREATED_EVENTS[info.operation] : undefined;
    const rewriteUrls = info.service === 'sqs' && QUEUE_URL_OPERATIONS.has(info.operation);
    const readBody = read.body;
    const arrived = new Date();

    return new Promise<void>((resolve, reject) => {
      const upstreamReq = http.request(
        {
          host: upstream.hostname,
          port: upstream.port,
          method: req.method,
          // The stand-in sees plain path-style requests to its own address, whatever name the
          // client used for us (it would read a dotted Host such as host.docker.internal as a bucket).
          path: info.virtualHosted ? `/${encodeURIComponent(info.bucket ?? '')}${req.url ?? '/'}` : req.url,
          headers: { ...withoutHopByHop(req.headers), host: upstream.host, ...read.headers },
          agent,
        },
        (upstreamRes) => {
          const status = upstreamRes.statusCode ?? 502;
          const headers = withoutHopByHop(upstreamRes.headers);
          addDefaultEncryption(info, status, headers);
          const needsBody = rewriteUrls || createdEvent === 'ObjectCreated:CompleteMultipartUpload';
          if (!needsBody) {
            res.writeHead(status, headers);
            upstreamRes.pipe(res);
            upstreamRes.on('end', () => {
              if (createdEvent && status >= 200 && status < 300) {
                objectCreated(req, info, createdEvent, upstreamRes, arrived, read.postKey);
              }
              resolve();
            });
            upstreamRes.on('error', reject);
            return;
          }
          const chunks: Buffer[] = [];
          upstreamRes.on('data', (chunk: Buffer) => chunks.push(chunk));
          upstreamRes.on('error', reject);
          upstreamRes.on('end', () => {
            let body = Buffer.concat(chunks);
            if (rewriteUrls && status < 300) {
              body = Buffer.from(rewriteQueueUrls(body.toString('utf8'), `http://${req.headers.host ?? `127.0.0.1:${port}`}`));
            }
            headers['content-length'] = body.length;
            res.writeHead(status, headers);
            res.end(body);
            // CompleteMultipartUpload can fail with 200 and an <Error> body.
            if (createdEvent && status >= 200 && status < 300 && !body.includes('<Error>')) {
              objectCreated(req, info, createdEvent, upstreamRes, arrived, read.postKey);
            }
            resolve();
          });
        },
      );
      upstreamReq.on('error', (err) => {
        log({ event: 'gateway.upstream_error', level: 'error', operation: info.operation, error: err.message });
        if (!res.headersSent) {
          res.writeHead(502, { 'content-type': 'text/plain' });
          res.end(`stand-in unreachable: ${err.message}`);
        } else {
          res.destroy();
        }
        resolve();
      });
      req.on('aborted', () => upstreamReq.destroy());
      if (readBody) {
        upstreamReq.end(readBody);
        return;
      }
      req.pipe(upstreamReq);
    });
  }

  function objectCreated(
    req: IncomingMessage,
    info: AwsRequestInfo,
    eventName: ObjectCreatedEventName,
    upstreamRes: IncomingMessage,
    eventTime: Date,
    postKey: string | undefined,
  ): void {
    let key = info.key ?? '';
    if (eventName === 'ObjectCreated:Post') {
      // PostObject names its key in the form body (post-upload.ts read it).
      const formKey = postKey;
      if (formKey === undefined) {
        log({ event: 'notification.skipped', level: 'warn', reason: 'POST upload without a key field', bucket: info.bucket });
        return;
      }
      key = formKey;
    }
    const requestId = String(upstreamRes.headers['x-amz-request-id'] ?? randomBytes(8).toString('hex').toUpperCase());
    const hostIdHeader = String(upstreamRes.headers['x-amz-id-2'] ?? '');
    router.objectCreated({
      bucket: info.bucket ?? '',
      key,
      eventName,
      requestId,
      hostId: hostIdHeader && hostIdHeader !== 'fauxqs' ? hostIdHeader : randomBytes(24).toString('base64'),
      sourceIp: (req.socket.remoteAddress ?? '127.0.0.1').replace(/^::ffff:/, ''),
      eventTime,
      sequencer: router.nextSequencer(),
    });
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const endpoint = `http://127.0.0.1:${port}`;
  log({ event: 'gateway.started', endpoint, upstream: opts.upstream });

  try {
    for (const config of opts.notifications ?? []) {
      await router.configure(config, { testEvent: opts.testEvents ?? true });
    }
  } catch (err) {
    server.close();
    server.closeAllConnections();
    await router.close();
    throw err;
  }

  let stopping: Promise<void> | undefined;
  return {
    endpoint,
    port,
    faults,
    configureNotification: (config, configureOpts) => router.configure(config, { testEvent: configureOpts?.testEvent ?? opts.testEvents ?? true }),
    notifications: () => router.list(),
    notificationsSettled: () => router.settled(),
    counters: () => ({
      requests: { ...requests },
      faultsInjected: faults.injected,
      notificationsSent: router.sent,
      notificationRetries: router.retries,
    }),
    stop() {
      stopping ??= (async () => {
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeIdleConnections();
        const timer = setTimeout(() => server.closeAllConnections(), 2000);
        await closed;
        clearTimeout(timer);
        await router.close();
        agent.destroy();
        log({ event: 'gateway.stopped', endpoint });
      })();
      return stopping;
    },
  };
}
