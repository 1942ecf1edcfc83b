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
import { CloudwatchLogGroup } from '@cdktf/provider-aws/lib/cloudwatch-log-group';
import { LambdaPermission } from '@cdktf/provider-aws/lib/lambda-permission';
import { configError } from '../src/core/errors';
import { DEFAULT_ALLOWED_CONTENT_TYPES } from '../src/core/upload';
import { DEFAULT_LIMITS } from '../src/core/limits';
import { Architecture, ContainerFunction } from './container-function';
import { checkIntRange, isKnown } from './validation';

/** Who may call `POST /uploads`. */
export type UploadAuthorization =
  /** A JWT authorizer: tokens from `issuer` (an https OIDC issuer) with one of `audience` in `aud`. */
  | { readonly type: 'jwt'; readonly issuer: string; readonly audience: string[] }
  /** SigV4-signed requests by principals allowed execute-api:Invoke on the route. */
  | { readonly type: 'iam' };

/** What the chain's `uploadApi` prop takes (the chain supplies bucket, prefix, names and image). */
export interface UploadApiOptions {
  /** Image URI of the upload handler. @default - built and pushed with the chain's other images (or required when `images` is given) */
  readonly imageUri?: string;
  /** Content types the API signs for. @default DEFAULT_ALLOWED_CONTENT_TYPES (jpeg, png, webp, gif, avif) */
  readonly allowedContentTypes?: string[];
  /** Largest upload in bytes (the policy's content-length-range). @default the resize stage's maxInputBytes (50 MiB) */
  readonly maxUploadBytes?: number;
  /** Lifetime of a presigned POST, 60-3600 s. @default 300 */
  readonly expiresSeconds?: number;
  /** Origins allowed by CORS. @default ['*'] (no credentials are sent cross-origin) */
  readonly corsAllowOrigins?: string[];
  /** @default - none: anyone who can reach the API gets upload forms */
  readonly authorization?: UploadAuthorization;
  /** @default 256 */
  readonly memorySize?: number;
  /** @default 10 */
  readonly timeout?: number;
  /** @default - none */
  readonly reservedConcurrency?: number;
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
        throw configError(`${id}.allowedContentTypes`, `${JSON.stringify(type)} is not a lower-case media type such as image/jpeg`);
      }
    }
    const auth = props.authorization;
    if (auth?.type === 'jwt') {
      if (isKnown(auth.issuer) && !/^https:\/\/[^\s]+$/.test(auth.issuer)) throw configError(`${id}.authorization.issuer`, `must be an https URL, got ${JSON.stringify(auth.issuer)}`);
      if (auth.audience.length === 0) throw configError(`${id}.authorization.audience`, 'needs at least one audience');
    }
    const name = `${props.namePrefix}-upload-api`;

    this.function = new ContainerFunction(this, 'function', {
      functionName: `${props.namePrefix}-upload`,
      imageUri: props.imageUri,
      architecture: props.architecture,
      memorySize: props.memorySize ?? 256,
      timeout: props.timeout ?? 10,
      reservedConcurrency: props.reservedConcurrency,
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
    this.function.addToPrincipalPolicy({ sid: 'SignUploads', actions: ['s3:PutObject'], resources: [`${props.sourceBucketArn}/${props.uploadsPrefix}*`] });

    this.api = new Apigatewayv2Api(this, 'api', {
      name,
      protocolType: 'HTTP',
      description: `Presigned POST uploads into ${props.uploadsPrefix} of the image-resize-chain source bucket`,
      corsConfiguration: {
        allowOrigins: props.corsAllowOrigins ?? ['*'],
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
    new LambdaPermission(this, 'invoke-permission', {
      statementId: 'AllowUploadApiInvoke',
      action: 'lambda:InvokeFunction',
      functionName: this.function.functionName,
      qualifier: this.function.alias?.name,
      principal: 'apigateway.amazonaws.com',
      // Only this API's POST /uploads route, on any stage.
      sourceArn: `${this.api.executionArn}/*/POST/uploads`,
    });
  }

  /** The API's base URL: `POST <url>/uploads`. */
  get url(): string {
    return this.api.apiEndpoint;
  }
}
