/**
 * The gateway: one HTTP endpoint on 127.0.0.1 in front of the stand-in S3/SQS server, used by
 * every local client as AWS_ENDPOINT_URL. Each request goes through named steps:
 * 1. the endpoint guard: callers from outside are refused (endpoint-guard.ts); then, unless `auth`
 *    is off, the request's SigV4 signature is verified (request-auth.ts) and a data-plane request
 *    is authorized against the caller's and the resource's policies (request-authorization.ts);
 * 2. the route table (gateway-routes.ts, find-my-way): the APIs served here (the Lambda mappings
 *    API, the Kinesis API, the upload API and page) take their requests;
 * 3. everything else is an S3 or SQS request for the stand-in (serveAwsRequest): named and counted
 *    (aws-request.ts; a form POST may be SQS's older Query protocol, sqs-query.ts), bucket CORS
 *    (s3-cors.ts), S3's refusals the stand-in lacks (s3-validation.ts), injected faults
 *    (gateway-faults.ts), browser POST uploads held to their signed policy (post-upload.ts), then
 *    forwarded (gateway-proxy.ts), which also reports object-creating writes to the notification
 *    router (S3 bucket notifications to SQS).
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import https from 'node:https';
import net, { type AddressInfo } from 'node:net';
import { ensureLocalTls, type LocalTls } from '../../local-tls';
import { classifyRequest, readAwsRequest, type AwsRequest } from './aws-request';
import { FaultInjector, applyFault, sendErrorAnswer } from './gateway-faults';
import { answered, createGatewayRouter, type GatewayRoute } from './gateway-routes';
import { createStandInProxy } from './gateway-proxy';
import { NotificationRouter } from '../s3/notification-router';
import { createBucketNotifications } from '../s3/bucket-notifications';
import { LOCAL_ACCOUNT_ID, LOCAL_CREDENTIALS, LOCAL_REGION } from '../../client-config';
import { checkPostUpload, sendS3Error } from '../s3/post-upload';
import type { S3ErrorShape } from '../s3/post-policy';
import { createBucketCors } from '../s3/s3-cors';
import { objectTooLarge, s3Refusal } from '../s3/s3-validation';
import { callerRefusal } from './endpoint-guard';
import { controlPlaneRoute } from './control-plane';
import type { FunctionInvoker, LogSink } from '../lambda/invoke-contract';
import { apiGatewayV2 } from '../apigateway/apigateway';
import type { LocalRegistry } from '../ecr/registry-process';
import { authenticate, callerOf, knownCredentials } from './request-auth';
import { cameOverTls } from '../http-io';
import { createRequestAuthorizer } from './request-authorization';
import { IamStore } from '../iam/iam-store';
import { SessionCredentialStore, type SessionCredentials } from '../iam/session-credentials';
import { s3NotificationPermission, s3Permissions } from '../iam/operation-actions';
import { createBucketConfig } from '../s3/bucket-config';

export type { FaultRule, FaultEffect, FaultHandle } from './gateway-faults';
export type { GatewayRoute, RouteParams } from './gateway-routes';

export interface GatewayOptions {
  /** The stand-in's endpoint, e.g. http://127.0.0.1:4566. */
  upstream: string;
  /** @default 'us-east-1' */
  region?: string;
  /**
   * A file the buckets' notification configurations are kept in across restarts (with the stand-in's
   * own state). @default none: they live in memory
   */
  notificationStateFile?: string;
  /** Seed of the fault probability draws. @default 1 */
  seed?: number;
  /** Port on 127.0.0.1. @default 0 (ephemeral) */
  port?: number;
  /** @default no logging */
  logSink?: LogSink;
  /** Routes served besides S3 and SQS, matched after the guard (gateway-routes.ts). @default none */
  routes?: readonly GatewayRoute[];
  /**
   * Browser origins let in besides the endpoint's own pages (exact `scheme://host[:port]`, as sent in
   * Origin), e.g. a web app under development. @default none (endpoint-guard.ts)
   */
  allowedOrigins?: readonly string[];
  /** The IAM store the control plane serves, shared with the services that consult it. @default its own */
  iam?: IamStore;
  /**
   * Reaches the Lambda functions the applied HTTP APIs' AWS_PROXY integrations
   * (apigateway/http-api-proxy.ts) and the schedule rules' targets (events/rule-schedule.ts) name.
   * @default none: those integrations answer 500 and rules do not fire
   */
  functionInvoker?: FunctionInvoker;
  /** The container registry behind ECR (control-plane.ts). @default none */
  registry?: LocalRegistry;
  /**
   * Verify every request's SigV4 signature against the known credentials (the local key pair, role
   * sessions) and authorize data-plane requests with IAM's policy evaluation. `false` is
   * `--no-auth`: any signature, or none, is accepted and every request allowed. @default true
   */
  auth?: boolean;
  /**
   * The certificate the port's TLS side serves (it answers TLS and plain HTTP alike; only TLS
   * requests have `aws:SecureTransport` true). @default ensureLocalTls(): the per-user local CA
   */
  tls?: LocalTls;
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
  /** https://127.0.0.1:port: the same port over TLS, trusted through `caPath`. */
  readonly tlsEndpoint: string;
  /** The local CA certificate (PEM file) clients trust for `tlsEndpoint` (local-tls.ts). */
  readonly caPath: string;
  readonly faults: FaultInjector;
  /** Resolves when every notification scheduled so far was delivered. */
  notificationsSettled(): Promise<void>;
  counters(): GatewayCounters;
  /** Adds routes while serving (an API whose backing starts after the gateway). */
  addRoutes(routes: readonly GatewayRoute[]): void;
  /** True when signatures are verified and requests authorized (GatewayOptions.auth). */
  readonly authEnabled: boolean;
  /** The local IAM: roles and policies (served by the IAM API, evaluated by the gateway). */
  readonly iam: IamStore;
  /**
   * Mints a session of `roleArn` (an `ASIA…` key id, secret, token, expiry), as Lambda does for a
   * function's execution role: requests signed with it act as that role.
   * @param sessionName @default the role's name
   * @param durationSeconds @default 12 hours (DEFAULT_SESSION_SECONDS)
   */
  sessionCredentialsForRole(roleArn: string, sessionName?: string, durationSeconds?: number): SessionCredentials;
  /** Stops accepting requests, closes connections, flushes pending notifications. */
  stop(): Promise<void>;
}

/** Starts the gateway on 127.0.0.1. */
export async function startGateway(opts: GatewayOptions): Promise<Gateway> {
  const region = opts.region ?? LOCAL_REGION;
  const log: LogSink = opts.logSink ?? (() => {});
  const faults = new FaultInjector(opts.seed ?? 1);
  const authEnabled = opts.auth ?? true;
  const iam = opts.iam ?? new IamStore(LOCAL_ACCOUNT_ID);
  const sessions = new SessionCredentialStore();
  const authorizer = createRequestAuthorizer({
    iam,
    bucketPolicy: (bucket) => bucketConfig.policyOf(bucket),
    upstream: opts.upstream,
    region,
    log,
  });
  const notifications = new NotificationRouter({
    upstream: opts.upstream,
    region,
    logSink: log,
    ...(authEnabled
      ? {
          // S3 delivers as its service principal, over TLS, naming the bucket and its owner.
          authorizeDelivery: async (config) => {
            const [, , , , account, name] = config.queueArn.split(':');
            const permission = s3NotificationPermission(config.bucket, LOCAL_ACCOUNT_ID, config.queueArn);
            const principal = { kind: 'service', service: 's3.amazonaws.com' } as const;
            const result = await authorizer.decide(principal, permission, { queuePath: `/${account}/${name}` }, true);
            return result.decision === 'Allow';
          },
        }
      : {}),
  });
  const requests: Record<string, number> = {};
  const bucketCors = createBucketCors({ upstream: opts.upstream });
  const bucketNotifications = createBucketNotifications({
    router: notifications,
    accountId: LOCAL_ACCOUNT_ID,
    stateFile: opts.notificationStateFile,
    logSink: log,
  });
  const bucketConfig = createBucketConfig({ upstream: opts.upstream, notifications: bucketNotifications });
  const controlPlane = controlPlaneRoute({
    upstream: opts.upstream,
    region,
    logSink: log,
    invoker: opts.functionInvoker,
    registry: opts.registry,
    bucketConfig,
    iam,
  });
  // Browser POST uploads are signed by whoever signed their policy: the local key pair or a role session.
  const localCredentials = authEnabled
    ? knownCredentials(sessions)
    : (accessKeyId: string) => (accessKeyId === LOCAL_CREDENTIALS.accessKeyId ? LOCAL_CREDENTIALS : undefined);
  const proxy = createStandInProxy({
    upstream: opts.upstream,
    notifications,
    log,
    // Queue URLs name the scheme the request came over: https when over TLS, as AWS's are.
    originOf: (req) => `${cameOverTls(req) ? 'https' : 'http'}://${req.headers.host ?? `127.0.0.1:${port}`}`,
    answerMissingObject: (req, res) => authorizer.answerMissingObject(req, res),
  });
  const router = createGatewayRouter(serveAwsRequest, answerGatewayError);
  // API Gateway v2: its control plane (/v2/...) and the applied HTTP APIs (/_api/<apiId>/...).
  const httpApis = apiGatewayV2({
    region,
    accountId: LOCAL_ACCOUNT_ID,
    functionInvoker: opts.functionInvoker,
    logSink: log,
  });
  router.add([...httpApis.routes, ...(opts.routes ?? [])]);

  const serve = (req: IncomingMessage, res: ServerResponse): void => {
    if (refuseForeignCaller(req, res)) return;
    void answered(() => (authEnabled ? serveSigned(req, res) : router.route(req, res)), res, answerGatewayError);
  };
  const tls = opts.tls ?? ensureLocalTls();
  const server = http.createServer(serve);
  const tlsServer = https.createServer({ key: tls.key, cert: tls.cert }, serve);
  // One port for both: a connection opening with a TLS handshake record (0x16) is TLS, any other is plain HTTP.
  const sockets = new Set<net.Socket>();
  const front = net.createServer((socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    socket.once('data', (first) => {
      socket.pause();
      socket.unshift(first);
      (first[0] === 0x16 ? tlsServer : server).emit('connection', socket);
      process.nextTick(() => socket.resume());
    });
    socket.on('error', () => socket.destroy());
  });

  /** Step 1, with auth on: the signature, then the policies, then the route table. */
  async function serveSigned(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const authenticated = await authenticate(req, res, { sessions, log });
    if (!authenticated) return;
    if (!(await authorizer.authorize(authenticated, res))) return;
    await router.route(authenticated.req, res);
  }
  // The SDK keeps connections alive; do not let idle ones hold stop() up.
  for (const each of [server, tlsServer]) {
    each.keepAliveTimeout = 5000;
    // An object too large for the stand-in is refused before its body is sent (no 100 Continue), so
    // the client reads the refusal instead of a connection reset halfway through its upload.
    each.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => {
      if (refuseForeignCaller(req, res)) return;
      const tooLarge = objectTooLarge(req.headers, classifyRequest(req.method ?? 'GET', req.url ?? '/', req.headers));
      if (tooLarge) return refuseObject(req, res, tooLarge);
      res.writeContinue();
      each.emit('request', req, res);
    });
  }

  /** The gateway's own answer to an error nothing else answered. */
  function answerGatewayError(res: ServerResponse, err: Error): void {
    log({ event: 'gateway.error', level: 'error', error: err.message });
    res.writeHead(502, { 'content-type': 'text/plain' });
    res.end('gateway error');
  }

  /** Step 1: refuses a request from outside (callerRefusal) with its protocol's 403; false when it may pass. */
  function refuseForeignCaller(req: IncomingMessage, res: ServerResponse): boolean {
    const refusal = callerRefusal(req, port, opts.allowedOrigins);
    if (!refusal) return false;
    log({
      event: 'gateway.caller_refused',
      level: 'warn',
      rule: refusal.rule,
      host: req.headers.host,
      origin: req.headers.origin,
      method: req.method,
      path: (req.url ?? '/').split('?')[0],
    });
    res.setHeader('connection', 'close');
    sendErrorAnswer(req, res, refusal.info, refusal.answer, refusal.queryProtocol);
    return true;
  }

  /**
   * Answers an S3 error S3 gives before reading the body, closing the connection; whatever body was sent is discarded.
   */
  function refuseObject(req: IncomingMessage, res: ServerResponse, error: S3ErrorShape): void {
    log({
      event: 'gateway.object_refused',
      level: 'warn',
      method: req.method,
      path: (req.url ?? '/').split('?')[0],
      code: error.code,
      message: error.message,
      ...error.details,
    });
    res.setHeader('connection', 'close');
    sendS3Error(res, error);
    req.resume();
  }

  /** Step 3: an S3 or SQS request (what no route took), answered here or by the stand-in. */
  async function serveAwsRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    // The control plane (IAM, STS, Logs, bucket sub-resources) is chosen by the service the request is signed for.
    if (controlPlane(req, res)) return;
    const request = await readAwsRequest(req);
    if (!request) {
      res.writeHead(413, { 'content-type': 'text/plain' });
      res.end('request body too large');
      return;
    }
    const { info, query } = request;
    const counterKey = `${info.service}:${info.operation}`;
    requests[counterKey] = (requests[counterKey] ?? 0) + 1;
    // Bucket CORS: its operations and preflights are answered there; matched origins get their headers.
    if (await bucketCors.handle(req, res, info)) return;
    const refusal = s3Refusal(req, info, new Date());
    if (refusal) return refuseObject(req, res, refusal);
    const effect = faults.pick(info);
    if (effect && (await applyFault(req, res, info, effect, query !== undefined, log))) return;
    if (info.service === 's3' && info.operation === 'PostObject') return forwardPostUpload(req, res, request);
    if (query) return proxy.forwardSqsQuery(req, res, query);
    const cut = effect?.cutAfterBytes;
    return proxy.forward(req, res, info, { body: request.body, ...(cut === undefined ? {} : { cutAfterBytes: cut }) });
  }

  /** The stand-in stores any form; S3 holds a form with a policy to it (post-upload.ts). */
  async function forwardPostUpload(req: IncomingMessage, res: ServerResponse, { info }: AwsRequest): Promise<void> {
    const upload = await checkPostUpload(req, { bucket: info.bucket ?? '', region, credentials: localCredentials });
    if (upload.action === 'forward') {
      if (authEnabled && !(await authorizePostUpload(req, res, info.bucket ?? '', upload))) return;
      return proxy.forward(req, res, info, { body: upload.body, headers: upload.headers, postKey: upload.key });
    }
    if (upload.action === 'refuse') {
      log({
        event: 'gateway.post_refused',
        level: 'warn',
        bucket: info.bucket,
        code: upload.error.code,
        message: upload.error.message,
      });
      sendS3Error(res, upload.error);
    }
  }

  /** S3 makes a POST upload as its policy's signer: that principal needs s3:PutObject on the key. */
  function authorizePostUpload(
    req: IncomingMessage,
    res: ServerResponse,
    bucket: string,
    upload: { key: string | undefined; accessKeyId: string },
  ): Promise<boolean> {
    return authorizer.authorizeAs(
      callerOf(sessions, upload.accessKeyId),
      's3',
      'PostObject',
      s3Permissions({ operation: 'PostObject', bucket, key: upload.key ?? '' })[0],
      { bucket },
      cameOverTls(req),
      req,
      res,
    );
  }

  await new Promise<void>((resolve, reject) => {
    front.once('error', reject);
    front.listen(opts.port ?? 0, '127.0.0.1', () => {
      front.off('error', reject);
      resolve();
    });
  });
  const port = (front.address() as AddressInfo).port;
  const endpoint = `http://127.0.0.1:${port}`;
  const tlsEndpoint = `https://127.0.0.1:${port}`;
  log({ event: 'gateway.started', endpoint, tlsEndpoint, upstream: opts.upstream, auth: authEnabled });

  let stopping: Promise<void> | undefined;
  return {
    endpoint,
    port,
    tlsEndpoint,
    caPath: tls.caPath,
    faults,
    notificationsSettled: () => notifications.settled(),
    counters: () => ({
      requests: { ...requests },
      faultsInjected: faults.injected,
      notificationsSent: notifications.sent,
      notificationRetries: notifications.retries,
    }),
    addRoutes: (routes) => router.add(routes),
    authEnabled,
    iam,
    sessionCredentialsForRole: (roleArn, sessionName, durationSeconds) =>
      sessions.sessionCredentialsForRole(roleArn, sessionName, durationSeconds),
    stop() {
      stopping ??= (async () => {
        const closed = new Promise<void>((resolve) => front.close(() => resolve()));
        for (const each of [server, tlsServer]) each.closeIdleConnections();
        const timer = setTimeout(() => sockets.forEach((socket) => socket.destroy()), 2000);
        await closed;
        clearTimeout(timer);
        await notifications.close();
        proxy.close();
        controlPlane.stop();
        authorizer.close();
        log({ event: 'gateway.stopped', endpoint });
      })();
      return stopping;
    },
  };
}
