/**
 * The gateway's check of a browser POST upload (multipart/form-data POST to a bucket) before it
 * reaches the stand-in, which would store any form: a form carrying a `policy` is held to it as S3
 * holds it (post-policy.ts) and, when it passes, sent on re-encoded (multipart-form.ts) so the
 * stand-in stores exactly what was checked. A form without a policy is an anonymous POST, which
 * S3 refuses on a private bucket (every bucket here is private): 403 AccessDenied, before the
 * file is taken. The body is buffered up to the policy's content-length-range or
 * MAX_LOCAL_OBJECT_BYTES, whichever is smaller.
 */
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { randomBytes } from 'node:crypto';
import { encodePostForm, readPostForm, type FormField } from './multipart-form';
import { MAX_LOCAL_OBJECT_BYTES } from '../standin/standin';
import {
  entityTooLarge,
  s3ErrorXml,
  verifyPostPolicy,
  verifyPostPolicyFields,
  type S3ErrorShape,
  type SecretCredentials,
} from './post-policy';
import { keyTooLongError } from './s3-validation';

export interface PostUploadCheckOptions {
  /** The bucket posted to. */
  readonly bucket: string;
  /** The region the endpoint serves. */
  readonly region: string;
  /** The secret of an access key id this S3 knows. */
  readonly credentials: (accessKeyId: string) => SecretCredentials | undefined;
  /** @default () => new Date() */
  readonly now?: () => Date;
  /** @default MAX_LOCAL_OBJECT_BYTES */
  readonly maxFileBytes?: number;
}

export type PostUploadCheck =
  /**
   * Send `body` on, with `headers` replacing the request's own (Content-Type, Content-Length); `key`:
   * the object's key as the form names it (`${filename}` resolved), undefined for a form without one.
   */
  | {
      readonly action: 'forward';
      readonly body: Buffer;
      readonly headers: OutgoingHttpHeaders;
      readonly key: string | undefined;
      /** The access key id that signed the form's policy: the principal the upload is made as. */
      readonly accessKeyId: string;
    }
  /** Answer with this S3 error; nothing is sent on. */
  | { readonly action: 'refuse'; readonly error: S3ErrorShape }
  /** The client went away mid-body: nothing to answer. */
  | { readonly action: 'aborted' };

const hasPolicy = (fields: readonly FormField[]): boolean => fields.some((f) => f.name.toLowerCase() === 'policy');
const pairs = (fields: readonly FormField[]): Array<[string, string]> => fields.map((f) => [f.name, f.value]);

const localCapError = (proposedSize: number, max: number): S3ErrorShape =>
  entityTooLarge(proposedSize, max, `the local cloud buffers POST uploads of at most ${max} bytes`);

/** S3's answer to an anonymous POST (no policy, no signature) to a private bucket. */
export const ANONYMOUS_POST_DENIED: S3ErrorShape = { code: 'AccessDenied', status: 403, message: 'Access Denied' };

const MALFORMED: S3ErrorShape = {
  code: 'MalformedPOSTRequest',
  status: 400,
  message: 'The body of your POST request is not well-formed multipart/form-data.',
};

/**
 * Reads a POST upload from `req` and decides what becomes of it. A body that cannot be read as
 * multipart/form-data is refused (MalformedPOSTRequest), as S3 refuses it, whether or not it
 * carried a policy: a form the check cannot read must not reach a parser that might.
 */
export async function checkPostUpload(req: IncomingMessage, opts: PostUploadCheckOptions): Promise<PostUploadCheck> {
  const cap = opts.maxFileBytes ?? MAX_LOCAL_OBJECT_BYTES;
  const now = opts.now ?? (() => new Date());
  const policyOptions = () => ({ bucket: opts.bucket, region: opts.region, credentials: opts.credentials, now: now() });
  const lengthHeader = Number(req.headers['content-length']);
  let refusedEarly: S3ErrorShape | undefined;

  const result = await readPostForm(req, {
    contentType: req.headers['content-type'] ?? '',
    contentLength: Number.isSafeInteger(lengthHeader) ? lengthHeader : undefined,
    onFileStart: async (fields, file) => {
      if (!hasPolicy(fields)) {
        refusedEarly = ANONYMOUS_POST_DENIED;
        return false;
      }
      // Refuse a bad signature or a wrong key before taking the file, as S3 does.
      const verdict = await verifyPostPolicyFields(pairs(fields), { filename: file.filename }, policyOptions());
      if (!verdict.ok) {
        refusedEarly = verdict.error;
        return false;
      }
      // The key (its ${filename} resolved) is held to S3's limit as a PutObject's is.
      const tooLong = keyTooLongError(verdict.key);
      if (tooLong) {
        refusedEarly = tooLong;
        return false;
      }
      return Math.min(verdict.contentLengthRange?.max ?? cap, cap);
    },
  });

  switch (result.kind) {
    case 'aborted':
      return { action: 'aborted' };
    case 'malformed':
      return { action: 'refuse', error: MALFORMED };
    case 'fields-too-large':
      return {
        action: 'refuse',
        error: {
          code: 'MaxPostPreDataLengthExceeded',
          status: 400,
          message: 'Your POST request fields preceding the upload file were too large.',
        },
      };
    case 'declined':
      return { action: 'refuse', error: refusedEarly ?? MALFORMED };
    case 'file-too-large': {
      if (!hasPolicy(result.fields)) return { action: 'refuse', error: ANONYMOUS_POST_DENIED };
      const verdict = await verifyPostPolicy(
        pairs(result.fields),
        { size: result.proposedSize, filename: result.file.filename },
        policyOptions(),
      );
      if (!verdict.ok) return { action: 'refuse', error: verdict.error };
      return { action: 'refuse', error: localCapError(result.proposedSize, cap) };
    }
    case 'form':
      break;
  }

  const { form } = result;
  if (!hasPolicy(form.fields)) return { action: 'refuse', error: ANONYMOUS_POST_DENIED };
  if (!form.file) {
    return {
      action: 'refuse',
      error: {
        code: 'InvalidArgument',
        status: 400,
        message: 'POST requires exactly one file upload per request.',
        details: { ArgumentName: 'file', ArgumentValue: '0' },
      },
    };
  }
  const verdict = await verifyPostPolicy(
    pairs(form.fields),
    { size: form.file.data.length, contentType: form.file.contentType, filename: form.file.filename },
    policyOptions(),
  );
  if (!verdict.ok) return { action: 'refuse', error: verdict.error };
  const encoded = encodePostForm(form);
  return {
    action: 'forward',
    body: encoded.body,
    headers: { 'content-type': encoded.contentType, 'content-length': encoded.body.length },
    key: verdict.key,
    accessKeyId: verdict.accessKeyId,
  };
}

/** Answers `res` with `error` as S3 does (XML body, request id headers). */
export function sendS3Error(res: ServerResponse, error: S3ErrorShape): void {
  const requestId = randomBytes(8).toString('hex').toUpperCase();
  const hostId = randomBytes(24).toString('base64');
  const body = s3ErrorXml(error, { requestId, hostId });
  res.writeHead(error.status, {
    'content-type': 'application/xml',
    'content-length': Buffer.byteLength(body),
    'x-amz-request-id': requestId,
    'x-amz-id-2': hostId,
  });
  res.end(body);
}
