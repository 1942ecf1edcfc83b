/**
 * Whether the caller may do what a data-plane request asks (S3, SQS, Kinesis, Lambda Invoke): the
 * permissions the operation needs (operation-actions.ts), each evaluated with IAM's logic
 * (policy-evaluation.ts) over the caller's identity policies and the resource's policy:
 * - a role session: its role's inline and attached policies from the local IAM (iam-store.ts);
 * - the account's own key pair (the root): allowed by identity, as on AWS, but an explicit Deny in
 *   the resource's policy (such as a DenyInsecureTransport statement) still refuses it;
 * - an unsigned S3 request: only what the bucket policy grants to `*`.
 * The resource policies are the bucket policy kept by the control plane (bucket-config.ts) and the
 * queue's `Policy` attribute kept by the stand-in. Condition keys: aws:SecureTransport (true only for
 * a request that came over TLS), aws:PrincipalArn, aws:PrincipalAccount, aws:CurrentTime, and the
 * service's own (s3:prefix…).
 *
 * A refusal is answered as each service answers AccessDenied, and logged (`iam.denied`) with the
 * principal, action, resource and the deciding statement (or `null`: nothing allowed it).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import { SQSClient, GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { LOCAL_ACCOUNT_ID, localClientConfig } from '../../client-config';
import { evaluateAuthorization, type AuthorizationResult, type NamedPolicy } from '../iam/policy-evaluation';
import {
  kinesisPermission,
  lambdaInvokePermission,
  missingObjectAnswer,
  s3BucketArn,
  s3Permissions,
  sqsOperationName,
  sqsPermission,
  UnmappedOperationError,
  type RequiredPermission,
} from '../iam/operation-actions';
import type { IamStore } from '../iam/iam-store';
import type { ConditionContext } from '../iam/policy-conditions';
import { signingScope, parseQueryParams, queryErrorXml, sendXml, QueryError } from '../query-protocol';
import { JsonError, sendJsonError } from '../json-protocol';
import { sendS3Error } from '../s3/post-upload';
import { classifyRequest } from './aws-request';
import type { Authenticated, Caller } from './request-auth';

/** The account root's identity: everything (what a root key pair may do, short of resource-policy denies). */
const ROOT_IDENTITY: NamedPolicy = {
  name: 'account root',
  document: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }] },
};

/** A request's service for authorization, and the permissions it needs. */
interface AskedPermissions {
  readonly service: 's3' | 'sqs' | 'kinesis' | 'lambda';
  readonly operation: string;
  readonly permissions: readonly RequiredPermission[];
  /** SQS: the queue's URL path (`/<account>/<name>`), whose Policy attribute is the resource policy. */
  readonly queuePath?: string;
  /** S3: the bucket whose policy is the resource policy. */
  readonly bucket?: string;
}

export interface RequestAuthorizerOptions {
  readonly iam: IamStore;
  /** The bucket policy the control plane keeps for `bucket`, if any. */
  readonly bucketPolicy: (bucket: string) => string | undefined;
  /** The stand-in, asked for queue policies. */
  readonly upstream: string;
  readonly region: string;
  readonly log: (line: Record<string, unknown>) => void;
}

/** A decision that refused the request, for the answer and the log. */
export interface Denial {
  readonly service: AskedPermissions['service'];
  readonly action: string;
  readonly resource: string;
  readonly principal: string;
  readonly result: AuthorizationResult;
  /** Why evaluation itself failed (an unreadable policy, an unmapped operation), when it did. */
  readonly error?: { readonly code: string; readonly message: string };
}

/**
 * S3's bucket-level operations that are data plane (what a bucket holds); the other bucket-level
 * ones (create, delete, head, location, the configuration sub-resources) are the control plane,
 * which the local cloud signs but does not authorize.
 */
const S3_DATA_PLANE_BUCKET_OPERATIONS = new Set([
  'ListObjects',
  'ListObjectsV2',
  'ListObjectVersions',
  'ListMultipartUploads',
  'DeleteObjects',
]);

/** The query parameters of S3's list calls (and of a presigned one); any other names a bucket sub-resource. */
const S3_LIST_PARAMETERS = new Set([
  'list-type',
  'prefix',
  'delimiter',
  'max-keys',
  'marker',
  'continuation-token',
  'start-after',
  'encoding-type',
  'fetch-owner',
  'key-marker',
  'upload-id-marker',
  'version-id-marker',
  'versions',
  'uploads',
  'delete',
  'x-id',
]);

/**
 * True when a bucket-level request's query holds only list (or DeleteObjects) parameters: a GET of
 * `?policy` or `?tagging` is the bucket's configuration (control plane), not a listing.
 */
function onlyListParameters(req: IncomingMessage): boolean {
  const names = [...new URLSearchParams((req.url ?? '').split('?')[1] ?? '').keys()];
  return names.every((name) => S3_LIST_PARAMETERS.has(name) || name.toLowerCase().startsWith('x-amz-'));
}

/** SQS's message operations (the data plane); queue management is the control plane. */
const SQS_DATA_PLANE_OPERATIONS = new Set([
  'SendMessage',
  'SendMessageBatch',
  'ReceiveMessage',
  'DeleteMessage',
  'DeleteMessageBatch',
  'ChangeMessageVisibility',
  'ChangeMessageVisibilityBatch',
  'PurgeQueue',
]);

/** The S3 request's permissions, with its list parameters, version and copy source. */
function s3Asked(req: IncomingMessage): AskedPermissions | undefined {
  const info = classifyRequest(req.method ?? 'GET', req.url ?? '/', req.headers);
  if (info.service !== 's3' || info.operation === 'PreflightRequest' || info.operation === 'PostObject')
    return undefined;
  if (!info.key && !(S3_DATA_PLANE_BUCKET_OPERATIONS.has(info.operation) && onlyListParameters(req))) return undefined;
  const query = new URLSearchParams((req.url ?? '').split('?')[1] ?? '');
  const copySource = String(req.headers['x-amz-copy-source'] ?? '');
  const copy = /^\/?([^/]+)\/([^?]+)(?:\?versionId=(.+))?$/.exec(decodeURIComponent(copySource));
  const request = {
    operation: info.operation,
    ...(info.bucket ? { bucket: info.bucket } : {}),
    ...(info.key !== undefined ? { key: info.key } : {}),
    ...(query.has('versionId') ? { versionId: query.get('versionId') ?? '' } : {}),
    ...(query.has('prefix') ? { prefix: query.get('prefix') ?? '' } : {}),
    ...(query.has('delimiter') ? { delimiter: query.get('delimiter') ?? '' } : {}),
    ...(query.has('max-keys') ? { maxKeys: Number(query.get('max-keys')) } : {}),
    ...(copy ? { copySource: { bucket: copy[1], key: copy[2], ...(copy[3] ? { versionId: copy[3] } : {}) } } : {}),
  };
  return {
    service: 's3',
    operation: info.operation,
    permissions: s3Permissions(request),
    ...(info.bucket ? { bucket: info.bucket } : {}),
  };
}

/** `/<account>/<name>` of a queue URL, or undefined. */
function queuePathOf(queueUrl: string | undefined): { account: string; name: string } | undefined {
  const m = queueUrl ? /\/(\d{12})\/([\w-]+(?:\.fifo)?)\/?$/.exec(queueUrl) : null;
  return m ? { account: m[1], name: m[2] } : undefined;
}

/**
 * The SQS request's operation and queue, from either protocol's body; queue management (the control
 * plane) asks for no permission here, but is named so that a policy change is noticed.
 */
function sqsAsked(req: IncomingMessage, body: Buffer, region: string): AskedPermissions {
  const target = String(req.headers['x-amz-target'] ?? '');
  let operation: string;
  let params: Record<string, unknown>;
  if (target) {
    operation = sqsOperationName(target);
    params = parseJsonObject(body);
  } else {
    const query = parseQueryParams(body.toString('utf8'));
    params = { ...query };
    operation = query.Action ?? '';
  }
  const queue = queuePathOf(typeof params.QueueUrl === 'string' ? params.QueueUrl : undefined);
  const queueName = queue?.name ?? (typeof params.QueueName === 'string' ? params.QueueName : '*');
  const account = queue?.account ?? LOCAL_ACCOUNT_ID;
  const arn = `arn:aws:sqs:${region}:${account}:${operation === 'ListQueues' ? '*' : queueName}`;
  return {
    service: 'sqs',
    operation,
    permissions: SQS_DATA_PLANE_OPERATIONS.has(operation) ? [sqsPermission(operation, arn)] : [],
    ...(queue ? { queuePath: `/${queue.account}/${queue.name}` } : {}),
  };
}

/** A string parameter of a JSON body, or undefined. */
const stringParam = (params: Record<string, unknown>, name: string): string | undefined =>
  typeof params[name] === 'string' ? params[name] : undefined;

function parseJsonObject(body: Buffer): Record<string, unknown> {
  try {
    const parsed: unknown = JSON.parse(body.toString('utf8') || '{}');
    return typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

/** The Kinesis request's permission: its stream by ARN or name. */
function kinesisAsked(req: IncomingMessage, body: Buffer, region: string): AskedPermissions {
  const target = String(req.headers['x-amz-target'] ?? '');
  const params = parseJsonObject(body);
  const arn =
    typeof params.StreamARN === 'string'
      ? params.StreamARN
      : `arn:aws:kinesis:${region}:${LOCAL_ACCOUNT_ID}:stream/${stringParam(params, 'StreamName') ?? '*'}`;
  return { service: 'kinesis', operation: target, permissions: [kinesisPermission(target, arn)] };
}

/** Lambda's data plane: Invoke (`POST /2015-03-31/functions/<name>/invocations`); undefined for the control plane. */
function lambdaAsked(req: IncomingMessage, region: string): AskedPermissions | undefined {
  const [path, rawQuery] = (req.url ?? '/').split('?');
  const m = /^\/2015-03-31\/functions\/([^/]+)\/invocations$/.exec(path);
  if (!m) return undefined;
  const name = decodeURIComponent(m[1]);
  const arn = name.startsWith('arn:') ? name : `arn:aws:lambda:${region}:${LOCAL_ACCOUNT_ID}:function:${name}`;
  const qualifier = new URLSearchParams(rawQuery ?? '').get('Qualifier') ?? undefined;
  return { service: 'lambda', operation: 'Invoke', permissions: [lambdaInvokePermission('Invoke', arn, qualifier)] };
}

/**
 * What the request asks, or undefined for requests outside the data plane (the control plane's IAM,
 * STS, Logs and configuration calls, which the local cloud does not authorize). Throws
 * UnmappedOperationError for a data-plane operation with no mapping.
 */
export function permissionsAsked(auth: Authenticated, region: string): AskedPermissions | undefined {
  const service = signingScope(auth.req)?.service ?? 's3';
  const body = auth.body ?? Buffer.alloc(0);
  if (service === 's3') return s3Asked(auth.req);
  if (service === 'sqs') return sqsAsked(auth.req, body, region);
  if (service === 'kinesis') return kinesisAsked(auth.req, body, region);
  if (service === 'lambda') return lambdaAsked(auth.req, region);
  return undefined;
}

/** The caller's identity policies: the root's everything, a role's inline and attached ones, none for anonymous. */
function identityPoliciesOf(caller: Caller, iam: IamStore): NamedPolicy[] {
  if (caller.kind === 'root') return [ROOT_IDENTITY];
  if (caller.kind === 'anonymous') return [];
  return iam.identityPolicies(caller.session.roleName);
}

/** The condition keys every request carries. */
function globalContext(auth: Pick<Authenticated, 'caller' | 'secureTransport'>): ConditionContext {
  const principal = auth.caller.principal;
  return {
    'aws:SecureTransport': String(auth.secureTransport),
    'aws:CurrentTime': new Date().toISOString(),
    ...(principal.kind === 'aws'
      ? { 'aws:PrincipalArn': principal.roleArn ?? principal.arn, 'aws:PrincipalAccount': principal.account }
      : {}),
  };
}

/** Answers AccessDenied in the service's own shape. */
export function sendAccessDenied(req: IncomingMessage, res: ServerResponse, denial: Denial): void {
  req.resume();
  const message = accessDeniedMessage(denial);
  if (denial.service === 's3') {
    if (req.method === 'HEAD') {
      res.writeHead(403, { 'x-amz-request-id': randomUUID(), 'content-length': 0 });
      res.end();
      return;
    }
    return sendS3Error(res, { code: 'AccessDenied', status: 403, message });
  }
  if (denial.service === 'sqs') {
    if (!req.headers['x-amz-target']) {
      const requestId = randomUUID();
      return sendXml(res, 403, queryErrorXml(new QueryError('AccessDenied', message, 403), requestId), requestId);
    }
    res.setHeader('x-amzn-query-error', 'AccessDenied;Sender');
    return sendJsonError(res, new JsonError('AccessDenied', message, 403), 'application/x-amz-json-1.0');
  }
  // Kinesis answers 400, Lambda 403, both AccessDeniedException.
  return sendJsonError(res, new JsonError('AccessDeniedException', message, denial.service === 'lambda' ? 403 : 400));
}

/** IAM's wording of a refusal: who, what, on which resource, and which kind of policy decided. */
export function accessDeniedMessage(denial: Denial): string {
  const kind = denial.result.statement?.kind === 'resource' ? 'resource' : 'identity';
  const why =
    denial.result.decision === 'ExplicitDeny'
      ? `with an explicit deny in a ${kind}-based policy`
      : `because no identity-based policy allows the ${denial.action} action`;
  const { principal, action, resource } = denial;
  return `User: ${principal} is not authorized to perform: ${action} on resource: ${resource} ${why}`;
}

/** The queue policies of the stand-in, cached until a write to the queue's attributes passes the gateway. */
function queuePolicyCache(
  upstream: string,
  region: string,
): {
  get(queuePath: string): Promise<string | undefined>;
  forget(queuePath: string): void;
  close(): void;
} {
  const sqs = new SQSClient(localClientConfig(upstream, region, { maxAttempts: 1 }));
  const cache = new Map<string, Promise<string | undefined>>();
  return {
    get(queuePath) {
      let policy = cache.get(queuePath);
      if (!policy) {
        policy = sqs
          .send(new GetQueueAttributesCommand({ QueueUrl: `${upstream}${queuePath}`, AttributeNames: ['Policy'] }))
          .then((r) => r.Attributes?.Policy || undefined)
          .catch(() => {
            // A queue that is missing now may exist at the next look: remember no answer for it.
            cache.delete(queuePath);
            return undefined;
          });
        cache.set(queuePath, policy);
      }
      return policy;
    },
    forget: (queuePath) => void cache.delete(queuePath),
    close: () => sqs.destroy(),
  };
}

/** SQS operations after which a queue's policy may differ. */
const QUEUE_POLICY_WRITES = new Set([
  'SetQueueAttributes',
  'CreateQueue',
  'DeleteQueue',
  'AddPermission',
  'RemovePermission',
]);

export interface RequestAuthorizer {
  /**
   * Authorizes an authenticated request: true when it may go on; false once AccessDenied was
   * answered on `res` and logged.
   */
  authorize(auth: Authenticated, res: ServerResponse): Promise<boolean>;
  /**
   * Authorizes one permission for `caller` where the request's own signature does not name who acts
   * (a browser POST upload is made as its policy's signer): true when allowed; false once
   * AccessDenied was answered on `res` (in `service`'s shape) and logged.
   */
  authorizeAs(
    caller: Caller,
    service: Denial['service'],
    operation: string,
    permission: RequiredPermission,
    resource: { queuePath?: string; bucket?: string },
    secureTransport: boolean,
    req: IncomingMessage,
    res: ServerResponse,
  ): Promise<boolean>;
  /**
   * The stand-in answered 404 to an authorized GetObject/HeadObject: when its caller may not list the
   * bucket, answers 403 AccessDenied on `res` as S3 does (logged as the s3:ListBucket denial) and
   * returns true; false when the caller may know that the key is missing (the 404 goes through).
   */
  answerMissingObject(req: IncomingMessage, res: ServerResponse): boolean;
  /** Decides one permission for a principal outside any request (the S3 → SQS notification's SendMessage). */
  decide(
    principal: Caller['principal'],
    permission: RequiredPermission,
    resource: { queuePath?: string; bucket?: string },
    secureTransport: boolean,
  ): Promise<AuthorizationResult>;
  close(): void;
}

/** The gateway's authorization step (see the file comment). */
export function createRequestAuthorizer(opts: RequestAuthorizerOptions): RequestAuthorizer {
  const queuePolicies = queuePolicyCache(opts.upstream, opts.region);

  async function resourcePolicyOf(resource: { queuePath?: string; bucket?: string }): Promise<NamedPolicy | undefined> {
    if (resource.bucket) {
      const policy = opts.bucketPolicy(resource.bucket);
      return policy ? { name: `bucket policy of ${resource.bucket}`, document: policy } : undefined;
    }
    if (resource.queuePath) {
      const policy = await queuePolicies.get(resource.queuePath);
      return policy
        ? { name: `queue policy of ${resource.queuePath.split('/').pop() ?? ''}`, document: policy }
        : undefined;
    }
    return undefined;
  }

  function logDenial(denial: Denial, operation: string): void {
    opts.log({
      event: 'iam.denied',
      level: 'warn',
      principal: denial.principal,
      service: denial.service,
      operation,
      action: denial.action,
      resource: denial.resource,
      decision: denial.result.decision,
      statement: denial.result.statement ?? null,
      ...(denial.error ? { code: denial.error.code, error: denial.error.message } : {}),
      message: accessDeniedMessage(denial),
    });
  }

  function evaluate(
    caller: Caller,
    permission: RequiredPermission,
    resourcePolicy: NamedPolicy | undefined,
    context: ConditionContext,
  ): AuthorizationResult {
    return evaluateAuthorization({
      request: {
        action: permission.action,
        resource: permission.resource,
        principal: caller.principal,
        context: { ...context, ...permission.context },
      },
      identityPolicies: identityPoliciesOf(caller, opts.iam),
      resourcePolicy,
    });
  }

  /** What S3 answers instead of a 404, by request: set by hideMissingKey, used by answerMissingObject. */
  const missingObjectAnswers = new WeakMap<IncomingMessage, (res: ServerResponse) => boolean>();

  /**
   * S3 hides whether a key exists from a caller who may not list the bucket: a GetObject/HeadObject
   * of a missing key is 403 AccessDenied without s3:ListBucket (missingObjectAnswer), 404 with it.
   * Whether the key exists is the stand-in's answer to the request itself, and s3:ListBucket is
   * evaluated only when that answer is 404 (answerMissingObject): a read that finds its object costs
   * neither a second evaluation nor a second request.
   */
  function hideMissingKey(
    auth: Authenticated,
    asked: AskedPermissions,
    resourcePolicy: NamedPolicy | undefined,
    context: ConditionContext,
    principal: string,
  ): void {
    const bucket = asked.bucket;
    if (auth.caller.kind === 'root' || !bucket) return;
    if (asked.operation !== 'GetObject' && asked.operation !== 'HeadObject') return;
    missingObjectAnswers.set(auth.req, (res) => {
      const list = { action: 's3:ListBucket', resource: s3BucketArn(bucket) };
      const result = evaluate(auth.caller, list, resourcePolicy, context);
      // S3's own 404 goes through to a caller who may list the bucket (operation-actions.ts has the rule).
      if (missingObjectAnswer(result.decision === 'Allow').status === 404) return false;
      const denial: Denial = { service: 's3', ...list, principal, result };
      logDenial(denial, asked.operation);
      sendAccessDenied(auth.req, res, denial);
      return true;
    });
  }

  return {
    async authorize(auth, res) {
      if (auth.exempt) return true;
      const principalName = auth.caller.principal.kind === 'aws' ? auth.caller.principal.arn : 'anonymous';
      let asked: AskedPermissions | undefined;
      try {
        asked = permissionsAsked(auth, opts.region);
      } catch (err) {
        if (!(err instanceof UnmappedOperationError)) throw err;
        // The root is not held up by what the tables lack; anyone else is not let through by a guess.
        if (auth.caller.kind === 'root') return true;
        const denial: Denial = {
          service: (signingScope(auth.req)?.service ?? 's3') as Denial['service'],
          action: err.operation,
          resource: '*',
          principal: principalName,
          result: { decision: 'ImplicitDeny' },
          error: { code: err.code, message: err.message },
        };
        logDenial(denial, err.operation);
        sendAccessDenied(auth.req, res, denial);
        return false;
      }
      if (!asked) return true;
      if (asked.queuePath && QUEUE_POLICY_WRITES.has(asked.operation)) {
        const queuePath = asked.queuePath;
        queuePolicies.forget(queuePath);
        res.once('finish', () => queuePolicies.forget(queuePath));
      }
      if (asked.permissions.length === 0) return true;
      const resourcePolicy = await resourcePolicyOf(asked);
      const context = globalContext(auth);
      for (const permission of asked.permissions) {
        let result: AuthorizationResult;
        let error: Denial['error'];
        try {
          result = evaluate(auth.caller, permission, resourcePolicy, context);
        } catch (err) {
          const e = err as Error & { code?: string };
          result = { decision: 'ImplicitDeny' };
          error = { code: e.code ?? 'PolicyEvaluationError', message: e.message };
        }
        if (result.decision === 'Allow') continue;
        const denial: Denial = {
          service: asked.service,
          action: permission.action,
          resource: permission.resource,
          principal: principalName,
          result,
          ...(error ? { error } : {}),
        };
        logDenial(denial, asked.operation);
        sendAccessDenied(auth.req, res, denial);
        return false;
      }
      hideMissingKey(auth, asked, resourcePolicy, context, principalName);
      return true;
    },
    async authorizeAs(caller, service, operation, permission, resource, secureTransport, req, res) {
      const resourcePolicy = await resourcePolicyOf(resource);
      const context = globalContext({ caller, secureTransport });
      const result = evaluate(caller, permission, resourcePolicy, context);
      if (result.decision === 'Allow') return true;
      const principal = caller.principal.kind === 'aws' ? caller.principal.arn : 'anonymous';
      const denial: Denial = { service, ...permission, principal, result };
      logDenial(denial, operation);
      sendAccessDenied(req, res, denial);
      return false;
    },
    answerMissingObject: (req, res) => missingObjectAnswers.get(req)?.(res) ?? false,
    async decide(principal, permission, resource, secureTransport) {
      const resourcePolicy = await resourcePolicyOf(resource);
      const caller: Caller = { kind: 'anonymous', principal };
      const result = evaluateAuthorization({
        request: {
          action: permission.action,
          resource: permission.resource,
          principal,
          context: { 'aws:SecureTransport': String(secureTransport), ...permission.context },
        },
        identityPolicies: identityPoliciesOf(caller, opts.iam),
        resourcePolicy,
      });
      if (result.decision !== 'Allow') {
        logDenial(
          {
            service: 'sqs',
            action: permission.action,
            resource: permission.resource,
            principal: principal.kind === 'service' ? principal.service : principal.kind,
            result,
          },
          'SendMessage',
        );
      }
      return result;
    },
    close: () => queuePolicies.close(),
  };
}
