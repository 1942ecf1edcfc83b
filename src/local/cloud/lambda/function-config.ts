/**
 * A Lambda function's configuration as the control plane stores it, and the pure rules around it:
 * validating CreateFunction / UpdateFunctionConfiguration input with Lambda's codes and messages,
 * rendering Lambda's FunctionConfiguration document, naming functions (name, partial ARN, ARN,
 * qualifier), and how Lambda starts an image: the image's ENTRYPOINT and CMD, each replaced by the
 * function's ImageConfig when it sets one. No I/O here: function-store.ts holds the state.
 */

/** What the image resolver (ECR, or the local Docker engine) tells about an image a function names. */
export interface LambdaImage {
  /** The URI as the function names it. */
  imageUri: string;
  /** `sha256:…` of the manifest Lambda runs. */
  digest: string;
  entrypoint?: string[];
  cmd?: string[];
  workingDir?: string;
  /** The image's own ENV, `NAME=value`. */
  env: string[];
  /** What `docker run` uses to start it. */
  runRef: string;
  /**
   * The image's CPU architecture as its config names it (`amd64`, `arm64`, …): what Lambda's
   * Architectures must match for the entrypoint to start. Undefined when the config names none.
   */
  architecture?: string;
}

/**
 * Resolves a function's ImageUri; throws an error with `code` 'InvalidParameterValueException' and
 * Lambda's message for an image Lambda refuses (missing, an index or attestation manifest, …).
 */
export type ResolveImage = (uri: string) => Promise<LambdaImage>;

/** An error in Lambda's REST API terms: its `x-amzn-ErrorType`, message and HTTP status. */
export class LambdaError extends Error {
  /** @param status @default 400 */
  constructor(
    readonly code: string,
    message: string,
    readonly status = 400,
    /** Extra fields of the error document (TooManyRequestsException's Reason). */
    readonly extra: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

export const invalidParameter = (message: string): LambdaError =>
  new LambdaError('InvalidParameterValueException', message);

/** Lambda's (Coral's) message for a field outside its constraint. */
export function validationError(value: unknown, field: string, constraint: string): LambdaError {
  return new LambdaError(
    'ValidationException',
    `1 validation error detected: Value '${String(value)}' at '${field}' failed to satisfy constraint: ${constraint}`,
  );
}

export interface ImageConfig {
  EntryPoint?: string[];
  Command?: string[];
  WorkingDirectory?: string;
}

export interface LoggingConfig {
  LogFormat: 'Text' | 'JSON';
  LogGroup: string;
  ApplicationLogLevel?: string;
  SystemLogLevel?: string;
}

/** One version of a function ($LATEST or a published number) as stored. */
export interface FunctionVersionConfig {
  name: string;
  /** '$LATEST' or '1', '2', … */
  version: string;
  role: string;
  description: string;
  timeout: number;
  memorySize: number;
  environment?: Record<string, string>;
  imageConfig?: ImageConfig;
  architectures: string[];
  ephemeralStorageMb: number;
  tracingMode: 'PassThrough' | 'Active';
  loggingConfig: LoggingConfig;
  kmsKeyArn?: string;
  deadLetterTargetArn?: string;
  image: LambdaImage;
  lastModified: Date;
  revisionId: string;
}

/** Where the control plane lives: the account and region in every ARN. */
export interface LambdaScope {
  region: string;
  accountId: string;
  /** @default 'aws' */
  partition?: string;
}

/** `arn:aws:lambda:<region>:<account>:function:<name>`, with `:<qualifier>` when given. */
export function functionArn(scope: LambdaScope, name: string, qualifier?: string): string {
  const base = `arn:${scope.partition ?? 'aws'}:lambda:${scope.region}:${scope.accountId}:function:${name}`;
  return qualifier ? `${base}:${qualifier}` : base;
}

const NAME = /^[A-Za-z0-9_-]{1,64}$/;
const QUALIFIER = /^(\$LATEST|[A-Za-z0-9_-]{1,128})$/;
const FUNCTION_REF =
  /^(?:arn:(?:aws[a-zA-Z-]*):lambda:(?<region>[a-z]{2}(?:-gov)?-[a-z]+-\d{1}):)?(?:(?<account>\d{12}):)?(?:function:)?(?<name>[a-zA-Z0-9-_]+)(?::(?<qualifier>\$LATEST|[a-zA-Z0-9-_]+))?$/;

/** A function named in a request: its name and the qualifier the name carried, if any. */
export interface FunctionRef {
  name: string;
  qualifier?: string;
}

/**
 * Reads a FunctionName as Lambda accepts it: `name`, `name:qualifier`, `account:function:name`, or
 * a full ARN with or without qualifier. Refuses other forms (and ARNs of another account or region)
 * with Lambda's ValidationException.
 */
export function parseFunctionRef(value: string, scope: LambdaScope): FunctionRef {
  const match = FUNCTION_REF.exec(value);
  const groups = match?.groups;
  if (!groups || !groups.name || !NAME.test(groups.name))
    throw validationError(
      value,
      'functionName',
      'Member must satisfy regular expression pattern: ' +
        '(arn:(aws[a-zA-Z-]*)?:lambda:)?([a-z]{2}(-gov)?-[a-z]+-\\d{1}:)?(\\d{12}:)?(function:)?' +
        '([a-zA-Z0-9-_]+)(:(\\$LATEST|[a-zA-Z0-9-_]+))?',
    );
  if ((groups.account && groups.account !== scope.accountId) || (groups.region && groups.region !== scope.region))
    throw new LambdaError(
      'AccessDeniedException',
      `The function ${value} belongs to another account or region ` +
        `than this endpoint's (${scope.accountId}, ${scope.region})`,
      403,
    );
  return { name: groups.name, ...(groups.qualifier ? { qualifier: groups.qualifier } : {}) };
}

/** The qualifier a request means: the one in the name, the Qualifier parameter (they must agree), or none. */
export function qualifierOf(ref: FunctionRef, parameter: string | null | undefined): string | undefined {
  const param = parameter ?? undefined;
  if (param !== undefined && !QUALIFIER.test(param))
    throw validationError(param, 'qualifier', 'Member must satisfy regular expression pattern: (|[a-zA-Z0-9$_-]+)');
  if (ref.qualifier && param && ref.qualifier !== param)
    throw invalidParameter('The derived qualifier from the function name does not match the specified qualifier.');
  return ref.qualifier ?? param;
}

/**
 * Environment variable names Lambda keeps for itself; a function setting one is refused at
 * CreateFunction / UpdateFunctionConfiguration.
 */
export const RESERVED_ENVIRONMENT_KEYS = [
  '_HANDLER',
  '_X_AMZN_TRACE_ID',
  'AWS_DEFAULT_REGION',
  'AWS_REGION',
  'AWS_EXECUTION_ENV',
  'AWS_LAMBDA_FUNCTION_NAME',
  'AWS_LAMBDA_FUNCTION_MEMORY_SIZE',
  'AWS_LAMBDA_FUNCTION_VERSION',
  'AWS_LAMBDA_INITIALIZATION_TYPE',
  'AWS_LAMBDA_LOG_GROUP_NAME',
  'AWS_LAMBDA_LOG_STREAM_NAME',
  'AWS_ACCESS_KEY',
  'AWS_ACCESS_KEY_ID',
  'AWS_SECRET_ACCESS_KEY',
  'AWS_SESSION_TOKEN',
  'AWS_LAMBDA_RUNTIME_API',
  'LAMBDA_TASK_ROOT',
  'LAMBDA_RUNTIME_DIR',
];

/** The request fields the configuration takes (CreateFunction and UpdateFunctionConfiguration share them). */
export interface ConfigurationInput {
  Role?: unknown;
  Description?: unknown;
  Timeout?: unknown;
  MemorySize?: unknown;
  Environment?: unknown;
  ImageConfig?: unknown;
  Architectures?: unknown;
  EphemeralStorage?: unknown;
  TracingConfig?: unknown;
  LoggingConfig?: unknown;
  KMSKeyArn?: unknown;
  DeadLetterConfig?: unknown;
  Handler?: unknown;
  Runtime?: unknown;
  Layers?: unknown;
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

function integerIn(value: unknown, field: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value))
    throw new LambdaError('InvalidRequestContentException', `${field} must be an integer`);
  if (value < min) throw validationError(value, field, `Member must have value greater than or equal to ${min}`);
  if (value > max) throw validationError(value, field, `Member must have value less than or equal to ${max}`);
  return value;
}

function stringList(value: unknown, field: string): string[] {
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string'))
    throw new LambdaError('InvalidRequestContentException', `${field} must be a list of strings`);
  return value;
}

const ROLE_ARN = /^arn:(aws[a-zA-Z-]*)?:iam::\d{12}:role\/?[a-zA-Z_0-9+=,.@\-_/]+$/;

/** The role ARN of a request, refused when it is not one. */
export function roleArnOf(value: unknown): string {
  if (typeof value !== 'string' || !ROLE_ARN.test(value))
    throw validationError(
      value,
      'role',
      'Member must satisfy regular expression pattern: arn:(aws[a-zA-Z-]*)?:iam::\\d{12}:role/?[a-zA-Z_0-9+=,.@\\-_/]+',
    );
  return value;
}

function environmentOf(value: unknown): Record<string, string> | undefined {
  if (value === undefined || value === null) return undefined;
  if (!isRecord(value)) throw new LambdaError('InvalidRequestContentException', 'Environment must be an object');
  const variables = value.Variables ?? {};
  if (!isRecord(variables) || !Object.values(variables).every((v) => typeof v === 'string'))
    throw new LambdaError('InvalidRequestContentException', 'Environment.Variables must map names to strings');
  const reserved = Object.keys(variables).filter((key) => RESERVED_ENVIRONMENT_KEYS.includes(key));
  if (reserved.length > 0)
    throw invalidParameter(
      'Lambda was unable to configure your environment variables because the environment variables you have ' +
        `provided contains reserved keys that are currently not supported for modification. ` +
        `Reserved keys used in this request: ${reserved.join(', ')}`,
    );
  const badName = Object.keys(variables).find((key) => !/^[a-zA-Z]([a-zA-Z0-9_])+$/.test(key));
  if (badName !== undefined)
    throw validationError(
      '[sensitive]',
      'environment.variables',
      'Map keys must satisfy constraint: [Member must satisfy regular expression pattern: [a-zA-Z]([a-zA-Z0-9_])+]',
    );
  const size = Buffer.byteLength(JSON.stringify(variables));
  if (size > 4096)
    throw invalidParameter(
      `Lambda was unable to configure your environment variables because the environment variables ` +
        `you have provided exceeded the 4KB limit. String measured: ${JSON.stringify(variables)}`,
    );
  return variables as Record<string, string>;
}

function imageConfigOf(value: unknown): ImageConfig | undefined {
  if (value === undefined || value === null) return undefined;
  if (!isRecord(value)) throw new LambdaError('InvalidRequestContentException', 'ImageConfig must be an object');
  const config: ImageConfig = {};
  if (value.EntryPoint !== undefined) config.EntryPoint = stringList(value.EntryPoint, 'ImageConfig.EntryPoint');
  if (value.Command !== undefined) config.Command = stringList(value.Command, 'ImageConfig.Command');
  if (value.WorkingDirectory !== undefined) {
    if (typeof value.WorkingDirectory !== 'string')
      throw new LambdaError('InvalidRequestContentException', 'ImageConfig.WorkingDirectory must be a string');
    config.WorkingDirectory = value.WorkingDirectory;
  }
  // An empty list or string is how a client clears a setting: Lambda then shows none.
  if (config.EntryPoint?.length === 0) delete config.EntryPoint;
  if (config.Command?.length === 0) delete config.Command;
  if (config.WorkingDirectory === '') delete config.WorkingDirectory;
  return Object.keys(config).length > 0 ? config : undefined;
}

const LOG_LEVELS = ['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR', 'FATAL'];

function loggingConfigOf(value: unknown, name: string, previous?: LoggingConfig): LoggingConfig {
  const base: LoggingConfig = previous ?? { LogFormat: 'Text', LogGroup: `/aws/lambda/${name}` };
  if (value === undefined || value === null) return base;
  if (!isRecord(value)) throw new LambdaError('InvalidRequestContentException', 'LoggingConfig must be an object');
  const format = value.LogFormat ?? base.LogFormat;
  if (format !== 'Text' && format !== 'JSON')
    throw validationError(format, 'loggingConfig.logFormat', 'Member must satisfy enum value set: [JSON, Text]');
  const config: LoggingConfig = {
    LogFormat: format,
    LogGroup: typeof value.LogGroup === 'string' && value.LogGroup ? value.LogGroup : base.LogGroup,
  };
  for (const key of ['ApplicationLogLevel', 'SystemLogLevel'] as const) {
    const level = value[key] ?? base[key];
    if (level === undefined || level === '') continue;
    if (typeof level !== 'string' || !LOG_LEVELS.includes(level))
      throw validationError(
        level,
        `loggingConfig.${key}`,
        `Member must satisfy enum value set: [${LOG_LEVELS.join(', ')}]`,
      );
    config[key] = level;
  }
  if (format === 'Text' && (config.ApplicationLogLevel || config.SystemLogLevel)) {
    if (value.ApplicationLogLevel || value.SystemLogLevel)
      throw invalidParameter(
        'LogLevel is not supported when LogFormat is set to "Text". ' +
          'Remove LogLevel from your request or change the LogFormat to "JSON" and try again.',
      );
    delete config.ApplicationLogLevel;
    delete config.SystemLogLevel;
  }
  if (format === 'JSON') {
    config.ApplicationLogLevel ??= 'INFO';
    config.SystemLogLevel ??= 'INFO';
  }
  return config;
}

/**
 * The configuration a request asks for, over `previous` (UpdateFunctionConfiguration keeps what it
 * does not name), without the role check and the image (the store does those). Throws LambdaError.
 */
export function applyConfigurationInput(
  input: ConfigurationInput,
  name: string,
  previous?: Omit<FunctionVersionConfig, 'image' | 'lastModified' | 'revisionId' | 'version'>,
): Omit<FunctionVersionConfig, 'image' | 'lastModified' | 'revisionId' | 'version'> {
  if (
    input.Handler !== undefined ||
    input.Runtime !== undefined ||
    (Array.isArray(input.Layers) && input.Layers.length)
  )
    throw invalidParameter(
      `Please don't provide Handler or Runtime or Layer when the intended function PackageType is Image.`,
    );
  const architectures =
    input.Architectures === undefined
      ? (previous?.architectures ?? ['x86_64'])
      : stringList(input.Architectures, 'Architectures');
  if (architectures.length !== 1 || !['x86_64', 'arm64'].includes(architectures[0]))
    throw validationError(
      `[${architectures.join(', ')}]`,
      'architectures',
      'Member must satisfy constraint: [Member must have length less than or equal to 1, ' +
        'Member must have length greater than or equal to 1, [Member must satisfy enum value set: [x86_64, arm64]]]',
    );
  const ephemeral = isRecord(input.EphemeralStorage) ? input.EphemeralStorage.Size : undefined;
  const tracing = isRecord(input.TracingConfig) ? input.TracingConfig.Mode : undefined;
  if (tracing !== undefined && tracing !== 'Active' && tracing !== 'PassThrough')
    throw validationError(tracing, 'tracingConfig.mode', 'Member must satisfy enum value set: [Active, PassThrough]');
  const dlq = isRecord(input.DeadLetterConfig) ? input.DeadLetterConfig.TargetArn : undefined;
  return {
    name,
    role: input.Role === undefined && previous ? previous.role : roleArnOf(input.Role),
    description: typeof input.Description === 'string' ? input.Description : (previous?.description ?? ''),
    timeout: input.Timeout === undefined ? (previous?.timeout ?? 3) : integerIn(input.Timeout, 'timeout', 1, 900),
    memorySize:
      input.MemorySize === undefined
        ? (previous?.memorySize ?? 128)
        : integerIn(input.MemorySize, 'memorySize', 128, 10240),
    environment: input.Environment === undefined ? previous?.environment : environmentOf(input.Environment),
    imageConfig: input.ImageConfig === undefined ? previous?.imageConfig : imageConfigOf(input.ImageConfig),
    architectures,
    ephemeralStorageMb:
      ephemeral === undefined
        ? (previous?.ephemeralStorageMb ?? 512)
        : integerIn(ephemeral, 'ephemeralStorage.size', 512, 10240),
    tracingMode: tracing ?? previous?.tracingMode ?? 'PassThrough',
    loggingConfig: loggingConfigOf(input.LoggingConfig, name, previous?.loggingConfig),
    kmsKeyArn:
      input.KMSKeyArn === undefined
        ? previous?.kmsKeyArn
        : typeof input.KMSKeyArn === 'string' && input.KMSKeyArn
          ? input.KMSKeyArn
          : undefined,
    deadLetterTargetArn:
      input.DeadLetterConfig === undefined
        ? previous?.deadLetterTargetArn
        : typeof dlq === 'string' && dlq
          ? dlq
          : undefined,
  };
}

/** Lambda's timestamp format: `2024-05-01T12:00:00.000+0000`. */
export function lambdaTimestamp(date: Date): string {
  return date.toISOString().replace('Z', '+0000');
}

/** Lambda's FunctionConfiguration document of one version (`qualifiedArn`: the ARN carries the version). */
export function functionConfiguration(
  config: FunctionVersionConfig,
  scope: LambdaScope,
  opts: { qualifiedArn?: boolean } = {},
): Record<string, unknown> {
  const qualified = opts.qualifiedArn ?? config.version !== '$LATEST';
  return {
    FunctionName: config.name,
    FunctionArn: functionArn(scope, config.name, qualified ? config.version : undefined),
    Role: config.role,
    CodeSize: 0,
    Description: config.description,
    Timeout: config.timeout,
    MemorySize: config.memorySize,
    LastModified: lambdaTimestamp(config.lastModified),
    CodeSha256: config.image.digest.replace(/^sha256:/, ''),
    Version: config.version,
    ...(config.environment ? { Environment: { Variables: config.environment } } : {}),
    ...(config.kmsKeyArn ? { KMSKeyArn: config.kmsKeyArn } : {}),
    ...(config.deadLetterTargetArn ? { DeadLetterConfig: { TargetArn: config.deadLetterTargetArn } } : {}),
    TracingConfig: { Mode: config.tracingMode },
    RevisionId: config.revisionId,
    State: 'Active',
    LastUpdateStatus: 'Successful',
    PackageType: 'Image',
    ...(config.imageConfig ? { ImageConfigResponse: { ImageConfig: config.imageConfig } } : {}),
    Architectures: config.architectures,
    EphemeralStorage: { Size: config.ephemeralStorageMb },
    SnapStart: { ApplyOn: 'None', OptimizationStatus: 'Off' },
    LoggingConfig: config.loggingConfig,
  };
}

/** The image architecture (Go's GOARCH names, as image configs carry them) of each Lambda architecture. */
const IMAGE_ARCHITECTURE_OF: Readonly<Record<string, string>> = { x86_64: 'amd64', arm64: 'arm64' };

/**
 * True when a function of `architectures` cannot start `image`: the image names an architecture
 * other than the function's. Lambda takes such a function (CreateFunction succeeds; it does not
 * look at the image's platform) and its sandbox fails at launch, the entrypoint's binary being of
 * another CPU ("exec format error"). An image naming no architecture is given the benefit of the doubt.
 */
export function imageArchitectureMismatch(
  image: Pick<LambdaImage, 'architecture'>,
  architectures: readonly string[],
): boolean {
  const wanted = IMAGE_ARCHITECTURE_OF[architectures[0] ?? 'x86_64'];
  return image.architecture !== undefined && wanted !== undefined && image.architecture !== wanted;
}

/**
 * How Lambda starts the image of a function: the argv (ImageConfig.EntryPoint, else the image's
 * ENTRYPOINT; then ImageConfig.Command, else the image's CMD; each replaced on its own) and the
 * working directory (ImageConfig.WorkingDirectory, else the image's). An empty argv is an image
 * Lambda cannot start.
 */
export function imageStartCommand(
  image: Pick<LambdaImage, 'entrypoint' | 'cmd' | 'workingDir'>,
  config?: ImageConfig,
): { argv: string[]; workingDir?: string } {
  const entrypoint = config?.EntryPoint ?? image.entrypoint ?? [];
  const command = config?.Command ?? image.cmd ?? [];
  const workingDir = config?.WorkingDirectory ?? (image.workingDir || undefined);
  return { argv: [...entrypoint, ...command], ...(workingDir ? { workingDir } : {}) };
}

/** Memory at which Lambda gives a function one full vCPU; the share grows in proportion up to 6 vCPUs. */
const MB_PER_VCPU = 1769;

/**
 * The CPU share Lambda gives a function of `memoryMb` (one vCPU at 1,769 MB, in proportion, at most
 * 6), as `docker run --cpus`, capped at this machine's `hostCpus` (Docker refuses more).
 */
export function lambdaCpuShare(memoryMb: number, hostCpus: number): number {
  const share = Math.min(memoryMb / MB_PER_VCPU, 6, hostCpus);
  return Math.max(0.01, Math.round(share * 100) / 100);
}

/** Lambda's name of a Node `process.arch`, for the two architectures Lambda has. */
const LAMBDA_ARCHITECTURE_OF_NODE: Readonly<Record<string, string>> = { x64: 'x86_64', arm64: 'arm64' };

/**
 * The `docker run` CPU arguments of a function's sandbox: Lambda's share for its memory
 * (lambdaCpuShare) when this machine runs its architecture natively; none (no cap) when the
 * sandbox runs under emulation (arm64 on an x86 machine, through QEMU). The share is of a native
 * core: under QEMU an instruction costs many native ones, so the same cap would give an emulated
 * function a small fraction of the speed Lambda gives it (a 256 MB arm64 function on 0.14 of an
 * emulated core took over 10 s to start and over 17 s for its first event here, against its 30 s
 * timeout). Its memory limit applies either way.
 */
export function sandboxCpuArgs(
  memoryMb: number,
  architectures: readonly string[],
  host: { cpus: number; arch: string },
): string[] {
  const emulated = (architectures[0] ?? 'x86_64') !== LAMBDA_ARCHITECTURE_OF_NODE[host.arch];
  return emulated ? [] : ['--cpus', String(lambdaCpuShare(memoryMb, host.cpus))];
}
