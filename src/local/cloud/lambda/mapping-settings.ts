/**
 * CreateEventSourceMapping / UpdateEventSourceMapping input, checked and resolved the way Lambda
 * does it for SQS and Kinesis sources: AWS's defaults per source (batch size 10 for SQS, 100 for
 * Kinesis), AWS's refusals with its error types and messages, and the settings echoed back as
 * Lambda's EventSourceMappingConfiguration (only what was set, so `terraform plan` after apply
 * finds what it applied). Pure: no state, no I/O.
 */

/** A Lambda API refusal: the HTTP status, the error type (`x-amzn-errortype`) and AWS's message. */
export class LambdaApiError extends Error {
  /** @param status @default 400 */
  constructor(
    readonly type: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

/** InvalidParameterValueException (400), Lambda's refusal of a bad setting. */
export const invalidParameter = (message: string): LambdaApiError =>
  new LambdaApiError('InvalidParameterValueException', message);

/** The kinds of event source the local cloud maps. */
export type SourceKind = 'sqs' | 'kinesis';

/** One filter of FilterCriteria: an event pattern as JSON text. */
export interface MappingFilter {
  Pattern?: string;
}

/** The settings of a mapping, AWS's defaults applied (the names are the API's). */
export interface MappingSettings {
  BatchSize: number;
  MaximumBatchingWindowInSeconds: number;
  FunctionResponseTypes: 'ReportBatchItemFailures'[];
  /** Unset: Lambda scales the pollers itself (the answer then carries no ScalingConfig). */
  MaximumConcurrency?: number;
  FilterCriteria?: { Filters: MappingFilter[] };
  /** Kinesis only. */
  StartingPosition?: 'LATEST' | 'TRIM_HORIZON';
  ParallelizationFactor?: number;
  BisectBatchOnFunctionError?: boolean;
  MaximumRetryAttempts?: number;
  MaximumRecordAgeInSeconds?: number;
  TumblingWindowInSeconds?: number;
  OnFailureDestination?: string;
}

/** The source an ARN names: SQS (`arn:aws:sqs:…`) or Kinesis (`arn:aws:kinesis:…:stream/…`). */
export function sourceKindOf(eventSourceArn: unknown): SourceKind {
  if (typeof eventSourceArn !== 'string' || eventSourceArn === '')
    throw invalidParameter('Unrecognized event source, must be kinesis, dynamodb stream, sqs, msk, mq, or documentdb');
  const service = eventSourceArn.split(':')[2];
  if (service === 'sqs') return 'sqs';
  if (service === 'kinesis' && eventSourceArn.includes(':stream/')) return 'kinesis';
  throw invalidParameter(
    `Unrecognized event source ${eventSourceArn}: the local cloud maps SQS queues and Kinesis streams`,
  );
}

/** How Lambda's validation message states a range. */
const rangeText = (min: number, max: number): string =>
  min <= -1 ? `between ${min} and ${max}` : `greater than or equal to ${min}`;

/** An integer field, or undefined when absent; refuses other values with Lambda's validation message. */
function intField(body: Record<string, unknown>, field: string, min: number, max: number): number | undefined {
  const value = body[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max)
    throw new LambdaApiError(
      'ValidationException',
      `1 validation error detected: Value '${JSON.stringify(value)}' at '${field[0].toLowerCase()}${field.slice(1)}' ` +
        `failed to satisfy constraint: Member must have value ${rangeText(min, max)}`,
    );
  return value;
}

function boolField(body: Record<string, unknown>, field: string): boolean | undefined {
  const value = body[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'boolean') throw invalidParameter(`${field} must be true or false`);
  return value;
}

function responseTypes(value: unknown): 'ReportBatchItemFailures'[] | undefined {
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value) || value.some((v) => v !== 'ReportBatchItemFailures'))
    throw new LambdaApiError(
      'ValidationException',
      `1 validation error detected: Value '${JSON.stringify(value)}' at 'functionResponseTypes' failed to satisfy ` +
        'constraint: Member must satisfy constraint: [Member must satisfy enum value set: [ReportBatchItemFailures]]',
    );
  return value.length > 0 ? ['ReportBatchItemFailures'] : [];
}

function filterCriteria(value: unknown): MappingSettings['FilterCriteria'] {
  if (value === undefined || value === null) return undefined;
  const filters = (value as { Filters?: unknown }).Filters;
  if (filters === undefined || filters === null) return undefined;
  if (!Array.isArray(filters) || filters.length > 10)
    throw invalidParameter('FilterCriteria.Filters must be a list of at most 10 filters');
  const checked = filters.map((f: unknown) => {
    const pattern = (f as MappingFilter | null)?.Pattern;
    if (pattern !== undefined && typeof pattern !== 'string') throw invalidParameter('Filter Pattern must be a string');
    if (pattern) {
      try {
        JSON.parse(pattern);
      } catch {
        throw invalidParameter(`Invalid filter pattern definition.`);
      }
    }
    return pattern === undefined ? {} : { Pattern: pattern };
  });
  return checked.length > 0 ? { Filters: checked } : undefined;
}

function maximumConcurrency(value: unknown): number | undefined {
  if (value === undefined || value === null) return undefined;
  return intField(value as Record<string, unknown>, 'MaximumConcurrency', 2, 1000);
}

function onFailureDestination(value: unknown): string | undefined {
  const destination = (value as { OnFailure?: { Destination?: unknown } } | undefined)?.OnFailure?.Destination;
  if (destination === undefined || destination === null || destination === '') return undefined;
  if (typeof destination !== 'string') throw invalidParameter('DestinationConfig.OnFailure.Destination must be an ARN');
  return destination;
}

/** Lambda's rule: more than 10 records per SQS batch needs a batching window. */
function checkSqsBatch(settings: MappingSettings): void {
  if (settings.BatchSize > 10 && settings.MaximumBatchingWindowInSeconds < 1)
    throw invalidParameter(
      'Maximum batch window in seconds must be greater than 0 if maximum batch size is greater than 10',
    );
}

/** Settings fields of CreateEventSourceMapping that an SQS mapping refuses (they belong to streams). */
const STREAM_ONLY = [
  'StartingPosition',
  'StartingPositionTimestamp',
  'ParallelizationFactor',
  'BisectBatchOnFunctionError',
  'MaximumRetryAttempts',
  'MaximumRecordAgeInSeconds',
  'TumblingWindowInSeconds',
] as const;

/** The settings of a new mapping on `kind`, AWS's defaults applied; throws LambdaApiError. */
export function settingsForCreate(kind: SourceKind, body: Record<string, unknown>): MappingSettings {
  const common = {
    FunctionResponseTypes: responseTypes(body.FunctionResponseTypes) ?? [],
    MaximumConcurrency: maximumConcurrency(body.ScalingConfig),
    FilterCriteria: filterCriteria(body.FilterCriteria),
  };
  if (kind === 'sqs') {
    if (body.StartingPosition !== undefined && body.StartingPosition !== null)
      throw invalidParameter('StartingPosition is not valid for SQS event sources.');
    const given = STREAM_ONLY.find((field) => body[field] !== undefined && body[field] !== null);
    if (given) throw invalidParameter(`Unsupported ${given} parameter for given event source mapping type.`);
    if (onFailureDestination(body.DestinationConfig))
      throw invalidParameter('Unsupported DestinationConfig parameter for given event source mapping type.');
    const settings: MappingSettings = {
      ...common,
      BatchSize: intField(body, 'BatchSize', 1, 10000) ?? 10,
      MaximumBatchingWindowInSeconds: intField(body, 'MaximumBatchingWindowInSeconds', 0, 300) ?? 0,
    };
    checkSqsBatch(settings);
    return settings;
  }
  const position = body.StartingPosition;
  if (position !== 'LATEST' && position !== 'TRIM_HORIZON')
    throw invalidParameter(
      position === undefined || position === null
        ? 'StartingPosition is required for Kinesis event sources.'
        : `Unsupported starting position ${JSON.stringify(position)}: ` +
            'the local cloud reads from LATEST or TRIM_HORIZON',
    );
  return {
    ...common,
    StartingPosition: position,
    BatchSize: intField(body, 'BatchSize', 1, 10000) ?? 100,
    MaximumBatchingWindowInSeconds: intField(body, 'MaximumBatchingWindowInSeconds', 0, 300) ?? 0,
    ParallelizationFactor: intField(body, 'ParallelizationFactor', 1, 10) ?? 1,
    BisectBatchOnFunctionError: boolField(body, 'BisectBatchOnFunctionError') ?? false,
    MaximumRetryAttempts: intField(body, 'MaximumRetryAttempts', -1, 10000) ?? -1,
    MaximumRecordAgeInSeconds: checkRecordAge(intField(body, 'MaximumRecordAgeInSeconds', -1, 604800)) ?? -1,
    TumblingWindowInSeconds: intField(body, 'TumblingWindowInSeconds', 0, 900) ?? 0,
    OnFailureDestination: onFailureDestination(body.DestinationConfig),
  };
}

function checkRecordAge(age: number | undefined): number | undefined {
  if (age !== undefined && age !== -1 && age < 60)
    throw new LambdaApiError(
      'ValidationException',
      `1 validation error detected: Value '${age}' at 'maximumRecordAgeInSeconds' failed to satisfy constraint: ` +
        'Member must have value greater than or equal to 60',
    );
  return age;
}

/**
 * The settings after UpdateEventSourceMapping: each field the body holds replaces the current one
 * (an empty ScalingConfig or FilterCriteria removes it, as on AWS); throws LambdaApiError.
 */
export function settingsForUpdate(
  kind: SourceKind,
  current: MappingSettings,
  body: Record<string, unknown>,
): MappingSettings {
  if (kind === 'sqs') {
    const given = STREAM_ONLY.find((field) => body[field] !== undefined && body[field] !== null);
    if (given) throw invalidParameter(`Unsupported ${given} parameter for given event source mapping type.`);
  }
  const next: MappingSettings = { ...current };
  const batch = intField(body, 'BatchSize', 1, 10000);
  if (batch !== undefined) next.BatchSize = batch;
  const window = intField(body, 'MaximumBatchingWindowInSeconds', 0, 300);
  if (window !== undefined) next.MaximumBatchingWindowInSeconds = window;
  const types = responseTypes(body.FunctionResponseTypes);
  if (types !== undefined) next.FunctionResponseTypes = types;
  if ('ScalingConfig' in body) next.MaximumConcurrency = maximumConcurrency(body.ScalingConfig);
  if ('FilterCriteria' in body) next.FilterCriteria = filterCriteria(body.FilterCriteria);
  if (kind === 'sqs') {
    checkSqsBatch(next);
    return next;
  }
  const factor = intField(body, 'ParallelizationFactor', 1, 10);
  if (factor !== undefined) next.ParallelizationFactor = factor;
  const bisect = boolField(body, 'BisectBatchOnFunctionError');
  if (bisect !== undefined) next.BisectBatchOnFunctionError = bisect;
  const retries = intField(body, 'MaximumRetryAttempts', -1, 10000);
  if (retries !== undefined) next.MaximumRetryAttempts = retries;
  const age = checkRecordAge(intField(body, 'MaximumRecordAgeInSeconds', -1, 604800));
  if (age !== undefined) next.MaximumRecordAgeInSeconds = age;
  const tumbling = intField(body, 'TumblingWindowInSeconds', 0, 900);
  if (tumbling !== undefined) next.TumblingWindowInSeconds = tumbling;
  if ('DestinationConfig' in body) next.OnFailureDestination = onFailureDestination(body.DestinationConfig);
  return next;
}

/** The settings as Lambda's EventSourceMappingConfiguration shows them for `kind`. */
export function settingsConfiguration(kind: SourceKind, s: MappingSettings): Record<string, unknown> {
  const shown: Record<string, unknown> = {
    BatchSize: s.BatchSize,
    MaximumBatchingWindowInSeconds: s.MaximumBatchingWindowInSeconds,
    FunctionResponseTypes: s.FunctionResponseTypes,
    ...(s.MaximumConcurrency !== undefined ? { ScalingConfig: { MaximumConcurrency: s.MaximumConcurrency } } : {}),
    ...(s.FilterCriteria ? { FilterCriteria: s.FilterCriteria } : {}),
  };
  if (kind === 'sqs') return shown;
  return {
    ...shown,
    StartingPosition: s.StartingPosition,
    ParallelizationFactor: s.ParallelizationFactor,
    BisectBatchOnFunctionError: s.BisectBatchOnFunctionError,
    MaximumRetryAttempts: s.MaximumRetryAttempts,
    MaximumRecordAgeInSeconds: s.MaximumRecordAgeInSeconds,
    TumblingWindowInSeconds: s.TumblingWindowInSeconds,
    DestinationConfig: { OnFailure: s.OnFailureDestination ? { Destination: s.OnFailureDestination } : {} },
  };
}
