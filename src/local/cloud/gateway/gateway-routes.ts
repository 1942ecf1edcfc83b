/**
 * The gateway's route table: the APIs the local endpoint serves itself (the Lambda mappings API,
 * the Kinesis API, the upload API and its page), each declared as method + path + header
 * constraints → handler, matched by find-my-way (fastify's router). A request no route takes is an
 * S3 or SQS request for the stand-in (the router's default route, gateway.ts).
 *
 * Header constraints (find-my-way's custom constraint strategies):
 * - `awsTarget`: the service prefix of `X-Amz-Target` (`Kinesis_20131202` of
 *   `Kinesis_20131202.PutRecord`), how the AWS JSON protocols name their service on `POST /`;
 * - `page: 'html'`: a browser navigation (Accept holds text/html, no Authorization), which an AWS
 *   client never sends.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import FindMyWay, { type HTTPMethod, type HTTPVersion } from 'find-my-way';
import { asError } from '../../../core/errors';

/** Path parameters: `:name` segments, and `'*'` for what a trailing wildcard matched (decoded). */
export type RouteParams = Readonly<Record<string, string | undefined>>;

/** A route the gateway serves itself. */
export interface GatewayRoute {
  /** A method, several, or 'ANY' (every method; then without constraints). */
  method: HTTPMethod | HTTPMethod[] | 'ANY';
  /** find-my-way path: static segments, `:param`, or a trailing `*`; the query string is not part of it. */
  path: string;
  /** Header predicates that must hold as well (see the file comment). @default none */
  constraints?: { awsTarget?: string; page?: 'html' };
  handler(req: IncomingMessage, res: ServerResponse, params: RouteParams): void | Promise<void>;
  /**
   * Answers an error the handler threw before it answered (after, the connection is cut).
   * @default the gateway's own 502
   */
  onError?: (res: ServerResponse, err: Error) => void;
}

/** The `awsTarget` a request carries: X-Amz-Target up to its first dot ('' without one). */
export function awsTargetOf(req: Pick<IncomingMessage, 'headers'>): string {
  const target = req.headers['x-amz-target'];
  return ((Array.isArray(target) ? target[0] : target) ?? '').split('.')[0] ?? '';
}

/** 'html' for a browser navigation (Accept holds text/html, no Authorization), else ''. */
export function pageOf(req: Pick<IncomingMessage, 'headers'>): string {
  return !req.headers.authorization && (req.headers.accept ?? '').includes('text/html') ? 'html' : '';
}

/** A find-my-way constraint strategy keyed by the string `derive` reads from the request. */
function headerStrategy(
  name: string,
  derive: (req: IncomingMessage) => string,
): FindMyWay.ConstraintStrategy<HTTPVersion.V1> {
  return {
    name,
    storage() {
      const handlers = new Map<string, FindMyWay.Handler<HTTPVersion.V1>>();
      return {
        get: (value) => handlers.get(value) ?? null,
        set: (value, handler) => void handlers.set(value, handler),
      };
    },
    deriveConstraint: (req) => derive(req),
    // Routes without the constraint still match requests that carry the header.
    mustMatchWhenDerived: false,
  };
}

/** What the gateway does with a request: the route's handler, or `fallback` when no route takes it. */
export interface GatewayRouter {
  /** Runs the matching handler (or the fallback); settles when it has answered. */
  route(req: IncomingMessage, res: ServerResponse): Promise<void>;
  /** Adds routes (also while serving: a route whose backing starts after the gateway). */
  add(routes: readonly GatewayRoute[]): void;
}

/**
 * A router over `routes`; `fallback` takes what none matches, `onError` answers a handler's error
 * when the route has no `onError` of its own (both only while nothing was sent yet).
 */
export function createGatewayRouter(
  fallback: (req: IncomingMessage, res: ServerResponse) => Promise<void>,
  onError: (res: ServerResponse, err: Error) => void,
): GatewayRouter {
  const router = FindMyWay<HTTPVersion.V1>({
    // find-my-way types defaultRoute as void, but lookup() hands its promise back to route(), which awaits it.
    // eslint-disable-next-line @typescript-eslint/no-misused-promises -- see above
    defaultRoute: (req, res) => fallback(req, res),
    constraints: { awsTarget: headerStrategy('awsTarget', awsTargetOf), page: headerStrategy('page', pageOf) },
  });
  return {
    route: async (req, res) => {
      // lookup returns what the handler returns: the route's promise, or the fallback's.
      await (router.lookup(req, res) as Promise<void> | undefined);
    },
    add(routes) {
      for (const route of routes) {
        const handler: FindMyWay.Handler<HTTPVersion.V1> = (req, res, params) =>
          answered(() => route.handler(req, res, params), res, route.onError ?? onError);
        if (route.method !== 'ANY')
          router.on(route.method, route.path, { constraints: route.constraints ?? {} }, handler);
        else if (route.constraints) throw new TypeError(`route ANY ${route.path}: constraints need a method list`);
        else router.all(route.path, handler);
      }
    },
  };
}

/**
 * Waits for a handler; an error it throws before answering is answered by `onError`, after it the connection is cut.
 */
export async function answered(
  work: () => void | Promise<void>,
  res: ServerResponse,
  onError: (res: ServerResponse, err: Error) => void,
): Promise<void> {
  try {
    await work();
  } catch (err) {
    if (res.headersSent) res.destroy();
    else onError(res, asError(err));
  }
}
