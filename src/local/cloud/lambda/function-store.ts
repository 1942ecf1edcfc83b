/**
 * Lambda's control-plane state for functions (package type Image), held in memory: each function's
 * $LATEST configuration and its published versions, aliases, reserved and provisioned concurrency,
 * resource policy (permissions) and tags. Behaviour and refusals are Lambda's, with its codes and
 * messages (LambdaError); the wire format is functions-api.ts's business.
 *
 * Validations happen where Lambda makes them: at CreateFunction / UpdateFunctionConfiguration the
 * role must exist and trust lambda.amazonaws.com (its trust policy evaluated as IAM would), and the
 * image must resolve (the injected ResolveImage refuses what Lambda refuses). Listeners hear of
 * every change of what a function runs, so running sandboxes of an old configuration are retired.
 */
import { randomUUID } from 'node:crypto';
import { evaluateAuthorization } from '../iam/policy-evaluation';
import {
  LambdaError,
  applyConfigurationInput,
  functionArn,
  functionConfiguration,
  invalidParameter,
  lambdaTimestamp,
  parseFunctionRef,
  qualifierOf,
  validationError,
  type FunctionRef,
  type FunctionVersionConfig,
  type LambdaScope,
  type ResolveImage,
} from './function-config';

export interface FunctionStoreOptions {
  scope: LambdaScope;
  /** Resolves a function's ImageUri (ecr/lambda-image.ts's resolveLambdaImage). */
  resolveImage: ResolveImage;
  /** The trust policy document of a role by ARN, or undefined when IAM has no such role. */
  roleTrustPolicy: (roleArn: string) => string | undefined;
}

interface Alias {
  name: string;
  functionVersion: string;
  description: string;
  revisionId: string;
  routingConfig?: Record<string, unknown>;
}

interface ProvisionedConfig {
  requested: number;
  lastModified: Date;
}

interface FunctionRecord {
  latest: FunctionVersionConfig;
  versions: FunctionVersionConfig[];
  nextVersion: number;
  aliases: Map<string, Alias>;
  reserved?: number;
  /** By qualifier (an alias name or a version). */
  provisioned: Map<string, ProvisionedConfig>;
  /** Policy statements by qualifier ('' for the unqualified function), then by Sid. */
  policies: Map<string, Map<string, Record<string, unknown>>>;
  tags: Map<string, string>;
}

/** Why listeners are told: what the function runs changed, or it is gone. */
export type FunctionChange = 'code' | 'configuration' | 'concurrency' | 'deleted';

/** The configuration an invocation runs, and what caps its concurrency. */
export interface InvokeTarget {
  config: FunctionVersionConfig;
  /** The function's reserved concurrency, when set. */
  reservedConcurrency?: number;
}

const TRUST_REFUSAL = 'The role defined for the function cannot be assumed by Lambda.';
/** Lambda's account default: the most a function may reserve while 100 stay unreserved. */
const ACCOUNT_CONCURRENCY = 1000;
const UNRESERVED_MINIMUM = 100;

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** `repo@sha256:…`: the URI without its tag or digest, at the digest Lambda resolved. */
export function resolvedImageUri(imageUri: string, digest: string): string {
  const withoutDigest = imageUri.split('@')[0];
  const slash = withoutDigest.lastIndexOf('/');
  const colon = withoutDigest.lastIndexOf(':');
  const repository = colon > slash ? withoutDigest.slice(0, colon) : withoutDigest;
  return `${repository}@${digest}`;
}

/** A RoutingConfig as Lambda keeps it: none unless it weighs another version. */
function routingConfigOf(value: unknown): Record<string, unknown> | undefined {
  if (!isRecord(value)) return undefined;
  const weights = value.AdditionalVersionWeights;
  return isRecord(weights) && Object.keys(weights).length > 0 ? { AdditionalVersionWeights: weights } : undefined;
}

/** The Principal element AddPermission writes for a principal given as a string. */
function principalElement(principal: string, partition: string): Record<string, string> | '*' {
  if (principal === '*') return '*';
  if (/^\d{12}$/.test(principal)) return { AWS: `arn:${partition}:iam::${principal}:root` };
  if (principal.startsWith('arn:')) return { AWS: principal };
  return { Service: principal };
}

/** The in-memory Lambda functions of one local cloud. */
export class FunctionStore {
  private readonly functions = new Map<string, FunctionRecord>();
  private readonly listeners: Array<(name: string, change: FunctionChange) => void> = [];
  private readonly provisionedListeners: Array<(name: string, qualifier: string) => void> = [];

  constructor(private readonly opts: FunctionStoreOptions) {}

  get scope(): LambdaScope {
    return this.opts.scope;
  }

  /** Calls `listener` after each change of what a function runs (and after its deletion). */
  onChange(listener: (name: string, change: FunctionChange) => void): void {
    this.listeners.push(listener);
  }

  private changed(name: string, change: FunctionChange): void {
    for (const listener of this.listeners) listener(name, change);
  }

  /** Calls `listener` after each PutProvisionedConcurrencyConfig, with the qualifier it configured. */
  onProvisioned(listener: (name: string, qualifier: string) => void): void {
    this.provisionedListeners.push(listener);
  }

  private ref(functionName: string): FunctionRef {
    return parseFunctionRef(functionName, this.opts.scope);
  }

  private notFound(name: string, qualifier?: string): LambdaError {
    return new LambdaError(
      'ResourceNotFoundException',
      `Function not found: ${functionArn(this.opts.scope, name, qualifier)}`,
      404,
    );
  }

  private record(name: string): FunctionRecord {
    const record = this.functions.get(name);
    if (!record) throw this.notFound(name);
    return record;
  }

  /** The version a qualifier names: $LATEST, a published version, or the alias's version. */
  private versionOf(record: FunctionRecord, qualifier: string | undefined): FunctionVersionConfig {
    if (qualifier === undefined || qualifier === '$LATEST') return record.latest;
    const alias = record.aliases.get(qualifier);
    const version = alias ? alias.functionVersion : qualifier;
    if (version === '$LATEST') return record.latest;
    const found = record.versions.find((v) => v.version === version);
    if (!found) throw this.notFound(record.latest.name, qualifier);
    return found;
  }

  /**
   * Refuses a role Lambda could not assume: unknown to IAM, or whose trust policy does not let lambda.amazonaws.com in.
   */
  private checkRole(roleArn: string): void {
    const trustPolicy = this.opts.roleTrustPolicy(roleArn);
    if (trustPolicy === undefined) throw invalidParameter(TRUST_REFUSAL);
    let allowed: boolean;
    try {
      allowed =
        evaluateAuthorization({
          request: {
            action: 'sts:AssumeRole',
            resource: roleArn,
            principal: { kind: 'service', service: 'lambda.amazonaws.com' },
          },
          resourcePolicy: { name: `trust policy of ${roleArn}`, document: trustPolicy },
        }).decision === 'Allow';
    } catch {
      allowed = false; // a trust policy the evaluator cannot read lets nobody in
    }
    if (!allowed) throw invalidParameter(TRUST_REFUSAL);
  }

  /** CreateFunction (PackageType Image). Answers the new $LATEST configuration. */
  async createFunction(body: Record<string, unknown>): Promise<Record<string, unknown>> {
    const name = body.FunctionName;
    if (typeof name !== 'string' || !/^[A-Za-z0-9_-]{1,64}$/.test(name))
      throw validationError(name, 'functionName', 'Member must satisfy regular expression pattern: [a-zA-Z0-9-_]+');
    if ((body.PackageType ?? 'Zip') !== 'Image')
      throw invalidParameter(
        'The local cloud serves functions of PackageType Image only (a container image in ECR, Code.ImageUri).',
      );
    if (this.functions.has(name))
      throw new LambdaError('ResourceConflictException', `Function already exist: ${name}`, 409);
    const code = isRecord(body.Code) ? body.Code : {};
    if (typeof code.ImageUri !== 'string' || !code.ImageUri)
      throw invalidParameter('Please provide ImageUri when the intended function PackageType is Image.');
    const settings = applyConfigurationInput(body, name);
    this.checkRole(settings.role);
    const image = await this.opts.resolveImage(code.ImageUri);
    if (this.functions.has(name))
      throw new LambdaError('ResourceConflictException', `Function already exist: ${name}`, 409);
    const latest: FunctionVersionConfig = {
      ...settings,
      version: '$LATEST',
      image: { ...image, imageUri: code.ImageUri },
      lastModified: new Date(),
      revisionId: randomUUID(),
    };
    const record: FunctionRecord = {
      latest,
      versions: [],
      nextVersion: 1,
      aliases: new Map(),
      provisioned: new Map(),
      policies: new Map(),
      tags: new Map(Object.entries(isRecord(body.Tags) ? (body.Tags as Record<string, string>) : {})),
    };
    this.functions.set(name, record);
    if (body.Publish === true) this.publish(record, '');
    return functionConfiguration(latest, this.opts.scope);
  }

  /** GetFunction: configuration, code location, tags and reserved concurrency. */
  getFunction(functionName: string, qualifierParam?: string | null): Record<string, unknown> {
    const ref = this.ref(functionName);
    const qualifier = qualifierOf(ref, qualifierParam);
    const record = this.record(ref.name);
    const config = this.versionOf(record, qualifier);
    return {
      Configuration: functionConfiguration(config, this.opts.scope, { qualifiedArn: qualifier !== undefined }),
      Code: {
        RepositoryType: 'ECR',
        ImageUri: config.image.imageUri,
        ResolvedImageUri: resolvedImageUri(config.image.imageUri, config.image.digest),
      },
      ...(qualifier === undefined && record.tags.size > 0 ? { Tags: Object.fromEntries(record.tags) } : {}),
      ...(qualifier === undefined && record.reserved !== undefined
        ? { Concurrency: { ReservedConcurrentExecutions: record.reserved } }
        : {}),
    };
  }

  /** GetFunctionConfiguration. */
  getConfiguration(functionName: string, qualifierParam?: string | null): Record<string, unknown> {
    const ref = this.ref(functionName);
    const qualifier = qualifierOf(ref, qualifierParam);
    const config = this.versionOf(this.record(ref.name), qualifier);
    return functionConfiguration(config, this.opts.scope, { qualifiedArn: qualifier !== undefined });
  }

  /** ListFunctions: every function's $LATEST. */
  listFunctions(): Record<string, unknown> {
    const functions = [...this.functions.values()]
      .sort((a, b) => a.latest.name.localeCompare(b.latest.name))
      .map((r) => functionConfiguration(r.latest, this.opts.scope));
    return { Functions: functions };
  }

  /** UpdateFunctionConfiguration: the settings named; the role and the image checked as at creation. */
  updateConfiguration(functionName: string, body: Record<string, unknown>): Record<string, unknown> {
    const record = this.record(this.ref(functionName).name);
    const settings = applyConfigurationInput(body, record.latest.name, record.latest);
    if (body.Role !== undefined) this.checkRole(settings.role);
    record.latest = { ...record.latest, ...settings, lastModified: new Date(), revisionId: randomUUID() };
    this.changed(record.latest.name, 'configuration');
    return functionConfiguration(record.latest, this.opts.scope);
  }

  /** UpdateFunctionCode: a new image (resolved as at creation), published when asked. */
  async updateCode(functionName: string, body: Record<string, unknown>): Promise<Record<string, unknown>> {
    const record = this.record(this.ref(functionName).name);
    if (typeof body.ImageUri !== 'string' || !body.ImageUri)
      throw invalidParameter('Please provide ImageUri when the intended function PackageType is Image.');
    const image = await this.opts.resolveImage(body.ImageUri);
    const architectures = Array.isArray(body.Architectures) ? (body.Architectures as string[]) : undefined;
    const settings = architectures
      ? applyConfigurationInput({ Architectures: architectures }, record.latest.name, record.latest)
      : record.latest;
    if (body.DryRun === true) return functionConfiguration(record.latest, this.opts.scope);
    record.latest = {
      ...record.latest,
      architectures: settings.architectures,
      image: { ...image, imageUri: body.ImageUri },
      lastModified: new Date(),
      revisionId: randomUUID(),
    };
    this.changed(record.latest.name, 'code');
    if (body.Publish === true) return this.publish(record, '');
    return functionConfiguration(record.latest, this.opts.scope);
  }

  /** DeleteFunction: the whole function, or one published version (Qualifier). */
  deleteFunction(functionName: string, qualifierParam?: string | null): void {
    const ref = this.ref(functionName);
    const qualifier = qualifierOf(ref, qualifierParam);
    const record = this.record(ref.name);
    if (qualifier === undefined) {
      this.functions.delete(ref.name);
      this.changed(ref.name, 'deleted');
      return;
    }
    if (qualifier === '$LATEST')
      throw invalidParameter('$LATEST version cannot be deleted without deleting the function.');
    const index = record.versions.findIndex((v) => v.version === qualifier);
    if (index < 0) throw this.notFound(ref.name, qualifier);
    const alias = [...record.aliases.values()].find((a) => a.functionVersion === qualifier);
    if (alias)
      throw new LambdaError(
        'ResourceConflictException',
        `Unable to delete version because the following aliases reference it: [${alias.name}]`,
        409,
      );
    record.versions.splice(index, 1);
  }

  private publish(record: FunctionRecord, description: string): Record<string, unknown> {
    const last = record.versions.at(-1);
    // Lambda publishes no new version when neither code nor configuration changed since the last one.
    if (last && last.revisionId === record.latest.revisionId) return functionConfiguration(last, this.opts.scope);
    const version: FunctionVersionConfig = {
      ...record.latest,
      version: String(record.nextVersion),
      description: description || record.latest.description,
      revisionId: record.latest.revisionId,
    };
    record.nextVersion += 1;
    record.versions.push(version);
    return functionConfiguration(version, this.opts.scope);
  }

  /** PublishVersion. */
  publishVersion(functionName: string, body: Record<string, unknown>): Record<string, unknown> {
    const record = this.record(this.ref(functionName).name);
    const sha = body.CodeSha256;
    if (typeof sha === 'string' && sha && sha !== record.latest.image.digest.replace(/^sha256:/, ''))
      throw invalidParameter(
        `CodeSHA256 (${sha}) is different from current CodeSHA256 in $LATEST ` +
          `(${record.latest.image.digest.replace(/^sha256:/, '')}). ` +
          `Please try again with the CodeSHA256 in $LATEST.`,
      );
    return this.publish(record, typeof body.Description === 'string' ? body.Description : '');
  }

  /** ListVersionsByFunction: $LATEST first, then the published versions in order. */
  listVersions(functionName: string): Record<string, unknown> {
    const record = this.record(this.ref(functionName).name);
    return {
      Versions: [record.latest, ...record.versions].map((v) =>
        functionConfiguration(v, this.opts.scope, { qualifiedArn: true }),
      ),
    };
  }

  private aliasConfiguration(name: string, alias: Alias): Record<string, unknown> {
    return {
      AliasArn: functionArn(this.opts.scope, name, alias.name),
      Name: alias.name,
      FunctionVersion: alias.functionVersion,
      Description: alias.description,
      RevisionId: alias.revisionId,
      ...(alias.routingConfig ? { RoutingConfig: alias.routingConfig } : {}),
    };
  }

  private checkAliasTarget(record: FunctionRecord, version: unknown): string {
    if (typeof version !== 'string' || !version)
      throw validationError(version, 'functionVersion', 'Member must not be null');
    if (version !== '$LATEST' && !record.versions.some((v) => v.version === version))
      throw this.notFound(record.latest.name, version);
    return version;
  }

  /** CreateAlias. */
  createAlias(functionName: string, body: Record<string, unknown>): Record<string, unknown> {
    const record = this.record(this.ref(functionName).name);
    const name = body.Name;
    if (typeof name !== 'string' || !/^(?!^[0-9]+$)([a-zA-Z0-9-_]+)$/.test(name))
      throw validationError(
        name,
        'name',
        'Member must satisfy regular expression pattern: (?!^[0-9]+$)([a-zA-Z0-9-_]+)',
      );
    if (record.aliases.has(name))
      throw new LambdaError(
        'ResourceConflictException',
        `Alias already exists: ${functionArn(this.opts.scope, record.latest.name, name)}`,
        409,
      );
    const alias: Alias = {
      name,
      functionVersion: this.checkAliasTarget(record, body.FunctionVersion),
      description: typeof body.Description === 'string' ? body.Description : '',
      revisionId: randomUUID(),
      routingConfig: routingConfigOf(body.RoutingConfig),
    };
    record.aliases.set(name, alias);
    return this.aliasConfiguration(record.latest.name, alias);
  }

  private alias(record: FunctionRecord, name: string): Alias {
    const alias = record.aliases.get(name);
    if (!alias)
      throw new LambdaError(
        'ResourceNotFoundException',
        `Alias not found: ${functionArn(this.opts.scope, record.latest.name, name)}`,
        404,
      );
    return alias;
  }

  getAlias(functionName: string, name: string): Record<string, unknown> {
    const record = this.record(this.ref(functionName).name);
    return this.aliasConfiguration(record.latest.name, this.alias(record, name));
  }

  listAliases(functionName: string): Record<string, unknown> {
    const record = this.record(this.ref(functionName).name);
    return { Aliases: [...record.aliases.values()].map((a) => this.aliasConfiguration(record.latest.name, a)) };
  }

  updateAlias(functionName: string, name: string, body: Record<string, unknown>): Record<string, unknown> {
    const record = this.record(this.ref(functionName).name);
    const alias = this.alias(record, name);
    if (body.FunctionVersion !== undefined) alias.functionVersion = this.checkAliasTarget(record, body.FunctionVersion);
    if (typeof body.Description === 'string') alias.description = body.Description;
    if (body.RoutingConfig !== undefined) alias.routingConfig = routingConfigOf(body.RoutingConfig);
    alias.revisionId = randomUUID();
    this.changed(record.latest.name, 'configuration');
    return this.aliasConfiguration(record.latest.name, alias);
  }

  deleteAlias(functionName: string, name: string): void {
    const record = this.record(this.ref(functionName).name);
    record.aliases.delete(name);
    record.provisioned.delete(name);
    record.policies.delete(name);
  }

  /** PutFunctionConcurrency, held to Lambda's rule that 100 of the account's 1,000 stay unreserved. */
  putConcurrency(functionName: string, body: Record<string, unknown>): Record<string, unknown> {
    const record = this.record(this.ref(functionName).name);
    const value = body.ReservedConcurrentExecutions;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 0)
      throw validationError(value, 'reservedConcurrentExecutions', 'Member must have value greater than or equal to 0');
    const reservedElsewhere = [...this.functions.values()]
      .filter((r) => r !== record)
      .reduce((sum, r) => sum + (r.reserved ?? 0), 0);
    if (reservedElsewhere + value > ACCOUNT_CONCURRENCY - UNRESERVED_MINIMUM)
      throw invalidParameter(
        `Specified ReservedConcurrentExecutions for function decreases account's ` +
          `UnreservedConcurrentExecution below its minimum value of [${UNRESERVED_MINIMUM}].`,
      );
    record.reserved = value;
    this.changed(record.latest.name, 'concurrency');
    return { ReservedConcurrentExecutions: value };
  }

  getConcurrency(functionName: string): Record<string, unknown> {
    const record = this.record(this.ref(functionName).name);
    return record.reserved === undefined ? {} : { ReservedConcurrentExecutions: record.reserved };
  }

  deleteConcurrency(functionName: string): void {
    const record = this.record(this.ref(functionName).name);
    record.reserved = undefined;
    this.changed(record.latest.name, 'concurrency');
  }

  private provisionedQualifier(record: FunctionRecord, qualifier: string | null | undefined): string {
    if (!qualifier) throw validationError(qualifier, 'qualifier', 'Member must not be null');
    if (qualifier === '$LATEST')
      throw invalidParameter('Provisioned Concurrency Configs cannot be applied to unpublished function versions.');
    this.versionOf(record, qualifier);
    return qualifier;
  }

  private provisionedAnswer(config: ProvisionedConfig): Record<string, unknown> {
    // The local sandboxes are started when the configuration is put (applied-functions.ts, prestart),
    // not awaited: the configuration is ready at once.
    return {
      RequestedProvisionedConcurrentExecutions: config.requested,
      AvailableProvisionedConcurrentExecutions: config.requested,
      AllocatedProvisionedConcurrentExecutions: config.requested,
      Status: 'READY',
      LastModified: lambdaTimestamp(config.lastModified),
    };
  }

  putProvisionedConcurrency(
    functionName: string,
    qualifier: string | null | undefined,
    body: Record<string, unknown>,
  ): Record<string, unknown> {
    const record = this.record(this.ref(functionName).name);
    const key = this.provisionedQualifier(record, qualifier);
    const requested = body.ProvisionedConcurrentExecutions;
    if (typeof requested !== 'number' || !Number.isInteger(requested) || requested < 1)
      throw validationError(
        requested,
        'provisionedConcurrentExecutions',
        'Member must have value greater than or equal to 1',
      );
    if (record.reserved !== undefined && requested > record.reserved)
      throw invalidParameter(
        `Requested Provisioned Concurrency should not be greater than the reservedConcurrentExecution for function`,
      );
    const config = { requested, lastModified: new Date() };
    record.provisioned.set(key, config);
    for (const listener of this.provisionedListeners) listener(record.latest.name, key);
    return this.provisionedAnswer(config);
  }

  getProvisionedConcurrency(functionName: string, qualifier: string | null | undefined): Record<string, unknown> {
    const record = this.record(this.ref(functionName).name);
    const key = this.provisionedQualifier(record, qualifier);
    const config = record.provisioned.get(key);
    if (!config)
      throw new LambdaError(
        'ProvisionedConcurrencyConfigNotFoundException',
        'No Provisioned Concurrency Config found for this function',
        404,
      );
    return this.provisionedAnswer(config);
  }

  deleteProvisionedConcurrency(functionName: string, qualifier: string | null | undefined): void {
    const record = this.record(this.ref(functionName).name);
    record.provisioned.delete(this.provisionedQualifier(record, qualifier));
  }

  /** AddPermission: a statement of the function's (or the qualifier's) resource policy. */
  addPermission(
    functionName: string,
    qualifierParam: string | null | undefined,
    body: Record<string, unknown>,
  ): Record<string, unknown> {
    const ref = this.ref(functionName);
    const qualifier = qualifierOf(ref, qualifierParam);
    const record = this.record(ref.name);
    if (qualifier !== undefined) this.versionOf(record, qualifier);
    const sid = body.StatementId;
    if (typeof sid !== 'string' || !/^([a-zA-Z0-9-_.]+)$/.test(sid))
      throw validationError(sid, 'statementId', 'Member must satisfy regular expression pattern: ([a-zA-Z0-9-_.]+)');
    const action = body.Action;
    if (typeof action !== 'string' || !/^(lambda:[*]|lambda:[a-zA-Z]+|[*])$/.test(action))
      throw validationError(
        action,
        'action',
        'Member must satisfy regular expression pattern: (lambda:[*]|lambda:[a-zA-Z]+|[*])',
      );
    if (typeof body.Principal !== 'string' || !body.Principal)
      throw validationError(body.Principal, 'principal', 'Member must not be null');
    const statements = record.policies.get(qualifier ?? '') ?? new Map<string, Record<string, unknown>>();
    if (statements.has(sid))
      throw new LambdaError(
        'ResourceConflictException',
        `The statement id (${sid}) provided already exists. ` +
          `Please provide a new statement id, or remove the existing statement.`,
        409,
      );
    const conditions: Record<string, Record<string, string>> = {};
    const condition = (operator: string, key: string, value: unknown): void => {
      if (typeof value === 'string' && value) conditions[operator] = { ...conditions[operator], [key]: value };
    };
    condition('StringEquals', 'AWS:SourceAccount', body.SourceAccount);
    condition('StringEquals', 'lambda:EventSourceToken', body.EventSourceToken);
    condition('StringEquals', 'aws:PrincipalOrgID', body.PrincipalOrgID);
    condition('StringEquals', 'lambda:FunctionUrlAuthType', body.FunctionUrlAuthType);
    condition('ArnLike', 'AWS:SourceArn', body.SourceArn);
    const statement: Record<string, unknown> = {
      Sid: sid,
      Effect: 'Allow',
      Principal: principalElement(body.Principal, this.opts.scope.partition ?? 'aws'),
      Action: action,
      Resource: functionArn(this.opts.scope, ref.name, qualifier),
      ...(Object.keys(conditions).length > 0 ? { Condition: conditions } : {}),
    };
    statements.set(sid, statement);
    record.policies.set(qualifier ?? '', statements);
    return { Statement: JSON.stringify(statement) };
  }

  /** GetPolicy: the resource policy, ResourceNotFoundException when it has no statement. */
  getPolicy(functionName: string, qualifierParam: string | null | undefined): Record<string, unknown> {
    const ref = this.ref(functionName);
    const qualifier = qualifierOf(ref, qualifierParam);
    const record = this.record(ref.name);
    const statements = record.policies.get(qualifier ?? '');
    if (!statements || statements.size === 0)
      throw new LambdaError('ResourceNotFoundException', 'The resource you requested does not exist.', 404);
    return {
      Policy: JSON.stringify({ Version: '2012-10-17', Id: 'default', Statement: [...statements.values()] }),
      RevisionId: record.latest.revisionId,
    };
  }

  removePermission(functionName: string, qualifierParam: string | null | undefined, sid: string): void {
    const ref = this.ref(functionName);
    const qualifier = qualifierOf(ref, qualifierParam);
    const record = this.record(ref.name);
    const statements = record.policies.get(qualifier ?? '');
    if (!statements?.delete(sid))
      throw new LambdaError('ResourceNotFoundException', `Statement ${sid} is not found in resource policy.`, 404);
  }

  /** The function a tagging ARN names (an unqualified function ARN). */
  private taggedRecord(resourceArn: string): FunctionRecord {
    const ref = this.ref(resourceArn);
    if (ref.qualifier)
      throw invalidParameter('Tags on function aliases and versions are not supported. Please specify a function ARN.');
    return this.record(ref.name);
  }

  /** The tags of the function an unqualified ARN names, or undefined when it names none (the tags API asks). */
  tagsOf(resourceArn: string): Map<string, string> | undefined {
    try {
      return this.taggedRecord(resourceArn).tags;
    } catch {
      return undefined; // not a function ARN of this store
    }
  }

  /**
   * The function a name or ARN names, as the event source mappings see it: its ARN keeps the
   * qualifier (a mapping on an alias invokes the alias, and Lambda answers its FunctionArn so), its
   * timeout and role are the version's. Undefined when there is no such function, alias or version.
   */
  mappedConfiguration(nameOrArn: string): { functionArn: string; timeoutSeconds: number; role: string } | undefined {
    let config: FunctionVersionConfig;
    let ref: FunctionRef;
    try {
      ref = this.ref(nameOrArn);
      config = this.versionOf(this.record(ref.name), ref.qualifier);
    } catch {
      return undefined; // not a function name, or no such function, alias or version
    }
    return {
      functionArn: functionArn(this.opts.scope, ref.name, ref.qualifier),
      timeoutSeconds: config.timeout,
      role: config.role,
    };
  }

  /** GetFunctionCodeSigningConfig: image functions have none. */
  getCodeSigningConfig(functionName: string): Record<string, unknown> {
    const record = this.record(this.ref(functionName).name);
    return { CodeSigningConfigArn: '', FunctionName: record.latest.name };
  }

  /** What an Invoke of `functionName` (and qualifier) runs. */
  invokeTarget(functionName: string, qualifierParam?: string | null): InvokeTarget {
    const ref = this.ref(functionName);
    const qualifier = qualifierOf(ref, qualifierParam);
    const record = this.record(ref.name);
    return { config: this.versionOf(record, qualifier), reservedConcurrency: record.reserved };
  }

  /** Names of every function (for `up`'s banner and the tests' leftovers check). */
  names(): string[] {
    return [...this.functions.keys()];
  }
}
