/**
 * S3's evaluation of a browser-based POST upload (a form with a SigV4-signed POST policy), as a
 * pure function: the local cloud's gateway runs it before a form reaches the stand-in, which
 * checks nothing. What S3 documents, and this module follows:
 * https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-HTTPPOSTConstructPolicy.html
 * https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-authentication-HTTPPOST.html
 *
 * - The signature is HMAC-SHA256 over the base64 policy string as sent, with the SigV4 key of the
 *   credential's date, region and service `s3`.
 * - The policy is base64 JSON `{expiration, conditions}`; after `expiration` every form is refused.
 * - Conditions: exact match (`{"field": "v"}` or `["eq", "$field", "v"]`), `["starts-with", "$field",
 *   prefix]` (an empty prefix allows any value, but the field must be sent), and
 *   `["content-length-range", min, max]` on the file's size. `bucket` is matched against the bucket
 *   posted to; `key` after `${filename}` is replaced. A starts-with on Content-Type treats a
 *   comma-separated value as a list whose every entry must match.
 * - Field names are case-insensitive (the docs' own example posts `X-Amz-Credential` against a
 *   `x-amz-credential` condition); values are compared exactly.
 * - Every form field except x-amz-signature, file, policy and x-ignore-* must be named by a condition.
 */
import { timingSafeEqual } from 'node:crypto';
import { sigV4Signature } from '../../../aws/sigv4';
import { xmlDocument } from '../xml';
import { sessionTokenRefusal, type KnownCredentials } from '../iam/sigv4-verify';

/** An S3 error as S3 answers it: `<Error><Code/><Message/>…details…</Error>` with `status`. */
export interface S3ErrorShape {
  readonly code: string;
  readonly message: string;
  readonly status: number;
  /** Extra elements S3 adds for this code (e.g. ProposedSize, MaxSizeAllowed), in order. */
  readonly details?: Readonly<Record<string, string>>;
}

/** Form fields in the order they were sent: pairs (duplicates visible) or a plain record. */
export type PostFormFields = ReadonlyArray<readonly [name: string, value: string]> | Readonly<Record<string, string>>;

/** The uploaded file as far as the policy cares. */
export interface PostPolicyFile {
  /** Bytes of the file part's content. */
  readonly size: number;
  /**
   * The file part's own Content-Type. Not consulted: S3 matches `$Content-Type` against the form
   * field; a form that sends none fails a Content-Type condition whatever its file part says.
   */
  readonly contentType?: string;
  /** The file part's file name: what `${filename}` in `key` stands for (folders dropped). */
  readonly filename?: string;
}

/** The credentials of an access key id S3 knows; temporary ones carry their session token and expiry. */
export type SecretCredentials = KnownCredentials;

export interface VerifyPostPolicyOptions {
  /** The bucket the form was posted to: what a `bucket` condition must equal. */
  readonly bucket: string;
  /** The secret of an access key id, or undefined for a key S3 does not know. */
  readonly credentials: (accessKeyId: string) => SecretCredentials | undefined;
  /** The region this endpoint serves: the credential scope must name it. */
  readonly region: string;
  /** When the form arrived: compared with the policy's expiration. */
  readonly now: Date;
}

/** The form passed every check; `key` is the object key with `${filename}` replaced. */
export interface PostPolicyAccepted {
  readonly ok: true;
  readonly key: string;
  /** Who signed the policy: the upload is made as this access key's principal (its s3:PutObject decides). */
  readonly accessKeyId: string;
  /** The policy's content-length-range, when it has one. */
  readonly contentLengthRange?: { readonly min: number; readonly max: number };
}

export type PostPolicyVerdict = PostPolicyAccepted | { readonly ok: false; readonly error: S3ErrorShape };

/** Fields no condition has to name. */
const UNCOVERED_FIELDS = new Set(['x-amz-signature', 'file', 'policy']);
/** Fields a SigV4 form must carry besides the policy (named as S3 spells them in its answers). */
const REQUIRED_SIGV4_FIELDS = ['x-amz-algorithm', 'x-amz-credential', 'x-amz-date', 'x-amz-signature'] as const;
const ALGORITHM = 'AWS4-HMAC-SHA256';

const CONDITION_FAILED = 'Invalid according to Policy: Policy Condition failed: ';

function s3Error(
  code: string,
  status: number,
  message: string,
  details?: Record<string, string>,
): { ok: false; error: S3ErrorShape } {
  return { ok: false, error: details ? { code, status, message, details } : { code, status, message } };
}

/**
 * S3's EntityTooLarge for a body of `proposedSize` bytes above `maxSize`; `why` (appended in
 * parentheses) says which limit, when it is the local cloud's rather than the policy's.
 */
export function entityTooLarge(proposedSize: number, maxSize: number, why?: string): S3ErrorShape {
  return {
    code: 'EntityTooLarge',
    status: 400,
    message: `Your proposed upload exceeds the maximum allowed size${why ? ` (${why})` : ''}`,
    details: { ProposedSize: String(proposedSize), MaxSizeAllowed: String(maxSize) },
  };
}

function invalidPolicy(reason: string): { ok: false; error: S3ErrorShape } {
  return s3Error('InvalidPolicyDocument', 400, `Invalid Policy: ${reason}`);
}

function missingField(name: string): { ok: false; error: S3ErrorShape } {
  return s3Error(
    'InvalidArgument',
    400,
    `Bucket POST must contain a field named '${name}'.  If it is specified, please check the order of the fields.`,
    {
      ArgumentName: name,
      ArgumentValue: '',
    },
  );
}

function credentialError(message: string, extra?: Record<string, string>): { ok: false; error: S3ErrorShape } {
  return s3Error(
    'AuthorizationQueryParametersError',
    400,
    `Error parsing the X-Amz-Credential parameter; ${message}`,
    extra,
  );
}

/** A field as sent, found by its name in any case. */
interface FormView {
  readonly byName: ReadonlyMap<string, { readonly name: string; readonly value: string }>;
  /** Lower-case names in the order sent. */
  readonly order: readonly string[];
}

function viewOf(fields: PostFormFields): FormView | { ok: false; error: S3ErrorShape } {
  const pairs: ReadonlyArray<readonly [string, string]> = Array.isArray(fields)
    ? fields
    : Object.entries(fields as Record<string, string>);
  const byName = new Map<string, { name: string; value: string }>();
  const order: string[] = [];
  for (const [name, value] of pairs) {
    const lower = name.toLowerCase();
    // Names are case-insensitive, so `key` and `Key` are one field sent twice; which one the store
    // would use is anybody's guess, so neither is.
    if (byName.has(lower)) {
      return s3Error('InvalidArgument', 400, `POST form field '${lower}' appears more than once.`, {
        ArgumentName: lower,
        ArgumentValue: value,
      });
    }
    byName.set(lower, { name, value });
    order.push(lower);
  }
  return { byName, order };
}

/** A parsed condition; `written` renders it as S3 does in "Policy Condition failed: …". */
type Condition =
  | { readonly kind: 'eq' | 'starts-with'; readonly field: string; readonly value: string; readonly written: string }
  | { readonly kind: 'content-length-range'; readonly min: number; readonly max: number };

interface Policy {
  readonly expiration: Date;
  readonly conditions: readonly Condition[];
}

function rendered(op: string, writtenName: string, value: string): string {
  return `[${JSON.stringify(op)}, ${JSON.stringify(`$${writtenName}`)}, ${JSON.stringify(value)}]`;
}

/** A non-negative whole number, also when written as a string of digits. */
function byteCount(value: unknown): number | undefined {
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) return value;
  if (typeof value === 'string' && /^\d{1,16}$/.test(value)) return Number(value);
  return undefined;
}

function parseCondition(raw: unknown): Condition | { ok: false; error: S3ErrorShape } {
  if (Array.isArray(raw)) {
    const op = typeof raw[0] === 'string' ? raw[0].toLowerCase() : undefined;
    if (op === 'content-length-range') {
      const min = byteCount(raw[1]);
      const max = byteCount(raw[2]);
      if (raw.length !== 3 || min === undefined || max === undefined || min > max) {
        return invalidPolicy(`Invalid content-length-range condition: ${JSON.stringify(raw)}`);
      }
      return { kind: 'content-length-range', min, max };
    }
    if (op === 'eq' || op === 'starts-with') {
      const [, name, value] = raw as unknown[];
      if (
        raw.length !== 3 ||
        typeof name !== 'string' ||
        !name.startsWith('$') ||
        name.length < 2 ||
        typeof value !== 'string'
      ) {
        return invalidPolicy(`Invalid ${op} condition: ${JSON.stringify(raw)}`);
      }
      return { kind: op, field: name.slice(1).toLowerCase(), value, written: rendered(op, name.slice(1), value) };
    }
    return invalidPolicy(`Invalid Condition: unknown operation ${JSON.stringify(raw[0])}`);
  }
  if (typeof raw === 'object' && raw !== null) {
    const entries = Object.entries(raw as Record<string, unknown>);
    if (entries.length !== 1)
      return invalidPolicy('Invalid Simple-Condition: Simple-Conditions must have exactly one property specified.');
    const [name, value] = entries[0];
    if (typeof value !== 'string') return invalidPolicy('Invalid Simple-Condition: value must be a string.');
    // S3 reports a failed exact match in the ["eq", …] form, with the name as the policy wrote it.
    return { kind: 'eq', field: name.toLowerCase(), value, written: rendered('eq', name, value) };
  }
  return invalidPolicy(`Invalid Condition: ${JSON.stringify(raw)}`);
}

/** ISO 8601 in UTC, with or without milliseconds (what S3's examples and the SDKs write). */
const EXPIRATION = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,3})?Z$/;

function parsePolicy(encoded: string): Policy | { ok: false; error: S3ErrorShape } {
  // Line breaks inside the base64 (some encoders wrap at 76 columns) are signed but carry no data.
  const compact = encoded.replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(compact) || compact.length % 4 !== 0)
    return invalidPolicy('Invalid Base64 encoding.');
  let document: unknown;
  try {
    document = JSON.parse(Buffer.from(compact, 'base64').toString('utf8'));
  } catch {
    return invalidPolicy('Invalid JSON.');
  }
  if (typeof document !== 'object' || document === null || Array.isArray(document))
    return invalidPolicy('Invalid JSON.');
  const { expiration, conditions } = document as Record<string, unknown>;
  if (expiration === undefined) return invalidPolicy('Policy missing expiration.');
  const expires = typeof expiration === 'string' && EXPIRATION.test(expiration) ? new Date(expiration) : undefined;
  if (!expires || Number.isNaN(expires.getTime()))
    return invalidPolicy(
      `Invalid 'expiration' value: '${typeof expiration === 'string' ? expiration : JSON.stringify(expiration)}'`,
    );
  if (conditions === undefined) return invalidPolicy('Policy missing conditions.');
  if (!Array.isArray(conditions)) return invalidPolicy("Invalid 'conditions' value: must be a List.");
  const parsed: Condition[] = [];
  for (const raw of conditions as unknown[]) {
    const condition = parseCondition(raw);
    if ('ok' in condition) return condition;
    parsed.push(condition);
  }
  return { expiration: expires, conditions: parsed };
}

/** A POST form's key: `${filename}` in it stands for the file's name without folders, as S3 reads it. */
export function resolvedKey(key: string, filename: string | undefined): string {
  if (!key.includes('${filename}')) return key;
  const name = (filename ?? '').split(/[\\/]/).pop() ?? '';
  return key.split('${filename}').join(name);
}

function fieldValue(view: FormView, field: string, ctx: { bucket: string; key: string }): string | undefined {
  if (field === 'bucket') return ctx.bucket;
  if (field === 'key') return ctx.key;
  return view.byName.get(field)?.value;
}

function conditionHolds(condition: Condition & { kind: 'eq' | 'starts-with' }, value: string | undefined): boolean {
  if (value === undefined) return false;
  if (condition.kind === 'eq') return value === condition.value;
  if (condition.field === 'content-type') {
    return value.split(',').every((entry) => entry.trim().startsWith(condition.value));
  }
  return value.startsWith(condition.value);
}

/**
 * Everything S3 checks of a POST form, except the file's size when `size` is undefined (a form
 * whose file has not arrived yet). Order: required fields, credential scope, signature, policy
 * document, expiration, conditions in the policy's order, uncovered fields, content-length-range.
 */
async function evaluate(
  fields: PostFormFields,
  file: { size?: number; filename?: string },
  opts: VerifyPostPolicyOptions,
): Promise<PostPolicyVerdict> {
  const view = viewOf(fields);
  if ('ok' in view) return view;
  const field = (name: string): string | undefined => view.byName.get(name)?.value;

  const encodedPolicy = field('policy');
  if (encodedPolicy === undefined) return missingField('policy');
  const key = field('key');
  if (key === undefined) return missingField('key');
  for (const name of REQUIRED_SIGV4_FIELDS) if (field(name) === undefined) return missingField(name);
  const algorithm = field('x-amz-algorithm') as string;
  if (algorithm !== ALGORITHM) {
    return s3Error('InvalidArgument', 400, `x-amz-algorithm '${algorithm}' is not supported; use ${ALGORITHM}.`, {
      ArgumentName: 'x-amz-algorithm',
      ArgumentValue: algorithm,
    });
  }

  const credential = field('x-amz-credential') as string;
  const scope = credential.split('/');
  if (scope.length !== 5 || !/^\d{8}$/.test(scope[1] ?? '')) {
    return credentialError(
      'the Credential is mal-formed; expecting "<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request".',
    );
  }
  const [accessKeyId, day, region, service, terminal] = scope as [string, string, string, string, string];
  if (region !== opts.region)
    return credentialError(`the region '${region}' is wrong; expecting '${opts.region}'`, { Region: opts.region });
  if (service !== 's3') return credentialError(`incorrect service '${service}'. This endpoint belongs to 's3'.`);
  if (terminal !== 'aws4_request')
    return credentialError(`incorrect terminal '${terminal}'. This endpoint uses 'aws4_request'.`);
  const secret = opts.credentials(accessKeyId);
  if (!secret) {
    return s3Error('InvalidAccessKeyId', 403, 'The AWS Access Key Id you provided does not exist in our records.', {
      AWSAccessKeyId: accessKeyId,
    });
  }

  const tokenProblem = sessionTokenRefusal('s3', field('x-amz-security-token'), secret, opts.now);
  if (tokenProblem) return { ok: false, error: tokenProblem };

  const expected = await sigV4Signature(secret.secretAccessKey, { day, region, service: 's3' }, encodedPolicy);
  const provided = field('x-amz-signature') as string;
  if (provided.length !== expected.length || !timingSafeEqual(Buffer.from(provided), Buffer.from(expected))) {
    return s3Error(
      'SignatureDoesNotMatch',
      403,
      'The request signature we calculated does not match the signature you provided. ' +
        'Check your key and signing method.',
      { AWSAccessKeyId: accessKeyId, StringToSign: encodedPolicy, SignatureProvided: provided },
    );
  }

  const policy = parsePolicy(encodedPolicy);
  if ('ok' in policy) return policy;
  if (opts.now.getTime() > policy.expiration.getTime())
    return s3Error('AccessDenied', 403, 'Invalid according to Policy: Policy expired.');

  const ctx = { bucket: opts.bucket, key: resolvedKey(key, file.filename) };
  const covered = new Set<string>();
  let range: { min: number; max: number } | undefined;
  for (const condition of policy.conditions) {
    if (condition.kind === 'content-length-range') {
      // Several ranges all apply: the narrowest wins.
      range = range
        ? { min: Math.max(range.min, condition.min), max: Math.min(range.max, condition.max) }
        : { min: condition.min, max: condition.max };
      continue;
    }
    covered.add(condition.field);
    if (!conditionHolds(condition, fieldValue(view, condition.field, ctx))) {
      return s3Error('AccessDenied', 403, `${CONDITION_FAILED}${condition.written}`);
    }
  }

  const uncovered = view.order.find(
    (name) => !UNCOVERED_FIELDS.has(name) && !name.startsWith('x-ignore-') && !covered.has(name),
  );
  if (uncovered !== undefined)
    return s3Error('AccessDenied', 403, `Invalid according to Policy: Extra input fields: ${uncovered}`);

  if (range && file.size !== undefined) {
    if (file.size > range.max) {
      return { ok: false, error: entityTooLarge(file.size, range.max) };
    }
    if (file.size < range.min) {
      return s3Error('EntityTooSmall', 400, 'Your proposed upload is smaller than the minimum allowed size', {
        ProposedSize: String(file.size),
        MinSizeAllowed: String(range.min),
      });
    }
  }
  const accepted = { ok: true, key: ctx.key, accessKeyId } as const;
  return range ? { ...accepted, contentLengthRange: range } : accepted;
}

/**
 * Evaluates a POST upload as S3 does: the form's fields (those before the file part; S3 ignores
 * any after it), the file, the bucket posted to, the credentials S3 knows, its region and the time.
 *
 * @returns `{ok: true, key}` or `{ok: false, error}` with S3's code and status: InvalidArgument
 * (a required field missing, a field sent twice), AuthorizationQueryParametersError (credential
 * scope not `<id>/<yyyymmdd>/<this region>/s3/aws4_request`), InvalidAccessKeyId,
 * SignatureDoesNotMatch, InvalidPolicyDocument (not base64 JSON, bad expiration or condition),
 * AccessDenied ("Policy expired.", "Policy Condition failed: [...]", "Extra input fields: x"),
 * EntityTooLarge / EntityTooSmall (content-length-range).
 */
export function verifyPostPolicy(
  fields: PostFormFields,
  file: PostPolicyFile,
  opts: VerifyPostPolicyOptions,
): Promise<PostPolicyVerdict> {
  return evaluate(fields, file, opts);
}

/**
 * The same checks before the file has arrived: everything except content-length-range, whose
 * bounds come back in `contentLengthRange` so a reader can stop taking bytes past the maximum.
 * A form refused here would be refused by verifyPostPolicy with the same error.
 */
export function verifyPostPolicyFields(
  fields: PostFormFields,
  file: { filename?: string },
  opts: VerifyPostPolicyOptions,
): Promise<PostPolicyVerdict> {
  return evaluate(fields, { filename: file.filename }, opts);
}

/** The XML body S3 answers an error with: Code, Message, the code's details, RequestId, HostId. */
export function s3ErrorXml(error: S3ErrorShape, ids: { requestId: string; hostId: string }): string {
  return xmlDocument({
    Error: { Code: error.code, Message: error.message, ...error.details, RequestId: ids.requestId, HostId: ids.hostId },
  });
}
