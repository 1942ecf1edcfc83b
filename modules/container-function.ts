/**
 * `ContainerFunction`: a Lambda function packaged as a container image, with its own execution
 * role (least privilege, built from `grant*` calls), its log group with retention, and environment.
 */
import { Construct } from 'constructs';
import { Fn, IResolvable, ITerraformDependable, Lazy, Op, TerraformStack, Token, ref } from 'cdktf';
import { IamRole } from '@cdktf/provider-aws/lib/iam-role';
import { IamRolePolicy } from '@cdktf/provider-aws/lib/iam-role-policy';
import { CloudwatchLogGroup } from '@cdktf/provider-aws/lib/cloudwatch-log-group';
import { LambdaFunction } from '@cdktf/provider-aws/lib/lambda-function';
import { LambdaAlias } from '@cdktf/provider-aws/lib/lambda-alias';
import { LambdaProvisionedConcurrencyConfig } from '@cdktf/provider-aws/lib/lambda-provisioned-concurrency-config';
import { IGrantable, PolicyStatement, StatementCollector, identityPolicyJson, lambdaTrustPolicyJson } from './policy';
import { configError } from '../src/core/errors';
import { LOG_RETENTION_DAYS, checkIntRange, checkOneOf, isKnown } from './validation';

/** CPU architectures Lambda runs images on. */
export type Architecture = 'x86_64' | 'arm64';
export const ARCHITECTURES: readonly Architecture[] = ['x86_64', 'arm64'];

export interface ContainerFunctionProps {
  /** The function name (also names its role and log group). */
  readonly functionName: string;
  /** Image URI in ECR (`<account>.dkr.ecr.<region>.amazonaws.com/<repo>:<tag>` or `@sha256:…`). */
  readonly imageUri: string;
  /**
   * `image_config.command`: what Lambda passes to the image's entrypoint, in place of its `CMD`. For
   * this project's images, the handler (`['resize.handler']`); Lambda does not take the handler from
   * an `ENV _HANDLER` of the image (it treats `_HANDLER` as its own variable).
   * @default - the image's own CMD
   */
  readonly command?: string[];
  /**
   * CPU architecture of the image.
   * @default 'x86_64'
   */
  readonly architecture?: Architecture;
  /**
   * Memory in MB (128-10240). CPU scales with it: 1769 MB is one full vCPU.
   * @default 1024
   */
  readonly memorySize?: number;
  /**
   * Timeout in seconds (1-900).
   * @default 30
   */
  readonly timeout?: number;
  /** @default {} */
  readonly environment?: Record<string, string>;
  /**
   * Days CloudWatch keeps the function's logs (one of CloudWatch's accepted values).
   * @default 30
   */
  readonly logRetentionDays?: number;
  /**
   * Concurrency reserved for (and capping) this function.
   * @default - none: the account's unreserved pool
   */
  readonly reservedConcurrency?: number;
  /**
   * Provisioned concurrency (1-1000): the function publishes a version on every change, an alias
   * (`aliasName`) points at it, and this many environments of the alias are kept initialised. Invoke
   * the alias (`invokeTargetArn`) to use them. Billed for every configured GB-second, used or not.
   * A Terraform expression (a plain-module variable) may also be 0, meaning off: the alias and the
   * config then get `count = 0`, `publish` is false and `invokeTargetArn` chooses at plan time.
   * @default - none: on-demand environments only, the unqualified function is invoked
   */
  readonly provisionedConcurrency?: number;
  /**
   * Name of the alias created with provisioned concurrency.
   * @default 'live'
   */
  readonly aliasName?: string;
  /**
   * Active X-Ray tracing. Adds xray:PutTraceSegments/PutTelemetryRecords on "*" (X-Ray has no
   * resource-level permissions).
   * @default false
   */
  readonly tracing?: boolean;
  /** @default {} */
  readonly tags?: Record<string, string>;
  /**
   * Resources the function must wait for, e.g. the step that pushes its image.
   * @default []
   */
  readonly waitFor?: ITerraformDependable[];
}

/** Statement ids whose `"*"` resource is allowed because AWS offers nothing narrower. */
export const WILDCARD_RESOURCE_SIDS = ['XRayWriteTraces', 'ListKinesisStreams'] as const;

export class ContainerFunction extends Construct implements IGrantable {
  readonly function: LambdaFunction;
  readonly role: IamRole;
  readonly logGroup: CloudwatchLogGroup;
  readonly rolePolicy: IamRolePolicy;
  readonly timeout: number;
  /**
   * The alias, when provisioned concurrency is configured (with `count` when it is a Terraform
   * expression: address it through `invokeTargetArn`, not `alias.arn`).
   */
  readonly alias?: LambdaAlias;
  /** The provisioned concurrency of `alias`, when configured. */
  readonly provisionedConcurrencyConfig?: LambdaProvisionedConcurrencyConfig;
  /**
   * When `provisionedConcurrency` is a Terraform expression: the condition (>= 1) giving `alias` and its config
   * `count = 1`.
   */
  private readonly provisionedWhen?: IResolvable;
  private readonly statements = new StatementCollector();

  constructor(scope: Construct, id: string, props: ContainerFunctionProps) {
    super(scope, id);
    const architecture = props.architecture ?? 'x86_64';
    const memorySize = props.memorySize ?? 1024;
    this.timeout = props.timeout ?? 30;
    const retention = props.logRetentionDays ?? 30;
    checkOneOf(`${id}.architecture`, architecture, ARCHITECTURES);
    checkIntRange(`${id}.memorySize`, memorySize, 128, 10240);
    checkIntRange(`${id}.timeout`, this.timeout, 1, 900);
    checkOneOf(`${id}.logRetentionDays`, retention, LOG_RETENTION_DAYS);
    if (props.reservedConcurrency !== undefined)
      checkIntRange(`${id}.reservedConcurrency`, props.reservedConcurrency, 0, 10000);
    const provisioned = props.provisionedConcurrency;
    if (provisioned !== undefined) checkIntRange(`${id}.provisionedConcurrency`, provisioned, 1, 1000);
    const aliasName = props.aliasName ?? 'live';
    if (isKnown(aliasName) && !/^(?!^[0-9]+$)[a-zA-Z0-9-_]{1,128}$/.test(aliasName)) {
      throw configError(
        `${id}.aliasName`,
        `${JSON.stringify(aliasName)} is not 1..128 of a-z, A-Z, 0-9, ` +
          `'-', '_' (and not only digits, which would name a version)`,
      );
    }

    this.role = new IamRole(this, 'role', {
      name: `${props.functionName}-role`,
      description: `Execution role of the ${props.functionName} function`,
      assumeRolePolicy: lambdaTrustPolicyJson(),
      tags: props.tags,
    });
    this.logGroup = new CloudwatchLogGroup(this, 'log-group', {
      name: `/aws/lambda/${props.functionName}`,
      retentionInDays: retention,
      tags: props.tags,
    });
    this.addToPrincipalPolicy({
      sid: 'WriteOwnLogs',
      actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
      resources: [`${this.logGroup.arn}:*`],
    });
    if (props.tracing) {
      this.addToPrincipalPolicy({
        sid: 'XRayWriteTraces',
        actions: ['xray:PutTraceSegments', 'xray:PutTelemetryRecords'],
        resources: ['*'],
      });
    }
    // One inline policy, rendered after every grant* call has been made.
    this.rolePolicy = new IamRolePolicy(this, 'policy', {
      name: `${props.functionName}-least-privilege`,
      role: this.role.id,
      policy: Lazy.stringValue({ produce: () => identityPolicyJson(this.statements.statements) }),
    });
    this.function = new LambdaFunction(this, 'function', {
      functionName: props.functionName,
      packageType: 'Image',
      imageUri: props.imageUri,
      imageConfig: props.command ? { command: props.command } : undefined,
      architectures: [architecture],
      role: this.role.arn,
      memorySize,
      timeout: this.timeout,
      reservedConcurrentExecutions: props.reservedConcurrency,
      environment:
        props.environment && Object.keys(props.environment).length > 0 ? { variables: props.environment } : undefined,
      // The levels are Lambda's defaults for JSON logs, stated: left out, Lambda answers INFO for both,
      // and with `publish` the AWS provider then plans a new version at every run (its issue 42181).
      loggingConfig: {
        logFormat: 'JSON',
        logGroup: this.logGroup.name,
        applicationLogLevel: 'INFO',
        systemLogLevel: 'INFO',
      },
      tracingConfig: props.tracing ? { mode: 'Active' } : undefined,
      tags: props.tags,
      // Provisioned concurrency lives on a published version, never on $LATEST.
      ...(provisioned === undefined
        ? {}
        : { publish: isKnown(provisioned) ? true : Token.asAny(Op.gte(provisioned, 1)) }),
      dependsOn: [this.rolePolicy, this.logGroup, ...(props.waitFor ?? [])],
    });
    if (provisioned !== undefined) {
      // A Terraform expression decides at plan time: 0 creates neither alias nor config.
      this.provisionedWhen = isKnown(provisioned) ? undefined : Op.gte(provisioned, 1);
      const count = this.provisionedWhen ? Token.asNumber(Fn.conditional(this.provisionedWhen, 1, 0)) : undefined;
      this.alias = new LambdaAlias(this, 'alias', {
        count,
        name: aliasName,
        description: `Provisioned-concurrency alias of ${props.functionName}`,
        functionName: this.function.functionName,
        functionVersion: this.function.version,
      });
      this.provisionedConcurrencyConfig = new LambdaProvisionedConcurrencyConfig(this, 'provisioned-concurrency', {
        count,
        functionName: this.function.functionName,
        qualifier: this.provisionedWhen ? this.firstAliasAttribute('name') : this.alias.name,
        provisionedConcurrentExecutions: provisioned,
      });
    }
  }

  /** With a counted alias: `<alias>[0].<attribute>` (only evaluated where the alias exists). */
  private firstAliasAttribute(attribute: 'arn' | 'name'): string {
    const alias = this.alias!;
    return Token.asString(
      ref(`${alias.terraformResourceType}.${alias.friendlyUniqueId}[0].${attribute}`, TerraformStack.of(this)),
    );
  }

  /**
   * What event sources should invoke: the alias when provisioned concurrency is configured (only
   * invocations of the alias use its provisioned environments), else the function. With a
   * Terraform expression as `provisionedConcurrency`, a conditional chosen at plan time.
   */
  get invokeTargetArn(): string {
    if (!this.alias) return this.function.arn;
    if (!this.provisionedWhen) return this.alias.arn;
    return Token.asString(Fn.conditional(this.provisionedWhen, this.firstAliasAttribute('arn'), this.function.arn));
  }

  get functionName(): string {
    return this.function.functionName;
  }

  get functionArn(): string {
    return this.function.arn;
  }

  addToPrincipalPolicy(statement: PolicyStatement): void {
    this.statements.addToPrincipalPolicy(statement);
  }

  /**
   * Grants secretsmanager:GetSecretValue on one secret. When the ARN is a Terraform expression
   * that may be empty (an optional module variable), the grant is a separate policy created only
   * when the ARN is set. Secrets encrypted with a customer-managed KMS key also need kms:Decrypt on it.
   */
  grantSecretRead(secretArn: string): void {
    const statement: PolicyStatement = {
      sid: 'ReadSecret',
      actions: ['secretsmanager:GetSecretValue'],
      resources: [secretArn],
    };
    if (isKnown(secretArn)) {
      this.addToPrincipalPolicy(statement);
      return;
    }
    new IamRolePolicy(this, 'secret-policy', {
      count: Token.asNumber(Fn.conditional(Op.gte(Fn.lengthOf(secretArn), 1), 1, 0)),
      name: `${this.node.id}-read-secret`,
      role: this.role.id,
      policy: identityPolicyJson([statement]),
    });
  }
}
