/**
 * Who is calling: every request to the endpoint has its SigV4 signature verified (sigv4-verify.ts)
 * against the credentials the local cloud knows: the account's own key pair (its root, as the AWS
 * CLI, SDKs and Terraform use it locally) and the role sessions minted for functions
 * (session-credentials.ts). A refusal is answered in the protocol of the service the request was
 * signed for: S3's XML, the Query protocol's XML (SQS's older form, IAM, STS), SQS's JSON, the JSON
 * services' `__type`, Lambda's REST-JSON.
 *
 * The services that sign their body's hash (all but S3) are read whole first; the request handed on
 * replays that body, so every later step reads it as if it came from the socket. S3 requests are
 * checked against the payload hash they declare (S3 and the stand-in hold the body to it); a body
 * signed chunk by chunk (STREAMING-AWS4-HMAC-SHA256-PAYLOAD) is read whole and every chunk's
 * signature checked (chunk-signatures.ts) before it goes on.
 *
 * Not checked here: the endpoint's own pages and upload API (`/_ui/`, `/_api/`: public, as an HTTP
 * API without an authorizer is on AWS), CORS preflights (browsers send them unsigned, to S3 too),
 * and browser POST uploads (their form carries its own policy signature, post-upload.ts; the upload
 * is then authorized as the policy's signer, RequestAuthorizer.authorizeAs).
 */
import { IncomingMessage, type ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import { LOCAL_ACCOUNT_ID, LOCAL_CREDENTIALS } from '../../client-config';
import {
  verifySigV4,
  type AuthProtocol,
  type KnownCredentials,
  type SigV4Error,
  type SigV4Verified,
} from '../iam/sigv4-verify';
import { verifyChunkSignatures, type ChunkVerdict } from '../iam/chunk-signatures';
import { MAX_LOCAL_OBJECT_BYTES } from '../standin/standin';
import { entityTooLarge } from '../s3/post-policy';
import type { RequestPrincipal } from '../iam/policy-evaluation';
import type { RoleSession, SessionCredentialStore } from '../iam/session-credentials';
import { cameOverTls, readBody } from '../http-io';
import { sendS3Error } from '../s3/post-upload';
import { queryErrorXml, sendXml, signingScope, QueryError } from '../query-protocol';
import { JsonError, sendJsonError } from '../json-protocol';

/** The largest body read to check a non-S3 signature (Lambda's invoke payload is 6 MB, Kinesis PutRecords 5 MB). */
export const MAX_SIGNED_BODY_BYTES = 8 * 1024 * 1024;

/** Who made a request, once its signature holds. */
export type Caller =
  | { readonly kind: 'root'; readonly accessKeyId: string; readonly principal: RequestPrincipal }
  | {
      readonly kind: 'session';
      readonly accessKeyId: string;
      readonly session: RoleSession;
      readonly principal: RequestPrincipal;
    }
  | { readonly kind: 'anonymous'; readonly principal: RequestPrincipal };

/** A request that passed authentication: the caller, whether it came over TLS, and the request to hand on. */
export interface Authenticated {
  readonly caller: Caller;
  /** `aws:SecureTransport`: the request arrived over TLS. */
  readonly secureTransport: boolean;
  /** `req` itself, or a replay of it when its body had to be read. */
  readonly req: IncomingMessage;
  /** The body, when it was read. */
  readonly body?: Buffer;
  /** Neither signed nor authorized by design (the endpoint's own pages and APIs, preflights, POST forms). */
  readonly exempt?: boolean;
}

/** The account root every request signed with the local key pair acts as. */
export const ROOT_PRINCIPAL: RequestPrincipal = {
  kind: 'aws',
  arn: `arn:aws:iam::${LOCAL_ACCOUNT_ID}:root`,
  account: LOCAL_ACCOUNT_ID,
};

/** Paths never signed: the endpoint's own pages and APIs (`/_ui/`, `/_api/`). */
const UNSIGNED_PATH = /^\/_[a-z]+(\/|$)/;

/** A request that bypasses signature checks (see the file comment). */
function unsignedByDesign(req: IncomingMessage): boolean {
  const path = (req.url ?? '/').split('?')[0];
  if (UNSIGNED_PATH.test(path)) return true;
  if (req.method === 'OPTIONS') return true;
  const contentType = (req.headers['content-type'] ?? '').toLowerCase();
  return req.method === 'POST' && contentType.startsWith('multipart/form-data') && !req.headers.authorization;
}

/**
 * A fresh IncomingMessage that yields `body` and carries `req`'s method, URL, headers and socket,
 * for the steps after the body had to be read.
 */
export function replayRequest(req: IncomingMessage, body: Buffer): IncomingMessage {
  const replay = new IncomingMessage(req.socket);
  replay.method = req.method;
  replay.url = req.url;
  replay.headers = req.headers;
  replay.rawHeaders = req.rawHeaders;
  replay.httpVersion = req.httpVersion;
  replay.httpVersionMajor = req.httpVersionMajor;
  replay.httpVersionMinor = req.httpVersionMinor;
  replay.push(body);
  replay.push(null);
  replay.complete = true;
  return replay;
}

/** The protocol a refusal is answered in, from the service the request was signed for and its headers. */
function errorProtocolOf(service: string | undefined): AuthProtocol {
  if (service === 's3' || service === undefined) return 's3';
  if (service === 'lambda') return 'rest-json';
  // SQS's JSON protocol keeps the Query protocol's codes (InvalidClientTokenId…), in x-amzn-query-error.
  if (service === 'sts' || service === 'iam' || service === 'sns' || service === 'sqs') return 'query';
  return 'json';
}

/** SQS's JSON protocol (X-Amz-Target AmazonSQS.…). */
const isSqsJson = (req: IncomingMessage): boolean => String(req.headers['x-amz-target'] ?? '').startsWith('AmazonSQS.');

/** Answers a refused signature in `protocol`'s shape; HEAD answers carry no body. */
export function sendAuthError(
  req: IncomingMessage,
  res: ServerResponse,
  protocol: AuthProtocol,
  error: SigV4Error,
): void {
  req.resume();
  if (protocol === 's3') {
    if (req.method === 'HEAD') {
      res.writeHead(error.status, { 'x-amz-request-id': randomUUID(), 'content-length': 0 });
      res.end();
      return;
    }
    return sendS3Error(res, error);
  }
  if (isSqsJson(req)) {
    // SQS's JSON protocol: the SDK names the error after x-amzn-query-error.
    res.setHeader('x-amzn-query-error', `${error.code};Sender`);
    return sendJsonError(res, new JsonError(error.code, error.message, error.status), 'application/x-amz-json-1.0');
  }
  if (protocol === 'query') {
    const requestId = randomUUID();
    return sendXml(
      res,
      error.status,
      queryErrorXml(new QueryError(error.code, error.message, error.status), requestId),
      requestId,
    );
  }
  return sendJsonError(res, new JsonError(error.code, error.message, error.status));
}

export interface RequestAuthOptions {
  readonly sessions: SessionCredentialStore;
  /** Receives `auth.refused` lines. */
  readonly log: (line: Record<string, unknown>) => void;
  /** @default () => new Date() */
  readonly now?: () => Date;
}

/** The credentials the endpoint knows: the account's key pair, then the role sessions. */
export function knownCredentials(
  sessions: SessionCredentialStore,
): (accessKeyId: string) => KnownCredentials | undefined {
  return (accessKeyId) =>
    accessKeyId === LOCAL_CREDENTIALS.accessKeyId ? LOCAL_CREDENTIALS : sessions.known(accessKeyId);
}

/** The largest aws-chunked body read whole to check its chunk signatures: the largest object plus its framing. */
const MAX_CHUNKED_BODY_BYTES = MAX_LOCAL_OBJECT_BYTES + 1024 * 1024;

/**
 * Reads an S3 body signed chunk by chunk and checks every chunk's signature (chunk-signatures.ts):
 * the body to hand on, or undefined once S3's refusal was answered and logged. The body is held
 * whole so that nothing of a body refused at a later chunk reaches the stand-in.
 */
async function checkedChunkedBody(
  req: IncomingMessage,
  res: ServerResponse,
  verified: SigV4Verified,
  log: (line: Record<string, unknown>) => void,
): Promise<Buffer | undefined> {
  const body = await readBody(req, MAX_CHUNKED_BODY_BYTES);
  const verdict: ChunkVerdict = body
    ? await verifyChunkSignatures(body, verified)
    : { ok: false, error: entityTooLarge(Number(req.headers['x-amz-decoded-content-length']), MAX_LOCAL_OBJECT_BYTES) };
  if (verdict.ok) return body;
  log({
    event: 'auth.refused',
    level: 'warn',
    service: 's3',
    method: req.method,
    path: (req.url ?? '/').split('?')[0],
    code: verdict.error.code,
    message: verdict.error.message,
    step: 'chunk-signature',
  });
  sendAuthError(req, res, 's3', verdict.error);
  return undefined;
}

/** The caller an access key id stands for: a role session's role, else the account root. */
export function callerOf(sessions: SessionCredentialStore, accessKeyId: string): Caller {
  const session = sessions.session(accessKeyId);
  if (!session) return { kind: 'root', accessKeyId, principal: ROOT_PRINCIPAL };
  return {
    kind: 'session',
    accessKeyId,
    session,
    principal: { kind: 'aws', arn: session.assumedRoleArn, account: session.account, roleArn: session.roleArn },
  };
}

/**
 * Verifies `req`'s signature: the request to hand on with its caller, or undefined once a refusal
 * was answered on `res`.
 */
export async function authenticate(
  req: IncomingMessage,
  res: ServerResponse,
  opts: RequestAuthOptions,
): Promise<Authenticated | undefined> {
  const secureTransport = cameOverTls(req);
  if (unsignedByDesign(req))
    return { caller: { kind: 'anonymous', principal: { kind: 'anonymous' } }, secureTransport, req, exempt: true };
  const service = signingScope(req)?.service;
  const protocol = errorProtocolOf(service);
  let body: Buffer | undefined;
  let handedOn = req;
  if (protocol !== 's3') {
    body = await readBody(req, MAX_SIGNED_BODY_BYTES);
    if (body === undefined) {
      sendJsonError(
        res,
        new JsonError('RequestEntityTooLarge', `request body larger than ${MAX_SIGNED_BODY_BYTES} bytes`, 413),
      );
      return undefined;
    }
    handedOn = replayRequest(req, body);
  }
  const verdict = await verifySigV4(
    { method: req.method ?? 'GET', url: req.url ?? '/', headers: req.headers, ...(body ? { body } : {}) },
    knownCredentials(opts.sessions),
    (opts.now ?? (() => new Date()))(),
    { protocol },
  );
  if (!verdict.ok) {
    opts.log({
      event: 'auth.refused',
      level: 'warn',
      service: service ?? 's3',
      method: req.method,
      path: (req.url ?? '/').split('?')[0],
      code: verdict.error.code,
      message: verdict.error.message,
    });
    sendAuthError(req, res, protocol, verdict.error);
    return undefined;
  }
  if (!('anonymous' in verdict) && verdict.seedSignature !== undefined) {
    const chunked = await checkedChunkedBody(req, res, verdict, opts.log);
    if (!chunked) return undefined;
    body = chunked;
    handedOn = replayRequest(req, chunked);
  }
  const caller: Caller =
    'anonymous' in verdict
      ? { kind: 'anonymous', principal: { kind: 'anonymous' } }
      : callerOf(opts.sessions, verdict.accessKeyId);
  return { caller, secureTransport, req: handedOn, ...(body ? { body } : {}) };
}
