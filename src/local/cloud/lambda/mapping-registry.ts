/**
 * Lambda's event source mappings as a control plane: CreateEventSourceMapping, Get, Update, Delete,
 * List and the mappings' tags, for SQS queues and Kinesis streams. A created mapping runs the local
 * emulators (event-source-mapping.ts for SQS, stream-mapping.ts for Kinesis) with the settings it
 * was given, invoking the function through the injected MappedFunctions; Update restarts it with the
 * new settings, Enabled=false stops its polling, Delete stops it and removes it.
 *
 * Validations happen where Lambda makes them, with its messages: the function must exist
 * (ResourceNotFoundException), the queue or stream too, the function's role must allow the poller's
 * reads (IAM evaluation over the local IAM), and a queue's visibility timeout must not be below the
 * function's timeout. The local chain's own mappings (started by `start`/`up`) are adopted: listed
 * and served by the same API, with Enabled the one setting they take.
 */
import { randomUUID } from 'node:crypto';
import { GetQueueAttributesCommand, GetQueueUrlCommand, QueueDoesNotExist, type SQSClient } from '@aws-sdk/client-sqs';
import type { IamStore } from '../iam/iam-store';
import type { LocalStream } from '../kinesis/stream';
import type { InvokeFn, LogSink } from './invoke-contract';
import {
  LambdaApiError,
  invalidParameter,
  settingsConfiguration,
  settingsForCreate,
  settingsForUpdate,
  sourceKindOf,
  type MappingSettings,
  type SourceKind,
} from './mapping-settings';
import { destinationAccessRefusal, sourceAccessRefusal, streamReadDenial } from './mapping-role-check';
import { filteredInvoke } from './mapping-filters';
import { startSwitchableMapping, type SwitchableMapping } from './queue-mapping-control';
import { startSwitchableStreamMapping, type SwitchableStreamMapping } from './stream-mapping-control';
import { sqsFailureDestination, type FailureDestination } from './stream-mapping';

/** What the mappings need to know about a function. */
export interface MappedFunction {
  /**
   * `arn:aws:lambda:<region>:<account>:function:<name>`, with the qualifier (alias or version) when
   * the mapping names one, as Lambda answers a mapping's FunctionArn.
   */
  functionArn: string;
  timeoutSeconds: number;
  /** The execution role's ARN; undefined for a function without one (the local chain's own with auth off). */
  role?: string;
}

/** The functions mappings can invoke (the functions API's store, or the local chain's functions). */
export interface MappedFunctions {
  /** The function a name, a function ARN or a partial ARN (`<account>:function:<name>`) names, if it exists. */
  configuration(nameOrArn: string): MappedFunction | undefined;
  /** Invokes the function synchronously, as a mapping does. */
  invoker(functionArn: string): InvokeFn;
}

/** The function name of a function ARN, qualified or not. */
function functionNameOf(functionArn: string): string {
  return functionArn.split(':function:').pop()!.split(':')[0];
}

/** A mapping the registry runs: one it created, or one of the local chain's adopted. */
export type RunningMapping = SwitchableMapping | SwitchableStreamMapping;

export interface MappingRegistryOptions {
  /** Client of the local endpoint: queue lookups, and the SQS pollers. */
  sqs: SQSClient;
  functions: MappedFunctions;
  /** The local IAM, whose roles' policies decide whether a function's role may read its source. */
  iam: IamStore;
  /** The streams Kinesis mappings may read. @default none */
  streams?: () => readonly LocalStream[];
  /** @default 'us-east-1' */
  region?: string;
  /** @default '000000000000' */
  accountId?: string;
  /** Receives the mappings' log lines. @default dropped */
  logSink?: LogSink;
  /**
   * The SQS client a queue mapping polls with for a function of execution role `roleArn`: signed
   * as that role (Lambda's pollers act with the function's role, so its policies and the queue's
   * decide ReceiveMessage and DeleteMessage). @default `sqs` for every mapping
   */
  pollerSqs?: (roleArn: string) => SQSClient;
  /**
   * Hold each read of a Kinesis mapping to its function's role (Lambda reads the stream as that
   * role): a read the role may no longer make waits, logged (StreamMappingOptions.readDenied).
   * @default false (the role is checked once, when the mapping is created)
   */
  authorizeStreamReads?: boolean;
  /** Long-poll wait of the SQS pollers (short so disabling is quick). @default 1 */
  pollWaitSeconds?: number;
}

/** A mapping created through the API. */
interface CreatedMapping {
  readonly uuid: string;
  readonly kind: SourceKind;
  readonly eventSourceArn: string;
  readonly functionArn: string;
  settings: MappingSettings;
  running: RunningMapping;
  tags: Map<string, string>;
  /** Lambda's transitional states the API shows while a change is under way. */
  transition?: 'Updating' | 'Deleting';
}

/** Lambda's answer to a UUID it does not know. */
function mappingNotFound(uuid: string): LambdaApiError {
  return new LambdaApiError(
    'ResourceNotFoundException',
    `The resource you requested does not exist. (Service: Lambda, Status Code: 404, UUID: ${uuid})`,
    404,
  );
}

const isStream = (mapping: RunningMapping): mapping is SwitchableStreamMapping =>
  'kind' in mapping && mapping.kind === 'kinesis';

/** The control plane of event source mappings (see the file comment). */
export class MappingRegistry {
  private readonly created = new Map<string, CreatedMapping>();
  private readonly adopted = new Map<string, RunningMapping>();
  /** Tags of the adopted mappings (created mappings hold their own). */
  private readonly adoptedTags = new Map<string, Map<string, string>>();
  private readonly region: string;
  private readonly accountId: string;

  constructor(private readonly opts: MappingRegistryOptions) {
    this.region = opts.region ?? 'us-east-1';
    this.accountId = opts.accountId ?? '000000000000';
  }

  /** Serves a mapping started elsewhere (the local chain's) through this API. */
  adopt(mapping: RunningMapping): void {
    this.adopted.set(mapping.uuid, mapping);
    this.adoptedTags.set(mapping.uuid, new Map());
  }

  /** The event source mapping ARN of a UUID. */
  mappingArn(uuid: string): string {
    return `arn:aws:lambda:${this.region}:${this.accountId}:event-source-mapping:${uuid}`;
  }

  /** CreateEventSourceMapping: validates as Lambda does, starts the mapping, answers its configuration ("Creating"). */
  async create(body: Record<string, unknown>): Promise<Record<string, unknown>> {
    const kind = sourceKindOf(body.EventSourceArn);
    const eventSourceArn = body.EventSourceArn as string;
    const fn = this.functionOf(body.FunctionName);
    const settings = settingsForCreate(kind, body);
    const enabled = body.Enabled === undefined || body.Enabled === null ? true : body.Enabled;
    if (typeof enabled !== 'boolean') throw invalidParameter('Enabled must be true or false');
    const existing = this.list().find((m) => m.EventSourceArn === eventSourceArn && m.FunctionArn === fn.functionArn);
    if (existing)
      throw new LambdaApiError(
        'ResourceConflictException',
        `The event source arn (" ${eventSourceArn} ") and function (" ${functionNameOf(fn.functionArn)} ") ` +
          'provided mapping already exists. Please update or delete the existing mapping with UUID ' +
          String(existing.UUID),
        409,
      );
    const uuid = randomUUID();
    const running =
      kind === 'sqs'
        ? await this.startQueueMapping(uuid, eventSourceArn, fn, settings, enabled)
        : await this.startStreamMapping(uuid, eventSourceArn, fn, settings, enabled);
    const mapping: CreatedMapping = {
      uuid,
      kind,
      eventSourceArn,
      functionArn: fn.functionArn,
      settings,
      running,
      tags: new Map(Object.entries(tagsOf(body.Tags))),
    };
    this.created.set(uuid, mapping);
    this.log({ event: 'esm.created', uuid, eventSourceArn, functionArn: fn.functionArn, enabled, ...settings });
    return { ...this.configurationOf(mapping), State: 'Creating', StateTransitionReason: 'USER_INITIATED' };
  }

  /** GetEventSourceMapping. */
  get(uuid: string): Record<string, unknown> {
    const created = this.created.get(uuid);
    if (created) return this.configurationOf(created);
    const adopted = this.adopted.get(uuid);
    if (adopted) return adoptedConfiguration(adopted, this.region, this.accountId, this.mappingArn(uuid));
    throw mappingNotFound(uuid);
  }

  /** ListEventSourceMappings, filtered by function (name or ARN) and source ARN as Lambda filters. */
  list(filter: { functionName?: string | null; eventSourceArn?: string | null } = {}): Record<string, unknown>[] {
    const all = [...this.adopted.keys(), ...this.created.keys()].map((uuid) => this.get(uuid));
    const fnArn = filter.functionName ? this.functionArnFilter(filter.functionName) : undefined;
    return all.filter(
      (m) =>
        (!fnArn || m.FunctionArn === fnArn) && (!filter.eventSourceArn || m.EventSourceArn === filter.eventSourceArn),
    );
  }

  /**
   * UpdateEventSourceMapping: new settings restart the poller with them (the batch in flight
   * finishes first); Enabled switches polling. Answers the configuration once the change is done.
   */
  async update(uuid: string, body: Record<string, unknown>): Promise<Record<string, unknown>> {
    const adopted = this.adopted.get(uuid);
    if (adopted) return this.updateAdopted(adopted, body);
    const mapping = this.created.get(uuid);
    if (!mapping || mapping.transition === 'Deleting') throw mappingNotFound(uuid);
    if (body.FunctionName !== undefined && body.FunctionName !== null) {
      const fn = this.functionOf(body.FunctionName);
      if (fn.functionArn !== mapping.functionArn)
        throw invalidParameter('the local cloud does not move a mapping to another function: delete it and create one');
    }
    const enabled = body.Enabled ?? undefined;
    if (enabled !== undefined && typeof enabled !== 'boolean') throw invalidParameter('Enabled must be true or false');
    const settings = settingsForUpdate(mapping.kind, mapping.settings, body);
    const changed = JSON.stringify(settings) !== JSON.stringify(mapping.settings);
    mapping.transition = 'Updating';
    try {
      if (changed) {
        const wasEnabled = mapping.running.state() === 'Enabled' || mapping.running.state() === 'Enabling';
        await mapping.running.stop();
        const fn = this.functionOf(mapping.functionArn);
        const on = enabled ?? wasEnabled;
        mapping.running =
          mapping.kind === 'sqs'
            ? await this.startQueueMapping(uuid, mapping.eventSourceArn, fn, settings, on)
            : await this.startStreamMapping(uuid, mapping.eventSourceArn, fn, settings, on);
        mapping.settings = settings;
      } else if (enabled !== undefined) {
        await mapping.running.setEnabled(enabled);
      }
    } finally {
      mapping.transition = undefined;
    }
    this.log({ event: 'esm.updated', uuid, enabled: mapping.running.state(), ...mapping.settings });
    return this.configurationOf(mapping);
  }

  /** DeleteEventSourceMapping: answers "Deleting" at once; the mapping is gone once its poller stopped. */
  delete(uuid: string): Record<string, unknown> {
    const adopted = this.adopted.get(uuid);
    const mapping = this.created.get(uuid);
    if (!adopted && (!mapping || mapping.transition === 'Deleting')) throw mappingNotFound(uuid);
    const answer = { ...this.get(uuid), State: 'Deleting' };
    if (mapping) mapping.transition = 'Deleting';
    const running = adopted ?? mapping!.running;
    void running
      .stop()
      .catch((err: unknown) => this.log({ event: 'esm.stop_failed', level: 'error', uuid, error: String(err) }))
      .finally(() => {
        this.created.delete(uuid);
        this.adopted.delete(uuid);
        this.adoptedTags.delete(uuid);
        this.log({ event: 'esm.deleted', uuid });
      });
    return answer;
  }

  /** The tags of a mapping ARN, or undefined when no mapping has it. */
  tagsOf(arn: string): Map<string, string> | undefined {
    const uuid = arn.split(':event-source-mapping:')[1];
    if (!uuid || arn !== this.mappingArn(uuid)) return undefined;
    const created = this.created.get(uuid);
    if (created) return created.tags;
    return this.adoptedTags.get(uuid);
  }

  /** Stops every mapping (created and adopted). */
  async stopAll(): Promise<void> {
    await Promise.all([...this.created.values()].map((m) => m.running.stop()));
    await Promise.all([...this.adopted.values()].map((m) => m.stop()));
  }

  /** The mapping's running emulator (for tests and the chain's idleness checks). */
  running(uuid: string): RunningMapping | undefined {
    return this.created.get(uuid)?.running ?? this.adopted.get(uuid);
  }

  private functionOf(nameOrArn: unknown): MappedFunction {
    if (typeof nameOrArn !== 'string' || nameOrArn === '')
      throw new LambdaApiError(
        'ValidationException',
        "1 validation error detected: Value null at 'functionName' failed to satisfy constraint: " +
          'Member must not be null',
      );
    const fn = this.opts.functions.configuration(nameOrArn);
    if (!fn)
      throw new LambdaApiError(
        'ResourceNotFoundException',
        `Function not found: ${this.functionArnFilter(nameOrArn)}`,
        404,
      );
    return fn;
  }

  /** The function ARN (qualified when the name is: `name:alias`) a FunctionName filter names. */
  private functionArnFilter(nameOrArn: string): string {
    if (nameOrArn.startsWith('arn:')) return nameOrArn;
    const [name, qualifier] = nameOrArn.split(':function:').pop()!.split(':');
    return `arn:aws:lambda:${this.region}:${this.accountId}:function:${name}${qualifier ? `:${qualifier}` : ''}`;
  }

  /**
   * An SQS client acting as `role` (Lambda's pollers and on-failure sends); the service's for a
   * function without a role or when auth is off.
   */
  private pollerOf(role: string | undefined): SQSClient {
    return role && this.opts.pollerSqs ? this.opts.pollerSqs(role) : this.opts.sqs;
  }

  private checkRole(fn: MappedFunction, kind: SourceKind, sourceArn: string, sourcePolicy?: string): void {
    if (!fn.role) return;
    const refusal = sourceAccessRefusal(this.opts.iam, fn.role, kind, sourceArn, sourcePolicy);
    if (refusal) throw invalidParameter(refusal);
  }

  /** The queue's URL and the attributes the checks need; Lambda's refusal when it does not exist. */
  private async queueOf(queueArn: string): Promise<{ url: string; visibilityTimeout: number; policy?: string }> {
    const name = queueArn.split(':')[5];
    const missing = invalidParameter(
      'Error occurred while ReceiveMessage. SQS Error Code: AWS.SimpleQueueService.NonExistentQueue. ' +
        'SQS Error Message: The specified queue does not exist or you do not have access to it.',
    );
    if (!name) throw missing;
    try {
      const { QueueUrl } = await this.opts.sqs.send(new GetQueueUrlCommand({ QueueName: name }));
      const { Attributes } = await this.opts.sqs.send(
        new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['VisibilityTimeout', 'Policy'] }),
      );
      return {
        url: QueueUrl!,
        visibilityTimeout: Number(Attributes?.VisibilityTimeout ?? 30),
        policy: Attributes?.Policy,
      };
    } catch (err) {
      if (
        err instanceof QueueDoesNotExist ||
        (err as { name?: string }).name === 'AWS.SimpleQueueService.NonExistentQueue'
      )
        throw missing;
      throw err;
    }
  }

  private async startQueueMapping(
    uuid: string,
    queueArn: string,
    fn: MappedFunction,
    settings: MappingSettings,
    enabled: boolean,
  ): Promise<SwitchableMapping> {
    const queue = await this.queueOf(queueArn);
    this.checkRole(fn, 'sqs', queueArn, queue.policy);
    // Lambda's own refusal: a batch could become visible to a second poller while the first invocation still runs.
    if (queue.visibilityTimeout < fn.timeoutSeconds)
      throw invalidParameter(
        `Queue visibility timeout: ${queue.visibilityTimeout} seconds ` +
          `is less than Function timeout: ${fn.timeoutSeconds} seconds`,
      );
    return startSwitchableMapping({
      uuid,
      functionName: functionNameOf(fn.functionArn),
      enabled,
      sqs: this.pollerOf(fn.role),
      releaseSqs: this.opts.sqs,
      queueUrl: queue.url,
      queueArn,
      region: this.region,
      batchSize: settings.BatchSize,
      maximumBatchingWindowSeconds: settings.MaximumBatchingWindowInSeconds,
      maximumConcurrency: settings.MaximumConcurrency,
      functionResponseTypes: settings.FunctionResponseTypes,
      invoke: filteredInvoke(this.opts.functions.invoker(fn.functionArn), settings.FilterCriteria, 'sqs'),
      logSink: this.mappingLog(uuid),
      pollWaitSeconds: this.opts.pollWaitSeconds,
    });
  }

  private async startStreamMapping(
    uuid: string,
    streamArn: string,
    fn: MappedFunction,
    settings: MappingSettings,
    enabled: boolean,
  ): Promise<SwitchableStreamMapping> {
    const stream = (this.opts.streams?.() ?? []).find((s) => s.arn === streamArn);
    if (!stream) throw invalidParameter(`Stream not found: ${streamArn}`);
    this.checkRole(fn, 'kinesis', streamArn);
    const destination = settings.OnFailureDestination;
    if (destination && sourceKindOfDestination(destination) !== 'sqs')
      throw invalidParameter(`the local cloud sends on-failure records to SQS queues only, not ${destination}`);
    const role = fn.role;
    let onFailure: FailureDestination | undefined;
    if (destination) {
      const queue = await this.queueOf(destination);
      // Lambda sends failure records with the execution role, and refuses a destination it cannot send to.
      if (role) {
        const refusal = destinationAccessRefusal(this.opts.iam, role, destination, queue.policy);
        if (refusal) throw invalidParameter(refusal);
      }
      onFailure = sqsFailureDestination(this.pollerOf(role), queue.url);
    }
    return startSwitchableStreamMapping({
      uuid,
      functionName: functionNameOf(fn.functionArn),
      functionArn: fn.functionArn,
      enabled,
      stream,
      invoke: filteredInvoke(this.opts.functions.invoker(fn.functionArn), settings.FilterCriteria, 'kinesis'),
      ...(this.opts.authorizeStreamReads && role
        ? { readDenied: () => streamReadDenial(this.opts.iam, role, streamArn) }
        : {}),
      // Checkpoints are the mapping's own: a restart after an update resumes where it stood.
      consumerName: uuid,
      batchSize: settings.BatchSize,
      startingPosition: settings.StartingPosition,
      bisectBatchOnFunctionError: settings.BisectBatchOnFunctionError,
      maximumRetryAttempts: settings.MaximumRetryAttempts,
      maximumRecordAgeSeconds: settings.MaximumRecordAgeInSeconds,
      parallelizationFactor: settings.ParallelizationFactor,
      functionResponseTypes: settings.FunctionResponseTypes,
      onFailureArn: destination,
      onFailure,
      logSink: this.mappingLog(uuid),
    });
  }

  private configurationOf(m: CreatedMapping): Record<string, unknown> {
    const running = m.running;
    return {
      UUID: m.uuid,
      EventSourceMappingArn: this.mappingArn(m.uuid),
      EventSourceArn: m.eventSourceArn,
      FunctionArn: m.functionArn,
      ...settingsConfiguration(m.kind, m.settings),
      LastModified: running.lastModified().getTime() / 1000,
      ...(isStream(running) ? { LastProcessingResult: running.lastProcessingResult() } : {}),
      State: m.transition ?? running.state(),
      StateTransitionReason: m.kind === 'sqs' ? 'USER_INITIATED' : 'User action',
    };
  }

  private async updateAdopted(
    mapping: RunningMapping,
    body: Record<string, unknown>,
  ): Promise<Record<string, unknown>> {
    const fixed = ADOPTED_FIXED_SETTINGS.filter((name) => name in body);
    if (fixed.length > 0)
      throw invalidParameter(
        'this mapping belongs to the local chain: only Enabled can be updated; ' +
          `restart resize-chain up to change ${fixed.join(', ')}`,
      );
    if ('Enabled' in body) {
      if (typeof body.Enabled !== 'boolean') throw invalidParameter('Enabled must be true or false');
      // AWS answers at once with a transitional state; locally the change completes first (disabling
      // waits for batches in flight), so the answer already shows where it ended.
      await mapping.setEnabled(body.Enabled);
    }
    return this.get(mapping.uuid);
  }

  private mappingLog(uuid: string): LogSink {
    const sink = this.opts.logSink;
    return sink ? (line) => sink({ ...line, mapping: uuid }) : () => {};
  }

  private log(line: Record<string, unknown>): void {
    this.opts.logSink?.(line);
  }
}

/** Settings UpdateEventSourceMapping accepts on AWS that the local chain's own mappings cannot change while running. */
const ADOPTED_FIXED_SETTINGS = [
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
  'FilterCriteria',
];

function sourceKindOfDestination(arn: string): string {
  return arn.split(':')[2] ?? '';
}

/** A `Tags` map of the request, or {}; refuses what is not a map of strings. */
export function tagsOf(value: unknown): Record<string, string> {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value) || Object.values(value).some((v) => typeof v !== 'string'))
    throw invalidParameter('Tags must be a map of strings to strings');
  return value as Record<string, string>;
}

/** Lambda's EventSourceMappingConfiguration of one of the local chain's own mappings. */
export function adoptedConfiguration(
  mapping: RunningMapping,
  region: string,
  accountId: string,
  mappingArn: string,
): Record<string, unknown> {
  if (isStream(mapping)) {
    const s = mapping.settings;
    return {
      UUID: mapping.uuid,
      EventSourceMappingArn: mappingArn,
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
  const o = mapping.options;
  return {
    UUID: mapping.uuid,
    EventSourceMappingArn: mappingArn,
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
