/**
 * The control plane's dispatch: which service a signed request is for (its SigV4 credential
 * scope: every AWS client signs for the service it calls, whatever endpoint it was pointed at),
 * and who answers it. IAM, STS and CloudWatch alarms and dashboards (Query protocol: iam/, sts/,
 * cloudwatch/, signing name `monitoring`), CloudWatch Logs, KMS and EventBridge (JSON protocol:
 * logs/, kms/, events/, ecr/) and SNS topic management (sns/, other SNS actions forwarded to the stand-in)
 * are served here; bucket sub-resources the stand-in
 * lacks by bucket-config.ts; S3 otherwise and SQS by the stand-in; Kinesis and the Lambda
 * mappings API by their routes, tried before this one. A call to any other service (or an
 * operation no route took) is answered with the error its protocol's clients expect for an
 * operation that does not exist — UnknownOperationException for the JSON protocols, InvalidAction
 * for Query, a 404 UnknownOperationException for REST APIs — never left to hang or to reach the
 * stand-in, which would read it as an S3 request.
 */
import { randomUUID } from 'node:crypto';
import { inspect } from 'node:util';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { LOCAL_ACCOUNT_ID, LOCAL_REGION } from '../../client-config';
import type { LogSink } from '../lambda/invoke-contract';
import { classifyRequest } from './aws-request';
import {
  QueryError,
  answerQuery,
  invalidAction,
  parseQueryParams,
  queryErrorXml,
  sendXml,
  signingScope,
  type QueryService,
} from '../query-protocol';
import { IamStore } from '../iam/iam-store';
import { iamService } from '../iam/iam-api';
import { stsService } from '../sts/sts-api';
import { logsService } from '../logs/logs-api';
import { ecrService } from '../ecr/ecr-api';
import type { LocalRegistry } from '../ecr/registry-process';
import { answerJson, JsonError, sendJsonError, unknownOperation, type JsonService } from '../json-protocol';
import { createBucketConfig, type BucketConfig } from '../s3/bucket-config';
import type { BucketNotifications } from '../s3/bucket-notifications';
import { readBody } from '../http-io';
import { cloudwatchService } from '../cloudwatch/cloudwatch-api';
import { eventsService } from '../events/events-api';
import { RuleScheduler } from '../events/rule-schedule';
import type { FunctionInvoker } from '../lambda/invoke-contract';
import { kmsService } from '../kms/kms-api';
import { snsService } from '../sns/sns-api';
import { standInTopics } from '../sns/sns-standin';

/** Services the stand-in serves (signing names); SNS topics are the control plane's (serveSns). */
const STAND_IN_SERVICES = new Set(['s3', 'sqs']);

/** A Query request larger than this is refused (IAM's largest document, a policy, is 10 KB). */
const MAX_QUERY_BYTES = 1024 * 1024;

/** The answer to a request body over MAX_QUERY_BYTES. */
function refuseTooLarge(res: ServerResponse): void {
  sendJsonError(res, new JsonError('RequestEntityTooLarge', `request body larger than ${MAX_QUERY_BYTES} bytes`, 413));
}

/** What a handler threw, for the log: an Error as `Name: message`, anything else as Node renders it. */
function faultText(fault: unknown): string {
  return fault instanceof Error ? String(fault) : inspect(fault);
}

export interface ControlPlaneOptions {
  /** The stand-in's endpoint (asked whether buckets exist). */
  upstream: string;
  /** @default '000000000000' */
  accountId?: string;
  /** Region in the ARNs of regional resources (log groups). @default 'us-east-1' */
  region?: string;
  /** @default no logging */
  logSink?: LogSink;
  /** Invokes the function a schedule rule's target names (rule-schedule.ts). @default none: rules do not fire */
  invoker?: FunctionInvoker;
  /** The registry behind ECR. @default none: ECR calls are refused, naming what to install */
  registry?: LocalRegistry;
  /** Serves the buckets' `?notification` sub-resource. @default none: answered NotImplemented */
  bucketNotifications?: BucketNotifications;
  /** The IAM state served (shared with the gateway's authorization and the mappings API). @default a new, empty one */
  iam?: IamStore;
  /** The bucket sub-resources (shared with the gateway's authorization). @default new ones over `upstream` */
  bucketConfig?: BucketConfig;
}

/**
 * Answers a request the control plane owns (true), or leaves it to the gateway's next step (false);
 * stop() ends what runs on its own (the schedule rules' timer).
 */
export type ControlPlaneStep = ((req: IncomingMessage, res: ServerResponse) => boolean) & { stop(): void };

/** The gateway step of the control plane (see the file comment): IAM, STS, Logs, bucket sub-resources. */
export function controlPlaneRoute(opts: ControlPlaneOptions): ControlPlaneStep {
  const accountId = opts.accountId ?? LOCAL_ACCOUNT_ID;
  const log: LogSink = opts.logSink ?? (() => {});
  const region = opts.region ?? LOCAL_REGION;
  const queryServices: Record<string, QueryService> = {
    iam: iamService(opts.iam ?? new IamStore(accountId)),
    sts: stsService(accountId),
    monitoring: cloudwatchService(region, accountId),
  };
  const events = eventsService(region, accountId);
  const jsonServices: Record<string, JsonService> = {
    logs: logsService(region, accountId),
    kms: kmsService(region, accountId),
    events,
    ecr: ecrService({ accountId, region, registry: opts.registry }),
  };
  const scheduler = new RuleScheduler({
    rules: () => events.schedules(),
    invoker: opts.invoker,
    region,
    accountId,
    logSink: log,
  });
  scheduler.start();
  const sns = snsService(region, accountId);
  const snsStandIn = standInTopics(opts.upstream);
  const bucketConfig =
    opts.bucketConfig ?? createBucketConfig({ upstream: opts.upstream, notifications: opts.bucketNotifications });

  /** Logs a refusal the service answered: at error level, with what was thrown, when a handler threw. */
  function logRefusal(
    service: string,
    request: { operation: string } | { action: string },
    error: { code: string; message: string },
    fault: unknown,
  ): void {
    log({
      event: 'controlplane.refused',
      level: fault ? 'error' : 'warn',
      service,
      ...request,
      code: error.code,
      message: error.message,
      ...(fault ? { fault: faultText(fault) } : {}),
    });
  }

  async function serveJson(
    req: IncomingMessage,
    res: ServerResponse,
    service: string,
    definition: JsonService,
  ): Promise<void> {
    const body = await readBody(req, MAX_QUERY_BYTES);
    if (body === undefined) return refuseTooLarge(res);
    const outcome = await answerJson(res, definition, String(req.headers['x-amz-target'] ?? ''), body.toString('utf8'));
    if (outcome.error) logRefusal(service, { operation: outcome.operation }, outcome.error, outcome.fault);
  }

  async function serveQuery(
    req: IncomingMessage,
    res: ServerResponse,
    service: string,
    definition: QueryService,
  ): Promise<void> {
    const params = await queryParamsOf(req);
    if (!params) return refuseTooLarge(res);
    const outcome = answerQuery(res, definition, params);
    if (outcome.error) logRefusal(service, { action: outcome.action }, outcome.error, outcome.fault);
  }

  /**
   * SNS: topic management answered here (sns-api.ts), each topic created or deleted in the stand-in
   * too (created first, so it can take messages once CreateTopic answers); other actions (Publish,
   * Subscribe, …) forwarded to the stand-in.
   */
  async function serveSns(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readBody(req, MAX_QUERY_BYTES);
    if (body === undefined) return refuseTooLarge(res);
    const params = parseQueryParams(body.toString('utf8'));
    const action = params.Action ?? '';
    if (!Object.hasOwn(sns.operations, action)) return snsStandIn.forward(req, res, body);
    if (action === 'CreateTopic' && createsTopic(params)) await snsStandIn.create(params, req.headers);
    const outcome = answerQuery(res, sns, params);
    if (outcome.error) logRefusal('sns', { action }, outcome.error, outcome.fault);
    else if (action === 'DeleteTopic') await snsStandIn.delete(params.TopicArn ?? '', req.headers);
  }

  /** True when CreateTopic takes `params` (it is idempotent: answerQuery then repeats it, or its refusal). */
  function createsTopic(params: Record<string, string>): boolean {
    try {
      sns.operations.CreateTopic(params);
      return true;
    } catch {
      return false;
    }
  }

  async function refuseUnknown(req: IncomingMessage, res: ServerResponse, service: string): Promise<void> {
    const contentType = (req.headers['content-type'] ?? '').toLowerCase();
    const target = String(req.headers['x-amz-target'] ?? '');
    if (target || contentType.includes('x-amz-json') || contentType.includes('cbor')) {
      req.resume();
      const operation = target.split('.').pop() || 'Unknown';
      log({ event: 'controlplane.unknown_operation', level: 'warn', service, operation, protocol: 'json' });
      return sendJsonError(res, unknownOperation(`${service}:${operation}`));
    }
    if (contentType.includes('x-www-form-urlencoded')) {
      const params = (await queryParamsOf(req)) ?? {};
      log({
        event: 'controlplane.unknown_operation',
        level: 'warn',
        service,
        operation: params.Action,
        protocol: 'query',
      });
      const requestId = randomUUID();
      const error: QueryError = invalidAction(params.Action, params.Version);
      return sendXml(res, error.status, queryErrorXml(error, requestId), requestId);
    }
    req.resume();
    const path = (req.url ?? '/').split('?')[0];
    log({
      event: 'controlplane.unknown_operation',
      level: 'warn',
      service,
      operation: `${req.method} ${path}`,
      protocol: 'rest',
    });
    return sendJsonError(
      res,
      new JsonError('UnknownOperationException', unknownOperation(`${service}: ${req.method} ${path}`).message, 404),
    );
  }

  const step = (req: IncomingMessage, res: ServerResponse): boolean => {
    const scope = signingScope(req);
    if (!scope) return false;
    if (STAND_IN_SERVICES.has(scope.service)) {
      return (
        scope.service === 's3' &&
        bucketConfig.route(req, res, classifyRequest(req.method ?? 'GET', req.url ?? '/', req.headers))
      );
    }
    const query = queryServices[scope.service];
    const json = jsonServices[scope.service];
    const served =
      scope.service === 'sns'
        ? serveSns(req, res)
        : query
          ? serveQuery(req, res, scope.service, query)
          : json && req.headers['x-amz-target']
            ? serveJson(req, res, scope.service, json)
            : refuseUnknown(req, res, scope.service);
    served.catch((err: unknown) => {
      log({ event: 'controlplane.error', level: 'error', service: scope.service, error: (err as Error).message });
      if (!res.headersSent) sendJsonError(res, new JsonError('InternalFailure', (err as Error).message, 500));
      else res.destroy();
    });
    return true;
  };
  return Object.assign(step, { stop: () => scheduler.stop() });
}

/**
 * A Query request's parameters: its form body (POST) or its query string (GET); undefined when the body is too large.
 */
async function queryParamsOf(req: IncomingMessage): Promise<Record<string, string> | undefined> {
  if (req.method === 'GET') return parseQueryParams((req.url ?? '').split('?')[1] ?? '');
  const body = await readBody(req, MAX_QUERY_BYTES);
  return body === undefined ? undefined : parseQueryParams(body.toString('utf8'));
}
