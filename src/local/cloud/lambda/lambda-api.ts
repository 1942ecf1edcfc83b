/**
 * The part of Lambda's control API (2015-03-31, REST + JSON) that concerns the local event source
 * mappings (the SQS ones and the Kinesis one): ListEventSourceMappings, GetEventSourceMapping, and
 * UpdateEventSourceMapping's `Enabled`. Served by the gateway on the same endpoint as S3 and SQS, so
 * `aws lambda update-event-source-mapping --uuid U --no-enabled` pauses a stage exactly as on AWS.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import type { GatewayRoute, RouteParams } from '../gateway/gateway';
import { sendJson } from '../http-io';
import type { SwitchableMapping } from './queue-mapping-control';
import type { SwitchableStreamMapping } from './stream-mapping-control';

/** A mapping the API serves: an SQS one or the Kinesis one. */
export type ServedMapping = SwitchableMapping | SwitchableStreamMapping;

const isStreamMapping = (mapping: ServedMapping): mapping is SwitchableStreamMapping =>
  'kind' in mapping && mapping.kind === 'kinesis';

/** The queue's or the stream's ARN. */
function eventSourceArnOf(mapping: ServedMapping): string {
  return isStreamMapping(mapping) ? mapping.eventSourceArn : mapping.options.queueArn;
}

const MAPPINGS_PATH = '/2015-03-31/event-source-mappings';

/** Lambda's EventSourceMappingConfiguration for a Kinesis mapping, the fields that apply locally. */
export function streamMappingConfiguration(mapping: SwitchableStreamMapping): Record<string, unknown> {
  const s = mapping.settings;
  return {
    UUID: mapping.uuid,
    StartingPosition: s.startingPosition,
    BatchSize: s.batchSize,
    MaximumBatchingWindowInSeconds: 0,
    ParallelizationFactor: s.parallelizationFactor,
    EventSourceArn: mapping.eventSourceArn,
    FunctionArn: mapping.functionArn,
    LastModified: mapping.lastModified().getTime() / 1000,
    LastProcessingResult: mapping.lastProcessingResult(),
    State: mapping.state(),
    // AWS's wording for stream mappings (SQS mappings say USER_INITIATED).
    StateTransitionReason: 'User action',
    DestinationConfig: { OnFailure: mapping.onFailureArn ? { Destination: mapping.onFailureArn } : {} },
    MaximumRecordAgeInSeconds: s.maximumRecordAgeSeconds,
    BisectBatchOnFunctionError: s.bisectBatchOnFunctionError,
    MaximumRetryAttempts: s.maximumRetryAttempts,
    TumblingWindowInSeconds: 0,
    FunctionResponseTypes: s.functionResponseTypes,
  };
}

/** Lambda's EventSourceMappingConfiguration, the fields that apply locally. */
export function mappingConfiguration(
  mapping: ServedMapping,
  region: string,
  accountId = '000000000000',
): Record<string, unknown> {
  if (isStreamMapping(mapping)) return streamMappingConfiguration(mapping);
  const o = mapping.options;
  return {
    UUID: mapping.uuid,
    BatchSize: o.batchSize ?? 10,
    MaximumBatchingWindowInSeconds: o.maximumBatchingWindowSeconds ?? 0,
    EventSourceArn: o.queueArn,
    FunctionArn: `arn:aws:lambda:${region}:${accountId}:function:${mapping.functionName}`,
    LastModified: mapping.lastModified().getTime() / 1000,
    State: mapping.state(),
    StateTransitionReason: 'USER_INITIATED',
    FunctionResponseTypes: o.functionResponseTypes ?? ['ReportBatchItemFailures'],
    ScalingConfig: { MaximumConcurrency: o.maximumConcurrency ?? 2 },
  };
}

/** The headers of every Lambda API answer: a request id, and the error type of an error. */
function lambdaHeaders(errorType?: string): Record<string, string> {
  return { 'x-amzn-requestid': randomUUID(), ...(errorType ? { 'x-amzn-errortype': errorType } : {}) };
}

/** A Lambda REST API error: `{Type, message}` and the `x-amzn-errortype` header. */
function fail(res: ServerResponse, status: number, type: string, message: string): void {
  sendJson(res, status, { Type: status >= 500 ? 'Service' : 'User', message }, lambdaHeaders(type));
}

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8').trim();
  if (!text) return {};
  const parsed: unknown = JSON.parse(text);
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed))
    throw new SyntaxError('body is not a JSON object');
  return parsed as Record<string, unknown>;
}

/** Settings UpdateEventSourceMapping accepts on AWS that the local mappings cannot change while running. */
const FIXED_SETTINGS = [
  'BatchSize',
  'MaximumBatchingWindowInSeconds',
  'FunctionResponseTypes',
  'ScalingConfig',
  'FunctionName',
  'ParallelizationFactor',
  'BisectBatchOnFunctionError',
  'MaximumRetryAttempts',
  'MaximumRecordAgeInSeconds',
  'DestinationConfig',
  'TumblingWindowInSeconds',
];

/**
 * The routes serving the mappings' API: `/2015-03-31/event-source-mappings` (list) and
 * `/2015-03-31/event-source-mappings/<uuid>` (get, update). @default region 'us-east-1'
 */
export function lambdaMappingsRoutes(mappings: () => readonly ServedMapping[], region = 'us-east-1'): GatewayRoute[] {
  function list(req: IncomingMessage, res: ServerResponse): void {
    const method = req.method ?? 'GET';
    if (method !== 'GET')
      return fail(res, 405, 'InvalidParameterValueException', `${method} is not supported on ${MAPPINGS_PATH} locally`);
    const query = new URL(req.url ?? '/', 'http://local').searchParams;
    const fn = query.get('FunctionName');
    const arn = query.get('EventSourceArn');
    const listed = mappings().filter(
      (m) =>
        (!fn || fn === m.functionName || fn.endsWith(`:function:${m.functionName}`)) &&
        (!arn || arn === eventSourceArnOf(m)),
    );
    sendJson(res, 200, { EventSourceMappings: listed.map((m) => mappingConfiguration(m, region)) }, lambdaHeaders());
  }

  async function one(req: IncomingMessage, res: ServerResponse, uuid: string): Promise<void> {
    const method = req.method ?? 'GET';
    const mapping = mappings().find((m) => m.uuid === uuid);
    if (!mapping)
      return fail(
        res,
        404,
        'ResourceNotFoundException',
        `The resource you requested does not exist. (Service: Lambda, Status Code: 404, UUID: ${uuid})`,
      );
    if (method === 'GET') return sendJson(res, 200, mappingConfiguration(mapping, region), lambdaHeaders());
    if (method !== 'PUT')
      return fail(
        res,
        405,
        'InvalidParameterValueException',
        `${method} is not supported on an event source mapping locally`,
      );
    let body: Record<string, unknown>;
    try {
      body = await readJson(req);
    } catch (err) {
      return fail(
        res,
        400,
        'InvalidRequestContentException',
        `Could not parse request body into json: ${(err as Error).message}`,
      );
    }
    const fixed = FIXED_SETTINGS.filter((name) => name in body);
    if (fixed.length > 0)
      return fail(
        res,
        400,
        'InvalidParameterValueException',
        `locally only Enabled can be updated; restart resize-chain up to change ${fixed.join(', ')}`,
      );
    if ('Enabled' in body) {
      if (typeof body.Enabled !== 'boolean')
        return fail(res, 400, 'InvalidParameterValueException', 'Enabled must be true or false');
      // AWS answers at once with a transitional state; locally the change completes first (disabling
      // waits for batches in flight), so the answer already shows where it ended.
      await mapping.setEnabled(body.Enabled);
    }
    sendJson(res, 202, mappingConfiguration(mapping, region), lambdaHeaders());
  }

  const onError = (res: ServerResponse, err: Error): void => fail(res, 500, 'ServiceException', err.message);
  return [
    { method: 'ANY', path: MAPPINGS_PATH, handler: list, onError },
    {
      method: 'ANY',
      path: `${MAPPINGS_PATH}/*`,
      // `…/mappings/` lists too; the wildcard arrives decoded.
      handler: (req: IncomingMessage, res: ServerResponse, params: RouteParams) => {
        const uuid = (params['*'] ?? '').replace(/\/$/, '');
        return uuid ? one(req, res, uuid) : list(req, res);
      },
      onError,
    },
  ];
}
