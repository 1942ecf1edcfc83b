/**
 * `UploadApi`: the request-response upload path. An API Gateway HTTP API (`POST /uploads`, CORS,
 * optional JWT or IAM authorization, access logs) in front of the upload function, which answers
 * with a presigned POST for one key under the uploads prefix. The browser then sends the file
 * straight to S3: the bytes never pass through Lambda or API Gateway.
 */
import { Construct } from 'constructs';
import { ITerraformDependable } from 'cdktf';
import { Apigatewayv2Api } from '@cdktf/provider-aws/lib/apigatewayv2-api';
import { Apigatewayv2Authorizer } from '@cdktf/provider-aws/lib/apigatewayv2-authorizer';
import { Apigatewayv2Integration } from '@cdktf/provider-aws/lib/apigatewayv2-integration';
import { Apigatewayv2Route } from '@cdktf/provider-aws/lib/apigatewayv2-route';
import { Apigatewayv2Stage } from '@cdktf/provider-aws/lib/apigatewayv2-stage';
import { CloudwatchEventRule } from '@cdktf/provider-aws/lib/cloudwatch-event-rule';
import { CloudwatchEventTarget } from '@cdktf/provider-aws/lib/cloudwatch-event-target';
import { CloudwatchLogGroup } from '@cdktf/provider-aws/lib/cloudwatch-log-group';
import { CloudwatchMetricAlarm } from '@cdktf/provider-aws/lib/cloudwatch-metric-alarm';
import { LambdaPermission } from '@cdktf/provider-aws/lib/lambda-permission';
import { S3BucketCorsConfiguration } from '@cdktf/provider-aws/lib/s3-bucket-cors-configuration';
import { configError } from '../src/core/errors';
import { DEFAULT_ALLOWED_CONTENT_TYPES, KEEP_WARM_PING, uploadCorsRule } from '../src/core/upload';
import { DEFAULT_LIMITS } from '../src/core/limits';
import { UPLOAD_FUNCTION_DEFAULTS } from '../src/core/chain-defaults';
import { Architecture, ContainerFunction } from './container-function';
import { FunctionAlarms, apiServerErrorsAlarm } from './function-alarms';
import { checkIntRange, isKnown } from './validation';

/** Who may call `POST /uploads`. */
export type UploadAuthorization =
  /** A JWT authorizer: tokens from `issuer` (an https OIDC issuer) with one of `audience` in `aud`. */
  | { readonly type: 'jwt'; readonly issuer: string; readonly audience: string[] }
  /** SigV4-signed requests by principals allowed execute-api:Invoke on the route. */
  | { readonly type: 'iam' };

/**
 * A scheduled ping that keeps upload environments initialised, so the person waiting on
 * `POST /uploads` rarely meets a cold start. Each tick invokes the function `concurrency` times
 * with `{"source":"resize-chain.keep-warm"}`; the handler answers at once without loading the SDK.
 * One ping keeps at most one environment warm, and concurrent pings may land on the same
 * environment: for a guaranteed number of initialised environments use provisioned concurrency.
 */
export interface KeepWarmOptions {
  /**
   * An EventBridge schedule expression, `rate(N minute|minutes|hour|hours|day|days)` or `cron(6 fields)`.
   * @default 'rate(5 minutes)'
   */
  readonly rate?: string;
  /** Pings per tick, 1-10 (one rule per 5 targets, EventBridge's limit per rule). @default 1 */
  readonly concurrency?: number;
}

/** EventBridge accepts at most five targets per rule. */
const TARGETS_PER_RULE = 5;

/**
 * Refuses a schedule expression EventBridge would reject at apply time: `rate(1 minute)`,
 * `rate(N minutes)` (likewise hour(s), day(s); N a positive whole number, singular only for 1) or
 * `cron(...)` with six fields. Terraform expressions pass.
 */
export function checkScheduleExpression(field: string, expression: string): void {
  if (!isKnown(expression)) return;
  const rate = /^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$/.exec(expression);
  if (rate) {
    const value = Number(rate[1]);
    const singular = !rate[2].endsWith('s');
    if (value >= 1 && singular === (value === 1)) return;
    throw configError(
      field,
      `${JSON.stringify(expression)}: the value must be a whole number >= 1, ` +
        `with a singular unit only for 1 (e.g. rate(1 minute), rate(5 minutes))`,
    );
  }
  const cron = /^cron\((.*)\)$/.exec(expression);
  if (cron && cron[1].trim().split(/\s+/).length === 6 && /^[0-9A-Za-z*?/,#\- ]+$/.test(cron[1])) return;
  throw configError(
    field,
    `${JSON.stringify(expression)} is not a schedule expression: ` +
      `want rate(N minutes|hours|days) or cron(minutes hours day-of-month month day-of-week year)`,
  );
}

/** What the chain's `uploadApi` prop takes (the chain supplies bucket, prefix, names and image). */
export interface UploadApiOptions {
  /**
   * Image URI of the upload handler.
   * @default - built and pushed with the chain's other images (or required when `images` is given)
   */
  readonly imageUri?: string;
  /** Content types the API signs for. @default DEFAULT_ALLOWED_CONTENT_TYPES (jpeg, png, webp, gif, avif) */
  readonly allowedContentTypes?: string[];
  /** Largest upload in bytes (the policy's content-length-range). @default the resize stage's maxInputBytes (50 MiB) */
  readonly maxUploadBytes?: number;
  /** Lifetime of a presigned POST, 60-3600 s. @default 300 */
  readonly expiresSeconds?: number;
  /**
   * Origins allowed by CORS, on the API and on the source bucket (the page POSTs the form straight
   * to S3, which answers the preflight from the bucket's own CORS configuration).
   * @default ['*'] (no credentials are sent cross-origin)
   */
  readonly corsAllowOrigins?: string[];
  /**
   * Who may call `POST /uploads`. Without it the API is refused unless `allowAnonymousUploads` is true.
   * @default - none (refused unless allowAnonymousUploads)
   */
  readonly authorization?: UploadAuthorization;
  /**
   * Create the API without authorization: anyone who can reach it gets upload forms (each for one
   * key under the uploads prefix, with the size and type limits). An explicit choice, never a default.
   * @default false
   */
  readonly allowAnonymousUploads?: boolean;
  /** @default 256 */
  readonly memorySize?: number;
  /** @default 10 */
  readonly timeout?: number;
  /**
   * Concurrency reserved for (and capping) the upload function, so a burst of form requests cannot
   * take the account's whole pool from the chain. Needs that much unreserved concurrency in the account.
   * @default 10
   */
  readonly reservedConcurrency?: number;
  /** Scheduled keep-warm pings of the upload function. @default - none */
  readonly keepWarm?: KeepWarmOptions;
}

export interface UploadApiProps extends UploadApiOptions {
  /** Names the API (`<p>-upload-api`), the function (`<p>-upload`) and the log groups. */
  readonly namePrefix: string;
  readonly imageUri: string;
  readonly sourceBucketName: string;
  readonly sourceBucketArn: string;
  /** The watched prefix; uploads are signed only under it. */
  readonly uploadsPrefix: string;
  /** @default 'x86_64' */
  readonly architecture?: Architecture;
  /** Notified by the function's alarms and the API's 5xx alarm. @default [] */
  readonly alarmActions?: string[];
  /** @default 30 */
  readonly logRetentionDays?: number;
  /** @default 'INFO' */
  readonly logLevel?: string;
  /** @default false */
  readonly tracing?: boolean;
  readonly tags?: Record<string, string>;
  readonly waitFor?: ITerraformDependable[];
}

/** API Gateway access log line: JSON, one request per line. */
const ACCESS_LOG_FORMAT = JSON.stringify({
  requestId: '$context.requestId',
  ip: '$context.identity.sourceIp',
  requestTime: '$context.requestTime',
  routeKey: '$context.routeKey',
  status: '$context.status',
  responseLength: '$context.responseLength',
  integrationError: '$context.integrationErrorMessage',
  authorizerError: '$context.authorizer.error',
});

export class UploadApi extends Construct {
  readonly api: Apigatewayv2Api;
  readonly stage: Apigatewayv2Stage;
  readonly route: Apigatewayv2Route;
  readonly function: ContainerFunction;
  readonly accessLogGroup: CloudwatchLogGroup;
  readonly authorizer?: Apigatewayv2Authorizer;
  /** The source bucket's CORS configuration: browsers may POST the presigned form from `corsAllowOrigins`. */
  readonly bucketCors: S3BucketCorsConfiguration;
  /** With `keepWarm`: the scheduled rules (one per five pings). */
  readonly keepWarmRules: CloudwatchEventRule[] = [];
  /** The function's Errors, Throttles and Duration alarms and the API's 5xx alarm. */
  readonly alarms: CloudwatchMetricAlarm[];

  constructor(scope: Construct, id: string, props: UploadApiProps) {
    super(scope, id);
    const expiresSeconds = props.expiresSeconds ?? 300;
    checkIntRange(`${id}.expiresSeconds`, expiresSeconds, 60, 3600);
    const maxUploadBytes = props.maxUploadBytes ?? DEFAULT_LIMITS.maxInputBytes;
    checkIntRange(`${id}.maxUploadBytes`, maxUploadBytes, 1, 5 * 1024 * 1024 * 1024);
    const contentTypes = props.allowedContentTypes ?? [...DEFAULT_ALLOWED_CONTENT_TYPES];
    if (contentTypes.length === 0) throw configError(`${id}.allowedContentTypes`, 'names no content type');
    for (const type of contentTypes) {
      if (isKnown(type) && !/^[a-z0-9][a-z0-9!#$&^_.+-]*\/[a-z0-9][a-z0-9!#$&^_.+-]*$/.test(type)) {
        throw configError(
          `${id}.allowedContentTypes`,
          `${JSON.stringify(type)} is not a lower-case media type such as image/jpeg`,
        );
      }
    }
    const auth = props.authorization;
    if (!auth && props.allowAnonymousUploads !== true) {
      throw configError(
        `${id}.authorization`,
        'is required: set a JWT or IAM authorization, or allowAnonymousUploads: ' +
          'true to let anyone who can reach the API get upload forms',
      );
    }
    if (auth?.type === 'jwt') {
      if (isKnown(auth.issuer) && !/^https:\/\/[^\s]+$/.test(auth.issuer))
        throw configError(`${id}.authorization.issuer`, `must be an https URL, got ${JSON.stringify(auth.issuer)}`);
      if (auth.audience.length === 0) throw configError(`${id}.authorization.audience`, 'needs at least one audience');
    }
    const keepWarmRate = props.keepWarm?.rate ?? 'rate(5 minutes)';
    const keepWarmConcurrency = props.keepWarm?.concurrency ?? 1;
    if (props.keepWarm) {
      checkScheduleExpression(`${id}.keepWarm.rate`, keepWarmRate);
      checkIntRange(`${id}.keepWarm.concurrency`, keepWarmConcurrency, 1, 10);
      if (!isKnown(keepWarmConcurrency))
        throw configError(
          `${id}.keepWarm.concurrency`,
          'must be known at synth time (it decides how many targets are created)',
        );
    }
    const name = `${props.namePrefix}-upload-api`;

    this.function = new ContainerFunction(this, 'function', {
      functionName: `${props.namePrefix}-upload`,
      imageUri: props.imageUri,
      command: ['upload.handler'],
      architecture: props.architecture,
      memorySize: props.memorySize ?? UPLOAD_FUNCTION_DEFAULTS.memorySize,
      timeout: props.timeout ?? UPLOAD_FUNCTION_DEFAULTS.timeout,
      reservedConcurrency: props.reservedConcurrency ?? 10,
      logRetentionDays: props.logRetentionDays,
      tracing: props.tracing,
      tags: props.tags,
      environment: {
        SOURCE_BUCKET: props.sourceBucketName,
        UPLOADS_PREFIX: props.uploadsPrefix,
        ALLOWED_CONTENT_TYPES: contentTypes.join(','),
        MAX_UPLOAD_BYTES: String(maxUploadBytes),
        UPLOAD_EXPIRES_SECONDS: String(expiresSeconds),
        LOG_LEVEL: props.logLevel ?? 'INFO',
      },
      waitFor: props.waitFor,
    });
    // A presigned POST is signed with the function's own credentials: S3 checks the upload
    // against this role, so the role may put objects under the uploads prefix and nowhere else.
    this.function.addToPrincipalPolicy({
      sid: 'SignUploads',
      actions: ['s3:PutObject'],
      resources: [`${props.sourceBucketArn}/${props.uploadsPrefix}*`],
    });

    const corsOrigins = props.corsAllowOrigins ?? ['*'];
    // S3 refuses a browser's preflight for the form POST unless the bucket itself allows it.
    const corsRule = uploadCorsRule(corsOrigins);
    this.bucketCors = new S3BucketCorsConfiguration(this, 'bucket-cors', {
      bucket: props.sourceBucketName,
      corsRule: [
        {
          allowedMethods: corsRule.AllowedMethods,
          allowedOrigins: corsRule.AllowedOrigins,
          allowedHeaders: corsRule.AllowedHeaders,
          exposeHeaders: corsRule.ExposeHeaders,
          maxAgeSeconds: corsRule.MaxAgeSeconds,
        },
      ],
    });

    this.api = new Apigatewayv2Api(this, 'api', {
      name,
      protocolType: 'HTTP',
      description: `Presigned POST uploads into ${props.uploadsPrefix} of the image-resize-chain source bucket`,
      corsConfiguration: {
        allowOrigins: corsOrigins,
        allowMethods: ['POST', 'OPTIONS'],
        allowHeaders: ['authorization', 'content-type', 'x-amz-date', 'x-amz-security-token'],
        maxAge: 3600,
      },
      tags: props.tags,
    });
    this.accessLogGroup = new CloudwatchLogGroup(this, 'access-logs', {
      name: `/aws/apigateway/${name}`,
      retentionInDays: props.logRetentionDays ?? 30,
      tags: props.tags,
    });
    const integration = new Apigatewayv2Integration(this, 'integration', {
      apiId: this.api.id,
      integrationType: 'AWS_PROXY',
      integrationMethod: 'POST',
      integrationUri: this.function.invokeTargetArn,
      payloadFormatVersion: '2.0',
      timeoutMilliseconds: 10000,
    });
    if (auth?.type === 'jwt') {
      this.authorizer = new Apigatewayv2Authorizer(this, 'authorizer', {
        apiId: this.api.id,
        name: `${name}-jwt`,
        authorizerType: 'JWT',
        identitySources: ['$request.header.Authorization'],
        jwtConfiguration: { issuer: auth.issuer, audience: auth.audience },
      });
    }
    this.route = new Apigatewayv2Route(this, 'route', {
      apiId: this.api.id,
      routeKey: 'POST /uploads',
      target: `integrations/${integration.id}`,
      authorizationType: auth?.type === 'jwt' ? 'JWT' : auth?.type === 'iam' ? 'AWS_IAM' : 'NONE',
      authorizerId: this.authorizer?.id,
    });
    this.stage = new Apigatewayv2Stage(this, 'stage', {
      apiId: this.api.id,
      name: '$default',
      autoDeploy: true,
      accessLogSettings: { destinationArn: this.accessLogGroup.arn, format: ACCESS_LOG_FORMAT },
      defaultRouteSettings: { throttlingBurstLimit: 100, throttlingRateLimit: 50 },
      tags: props.tags,
    });
    const alarmArgs = { alarmActions: props.alarmActions, tags: props.tags };
    this.alarms = [
      ...new FunctionAlarms(this, 'function-alarms', { fn: this.function, ...alarmArgs }).alarms,
      apiServerErrorsAlarm(this, 'server-errors-alarm', {
        apiId: this.api.id,
        apiName: name,
        stage: this.stage.name,
        ...alarmArgs,
      }),
    ];
    new LambdaPermission(this, 'invoke-permission', {
      statementId: 'AllowUploadApiInvoke',
      action: 'lambda:InvokeFunction',
      functionName: this.function.functionName,
      qualifier: this.function.alias?.name,
      principal: 'apigateway.amazonaws.com',
      // Only this API's POST /uploads route, on any stage.
      sourceArn: `${this.api.executionArn}/*/POST/uploads`,
    });
    if (props.keepWarm) this.addKeepWarm(props.namePrefix, keepWarmRate, keepWarmConcurrency, props.tags);
  }

  /**
   * Rules on the default bus with `concurrency` targets in all, each allowed to invoke the function by its own rule's
   * ARN only.
   */
  private addKeepWarm(namePrefix: string, rate: string, concurrency: number, tags?: Record<string, string>): void {
    const input = JSON.stringify(KEEP_WARM_PING);
    for (let first = 0, index = 0; first < concurrency; first += TARGETS_PER_RULE, index += 1) {
      const suffix = index === 0 ? '' : `-${index + 1}`;
      const rule = new CloudwatchEventRule(this, `keep-warm-rule${suffix}`, {
        name: `${namePrefix}-upload-keep-warm${suffix}`,
        description: `Keeps ${namePrefix}-upload environments initialised`,
        scheduleExpression: rate,
        tags,
      });
      this.keepWarmRules.push(rule);
      for (let n = first; n < Math.min(concurrency, first + TARGETS_PER_RULE); n += 1) {
        new CloudwatchEventTarget(this, `keep-warm-target-${n + 1}`, {
          rule: rule.name,
          targetId: `keep-warm-${n + 1}`,
          arn: this.function.invokeTargetArn,
          input,
          // A late ping is worthless: no redelivery, and no ping older than a minute.
          retryPolicy: { maximumRetryAttempts: 0, maximumEventAgeInSeconds: 60 },
        });
      }
      new LambdaPermission(this, `keep-warm-permission${suffix}`, {
        statementId: `AllowKeepWarm${index + 1}`,
        action: 'lambda:InvokeFunction',
        functionName: this.function.functionName,
        qualifier: this.function.alias?.name,
        principal: 'events.amazonaws.com',
        sourceArn: rule.arn,
      });
    }
  }

  /** The API's base URL: `POST <url>/uploads`. */
  get url(): string {
    return this.api.apiEndpoint;
  }
}
