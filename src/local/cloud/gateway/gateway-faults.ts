/**
 * Fault injection for the gateway: rules that match requests by service, operation, bucket and key
 * and answer with an AWS-shaped error, a delay, or a dropped connection. Deterministic: the
 * probability draws come from a seeded generator.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AwsRequestInfo, AwsService } from './aws-request';
import { sqsQueryError } from '../sqs/sqs-query';
import { s3ErrorXml } from '../s3/post-policy';
import type { LogSink } from '../lambda/invoke-contract';

/** What to do to a matched request. */
export interface FaultEffect {
  /** HTTP status of the error answer (e.g. 500, 503, 400, 429). Omit for a delay-only fault. */
  status?: number;
  /**
   * AWS error code.
   * @default by service and status: S3 500 InternalError, 503 SlowDown; SQS 500 InternalFailure, 503
   *   ServiceUnavailable; 429 throttling codes
   */
  code?: string;
  /** @default a message naming the injected fault */
  message?: string;
  /** Wait this long first (then answer the error, or forward when no status is set). */
  delayMs?: number;
  /** Destroy the client's socket without an answer. */
  drop?: boolean;
  /**
   * Forward the request, then cut the connection after this many bytes of the answer's body: a
   * transfer reset midway (the status and headers, Content-Length included, went out as the stand-in
   * sent them). Object reads only.
   */
  cutAfterBytes?: number;
}

/** Which requests a rule hits, and how often. */
export interface FaultRule {
  service?: Exclude<AwsService, 'other'>;
  /** Operation name, e.g. 'GetObject', 'PutObject', 'SendMessageBatch', 'ReceiveMessage'. */
  operation?: string;
  bucket?: string;
  /** Exact key, or a pattern tested against the decoded key. */
  key?: string | RegExp;
  /** How many requests the rule hits before it retires. @default 1, or unlimited when `rate` is set */
  times?: number;
  /** Probability (0..1) that a matching request is hit, drawn from the seeded generator. @default 1 */
  rate?: number;
  effect: FaultEffect;
}

export interface FaultHandle {
  readonly id: number;
  /** Requests this rule has hit. */
  readonly hits: number;
  /** Hits left before it retires (Infinity when unlimited). */
  readonly remaining: number;
  remove(): void;
}

/** mulberry32: small, fast, good enough for reproducible fault schedules. */
function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface ActiveRule {
  id: number;
  rule: FaultRule;
  remaining: number;
  hits: number;
}

/** The rules in force. Rules are tried in the order they were added; the first hit wins. */
export class FaultInjector {
  private readonly rules: ActiveRule[] = [];
  private readonly random: () => number;
  private nextId = 1;
  private injectedCount = 0;

  /** @param seed seed of the probability draws. @default 1 */
  constructor(seed = 1) {
    this.random = seededRandom(seed);
  }

  /** Adds a rule; returns a handle to watch or remove it. */
  add(rule: FaultRule): FaultHandle {
    if (rule.rate !== undefined && !(rule.rate >= 0 && rule.rate <= 1)) {
      throw new RangeError(`fault rate must be within 0..1, got ${rule.rate}`);
    }
    if (rule.times !== undefined && !(rule.times >= 0)) {
      throw new RangeError(`fault times must be >= 0, got ${rule.times}`);
    }
    const active: ActiveRule = {
      id: this.nextId++,
      rule,
      remaining: rule.times ?? (rule.rate !== undefined ? Infinity : 1),
      hits: 0,
    };
    this.rules.push(active);
    const rules = this.rules;
    return {
      id: active.id,
      get hits() {
        return active.hits;
      },
      get remaining() {
        return active.remaining;
      },
      remove() {
        const index = rules.indexOf(active);
        if (index >= 0) rules.splice(index, 1);
      },
    };
  }

  /** Removes every rule. */
  clear(): void {
    this.rules.length = 0;
  }

  /** Faults injected so far. */
  get injected(): number {
    return this.injectedCount;
  }

  /** The effect to apply to this request, if a rule hits it (consumes one of the rule's `times`). */
  pick(request: AwsRequestInfo): FaultEffect | undefined {
    for (const active of this.rules) {
      if (active.remaining <= 0 || !matches(active.rule, request)) continue;
      if (active.rule.rate !== undefined && this.random() >= active.rule.rate) continue;
      active.remaining -= 1;
      active.hits += 1;
      this.injectedCount += 1;
      return active.rule.effect;
    }
    return undefined;
  }
}

function matches(rule: FaultRule, request: AwsRequestInfo): boolean {
  if (rule.service && rule.service !== request.service) return false;
  if (rule.operation && rule.operation !== request.operation) return false;
  if (rule.bucket !== undefined && rule.bucket !== request.bucket) return false;
  if (rule.key !== undefined) {
    if (request.key === undefined) return false;
    if (typeof rule.key === 'string' ? rule.key !== request.key : !rule.key.test(request.key)) return false;
  }
  return true;
}

/** An error answer shaped like the service's own, so the SDK parses and classifies it. */
export interface ErrorAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

function defaultCode(service: AwsService, status: number): string {
  if (service === 'sqs') {
    if (status === 503) return 'ServiceUnavailable';
    if (status === 429) return 'ThrottlingException';
    if (status >= 500) return 'InternalFailure';
    return 'InvalidParameterValue';
  }
  if (status === 503 || status === 429) return 'SlowDown';
  if (status >= 500) return 'InternalError';
  if (status === 403) return 'AccessDenied';
  if (status === 404) return 'NoSuchKey';
  return 'InvalidRequest';
}

/**
 * Builds the error answer for an injected fault or a refusal (S3: XML `<Error>`; SQS: JSON
 * `__type` with the query-error header; other JSON APIs on the endpoint, such as Kinesis and the
 * Lambda mappings API: JSON `__type` with `x-amzn-errortype`).
 */
export function errorAnswer(
  request: AwsRequestInfo,
  effect: FaultEffect & { status: number },
  method: string,
): ErrorAnswer {
  const code = effect.code ?? defaultCode(request.service, effect.status);
  const message = effect.message ?? `Injected fault: ${code} on ${request.operation}`;
  const requestId = randomBytes(8).toString('hex').toUpperCase();
  if (request.service === 'other') {
    return {
      status: effect.status,
      headers: {
        'content-type': 'application/x-amz-json-1.1',
        'x-amzn-requestid': requestId,
        'x-amzn-errortype': code,
      },
      body: JSON.stringify({ __type: code, message }),
    };
  }
  if (request.service === 'sqs') {
    const fault = effect.status >= 500 ? 'Receiver' : 'Sender';
    return {
      status: effect.status,
      headers: {
        'content-type': 'application/x-amz-json-1.0',
        'x-amzn-requestid': requestId,
        // Generic codes travel unprefixed (SQS prefixes only its own, e.g. AWS.SimpleQueueService.NonExistentQueue);
        // the SDK names the error after this header.
        'x-amzn-query-error': `${code};${fault}`,
      },
      body: JSON.stringify({ __type: `com.amazonaws.sqs#${code}`, message }),
    };
  }
  const headers = {
    'content-type': 'application/xml',
    'x-amz-request-id': requestId,
    'x-amz-id-2': randomBytes(24).toString('base64'),
  };
  // HEAD answers carry no body; the SDK derives the error from the status.
  if (method === 'HEAD') return { status: effect.status, headers, body: '' };
  const resource = request.bucket ? `/${request.bucket}${request.key ? `/${request.key}` : ''}` : '/';
  const body = s3ErrorXml(
    { code, message, status: effect.status, details: { Resource: resource } },
    { requestId, hostId: headers['x-amz-id-2'] },
  );
  return { status: effect.status, headers, body };
}

/**
 * Answers `res` with the error `effect` describes, in the request's protocol: `queryProtocol` for
 * an SQS request in the Query protocol (XML ErrorResponse), else as errorAnswer() builds it. The
 * request's body is discarded, so the connection stays usable.
 */
export function sendErrorAnswer(
  req: IncomingMessage,
  res: ServerResponse,
  info: AwsRequestInfo,
  effect: FaultEffect & { status: number },
  queryProtocol = false,
): void {
  const answer = errorAnswer(queryProtocol ? { ...info, service: 'sqs' } : info, effect, req.method ?? 'GET');
  req.resume();
  if (queryProtocol) {
    const requestId = answer.headers['x-amzn-requestid'] ?? randomUUID();
    const xml = sqsQueryError(answer.body, answer.headers['x-amzn-query-error'], answer.status, requestId);
    res.writeHead(answer.status, {
      'content-type': 'text/xml',
      'x-amzn-requestid': requestId,
      'content-length': Buffer.byteLength(xml),
    });
    res.end(xml);
    return;
  }
  res.writeHead(answer.status, { ...answer.headers, 'content-length': Buffer.byteLength(answer.body) });
  res.end(req.method === 'HEAD' ? undefined : answer.body);
}

/**
 * Applies a picked fault to a request: waits `delayMs`, then cuts the connection (`drop`),
 * answers the error (`status`, in the request's protocol as sendErrorAnswer() does), or lets the
 * request go on (the proxy applies `cutAfterBytes`). True when the fault took the request.
 */
export async function applyFault(
  req: IncomingMessage,
  res: ServerResponse,
  info: AwsRequestInfo,
  effect: FaultEffect,
  queryProtocol: boolean,
  log: LogSink,
): Promise<boolean> {
  log({
    event: 'gateway.fault',
    service: info.service,
    operation: info.operation,
    bucket: info.bucket,
    key: info.key,
    ...effect,
  });
  if (effect.delayMs) await new Promise((resolve) => setTimeout(resolve, effect.delayMs));
  if (effect.drop) {
    req.socket.destroy();
    return true;
  }
  if (effect.status === undefined) return false;
  sendErrorAnswer(req, res, info, { ...effect, status: effect.status }, queryProtocol);
  return true;
}
