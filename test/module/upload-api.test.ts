import { PipelineError } from '../../src/core/errors';
import { KEEP_WARM_PING } from '../../src/core/upload';
import { resourceNamed, resourcesOf, synthChain, TEST_IMAGES, type TfJson } from './synth';

const UPLOAD_IMAGE = '123456789012.dkr.ecr.us-east-1.amazonaws.com/irc-upload:t1';

function policyOf(
  doc: TfJson,
  fragment: string,
): { Statement: Array<{ Sid: string; Action: string[] | string; Resource: string[] | string }> } {
  const policy = resourceNamed(doc, 'aws_iam_role_policy', fragment).policy as string;
  return JSON.parse(policy) as ReturnType<typeof policyOf>;
}

describe('uploadApi prop', () => {
  it('is off by default: no API, no upload function, no output', () => {
    const doc = synthChain();
    expect(resourcesOf(doc, 'aws_apigatewayv2_api')).toEqual({});
    expect(Object.keys(resourcesOf(doc, 'aws_lambda_function'))).toHaveLength(2);
    expect(doc.output?.upload_api_url).toBeUndefined();
  });

  describe('on, without authorization', () => {
    const doc = synthChain({
      images: { ...TEST_IMAGES, upload: UPLOAD_IMAGE },
      uploadApi: { corsAllowOrigins: ['https://app.example.com'], allowAnonymousUploads: true },
    });

    it('creates an HTTP API with CORS, POST /uploads, a $default stage with access logs', () => {
      const api = resourceNamed(doc, 'aws_apigatewayv2_api', 'upload');
      expect(api).toMatchObject({
        protocol_type: 'HTTP',
        cors_configuration: { allow_origins: ['https://app.example.com'], allow_methods: ['POST', 'OPTIONS'] },
      });
      const route = resourceNamed(doc, 'aws_apigatewayv2_route', 'upload');
      expect(route).toMatchObject({ route_key: 'POST /uploads', authorization_type: 'NONE' });
      expect(route.target).toMatch(/^integrations\/\$\{aws_apigatewayv2_integration\./);
      expect(resourceNamed(doc, 'aws_apigatewayv2_integration', 'upload')).toMatchObject({
        integration_type: 'AWS_PROXY',
        payload_format_version: '2.0',
      });
      const stage = resourceNamed(doc, 'aws_apigatewayv2_stage', 'upload') as {
        name: string;
        auto_deploy: boolean;
        access_log_settings: { destination_arn: string; format: string };
      };
      expect(stage).toMatchObject({ name: '$default', auto_deploy: true });
      expect(stage.access_log_settings.destination_arn).toMatch(/aws_cloudwatch_log_group\..*access_logs.*\.arn/);
      expect(JSON.parse(stage.access_log_settings.format)).toHaveProperty('requestId', '$context.requestId');
    });

    it('runs the upload image with its settings in the environment', () => {
      const fn = resourceNamed(doc, 'aws_lambda_function', 'upload') as {
        image_uri: string;
        function_name: string;
        environment: { variables: Record<string, string> };
      };
      expect(fn.image_uri).toBe(UPLOAD_IMAGE);
      expect(fn.function_name).toBe('image-resize-chain-upload');
      expect(fn.environment.variables).toMatchObject({
        UPLOADS_PREFIX: 'uploads/',
        ALLOWED_CONTENT_TYPES: 'image/jpeg,image/png,image/webp,image/gif,image/avif',
        MAX_UPLOAD_BYTES: String(50 * 1024 * 1024),
        UPLOAD_EXPIRES_SECONDS: '300',
      });
      expect(fn.environment.variables.SOURCE_BUCKET).toMatch(/aws_s3_bucket\.|source/);
    });

    it('lets the function put objects under the uploads prefix only', () => {
      const statements = policyOf(doc, 'upload').Statement;
      // Besides its own log group, S3 only: PutObject under the prefix.
      expect(statements.map((st) => st.Sid).sort()).toEqual(['SignUploads', 'WriteOwnLogs']);
      const s3 = statements.find((st) => st.Sid === 'SignUploads')!;
      expect([s3.Action].flat()).toEqual(['s3:PutObject']);
      const resources = [s3.Resource].flat();
      expect(resources).toHaveLength(1);
      expect(resources[0]).toMatch(/\/uploads\/\*$/);
    });

    it('lets only this API invoke the function', () => {
      const permission = resourceNamed(doc, 'aws_lambda_permission', 'upload') as {
        principal: string;
        source_arn: string;
        action: string;
      };
      expect(permission.principal).toBe('apigateway.amazonaws.com');
      expect(permission.action).toBe('lambda:InvokeFunction');
      expect(permission.source_arn).toMatch(/^\$\{aws_apigatewayv2_api\..*\.execution_arn\}\/\*\/POST\/uploads$/);
    });

    it(
      'lets browsers on the allowed origins POST forms to the source ' +
        'bucket (S3 answers preflights from the bucket CORS configuration)',
      () => {
        const cors = resourceNamed(doc, 'aws_s3_bucket_cors_configuration', 'upload');
        expect(cors.bucket).toBe('${aws_s3_bucket.chain_source_bucket.bucket}');
        expect(cors.cors_rule).toEqual([
          {
            allowed_methods: ['POST'],
            allowed_origins: ['https://app.example.com'],
            expose_headers: ['ETag'],
            max_age_seconds: 3000,
          },
        ]);
      },
    );

    it('reserves 10 concurrent executions for the upload function by default', () => {
      expect(resourceNamed(doc, 'aws_lambda_function', 'upload').reserved_concurrent_executions).toBe(10);
    });

    it('outputs the API URL', () => {
      expect(String(doc.output?.upload_api_url?.value)).toMatch(/aws_apigatewayv2_api\..*\.api_endpoint/);
    });
  });

  it('refuses an API without authorization unless allowAnonymousUploads is true', () => {
    let error: unknown;
    try {
      synthChain({ uploadApi: { imageUri: UPLOAD_IMAGE } });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(PipelineError);
    expect((error as PipelineError).subject.field).toBe('upload-api.authorization');
    expect((error as PipelineError).message).toMatch(/allowAnonymousUploads: true/);
    expect(() => synthChain({ uploadApi: { imageUri: UPLOAD_IMAGE, allowAnonymousUploads: false } })).toThrow(
      /allowAnonymousUploads/,
    );
  });

  it('adds a JWT authorizer to the route', () => {
    const doc = synthChain({
      uploadApi: {
        imageUri: UPLOAD_IMAGE,
        authorization: { type: 'jwt', issuer: 'https://issuer.example.com/', audience: ['my-app'] },
      },
    });
    const authorizer = resourceNamed(doc, 'aws_apigatewayv2_authorizer', 'upload');
    expect(authorizer).toMatchObject({
      authorizer_type: 'JWT',
      identity_sources: ['$request.header.Authorization'],
      jwt_configuration: { issuer: 'https://issuer.example.com/', audience: ['my-app'] },
    });
    expect(resourceNamed(doc, 'aws_apigatewayv2_route', 'upload')).toMatchObject({ authorization_type: 'JWT' });
    expect(String(resourceNamed(doc, 'aws_apigatewayv2_route', 'upload').authorizer_id)).toMatch(
      /aws_apigatewayv2_authorizer/,
    );
  });

  it('uses IAM authorization on request', () => {
    const doc = synthChain({ uploadApi: { imageUri: UPLOAD_IMAGE, authorization: { type: 'iam' } } });
    expect(resourceNamed(doc, 'aws_apigatewayv2_route', 'upload')).toMatchObject({ authorization_type: 'AWS_IAM' });
    expect(resourcesOf(doc, 'aws_apigatewayv2_authorizer')).toEqual({});
  });

  it('builds an upload image repository when no images are given', () => {
    const doc = synthChain({ images: undefined, uploadApi: { allowAnonymousUploads: true } });
    expect(Object.keys(resourcesOf(doc, 'aws_ecr_repository'))).toHaveLength(3);
    expect(resourceNamed(doc, 'aws_ecr_repository', 'upload')).toMatchObject({ name: 'image-resize-chain-upload' });
  });

  it.each([
    [{ expiresSeconds: 30 }, 'upload-api.expiresSeconds'],
    [{ expiresSeconds: 7200 }, 'upload-api.expiresSeconds'],
    [{ allowedContentTypes: [] }, 'upload-api.allowedContentTypes'],
    [{ allowedContentTypes: ['JPEG'] }, 'upload-api.allowedContentTypes'],
    [
      { authorization: { type: 'jwt' as const, issuer: 'http://insecure', audience: ['a'] } },
      'upload-api.authorization.issuer',
    ],
  ])('refuses %j at synth time', (uploadApi, field) => {
    let error: unknown;
    try {
      synthChain({ uploadApi: { imageUri: UPLOAD_IMAGE, allowAnonymousUploads: true, ...uploadApi } });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(PipelineError);
    expect((error as PipelineError).subject.field).toBe(field);
  });

  it('refuses given images without an upload image', () => {
    expect(() => synthChain({ uploadApi: {} })).toThrow(/uploadApi\.imageUri/);
  });

  describe('keepWarm', () => {
    const withKeepWarm = (keepWarm: object): TfJson =>
      synthChain({ uploadApi: { imageUri: UPLOAD_IMAGE, allowAnonymousUploads: true, keepWarm } });

    it('is off by default: no rule, no target, no EventBridge permission', () => {
      const doc = synthChain({ uploadApi: { imageUri: UPLOAD_IMAGE, allowAnonymousUploads: true } });
      expect(resourcesOf(doc, 'aws_cloudwatch_event_rule')).toEqual({});
      expect(resourcesOf(doc, 'aws_cloudwatch_event_target')).toEqual({});
      expect(Object.values(resourcesOf(doc, 'aws_lambda_permission')).map((p) => p.principal)).not.toContain(
        'events.amazonaws.com',
      );
    });

    it('pings the upload function every 5 minutes with the fixed input, allowed by that rule only', () => {
      const doc = withKeepWarm({});
      const rules = resourcesOf(doc, 'aws_cloudwatch_event_rule');
      expect(Object.keys(rules)).toHaveLength(1);
      const [ruleName, rule] = Object.entries(rules)[0];
      expect(rule).toMatchObject({
        name: 'image-resize-chain-upload-keep-warm',
        schedule_expression: 'rate(5 minutes)',
      });
      expect(rule.event_bus_name).toBeUndefined(); // scheduled rules live on the default bus

      const targets = Object.values(resourcesOf(doc, 'aws_cloudwatch_event_target'));
      expect(targets).toHaveLength(1);
      expect(targets[0]).toMatchObject({
        rule: `\${aws_cloudwatch_event_rule.${ruleName}.name}`,
        retry_policy: { maximum_retry_attempts: 0 },
      });
      expect(JSON.parse(targets[0].input as string)).toEqual({ source: 'resize-chain.keep-warm' });
      expect(JSON.parse(targets[0].input as string)).toEqual(KEEP_WARM_PING);
      const fnName = Object.keys(resourcesOf(doc, 'aws_lambda_function')).find((n) => n.includes('upload'));
      expect(targets[0].arn).toBe(`\${aws_lambda_function.${fnName}.arn}`);

      const permissions = Object.values(resourcesOf(doc, 'aws_lambda_permission')).filter(
        (p) => p.principal === 'events.amazonaws.com',
      );
      expect(permissions).toHaveLength(1);
      expect(permissions[0]).toMatchObject({
        action: 'lambda:InvokeFunction',
        function_name: `\${aws_lambda_function.${fnName}.function_name}`,
        source_arn: `\${aws_cloudwatch_event_rule.${ruleName}.arn}`,
      });
    });

    it('takes a cron schedule and several pings per tick, five targets per rule', () => {
      const doc = withKeepWarm({ rate: 'cron(0/5 8-18 ? * MON-FRI *)', concurrency: 7 });
      const rules = Object.entries(resourcesOf(doc, 'aws_cloudwatch_event_rule'));
      expect(rules.map(([, r]) => r.schedule_expression)).toEqual([
        'cron(0/5 8-18 ? * MON-FRI *)',
        'cron(0/5 8-18 ? * MON-FRI *)',
      ]);
      expect(rules.map(([, r]) => r.name).sort()).toEqual([
        'image-resize-chain-upload-keep-warm',
        'image-resize-chain-upload-keep-warm-2',
      ]);
      const targets = Object.values(resourcesOf(doc, 'aws_cloudwatch_event_target'));
      expect(targets).toHaveLength(7);
      const perRule = new Map<unknown, number>();
      for (const t of targets) perRule.set(t.rule, (perRule.get(t.rule) ?? 0) + 1);
      expect([...perRule.values()].sort()).toEqual([2, 5]);
      expect(new Set(targets.map((t) => t.target_id)).size).toBe(7);
      // One permission per rule, each scoped to its own rule's ARN.
      const sources = Object.values(resourcesOf(doc, 'aws_lambda_permission'))
        .filter((p) => p.principal === 'events.amazonaws.com')
        .map((p) => p.source_arn);
      expect(sources.sort()).toEqual(rules.map(([name]) => `\${aws_cloudwatch_event_rule.${name}.arn}`).sort());
    });

    it.each([
      [{ rate: 'every 5 minutes' }, 'upload-api.keepWarm.rate'],
      [{ rate: 'rate(5 minute)' }, 'upload-api.keepWarm.rate'],
      [{ rate: 'rate(1 minutes)' }, 'upload-api.keepWarm.rate'],
      [{ rate: 'rate(0 minutes)' }, 'upload-api.keepWarm.rate'],
      [{ rate: 'rate(5 seconds)' }, 'upload-api.keepWarm.rate'],
      [{ rate: 'cron(0/5 * * * *)' }, 'upload-api.keepWarm.rate'],
      [{ concurrency: 0 }, 'upload-api.keepWarm.concurrency'],
      [{ concurrency: 11 }, 'upload-api.keepWarm.concurrency'],
      [{ concurrency: 1.5 }, 'upload-api.keepWarm.concurrency'],
    ])('refuses %j with INVALID_CONFIG naming the prop', (keepWarm, field) => {
      let error: unknown;
      try {
        withKeepWarm(keepWarm);
      } catch (err) {
        error = err;
      }
      expect(error).toBeInstanceOf(PipelineError);
      expect((error as PipelineError).code).toBe('INVALID_CONFIG');
      expect((error as PipelineError).subject.field).toBe(field);
      expect((error as PipelineError).message).toContain(field);
    });

    it.each(['rate(1 minute)', 'rate(2 hours)', 'rate(1 day)', 'cron(0 12 * * ? *)'])('accepts %s', (rate) => {
      expect(resourceNamed(withKeepWarm({ rate }), 'aws_cloudwatch_event_rule', 'keep_warm').schedule_expression).toBe(
        rate,
      );
    });
  });
});
