/**
 * Verification of AWS Signature Version 4 on an incoming request, the way the services verify it:
 * the Authorization-header form and the presigned query form, every `x-amz-content-sha256` value S3
 * accepts (a hex hash, UNSIGNED-PAYLOAD, the STREAMING-… forms, whose seed signature is the header
 * signature), the 15-minute clock skew, presign expiry (7 days at most), session tokens, and each
 * refusal with the code, HTTP status and message of the protocol the service speaks.
 *
 * The maths (canonical request, string to sign, signing key, HMAC) is @smithy/signature-v4's, the
 * signer the AWS SDKs use; this file only rebuilds the request as it was signed and compares.
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv4-create-signed-request.html
 */
import { createHash, createHmac, timingSafeEqual, type Hash } from 'node:crypto';
import { getCanonicalHeaders, SignatureV4 } from '@smithy/signature-v4';

/** The request as the endpoint received it. */
export interface IncomingSignedRequest {
  readonly method: string;
  /** Path and query exactly as sent (node's `req.url`), still percent-encoded. */
  readonly url: string;
  /** Header names in any case; node's IncomingHttpHeaders fits. */
  readonly headers: Readonly<Record<string, string | readonly string[] | undefined>>;
  /** The body when it is at hand (needed for protocols that sign its hash: SQS, Kinesis, Lambda). */
  readonly body?: Uint8Array | string;
}

/** Credentials the local cloud knows: the account's own, a user's, or a role session's. */
export interface KnownCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  /** Temporary credentials carry one, and requests must present it. */
  readonly sessionToken?: string;
  /** Temporary credentials stop working at this time. */
  readonly expiration?: Date;
}

export type CredentialsLookup = (accessKeyId: string) => KnownCredentials | undefined;

/** How a service spells its errors: S3's REST-XML, the Query protocol (SQS, STS, IAM), or JSON. */
export type AuthProtocol = 's3' | 'query' | 'json' | 'rest-json';

export interface SigV4Error {
  readonly code: string;
  readonly status: number;
  readonly message: string;
  /** Extra elements the service adds (S3: StringToSign, RequestTime…), in order. */
  readonly details?: Readonly<Record<string, string>>;
}

export interface SigV4Verified {
  readonly ok: true;
  readonly accessKeyId: string;
  readonly credentials: KnownCredentials;
  readonly form: 'header' | 'query';
  /** `<day>/<region>/<service>/aws4_request` as signed. */
  readonly scope: { readonly day: string; readonly region: string; readonly service: string };
  readonly signature: string;
  /** The payload hash the signature covers: a hex hash or one of the literal forms. */
  readonly payloadHash: string;
  /** For STREAMING-AWS4-HMAC-SHA256-PAYLOAD: the seed signature the first chunk chains from. */
  readonly seedSignature?: string;
  /** X-Amz-Date of the request. */
  readonly requestTime: Date;
}

/** The request carries no SigV4 at all: S3 treats it as anonymous, other services refuse it. */
export interface SigV4Anonymous {
  readonly ok: true;
  readonly anonymous: true;
}

export type SigV4Verdict = SigV4Verified | SigV4Anonymous | { readonly ok: false; readonly error: SigV4Error };

export interface VerifySigV4Options {
  /**
   * The service the endpoint routed the request to, which decides the error protocol (S3, SQS…).
   * @default the service of the request's credential scope
   */
  readonly service?: string;
  /** SQS speaks two protocols; its JSON one is recognised by `X-Amz-Target` when this is not given. */
  readonly protocol?: AuthProtocol;
}

/** Largest difference between the request's time and the server's: 15 minutes. */
export const MAX_CLOCK_SKEW_MS = 15 * 60 * 1000;
/** Longest a SigV4 presign may last: 7 days. */
export const MAX_PRESIGN_EXPIRES_SECONDS = 604_800;

const ALGORITHM = 'AWS4-HMAC-SHA256';
const UNSIGNED_PAYLOAD = 'UNSIGNED-PAYLOAD';
const STREAMING_SIGNED = 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD';
const S3_PAYLOAD_LITERALS = new Set([
  UNSIGNED_PAYLOAD,
  STREAMING_SIGNED,
  'STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER',
  'STREAMING-UNSIGNED-PAYLOAD-TRAILER',
]);
const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

/** smithy's SourceData as bytes node:crypto takes. */
function bytesOf(data: string | ArrayBuffer | ArrayBufferView): string | Buffer {
  if (typeof data === 'string') return data;
  if (ArrayBuffer.isView(data)) return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  return Buffer.from(new Uint8Array(data));
}

/** node:crypto as the Checksum constructor @smithy/signature-v4 takes (HMAC when given a key). */
export class NodeSha256 {
  private readonly hash: Hash | ReturnType<typeof createHmac>;
  constructor(secret?: string | ArrayBuffer | ArrayBufferView) {
    this.hash = secret === undefined ? createHash('sha256') : createHmac('sha256', bytesOf(secret));
  }
  update(data: string | ArrayBuffer | ArrayBufferView): void {
    this.hash.update(bytesOf(data));
  }
  digest(): Promise<Uint8Array> {
    return Promise.resolve(new Uint8Array(this.hash.digest()));
  }
  reset(): void {
    // Instances are used once; smithy never resets them on these paths.
  }
}

/** The request shape smithy's signer reads (method, path, query, headers). */
type HttpRequest = Parameters<SignatureV4['presign']>[0];

/** SignatureV4 with its canonical-request and string-to-sign steps opened for verification. */
class VerifyingSigner extends SignatureV4 {
  canonicalRequestOf(request: HttpRequest, headers: Record<string, string>, payloadHash: string): string {
    return this.createCanonicalRequest(request, headers, payloadHash);
  }
  stringToSignOf(longDate: string, scope: string, canonicalRequest: string): Promise<string> {
    return this.createStringToSign(longDate, scope, canonicalRequest, ALGORITHM);
  }
}

// ---- errors, per protocol -------------------------------------------------------------------

type Refusal = 'unknownKey' | 'badSignature' | 'skewed' | 'expiredToken' | 'invalidToken' | 'missingAuth' | 'malformed';

const GENERIC_SIGNATURE_MESSAGE =
  'The request signature we calculated does not match the signature you provided. ' +
  'Check your AWS Secret Access Key and signing method. Consult the service documentation for details.';
const INVALID_TOKEN_MESSAGE = 'The security token included in the request is invalid.';
const EXPIRED_TOKEN_MESSAGE = 'The security token included in the request is expired';

/** The code/status/message a protocol answers for each refusal (S3's own words differ). */
function refusal(
  protocol: AuthProtocol,
  kind: Refusal,
  message?: string,
  details?: Record<string, string>,
): SigV4Error {
  const withDetails = (e: Omit<SigV4Error, 'details'>): SigV4Error => (details ? { ...e, details } : e);
  if (protocol === 's3') {
    const s3: Record<Refusal, Omit<SigV4Error, 'details'>> = {
      unknownKey: {
        code: 'InvalidAccessKeyId',
        status: 403,
        message: 'The AWS Access Key Id you provided does not exist in our records.',
      },
      badSignature: {
        code: 'SignatureDoesNotMatch',
        status: 403,
        message:
          'The request signature we calculated does not match the signature you provided. ' +
          'Check your key and signing method.',
      },
      skewed: {
        code: 'RequestTimeTooSkewed',
        status: 403,
        message: 'The difference between the request time and the current time is too large.',
      },
      expiredToken: { code: 'ExpiredToken', status: 400, message: 'The provided token has expired.' },
      invalidToken: {
        code: 'InvalidToken',
        status: 400,
        message: 'The provided token is malformed or otherwise invalid.',
      },
      missingAuth: { code: 'AccessDenied', status: 403, message: 'Access Denied' },
      malformed: {
        code: 'AuthorizationHeaderMalformed',
        status: 400,
        message: message ?? 'The authorization header is malformed.',
      },
    };
    return withDetails(message && kind !== 'malformed' ? { ...s3[kind], message } : s3[kind]);
  }
  const json = protocol === 'json' || protocol === 'rest-json';
  // Lambda's REST-JSON answers authentication failures with 403, the JSON-RPC services with 400.
  const jsonStatus = protocol === 'rest-json' ? 403 : 400;
  const table: Record<Refusal, Omit<SigV4Error, 'details'>> = json
    ? {
        unknownKey: { code: 'UnrecognizedClientException', status: jsonStatus, message: INVALID_TOKEN_MESSAGE },
        badSignature: { code: 'InvalidSignatureException', status: jsonStatus, message: GENERIC_SIGNATURE_MESSAGE },
        skewed: { code: 'InvalidSignatureException', status: jsonStatus, message: message ?? 'Signature expired' },
        expiredToken: { code: 'ExpiredTokenException', status: jsonStatus, message: EXPIRED_TOKEN_MESSAGE },
        invalidToken: { code: 'UnrecognizedClientException', status: jsonStatus, message: INVALID_TOKEN_MESSAGE },
        missingAuth: {
          code: 'MissingAuthenticationTokenException',
          status: jsonStatus,
          message: 'Missing Authentication Token',
        },
        malformed: { code: 'IncompleteSignatureException', status: 400, message: message ?? 'Incomplete signature' },
      }
    : {
        unknownKey: { code: 'InvalidClientTokenId', status: 403, message: INVALID_TOKEN_MESSAGE },
        badSignature: { code: 'SignatureDoesNotMatch', status: 403, message: GENERIC_SIGNATURE_MESSAGE },
        skewed: { code: 'SignatureDoesNotMatch', status: 403, message: message ?? 'Signature expired' },
        expiredToken: { code: 'ExpiredToken', status: 403, message: EXPIRED_TOKEN_MESSAGE },
        invalidToken: { code: 'InvalidClientTokenId', status: 403, message: INVALID_TOKEN_MESSAGE },
        missingAuth: {
          code: 'MissingAuthenticationToken',
          status: 403,
          message: 'Request is missing Authentication Token',
        },
        malformed: { code: 'IncompleteSignature', status: 400, message: message ?? 'Incomplete signature' },
      };
  return withDetails(table[kind]);
}

const refuse = (
  protocol: AuthProtocol,
  kind: Refusal,
  message?: string,
  details?: Record<string, string>,
): SigV4Verdict => ({ ok: false, error: refusal(protocol, kind, message, details) });

// ---- reading the request --------------------------------------------------------------------

/** One header's value (several are joined with commas, as the canonical form wants). */
function header(headers: IncomingSignedRequest['headers'], name: string): string | undefined {
  const wanted = name.toLowerCase();
  for (const [key, value] of Object.entries(headers)) {
    if (key.toLowerCase() === wanted && value !== undefined) return typeof value === 'string' ? value : value.join(',');
  }
  return undefined;
}

/** The query decoded into smithy's shape (repeated names become arrays); `+` stays a plus, as AWS signs it. */
function parseQuery(rawQuery: string): Record<string, string | string[]> {
  const query: Record<string, string | string[]> = {};
  for (const pair of rawQuery.split('&')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    const name = safeDecode(eq < 0 ? pair : pair.slice(0, eq));
    const value = eq < 0 ? '' : safeDecode(pair.slice(eq + 1));
    const previous = query[name];
    query[name] = previous === undefined ? value : Array.isArray(previous) ? [...previous, value] : [previous, value];
  }
  return query;
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

const single = (query: Record<string, string | string[]>, name: string): string | undefined => {
  const v = query[name];
  return Array.isArray(v) ? v[0] : v;
};

/** `20130524T000000Z` → Date. */
function parseAmzDate(value: string | undefined): Date | undefined {
  const m = value ? /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(value) : null;
  if (!m) return undefined;
  const date = new Date(
    Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6])),
  );
  return Number.isNaN(date.getTime()) ? undefined : date;
}

const isoSeconds = (date: Date): string => date.toISOString().replace(/\.\d{3}Z$/, 'Z');
const amzDate = (date: Date): string => isoSeconds(date).replace(/[-:]/g, '');

/** What a SigV4 request says about itself, from the Authorization header or the X-Amz-* query. */
interface SignedParts {
  readonly form: 'header' | 'query';
  readonly accessKeyId: string;
  readonly scope: { readonly day: string; readonly region: string; readonly service: string };
  readonly signedHeaders: readonly string[];
  readonly signature: string;
  readonly longDate: string;
  readonly expiresSeconds?: number;
  readonly sessionToken?: string;
  /** A presign may name its payload hash in the query (`X-Amz-Content-Sha256`); S3 otherwise signs UNSIGNED-PAYLOAD. */
  readonly queryPayloadHash?: string;
}

/** `AKID/20130524/us-east-1/s3/aws4_request` → its parts. */
function parseCredential(credential: string): Pick<SignedParts, 'accessKeyId' | 'scope'> | undefined {
  const parts = credential.split('/');
  if (parts.length !== 5 || parts[4] !== 'aws4_request' || !/^\d{8}$/.test(parts[1])) return undefined;
  return { accessKeyId: parts[0], scope: { day: parts[1], region: parts[2], service: parts[3] } };
}

type Parsed = { readonly parts: SignedParts } | { readonly malformed: string } | { readonly anonymous: true };

function parseHeaderForm(authorization: string, request: IncomingSignedRequest): Parsed {
  if (!authorization.startsWith(`${ALGORITHM} `)) return { malformed: `Unsupported Authorization Type` };
  const fields = new Map<string, string>();
  for (const item of authorization.slice(ALGORITHM.length + 1).split(',')) {
    const eq = item.indexOf('=');
    if (eq > 0) fields.set(item.slice(0, eq).trim(), item.slice(eq + 1).trim());
  }
  const credential = parseCredential(fields.get('Credential') ?? '');
  const signedHeaders = fields.get('SignedHeaders');
  const signature = fields.get('Signature');
  if (!credential || !signedHeaders || !signature)
    return { malformed: "Authorization header requires 'Credential', 'SignedHeaders' and 'Signature' parameters." };
  const longDate = header(request.headers, 'x-amz-date') ?? dateHeaderAsAmz(header(request.headers, 'date'));
  if (!longDate)
    return { malformed: "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header." };
  const sessionToken = header(request.headers, 'x-amz-security-token');
  return {
    parts: {
      form: 'header',
      ...credential,
      signedHeaders: signedHeaders.split(';'),
      signature,
      longDate,
      ...(sessionToken !== undefined ? { sessionToken } : {}),
    },
  };
}

/** An HTTP `Date` header in SigV4's basic format (requests may carry it instead of X-Amz-Date). */
function dateHeaderAsAmz(value: string | undefined): string | undefined {
  if (!value) return undefined;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? undefined : amzDate(new Date(ms));
}

function parseQueryForm(query: Record<string, string | string[]>): Parsed {
  if (single(query, 'X-Amz-Algorithm') !== ALGORITHM)
    return { malformed: 'X-Amz-Algorithm only supports "AWS4-HMAC-SHA256"' };
  const credential = parseCredential(single(query, 'X-Amz-Credential') ?? '');
  const signedHeaders = single(query, 'X-Amz-SignedHeaders');
  const signature = single(query, 'X-Amz-Signature');
  const longDate = single(query, 'X-Amz-Date');
  const expires = single(query, 'X-Amz-Expires');
  if (!credential || !signedHeaders || !signature || !longDate || expires === undefined || !/^\d+$/.test(expires)) {
    return {
      malformed:
        'Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, ' +
        'X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters.',
    };
  }
  const sessionToken = single(query, 'X-Amz-Security-Token');
  const queryPayloadHash = single(query, 'X-Amz-Content-Sha256');
  return {
    parts: {
      form: 'query',
      ...credential,
      signedHeaders: signedHeaders.split(';'),
      signature,
      longDate,
      expiresSeconds: Number(expires),
      ...(sessionToken !== undefined ? { sessionToken } : {}),
      ...(queryPayloadHash !== undefined ? { queryPayloadHash } : {}),
    },
  };
}

function parseSigned(request: IncomingSignedRequest, query: Record<string, string | string[]>): Parsed {
  const authorization = header(request.headers, 'authorization');
  if (authorization !== undefined) return parseHeaderForm(authorization, request);
  if (single(query, 'X-Amz-Signature') !== undefined || single(query, 'X-Amz-Algorithm') !== undefined)
    return parseQueryForm(query);
  return { anonymous: true };
}

/** The error protocol: S3's, SQS's JSON or Query by its request, Lambda's REST-JSON, the Query services, else JSON. */
function protocolOf(
  service: string | undefined,
  request: IncomingSignedRequest,
  options: VerifySigV4Options,
): AuthProtocol {
  if (options.protocol) return options.protocol;
  if (service === 's3') return 's3';
  if (service === 'lambda') return 'rest-json';
  if (service === 'sqs') return header(request.headers, 'x-amz-target') !== undefined ? 'json' : 'query';
  if (service === 'sts' || service === 'iam' || service === 'sns') return 'query';
  return 'json';
}

// ---- the checks -----------------------------------------------------------------------------

function sha256Hex(body: Uint8Array | string | undefined): string {
  return body === undefined ? EMPTY_SHA256 : createHash('sha256').update(body).digest('hex');
}

/**
 * The payload hash the signature covers, or a refusal: S3 takes `x-amz-content-sha256` (required in
 * the header form, and checked against the body when that is a hash and the body is at hand); S3
 * presigns sign UNSIGNED-PAYLOAD unless their query names a hash; other services sign the body's hash (the declared one
 * only when the body is not at hand).
 */
function payloadHashOf(
  protocol: AuthProtocol,
  parts: SignedParts,
  request: IncomingSignedRequest,
): { hash: string } | { error: SigV4Error } {
  const declared = header(request.headers, 'x-amz-content-sha256');
  // Other services hash the body they received, whatever the header says (the SDKs send one anyway).
  if (protocol !== 's3')
    return { hash: request.body !== undefined || declared === undefined ? sha256Hex(request.body) : declared };
  if (parts.form === 'query') return { hash: parts.queryPayloadHash ?? UNSIGNED_PAYLOAD };
  if (declared === undefined)
    return {
      error: {
        code: 'InvalidRequest',
        status: 400,
        message: 'Missing required header for this request: x-amz-content-sha256',
      },
    };
  if (S3_PAYLOAD_LITERALS.has(declared)) return { hash: declared };
  if (!/^[0-9a-f]{64}$/.test(declared))
    return {
      error: {
        code: 'InvalidArgument',
        status: 400,
        message:
          'x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-UNSIGNED-PAYLOAD-TRAILER, ' +
          'STREAMING-AWS4-HMAC-SHA256-PAYLOAD, ' +
          'STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER, or a valid sha256 value.',
      },
    };
  if (request.body !== undefined && sha256Hex(request.body) !== declared) {
    return {
      error: {
        code: 'XAmzContentSHA256Mismatch',
        status: 400,
        message: "The provided 'x-amz-content-sha256' header does not match what was computed.",
        details: { ClientComputedContentSHA256: declared, S3ComputedContentSHA256: sha256Hex(request.body) },
      },
    };
  }
  return { hash: declared };
}

/** The time checks: presign expiry and its 7-day cap for the query form, the 15-minute skew for the header form. */
function timeRefusal(
  protocol: AuthProtocol,
  parts: SignedParts,
  requestTime: Date,
  now: Date,
): SigV4Verdict | undefined {
  if (parts.form === 'query') {
    const seconds = parts.expiresSeconds ?? 0;
    if (seconds > MAX_PRESIGN_EXPIRES_SECONDS) {
      return protocol === 's3'
        ? {
            ok: false,
            error: {
              code: 'AuthorizationQueryParametersError',
              status: 400,
              message: `X-Amz-Expires must be less than a week (in seconds) that is; ${MAX_PRESIGN_EXPIRES_SECONDS}`,
            },
          }
        : refuse(
            protocol,
            'malformed',
            `X-Amz-Expires must be less than a week (in seconds) that is; ${MAX_PRESIGN_EXPIRES_SECONDS}`,
          );
    }
    const expiresAt = new Date(requestTime.getTime() + seconds * 1000);
    if (now.getTime() > expiresAt.getTime()) {
      const details = { 'X-Amz-Expires': String(seconds), Expires: isoSeconds(expiresAt), ServerTime: isoSeconds(now) };
      return protocol === 's3'
        ? { ok: false, error: { code: 'AccessDenied', status: 403, message: 'Request has expired', details } }
        : refuse(protocol, 'skewed', 'Request has expired', details);
    }
    return undefined;
  }
  const skew = requestTime.getTime() - now.getTime();
  if (Math.abs(skew) <= MAX_CLOCK_SKEW_MS) return undefined;
  if (protocol === 's3') {
    return refuse(protocol, 'skewed', undefined, {
      RequestTime: parts.longDate,
      ServerTime: isoSeconds(now),
      MaxAllowedSkewMilliseconds: String(MAX_CLOCK_SKEW_MS),
    });
  }
  const bound = amzDate(new Date(now.getTime() + (skew < 0 ? -MAX_CLOCK_SKEW_MS : MAX_CLOCK_SKEW_MS)));
  const message =
    skew < 0
      ? `Signature expired: ${parts.longDate} is now earlier than ${bound} (${amzDate(now)} - 15 min.)`
      : `Signature not yet current: ${parts.longDate} is still later than ${bound} (${amzDate(now)} + 15 min.)`;
  return refuse(protocol, 'skewed', message);
}

/** The session token checks: temporary credentials need theirs, unexpired; long-term ones take none. */
function tokenRefusal(
  protocol: AuthProtocol,
  parts: SignedParts,
  credentials: KnownCredentials,
  now: Date,
): SigV4Verdict | undefined {
  const error = sessionTokenRefusal(protocol, parts.sessionToken, credentials, now);
  return error ? { ok: false, error } : undefined;
}

/**
 * The refusal of a request's session token (`presented`, the X-Amz-Security-Token header, query
 * parameter or POST form field) for `credentials`, or undefined when it holds: temporary credentials
 * need their own token, unexpired; long-term ones take none.
 */
export function sessionTokenRefusal(
  protocol: AuthProtocol,
  presented: string | undefined,
  credentials: KnownCredentials,
  now: Date,
): SigV4Error | undefined {
  if (credentials.sessionToken === undefined)
    return presented !== undefined ? refusal(protocol, 'invalidToken') : undefined;
  if (presented === undefined || !constantTimeEqual(presented, credentials.sessionToken))
    return refusal(protocol, 'invalidToken');
  if (credentials.expiration && now.getTime() >= credentials.expiration.getTime())
    return refusal(protocol, 'expiredToken');
  return undefined;
}

function constantTimeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** The request as it was signed: signed headers only, the query without X-Amz-Signature. */
function signedRequestOf(
  request: IncomingSignedRequest,
  path: string,
  query: Record<string, string | string[]>,
  parts: SignedParts,
): { http: HttpRequest; headers: Record<string, string> } {
  const onlySigned: Record<string, string> = {};
  for (const name of parts.signedHeaders) onlySigned[name] = header(request.headers, name) ?? '';
  const signedQuery = { ...query };
  delete signedQuery['X-Amz-Signature'];
  const http: HttpRequest = {
    method: request.method.toUpperCase(),
    protocol: 'https:',
    path,
    query: signedQuery,
    headers: onlySigned,
    hostname: header(request.headers, 'host') ?? '',
  };
  return { http, headers: getCanonicalHeaders(http, undefined, new Set(parts.signedHeaders)) };
}

/** Signature computation with smithy's signer for the credential and scope the request names. */
async function expectedSignature(
  parts: SignedParts,
  credentials: KnownCredentials,
  http: HttpRequest,
  headers: Record<string, string>,
  payloadHash: string,
): Promise<{ signature: string; stringToSign: string; canonicalRequest: string }> {
  const signer = new VerifyingSigner({
    credentials: { accessKeyId: credentials.accessKeyId, secretAccessKey: credentials.secretAccessKey },
    region: parts.scope.region,
    service: parts.scope.service,
    sha256: NodeSha256,
    // S3 signs the path as sent; every other service normalizes and encodes it once more.
    uriEscapePath: parts.scope.service !== 's3',
  });
  const canonicalRequest = signer.canonicalRequestOf(http, headers, payloadHash);
  const scope = `${parts.scope.day}/${parts.scope.region}/${parts.scope.service}/aws4_request`;
  const stringToSign = await signer.stringToSignOf(parts.longDate, scope, canonicalRequest);
  const scopeDay = parseAmzDate(`${parts.scope.day}T000000Z`) ?? new Date(0);
  const signature = await signer.sign(stringToSign, {
    signingDate: scopeDay,
    signingRegion: parts.scope.region,
    signingService: parts.scope.service,
  });
  return { signature, stringToSign, canonicalRequest };
}

/**
 * Verifies the SigV4 signature of `request` at `now` with the credentials `lookup` knows. Checks, in
 * the services' order: a well-formed signature (AuthorizationHeaderMalformed / IncompleteSignature),
 * a known access key (S3 InvalidAccessKeyId, Query InvalidClientTokenId, JSON
 * UnrecognizedClientException), the session token (InvalidToken / ExpiredToken), the time (presign
 * expiry: S3 AccessDenied "Request has expired"; header form: RequestTimeTooSkewed beyond 15
 * minutes), the payload hash, then the signature (SignatureDoesNotMatch / InvalidSignatureException,
 * with S3's StringToSign and CanonicalRequest details). A request with no SigV4 at all is anonymous
 * for S3 and refused (MissingAuthenticationToken) elsewhere.
 */
export async function verifySigV4(
  request: IncomingSignedRequest,
  lookup: CredentialsLookup,
  now: Date,
  options: VerifySigV4Options = {},
): Promise<SigV4Verdict> {
  const queryStart = request.url.indexOf('?');
  const path = queryStart < 0 ? request.url : request.url.slice(0, queryStart);
  const query = parseQuery(queryStart < 0 ? '' : request.url.slice(queryStart + 1));
  const parsed = parseSigned(request, query);
  const scopeService = 'parts' in parsed ? parsed.parts.scope.service : undefined;
  const protocol = protocolOf(options.service ?? scopeService, request, options);
  if ('anonymous' in parsed) return protocol === 's3' ? { ok: true, anonymous: true } : refuse(protocol, 'missingAuth');
  if ('malformed' in parsed) return refuse(protocol, 'malformed', parsed.malformed);
  const { parts } = parsed;
  const requestTime = parseAmzDate(parts.longDate);
  if (!requestTime)
    return refuse(protocol, 'malformed', `X-Amz-Date must be in the ISO8601 Long Format "yyyyMMdd'T'HHmmss'Z'"`);
  if (parts.scope.day !== parts.longDate.slice(0, 8))
    return refuse(
      protocol,
      'malformed',
      `The authorization header is malformed; Invalid credential date. Date is not the same as X-Amz-Date.`,
    );
  const credentials = lookup(parts.accessKeyId);
  if (!credentials)
    return refuse(
      protocol,
      'unknownKey',
      undefined,
      protocol === 's3' ? { AWSAccessKeyId: parts.accessKeyId } : undefined,
    );
  const tokenProblem = tokenRefusal(protocol, parts, credentials, now);
  if (tokenProblem) return tokenProblem;
  const timeProblem = timeRefusal(protocol, parts, requestTime, now);
  if (timeProblem) return timeProblem;
  const payload = payloadHashOf(protocol, parts, request);
  if ('error' in payload) return { ok: false, error: payload.error };
  const { http, headers } = signedRequestOf(request, path, query, parts);
  const expected = await expectedSignature(parts, credentials, http, headers, payload.hash);
  if (!constantTimeEqual(expected.signature, parts.signature.toLowerCase())) {
    const details =
      protocol === 's3'
        ? {
            AWSAccessKeyId: parts.accessKeyId,
            StringToSign: expected.stringToSign,
            SignatureProvided: parts.signature,
            CanonicalRequest: expected.canonicalRequest,
          }
        : undefined;
    return refuse(protocol, 'badSignature', undefined, details);
  }
  return {
    ok: true,
    accessKeyId: parts.accessKeyId,
    credentials,
    form: parts.form,
    scope: parts.scope,
    signature: expected.signature,
    payloadHash: payload.hash,
    ...(payload.hash.startsWith(STREAMING_SIGNED) ? { seedSignature: expected.signature } : {}),
    requestTime,
  };
}

/**
 * The signature of one chunk of a STREAMING-AWS4-HMAC-SHA256-PAYLOAD body, chained from the previous
 * one (the seed signature for the first chunk); the final chunk is empty. Compare it with the
 * `chunk-signature` of the chunk's header.
 */
export async function chunkSignature(
  verified: SigV4Verified,
  previousSignature: string,
  chunk: Uint8Array,
): Promise<string> {
  const signer = new VerifyingSigner({
    credentials: {
      accessKeyId: verified.credentials.accessKeyId,
      secretAccessKey: verified.credentials.secretAccessKey,
    },
    region: verified.scope.region,
    service: verified.scope.service,
    sha256: NodeSha256,
  });
  return signer.sign(
    { headers: new Uint8Array(0), payload: chunk },
    {
      signingDate: verified.requestTime,
      priorSignature: previousSignature,
      signingRegion: verified.scope.region,
      signingService: verified.scope.service,
    },
  );
}
