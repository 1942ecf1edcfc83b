/**
 * The gateway's way to the stand-in. forward() sends a request on verbatim (body streamed, headers
 * and signature untouched; only Host is set to the stand-in's and virtual-hosted requests become
 * path-style: the stand-in does not verify signatures), points queue URLs in SQS answers at the
 * gateway, adds S3's default encryption header (s3-encryption.ts) and reports object-creating
 * writes to the notification router. forwardSqsQuery() sends an SQS request in the older Query
 * protocol on as its JSON equivalent and answers in XML (sqs-query.ts).
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import { randomBytes, randomUUID } from 'node:crypto';
import type { AwsRequestInfo } from './aws-request';
import type {
  NotificationRouter,
  ObjectCreatedEventName,
  ObjectCreatedFact,
  ObjectFacts,
} from '../s3/notification-router';
import { addDefaultEncryption } from '../s3/s3-encryption';
import { sqsQueryError, sqsQueryResponse, type SqsQueryRequest } from '../sqs/sqs-query';
import type { LogSink } from '../lambda/invoke-contract';

/** SQS operations whose answers carry queue URLs. */
const QUEUE_URL_OPERATIONS = new Set(['CreateQueue', 'GetQueueUrl', 'ListQueues', 'ListDeadLetterSourceQueues']);

/** The S3 event each object-creating operation reports. */
const CREATED_EVENTS: Readonly<Record<string, ObjectCreatedEventName>> = {
  PutObject: 'ObjectCreated:Put',
  PostObject: 'ObjectCreated:Post',
  CopyObject: 'ObjectCreated:Copy',
  CompleteMultipartUpload: 'ObjectCreated:CompleteMultipartUpload',
};

/** Hop-by-hop headers are the connection's business, not the message's. */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'upgrade',
  'te',
  'trailer',
]);

/** `headers` without the hop-by-hop ones. */
export function withoutHopByHop(headers: http.IncomingHttpHeaders): http.OutgoingHttpHeaders {
  const result: http.OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined && !HOP_BY_HOP.has(name)) result[name] = value;
  }
  return result;
}

/**
 * A HEAD answer needs a length for its connection to be kept: without Content-Length (and with
 * Transfer-Encoding dropped as hop-by-hop) an HTTP/1.1 client cannot tell where it ends, and Node's
 * closes the connection after it. One without says Content-Length: 0, as the gateway's own HEAD
 * answers do (a HEAD answer has no body either way).
 */
export function frameHeadAnswer(method: string | undefined, headers: http.OutgoingHttpHeaders): void {
  if (method === 'HEAD' && headers['content-length'] === undefined) headers['content-length'] = 0;
}

/** Operations whose SQS JSON answer the gateway rewrites (sqsAnswer). */
const REWRITTEN_SQS_OPERATIONS = new Set([...QUEUE_URL_OPERATIONS, 'GetQueueAttributes']);

/** Queue attributes SQS leaves out of GetQueueAttributes once they are removed (set to ""). */
const OMITTED_WHEN_EMPTY = ['Policy', 'RedrivePolicy', 'RedriveAllowPolicy'];

/**
 * An SQS JSON answer as SQS gives it: queue URLs on the caller's origin, and no empty Policy or
 * redrive attributes (the stand-in answers "" once one is removed; SQS omits it, and the Terraform
 * provider's waiters read "" as a document that differs).
 */
export function sqsAnswer(operation: string, body: string, origin: string): string {
  if (QUEUE_URL_OPERATIONS.has(operation)) return rewriteQueueUrls(body, origin);
  if (operation !== 'GetQueueAttributes') return body;
  const parsed = JSON.parse(body) as { Attributes?: Record<string, string> };
  if (!parsed.Attributes) return body;
  for (const name of OMITTED_WHEN_EMPTY) if (parsed.Attributes[name] === '') delete parsed.Attributes[name];
  return JSON.stringify(parsed);
}

/** Rewrites the origin of every queue URL in an SQS JSON answer to `origin`. */
export function rewriteQueueUrls(body: string, origin: string): string {
  return body.replace(
    /"(https?:\/\/[^/"]+)(\/\d{12}\/[^"]+)"/g,
    (_match, _host: string, path: string) => `"${origin}${path}"`,
  );
}

/**
 * The path the stand-in is asked for: the request's own, or for a virtual-hosted request the
 * path-style one (the stand-in would read a dotted Host such as host.docker.internal as a bucket).
 */
export function upstreamPath(url: string, info: AwsRequestInfo): string {
  return info.virtualHosted ? `/${encodeURIComponent(info.bucket ?? '')}${url}` : url;
}

/** The S3 event a write reports when its bucket is watched, else undefined. */
export function createdEventOf(
  info: AwsRequestInfo,
  watched: (bucket: string) => boolean,
): ObjectCreatedEventName | undefined {
  return info.service === 's3' && info.bucket && watched(info.bucket) ? CREATED_EVENTS[info.operation] : undefined;
}

/**
 * The object a PutObject stored, from the request and its answer: the body's length (the decoded one of an
 * aws-chunked upload, which the stand-in decodes before storing) and the answer's ETag. Undefined when they do not
 * say (an aws-chunked body without its decoded length, an answer without an ETag): the router then asks HeadObject.
 */
export function putObjectFacts(
  requestHeaders: http.OutgoingHttpHeaders,
  answerHeaders: http.IncomingHttpHeaders,
): ObjectFacts | undefined {
  const eTag = answerHeaders.etag?.replace(/"/g, '');
  const chunked = /aws-chunked/i.test(requestHeaders['content-encoding'] ?? '');
  const length = requestHeaders[chunked ? 'x-amz-decoded-content-length' : 'content-length'];
  const text = typeof length === 'string' || typeof length === 'number' ? String(length) : '';
  const size = /^\d+$/.test(text) ? Number(text) : undefined;
  if (!eTag || size === undefined) return undefined;
  const versionId = answerHeaders['x-amz-version-id'];
  return typeof versionId === 'string' && versionId !== 'null' ? { size, eTag, versionId } : { size, eTag };
}

/** What a successful write tells the notification router, or why it cannot (a POST upload names no key). */
export function objectCreatedFact(
  info: AwsRequestInfo,
  eventName: ObjectCreatedEventName,
  answer: {
    headers: http.IncomingHttpHeaders;
    /** The headers the write went upstream with (a PutObject's length). @default none: the router asks HeadObject */
    requestHeaders?: http.OutgoingHttpHeaders;
    remoteAddress: string | undefined;
    eventTime: Date;
    sequencer: string;
    postKey?: string;
  },
): ObjectCreatedFact | { skipped: string } {
  // PostObject names its key in the form body (post-upload.ts read it).
  const key = eventName === 'ObjectCreated:Post' ? answer.postKey : (info.key ?? '');
  if (key === undefined) return { skipped: 'POST upload without a key field' };
  const hostIdHeader = String(answer.headers['x-amz-id-2'] ?? '');
  const object =
    eventName === 'ObjectCreated:Put' && answer.requestHeaders
      ? putObjectFacts(answer.requestHeaders, answer.headers)
      : undefined;
  return {
    bucket: info.bucket ?? '',
    key,
    eventName,
    requestId: String(answer.headers['x-amz-request-id'] ?? randomBytes(8).toString('hex').toUpperCase()),
    // fauxqs's fixed host id is no S3 host id: a random one of S3's shape instead.
    hostId: hostIdHeader && hostIdHeader !== 'fauxqs' ? hostIdHeader : randomBytes(24).toString('base64'),
    sourceIp: (answer.remoteAddress ?? '127.0.0.1').replace(/^::ffff:/, ''),
    eventTime: answer.eventTime,
    sequencer: answer.sequencer,
    ...(object ? { object } : {}),
  };
}

export interface StandInProxyOptions {
  /** The stand-in's endpoint, e.g. http://127.0.0.1:4566. */
  upstream: string;
  /** Where object-creating writes are reported (the notification router). */
  notifications: Pick<NotificationRouter, 'watches' | 'objectCreated' | 'nextSequencer'>;
  log: LogSink;
  /** The origin the client reached the gateway under, e.g. http://localhost:4566: queue URLs in answers point there. */
  originOf(req: IncomingMessage): string;
  /**
   * Called when the stand-in answers 404 to a GET or HEAD: true when it answered `res` itself (S3's
   * 403 for a missing key the caller may not know of), and the stand-in's answer is dropped.
   * @default the 404 goes through
   */
  answerMissingObject?(req: IncomingMessage, res: ServerResponse): boolean;
}

/** What a forwarded request brings besides itself. */
export interface ReadRequest {
  /** Its body, when the gateway already read it. */
  body?: Buffer;
  /** Headers replacing the request's own (with `body`). */
  headers?: http.OutgoingHttpHeaders;
  /** A POST upload's key, read from its form. */
  postKey?: string;
  /** An injected fault: the answer's connection is cut after this many body bytes (cutAnswer). */
  cutAfterBytes?: number;
}

export interface StandInProxy {
  /** Forwards a request and streams the answer back (see the file comment). */
  forward(req: IncomingMessage, res: ServerResponse, info: AwsRequestInfo, read?: ReadRequest): Promise<void>;
  /** Sends a Query request on as its JSON equivalent and answers in XML. */
  forwardSqsQuery(req: IncomingMessage, res: ServerResponse, query: SqsQueryRequest): Promise<void>;
  /** Closes the kept-alive connections to the stand-in. */
  close(): void;
}

/**
 * Sends the first `bytes` bytes of `answer`'s body on `res`, then destroys the client's connection
 * (an injected transfer reset); an answer no longer than that goes out whole.
 */
function cutAnswer(answer: IncomingMessage, res: ServerResponse, bytes: number, done: () => void): void {
  let sent = 0;
  answer.on('data', (chunk: Buffer) => {
    if (sent >= bytes) return;
    const part = chunk.subarray(0, bytes - sent);
    sent += part.length;
    if (sent < bytes) {
      res.write(part);
      return;
    }
    answer.destroy();
    res.write(part, () => {
      res.socket?.destroy();
      done();
    });
  });
  answer.on('end', () => {
    res.end();
    done();
  });
}

/** The proxy to the stand-in at `opts.upstream`. */
export function createStandInProxy(opts: StandInProxyOptions): StandInProxy {
  const upstream = new URL(opts.upstream);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  const { notifications, log } = opts;

  function upstreamRequest(
    method: string | undefined,
    path: string | undefined,
    headers: http.OutgoingHttpHeaders,
    onAnswer: (answer: IncomingMessage) => void,
  ): http.ClientRequest {
    return http.request(
      {
        host: upstream.hostname,
        port: upstream.port,
        method,
        path,
        headers: { ...headers, host: upstream.host },
        agent,
      },
      onAnswer,
    );
  }

  /**
   * The signature no longer matches the body, which does not matter: the stand-in checks none.
   */
  async function forwardSqsQuery(req: IncomingMessage, res: ServerResponse, query: SqsQueryRequest): Promise<void> {
    const payload = Buffer.from(JSON.stringify(query.json));
    const headers: http.OutgoingHttpHeaders = {
      ...withoutHopByHop(req.headers),
      'content-type': 'application/x-amz-json-1.0',
      'x-amz-target': `AmazonSQS.${query.action}`,
      'content-length': payload.length,
    };
    const answer = await new Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }>(
      (resolve, reject) => {
        const upstreamReq = upstreamRequest('POST', '/', headers, (upstreamRes) => {
          const chunks: Buffer[] = [];
          upstreamRes.on('data', (chunk: Buffer) => chunks.push(chunk));
          upstreamRes.on('error', reject);
          upstreamRes.on('end', () =>
            resolve({
              status: upstreamRes.statusCode ?? 502,
              headers: upstreamRes.headers,
              body: Buffer.concat(chunks).toString('utf8'),
            }),
          );
        });
        upstreamReq.on('error', reject);
        upstreamReq.end(payload);
      },
    );
    const requestId = String(answer.headers['x-amzn-requestid'] ?? randomUUID());
    let xml: string;
    if (answer.status < 300) {
      const json = sqsAnswer(query.action, answer.body, opts.originOf(req));
      xml = sqsQueryResponse(query.action, json, requestId);
    } else {
      const queryError = answer.headers['x-amzn-query-error'];
      xml = sqsQueryError(
        answer.body,
        Array.isArray(queryError) ? queryError[0] : queryError,
        answer.status,
        requestId,
      );
    }
    res.writeHead(answer.status, {
      'content-type': 'text/xml',
      'x-amzn-requestid': requestId,
      'content-length': Buffer.byteLength(xml),
    });
    res.end(xml);
  }

  function reportCreated(
    req: IncomingMessage,
    info: AwsRequestInfo,
    eventName: ObjectCreatedEventName,
    upstreamRes: IncomingMessage,
    sentHeaders: http.OutgoingHttpHeaders,
    eventTime: Date,
    postKey: string | undefined,
  ): void {
    const fact = objectCreatedFact(info, eventName, {
      headers: upstreamRes.headers,
      requestHeaders: sentHeaders,
      remoteAddress: req.socket.remoteAddress,
      eventTime,
      sequencer: notifications.nextSequencer(),
      postKey,
    });
    if ('skipped' in fact)
      log({ event: 'notification.skipped', level: 'warn', reason: fact.skipped, bucket: info.bucket });
    else notifications.objectCreated(fact);
  }

  function forward(
    req: IncomingMessage,
    res: ServerResponse,
    info: AwsRequestInfo,
    read: ReadRequest = {},
  ): Promise<void> {
    const createdEvent = createdEventOf(info, (bucket) => notifications.watches(bucket));
    const rewriteUrls = info.service === 'sqs' && REWRITTEN_SQS_OPERATIONS.has(info.operation);
    const arrived = new Date();
    const sentHeaders = { ...withoutHopByHop(req.headers), ...read.headers };

    return new Promise<void>((resolve, reject) => {
      const upstreamReq = upstreamRequest(
        req.method,
        upstreamPath(req.url ?? '/', info),
        sentHeaders,
        (upstreamRes) => {
          const status = upstreamRes.statusCode ?? 502;
          if (
            status === 404 &&
            (req.method === 'GET' || req.method === 'HEAD') &&
            opts.answerMissingObject?.(req, res)
          ) {
            upstreamRes.resume();
            upstreamRes.on('end', resolve);
            return;
          }
          const headers = withoutHopByHop(upstreamRes.headers);
          addDefaultEncryption(info, status, headers);
          frameHeadAnswer(req.method, headers);
          const created = (body?: Buffer): void => {
            // CompleteMultipartUpload can fail with 200 and an <Error> body.
            if (createdEvent && status >= 200 && status < 300 && !body?.includes('<Error>'))
              reportCreated(req, info, createdEvent, upstreamRes, sentHeaders, arrived, read.postKey);
          };
          upstreamRes.on('error', reject);
          if (!rewriteUrls && createdEvent !== 'ObjectCreated:CompleteMultipartUpload') {
            res.writeHead(status, headers);
            if (read.cutAfterBytes !== undefined) return cutAnswer(upstreamRes, res, read.cutAfterBytes, resolve);
            upstreamRes.pipe(res);
            upstreamRes.on('end', () => {
              created();
              resolve();
            });
            return;
          }
          const chunks: Buffer[] = [];
          upstreamRes.on('data', (chunk: Buffer) => chunks.push(chunk));
          upstreamRes.on('end', () => {
            let body = Buffer.concat(chunks);
            if (rewriteUrls && status < 300)
              body = Buffer.from(sqsAnswer(info.operation, body.toString('utf8'), opts.originOf(req)));
            headers['content-length'] = body.length;
            res.writeHead(status, headers);
            res.end(body);
            created(body);
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
      if (read.body) upstreamReq.end(read.body);
      else req.pipe(upstreamReq);
    });
  }

  return { forward, forwardSqsQuery, close: () => agent.destroy() };
}
