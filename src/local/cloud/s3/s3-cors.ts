/**
 * Bucket CORS as S3 does it, in front of the stand-in (which has none): PutBucketCors,
 * GetBucketCors and DeleteBucketCors keep each bucket's rules; a preflight (`OPTIONS` with `Origin`
 * and `Access-Control-Request-Method`) is answered from them, with S3's refusals when the bucket has
 * no configuration or no rule matches; other requests with an `Origin` that a rule matches get the
 * CORS headers on their answer. Without a rule a browser's cross-origin POST fails locally exactly
 * as it fails against S3.
 *
 * Matching follows S3: the first rule whose AllowedOrigins (one `*` wildcard allowed) hold the
 * origin, whose AllowedMethods hold the (requested) method, and whose AllowedHeaders cover every
 * requested header.
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import { randomBytes } from 'node:crypto';
import type { BucketCorsRule } from '../../../core/upload';
import type { AwsRequestInfo } from '../gateway/aws-request';
import type { S3ErrorShape } from './post-policy';
import { sendS3Error } from './post-upload';
import { parseXmlBody, xmlDocument } from '../xml';
import { readBody } from '../http-io';

/** The S3 operations this file answers itself. */
const CORS_OPERATIONS = new Set(['PutBucketCors', 'GetBucketCors', 'DeleteBucketCors', 'PreflightRequest']);

/** Methods a CORS rule may allow (S3 refuses others). */
const CORS_METHODS = new Set(['GET', 'PUT', 'HEAD', 'POST', 'DELETE']);

/** S3 keeps at most 100 rules per configuration. */
const MAX_RULES = 100;

/** A configuration larger than this is not a CORS configuration (S3 caps it at 64 KB). */
const MAX_CONFIGURATION_BYTES = 64 * 1024;

export const CORS_NOT_ALLOWED_MESSAGE =
  'CORSResponse: This CORS request is not allowed. This is usually because the evalution of Origin, ' +
  'request method / Access-Control-Request-Method or ' +
  "Access-Control-Request-Headers are not whitelisted by the resource's CORS spec.";

export interface BucketCors {
  /**
   * Answers the request when it is a CORS operation or a preflight (true); else, for a request
   * whose Origin a rule matches, sets the CORS headers on `res` for whoever answers it (false).
   */
  handle(req: IncomingMessage, res: ServerResponse, info: AwsRequestInfo): Promise<boolean>;
  /** The rules in force for a bucket (undefined: no configuration). */
  rules(bucket: string): readonly BucketCorsRule[] | undefined;
}

const s3Error = (code: string, status: number, message: string, details?: Record<string, string>): S3ErrorShape =>
  details ? { code, status, message, details } : { code, status, message };

const MALFORMED_XML = s3Error(
  'MalformedXML',
  400,
  'The XML you provided was not well-formed or did not validate against our published schema',
);

/** `a*b` matches like S3: `*` stands for any run of characters, everything else is literal. */
function wildcardMatch(pattern: string, value: string, caseInsensitive = false): boolean {
  const escaped = pattern.split('*').map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'));
  return new RegExp(`^${escaped.join('.*')}$`, caseInsensitive ? 'i' : '').test(value);
}

/** The first rule that allows this origin, method and every requested header. */
export function matchCorsRule(
  rules: readonly BucketCorsRule[],
  origin: string,
  method: string,
  requestHeaders: readonly string[],
): BucketCorsRule | undefined {
  return rules.find(
    (rule) =>
      rule.AllowedMethods.includes(method) &&
      rule.AllowedOrigins.some((allowed) => wildcardMatch(allowed, origin)) &&
      requestHeaders.every((h) => (rule.AllowedHeaders ?? []).some((allowed) => wildcardMatch(allowed, h, true))),
  );
}

/** The headers S3 adds to an answer for a matched rule. */
export function corsResponseHeaders(
  rule: BucketCorsRule,
  origin: string,
  requestHeaders: readonly string[],
): Record<string, string> {
  const wildcard = rule.AllowedOrigins.includes('*');
  const headers: Record<string, string> = {
    'access-control-allow-origin': wildcard ? '*' : origin,
    'access-control-allow-methods': rule.AllowedMethods.join(', '),
    vary: 'Origin, Access-Control-Request-Headers, Access-Control-Request-Method',
  };
  if (!wildcard) headers['access-control-allow-credentials'] = 'true';
  if (requestHeaders.length > 0) headers['access-control-allow-headers'] = requestHeaders.join(', ');
  if (rule.ExposeHeaders?.length) headers['access-control-expose-headers'] = rule.ExposeHeaders.join(', ');
  if (rule.MaxAgeSeconds !== undefined) headers['access-control-max-age'] = String(rule.MaxAgeSeconds);
  return headers;
}

const asArray = (value: unknown): unknown[] => (value === undefined ? [] : Array.isArray(value) ? value : [value]);
const strings = (value: unknown): string[] | undefined => {
  const items = asArray(value);
  return items.every((item) => typeof item === 'string') ? items : undefined;
};

/** A PutBucketCors body as rules, or S3's refusal. */
export function parseCorsConfiguration(xml: string): { rules: BucketCorsRule[] } | { error: S3ErrorShape } {
  const root = parseXmlBody(xml)?.CORSConfiguration;
  if (!root || typeof root !== 'object') return { error: MALFORMED_XML };
  const rawRules = asArray((root as Record<string, unknown>).CORSRule);
  if (rawRules.length === 0 || rawRules.length > MAX_RULES) return { error: MALFORMED_XML };
  const rules: BucketCorsRule[] = [];
  for (const raw of rawRules) {
    if (!raw || typeof raw !== 'object') return { error: MALFORMED_XML };
    const r = raw as Record<string, unknown>;
    const methods = strings(r.AllowedMethod);
    const origins = strings(r.AllowedOrigin);
    const headers = strings(r.AllowedHeader);
    const expose = strings(r.ExposeHeader);
    if (!methods?.length || !origins?.length || !headers || !expose) return { error: MALFORMED_XML };
    const unsupported = methods.find((m) => !CORS_METHODS.has(m));
    if (unsupported !== undefined)
      return {
        error: s3Error(
          'InvalidRequest',
          400,
          `Found unsupported HTTP method in CORS config. Unsupported method is ${unsupported}`,
        ),
      };
    for (const origin of origins) {
      if (origin.split('*').length > 2)
        return {
          error: s3Error('InvalidRequest', 400, `AllowedOrigin "${origin}" can not have more than one wildcard.`),
        };
    }
    const maxAge = r.MaxAgeSeconds === undefined ? undefined : Number(r.MaxAgeSeconds);
    if (maxAge !== undefined && !Number.isInteger(maxAge)) return { error: MALFORMED_XML };
    rules.push({
      AllowedMethods: methods,
      AllowedOrigins: origins,
      ...(headers.length ? { AllowedHeaders: headers } : {}),
      ...(expose.length ? { ExposeHeaders: expose } : {}),
      ...(maxAge !== undefined ? { MaxAgeSeconds: maxAge } : {}),
    });
  }
  return { rules };
}

/** GetBucketCors's answer body. */
export function corsConfigurationXml(rules: readonly BucketCorsRule[]): string {
  const corsRule = rules.map((rule) => ({
    AllowedHeader: rule.AllowedHeaders ?? [],
    AllowedMethod: rule.AllowedMethods,
    AllowedOrigin: rule.AllowedOrigins,
    ExposeHeader: rule.ExposeHeaders ?? [],
    MaxAgeSeconds: rule.MaxAgeSeconds !== undefined ? String(rule.MaxAgeSeconds) : undefined,
  }));
  return xmlDocument({
    CORSConfiguration: { '@_xmlns': 'http://s3.amazonaws.com/doc/2006-03-01/', CORSRule: corsRule },
  });
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function requestedHeaders(req: IncomingMessage): string[] {
  return (header(req, 'access-control-request-headers') ?? '')
    .split(',')
    .map((h) => h.trim().toLowerCase())
    .filter(Boolean);
}

function answer(res: ServerResponse, status: number, body = '', headers: Record<string, string> = {}): void {
  res.writeHead(status, {
    ...headers,
    ...(body ? { 'content-type': 'application/xml' } : {}),
    'content-length': Buffer.byteLength(body),
    'x-amz-request-id': randomBytes(8).toString('hex').toUpperCase(),
    'x-amz-id-2': randomBytes(24).toString('base64'),
  });
  res.end(body);
}

/** Whether the stand-in at `upstream` has `bucket` (a HeadBucket). */
export function bucketExistsUpstream(upstream: URL, bucket: string): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: upstream.hostname, port: upstream.port, method: 'HEAD', path: `/${encodeURIComponent(bucket)}` },
      (res) => {
        res.resume();
        resolve((res.statusCode ?? 500) < 300);
      },
    );
    req.on('error', reject);
    req.end();
  });
}

/**
 * Bucket CORS for the gateway. `upstream` is the stand-in, asked (HeadBucket) whether a bucket exists.
 */
export function createBucketCors(opts: { upstream: string }): BucketCors {
  const upstream = new URL(opts.upstream);
  const byBucket = new Map<string, readonly BucketCorsRule[]>();

  const bucketExists = (bucket: string): Promise<boolean> => bucketExistsUpstream(upstream, bucket);

  const noSuchBucket = (bucket: string): S3ErrorShape =>
    s3Error('NoSuchBucket', 404, 'The specified bucket does not exist', { BucketName: bucket });

  async function preflight(req: IncomingMessage, res: ServerResponse, bucket: string): Promise<void> {
    req.resume();
    const origin = header(req, 'origin');
    const method = header(req, 'access-control-request-method');
    if (!origin)
      return sendS3Error(res, s3Error('BadRequest', 400, 'Insufficient information. Origin request header needed.'));
    if (!(await bucketExists(bucket))) {
      return sendS3Error(
        res,
        s3Error('AccessForbidden', 403, 'CORSResponse: Bucket not found', {
          Method: method ?? 'OPTIONS',
          ResourceType: 'BUCKET',
        }),
      );
    }
    const rules = byBucket.get(bucket);
    if (!rules) {
      return sendS3Error(
        res,
        s3Error('AccessForbidden', 403, 'CORSResponse: CORS is not enabled for this bucket.', {
          Method: method ?? 'OPTIONS',
          ResourceType: 'BUCKET',
        }),
      );
    }
    const wanted = requestedHeaders(req);
    const rule = method ? matchCorsRule(rules, origin, method, wanted) : undefined;
    if (!rule)
      return sendS3Error(
        res,
        s3Error('AccessForbidden', 403, CORS_NOT_ALLOWED_MESSAGE, {
          Method: method ?? 'OPTIONS',
          ResourceType: 'OBJECT',
        }),
      );
    answer(res, 200, '', corsResponseHeaders(rule, origin, wanted));
  }

  async function configure(
    req: IncomingMessage,
    res: ServerResponse,
    operation: string,
    bucket: string,
  ): Promise<void> {
    let body: string | undefined = '';
    if (operation === 'PutBucketCors') body = (await readBody(req, MAX_CONFIGURATION_BYTES))?.toString('utf8');
    else req.resume();
    if (!(await bucketExists(bucket))) return sendS3Error(res, noSuchBucket(bucket));
    if (operation === 'GetBucketCors') {
      const rules = byBucket.get(bucket);
      if (!rules)
        return sendS3Error(
          res,
          s3Error('NoSuchCORSConfiguration', 404, 'The CORS configuration does not exist', { BucketName: bucket }),
        );
      return answer(res, 200, corsConfigurationXml(rules));
    }
    if (operation === 'DeleteBucketCors') {
      byBucket.delete(bucket);
      return answer(res, 204);
    }
    if (body === undefined) return sendS3Error(res, MALFORMED_XML);
    const parsed = parseCorsConfiguration(body);
    if ('error' in parsed) return sendS3Error(res, parsed.error);
    byBucket.set(bucket, parsed.rules);
    answer(res, 200);
  }

  return {
    rules: (bucket) => byBucket.get(bucket),
    async handle(req, res, info) {
      if (info.service !== 's3' || !info.bucket) return false;
      if (CORS_OPERATIONS.has(info.operation)) {
        if (info.operation === 'PreflightRequest') await preflight(req, res, info.bucket);
        else await configure(req, res, info.operation, info.bucket);
        return true;
      }
      const origin = header(req, 'origin');
      const rules = byBucket.get(info.bucket);
      const rule = origin && rules ? matchCorsRule(rules, origin, req.method ?? 'GET', []) : undefined;
      if (rule && origin)
        for (const [name, value] of Object.entries(corsResponseHeaders(rule, origin, []))) res.setHeader(name, value);
      return false;
    },
  };
}
