/**
 * Who may talk to the local endpoint, by where a request comes from (signatures and policies are
 * checked after this, request-auth.ts, unless `--no-auth`; with it, this guard is all that keeps
 * other parties out):
 * - the Host header must name this machine's loopback: `127.0.0.1`, `[::1]`, `localhost`,
 *   `*.localhost` (virtual-hosted buckets), or `host.docker.internal` (how a container reaches the
 *   host), with any port. Any other name is refused, so a DNS-rebinding page (its own name
 *   pointed at 127.0.0.1) never gets an answer;
 * - a browser request (one with an Origin header) must come from the endpoint itself (the upload
 *   page it serves, under any of those names, on its port). Any other page is refused: forms
 *   and `fetch` without preflight could otherwise write objects and send messages from any site
 *   the developer visits. Other origins get in only when named (`allowedOrigins`, `up --allow-origin`).
 * Refusals are 403s shaped as each protocol's own AccessDenied (gateway-faults.ts answers them).
 */
import type { IncomingMessage } from 'node:http';
import { classifyRequest, isFormPost, type AwsRequestInfo } from './aws-request';

/** Host names (without port) the endpoint answers, besides `*.localhost`. */
export const LOOPBACK_HOST_NAMES: readonly string[] = ['127.0.0.1', 'localhost', '[::1]', 'host.docker.internal'];

/** `name:port` or `[v6]:port` split; the name lower-cased, undefined when malformed. */
function splitHost(host: string): { name: string; port: string | undefined } | undefined {
  const m = /^(\[[0-9a-f:.]+\]|[^:[\]]+)(?::(\d{1,5}))?$/i.exec(host.trim());
  if (!m) return undefined;
  return { name: m[1].toLowerCase(), port: m[2] };
}

/** True for a Host header value naming the loopback (see LOOPBACK_HOST_NAMES), any port. */
export function isLoopbackHost(host: string): boolean {
  const parts = splitHost(host);
  if (!parts) return false;
  return LOOPBACK_HOST_NAMES.includes(parts.name) || /^[a-z0-9]([a-z0-9.-]*[a-z0-9])?\.localhost$/.test(parts.name);
}

/** True when `origin` is the endpoint itself: http, a loopback name, the endpoint's port. */
export function isEndpointOrigin(origin: string, endpointPort: number): boolean {
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    return false; // "null" (sandboxed frames, file: pages) and anything unreadable
  }
  const port = url.port === '' ? 80 : Number(url.port);
  return url.protocol === 'http:' && port === endpointPort && isLoopbackHost(url.host);
}

const header = (req: Pick<IncomingMessage, 'headers'>, name: string): string | undefined => {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
};

/**
 * Why the endpoint on `endpointPort` refuses `req`, or undefined when it may pass. The reason
 * names the rule and the offending value, for the error message and the log.
 */
export function endpointRefusal(
  req: Pick<IncomingMessage, 'headers'>,
  endpointPort: number,
  allowedOrigins: readonly string[] = [],
): { rule: 'host' | 'origin'; reason: string } | undefined {
  const host = header(req, 'host');
  if (host === undefined || !isLoopbackHost(host)) {
    return {
      rule: 'host',
      reason:
        `the local endpoint answers only loopback host names (127.0.0.1, localhost, ` +
        `*.localhost, [::1], host.docker.internal); Host was ${JSON.stringify(host ?? '')}`,
    };
  }
  const origin = header(req, 'origin');
  if (origin !== undefined && !isEndpointOrigin(origin, endpointPort) && !allowedOrigins.includes(origin)) {
    return {
      rule: 'origin',
      reason:
        `the local endpoint answers browser requests only from its own pages (http://127.0.0.1:${endpointPort}, ` +
        `http://localhost:${endpointPort}); Origin was ${JSON.stringify(origin)}`,
    };
  }
  return undefined;
}

/** A refused caller and how to answer it: a 403 shaped as its protocol's own AccessDenied. */
export interface CallerRefusal {
  rule: 'host' | 'origin';
  reason: string;
  /** The request as the answer's shape needs it (`service: 'other'` for the JSON APIs). */
  info: AwsRequestInfo;
  /** An SQS Query-protocol request: the answer is XML. */
  queryProtocol: boolean;
  answer: { status: 403; code: 'AccessDenied' | 'AccessDeniedException'; message: string };
}

/** The REST APIs served as gateway routes (Lambda's /2015-03-31/…, our /_api/ and /_ui/), which answer JSON errors. */
const JSON_REST_PATH = /^\/(\d{4}-\d\d-\d\d|_[a-z]+)\//;

/**
 * Why and how the endpoint on `endpointPort` refuses `req` (endpointRefusal), with the answer in
 * the request's protocol: S3's and SQS's `AccessDenied`, the JSON APIs' `AccessDeniedException`;
 * undefined when the request may pass.
 */
export function callerRefusal(
  req: Pick<IncomingMessage, 'method' | 'url' | 'headers'>,
  endpointPort: number,
  allowedOrigins: readonly string[] = [],
): CallerRefusal | undefined {
  const refusal = endpointRefusal(req, endpointPort, allowedOrigins);
  if (!refusal) return undefined;
  const url = req.url ?? '/';
  const info: AwsRequestInfo = JSON_REST_PATH.test(url)
    ? { service: 'other', operation: 'Unknown' }
    : classifyRequest(req.method ?? 'GET', url, req.headers);
  const queryProtocol = info.service === 'other' && isFormPost(req);
  const code = info.service === 'other' && !queryProtocol ? 'AccessDeniedException' : 'AccessDenied';
  return {
    ...refusal,
    info,
    queryProtocol,
    answer: { status: 403, code, message: `Access Denied: ${refusal.reason}` },
  };
}

/**
 * An `--allow-origin` value as browsers send it in Origin (`scheme://host[:port]`, no path), or
 * undefined when it is not an http(s) origin.
 */
export function normalizeOrigin(value: string): string | undefined {
  try {
    const url = new URL(value);
    if (
      (url.protocol !== 'http:' && url.protocol !== 'https:') ||
      url.username ||
      url.password ||
      (url.pathname !== '/' && url.pathname !== '') ||
      url.search ||
      url.hash
    )
      return undefined;
    return url.origin;
  } catch {
    return undefined;
  }
}
