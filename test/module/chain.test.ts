/** Construct assertions: every resource and wiring the ImageResizeChain promises. */
import { DEFAULT_VARIANTS, parseVariantSpecs } from '../../src/core/variants';
import {
  asList,
  refTarget,
  resourceNamed,
  resourcesOf,
  statementsOf,
  synthChain,
  synthWithConsumer,
  TfJson,
} from './synth';

const doc = synthChain();

function env(d: TfJson, fn: string): Record<string, string> {
  return (resourceNamed(d, 'aws_lambda_function', fn).environment as { variables: Record<string, string> }).variables;
}

function actionsOn(d: TfJson, fn: string): Array<{ actions: string[]; resources: string[] }> {
  return statementsOf(resourceNamed(d, 'aws_iam_role_policy', `${fn}_policy`).policy).map((s) => ({
    actions: asList(s.Action),
    resources: asList(s.Resource),
  }));
}

describe('buckets', () => {
  test('creates a source and an output bucket, each with access block, SSE, ownership and TLS-only policy', () => {
    for (const which of ['source', 'output']) {
      const bucket = `aws_s3_bucket.chain_${which}_bucket`;
      expect(resourceNamed(doc, 'aws_s3_bucket', `${which}_bucket`).force_destroy).toBe(false);
      expect(resourceNamed(doc, 'aws_s3_bucket_public_access_block', which)).toMatchObject({
        block_public_acls: true,
        block_public_policy: true,
        ignore_public_acls: true,
        restrict_public_buckets: true,
      });
      expect(refTarget(resourceNamed(doc, 'aws_s3_bucket_public_access_block', which).bucket)).toBe(bucket);
      const sse = resourceNamed(doc, 'aws_s3_bucket_server_side_encryption_configuration', which);
      expect(sse.rule).toEqual([{ apply_server_side_encryption_by_default: { sse_algorithm: 'AES256' } }]);
      expect(resourceNamed(doc, 'aws_s3_bucket_ownership_controls', which).rule).toEqual({
        object_ownership: 'BucketOwnerEnforced',
      });
      const [deny] = statementsOf(resourceNamed(doc, 'aws_s3_bucket_policy', `${which}_policy`).policy);
      expect(deny).toMatchObject({
        Effect: 'Deny',
        Principal: '*',
        Condition: { Bool: { 'aws:SecureTransport': 'false' } },
      });
    }
  });

  test('an existing source bucket is referenced, not created, and still notified', () => {
    const d = synthChain({ sourceBucket: { existingBucketName: 'team-uploads' } });
    expect(Object.keys(resourcesOf(d, 'aws_s3_bucket'))).toEqual(['chain_output_bucket']);
    expect(resourceNamed(d, 'aws_s3_bucket_notification', 'uploads').bucket).toBe('team-uploads');
    expect(JSON.stringify(resourceNamed(d, 'aws_iam_role_policy', 'resize_policy').policy)).toContain(
      'arn:${data.aws_partition.chain_source_partition.partition}:s3:::team-uploads/uploads/*',
    );
  });

  test('sameAsSource writes outputs into the source bucket under a separate prefix', () => {
    const d = synthChain({ outputBucket: { sameAsSource: true }, outputPrefix: 'resized/' });
    expect(Object.keys(resourcesOf(d, 'aws_s3_bucket'))).toEqual(['chain_source_bucket']);
    expect(env(d, 'resize').OUTPUT_BUCKET).toBe('${aws_s3_bucket.chain_source_bucket.bucket}');
    expect(env(d, 'resize').OUTPUT_PREFIX).toBe('resized/');
  });
});

describe('S3 notification -> ingest queue', () => {
  test('ObjectCreated under the uploads prefix goes to the ingest queue, after the queue policy exists', () => {
    const n = resourceNamed(doc, 'aws_s3_bucket_notification', 'uploads');
    expect(refTarget(n.bucket)).toBe('aws_s3_bucket.chain_source_bucket');
    expect(n.queue).toEqual([
      {
        queue_arn: '${aws_sqs_queue.chain_ingest_queue.arn}',
        events: ['s3:ObjectCreated:*'],
        filter_prefix: 'uploads/',
      },
    ]);
    expect(n.depends_on).toContain('aws_sqs_queue_policy.chain_ingest_policy');
  });

  test('suffix filters become one notification entry each', () => {
    const d = synthChain({ uploadsSuffixes: ['.jpg', '.png'] });
    const q = resourceNamed(d, 'aws_s3_bucket_notification', 'uploads').queue as Array<{ filter_suffix: string }>;
    expect(q.map((e) => e.filter_suffix)).toEqual(['.jpg', '.png']);
  });

  test('the ingest queue policy admits only S3, scoped by aws:SourceArn and aws:SourceAccount', () => {
    const p = resourcesOf(doc, 'aws_sqs_queue_policy').chain_ingest_policy;
    expect(refTarget(p.queue_url)).toBe('aws_sqs_queue.chain_ingest_queue');
    const allow = statementsOf(p.policy).find((s) => s.Effect === 'Allow')!;
    expect(allow.Principal).toEqual({ Service: 's3.amazonaws.com' });
    expect(allow.Action).toBe('sqs:SendMessage');
    expect(allow.Condition).toEqual({
      ArnEquals: { 'aws:SourceArn': '${aws_s3_bucket.chain_source_bucket.arn}' },
      StringEquals: { 'aws:SourceAccount': '${local.chain_ingest_account_id}' },
    });
    expect((doc.locals as Record<string, string>).chain_ingest_account_id).toBe(
      '${element(split(":", aws_sqs_queue.chain_ingest_queue.arn), 4)}',
    );
  });
});

describe('queues', () => {
  test('ingest, resized and rejected queues each have a DLQ, SSE-SQS, >= 64 KB messages and a redrive policy', () => {
    for (const q of ['ingest', 'resized', 'rejected']) {
      const queue = resourceNamed(doc, 'aws_sqs_queue', `${q}_queue`);
      const dlq = resourceNamed(doc, 'aws_sqs_queue', `${q}_dlq`);
      expect(queue.sqs_managed_sse_enabled).toBe(true);
      expect(dlq.sqs_managed_sse_enabled).toBe(true);
      expect(queue.max_message_size as number).toBeGreaterThanOrEqual(65536);
      expect(JSON.parse(queue.redrive_policy as string)).toEqual({
        deadLetterTargetArn: `\${aws_sqs_queue.chain_${q}_dlq.arn}`,
        maxReceiveCount: 5,
      });
      expect(queue.fifo_queue).toBeUndefined();
    }
  });

  test('visibility timeouts are at least 6x the consuming function timeout', () => {
    expect(resourceNamed(doc, 'aws_sqs_queue', 'ingest_queue').visibility_timeout_seconds).toBe(6 * 60);
    expect(resourceNamed(doc, 'aws_sqs_queue', 'resized_queue').visibility_timeout_seconds).toBe(6 * 30);
    const d = synthChain({ resize: { timeout: 120, maxBatchingWindow: 5 } });
    expect(resourceNamed(d, 'aws_sqs_queue', 'ingest_queue').visibility_timeout_seconds).toBe(725);
  });

  test('alarms on every DLQ depth and on the age of the oldest ingest and resized message, with the given actions', () => {
    const d = synthChain({ alarmActions: ['arn:aws:sns:us-east-1:123456789012:ops'] });
    const alarms = Object.values(resourcesOf(d, 'aws_cloudwatch_metric_alarm'));
    const dlqAlarms = alarms.filter((a) => a.metric_name === 'ApproximateNumberOfMessagesVisible');
    expect(dlqAlarms.map((a) => (a.dimensions as { QueueName: string }).QueueName).sort()).toEqual(
      ['ingest', 'rejected', 'resized'].map((q) => `\${aws_sqs_queue.chain_${q}_dlq.name}`),
    );
    const ageAlarms = alarms.filter((a) => a.metric_name === 'ApproximateAgeOfOldestMessage');
    expect(ageAlarms.map((a) => (a.dimensions as { QueueName: string }).QueueName).sort()).toEqual(
      ['ingest', 'resized'].map((q) => `\${aws_sqs_queue.chain_${q}_queue.name}`),
    );
    for (const a of alarms) expect(a.alarm_actions).toEqual(['arn:aws:sns:us-east-1:123456789012:ops']);
  });
});

describe('functions', () => {
  test('both functions are container images with the given URIs, architecture, memory and timeout', () => {
    const d = synthChain({ architecture: 'arm64', resize: { memorySize: 3008, timeout: 90 } });
    const resize = resourceNamed(d, 'aws_lambda_function', 'resize');
    expect(resize).toMatchObject({
      package_type: 'Image',
      architectures: ['arm64'],
      memory_size: 3008,
      timeout: 90,
      image_uri: expect.stringContaining('irc-resize'),
    });
    expect(resize.handler).toBeUndefined();
    expect(resize.runtime).toBeUndefined();
    expect(resourceNamed(d, 'aws_lambda_function', 'publish')).toMatchObject({
      package_type: 'Image',
      architectures: ['arm64'],
      memory_size: 256,
      timeout: 30,
    });
  });

  test('resize environment follows the handler contract; VARIANTS is the validated spec', () => {
    const e = env(doc, 'resize');
    expect(Object.keys(e).sort()).toEqual(
      [
        'CONCURRENCY',
        'LOG_LEVEL',
        'MAX_INPUT_BYTES',
        'MAX_INPUT_PIXELS',
        'OUTPUT_BUCKET',
        'OUTPUT_PREFIX',
        'REJECTED_QUEUE_URL',
        'RESIZED_QUEUE_URL',
        'VARIANTS',
      ].sort(),
    );
    expect(e.RESIZED_QUEUE_URL).toBe('${aws_sqs_queue.chain_resized_queue.url}');
    expect(e.REJECTED_QUEUE_URL).toBe('${aws_sqs_queue.chain_rejected_queue.url}');
    expect(e.CONCURRENCY).toBe('4');
    expect(parseVariantSpecs(e.VARIANTS)).toEqual([...DEFAULT_VARIANTS]);
  });

  test(
    'publish environment carries the webhook URL and secret ARN, ' +
      'never a secret value; the role may read that one secret',
    () => {
      const secretArn = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:webhook-AbCdEf';
      const d = synthChain({ webhook: { url: 'https://hooks.example.com/resized', secretArn } });
      expect(env(d, 'publish')).toEqual({
        OUTPUT_BUCKET: '${aws_s3_bucket.chain_output_bucket.bucket}',
        OUTPUT_PREFIX: '',
        LOG_LEVEL: 'INFO',
        WEBHOOK_URL: 'https://hooks.example.com/resized',
        WEBHOOK_SECRET_ARN: secretArn,
      });
      expect(actionsOn(d, 'publish')).toContainEqual({
        actions: ['secretsmanager:GetSecretValue'],
        resources: [secretArn],
      });
      expect(actionsOn(doc, 'publish').flatMap((s) => s.actions)).not.toContain('secretsmanager:GetSecretValue');
    },
  );

  test('each function has its own role and a log group with retention, used as its log destination', () => {
    for (const fn of ['resize', 'publish']) {
      const f = resourceNamed(doc, 'aws_lambda_function', `${fn}_function`);
      expect(f.role).toBe(`\${aws_iam_role.chain_${fn}_role.arn}`);
      expect(resourceNamed(doc, 'aws_cloudwatch_log_group', fn)).toMatchObject({
        name: `/aws/lambda/image-resize-chain-${fn}`,
        retention_in_days: 30,
      });
      // The levels stated: Lambda answers INFO for both when they are left out, and with publish the
      // AWS provider would then plan a new version at every run.
      expect(f.logging_config).toEqual({
        log_format: 'JSON',
        log_group: `\${aws_cloudwatch_log_group.chain_${fn}_log_group.name}`,
        application_log_level: 'INFO',
        system_log_level: 'INFO',
      });
    }
    const d = synthChain({ logRetentionDays: 90 });
    expect(resourceNamed(d, 'aws_cloudwatch_log_group', 'resize').retention_in_days).toBe(90);
  });
});

describe('least-privilege roles', () => {
  test(
    'resize: GetObject on uploads, Put/GetObject on outputs, ' +
      'SendMessage on resized and rejected, consume on ingest only',
    () => {
      expect(actionsOn(doc, 'resize')).toEqual([
        {
          actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
          resources: ['${aws_cloudwatch_log_group.chain_resize_log_group.arn}:*'],
        },
        { actions: ['s3:GetObject'], resources: ['${aws_s3_bucket.chain_source_bucket.arn}/uploads/*'] },
        { actions: ['s3:ListBucket'], resources: ['${aws_s3_bucket.chain_source_bucket.arn}'] },
        { actions: ['s3:PutObject', 's3:GetObject'], resources: ['${aws_s3_bucket.chain_output_bucket.arn}/*'] },
        { actions: ['s3:ListBucket'], resources: ['${aws_s3_bucket.chain_output_bucket.arn}'] },
        { actions: ['sqs:SendMessage'], resources: ['${aws_sqs_queue.chain_resized_queue.arn}'] },
        { actions: ['sqs:SendMessage'], resources: ['${aws_sqs_queue.chain_rejected_queue.arn}'] },
        {
          actions: ['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes'],
          resources: ['${aws_sqs_queue.chain_ingest_queue.arn}'],
        },
      ]);
    },
  );

  test('publish: writes outputs, consumes the resized queue, nothing on uploads or other queues', () => {
    const d = synthChain({ outputPrefix: 'out/' });
    expect(actionsOn(d, 'publish')).toEqual([
      {
        actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        resources: ['${aws_cloudwatch_log_group.chain_publish_log_group.arn}:*'],
      },
      { actions: ['s3:PutObject', 's3:GetObject'], resources: ['${aws_s3_bucket.chain_output_bucket.arn}/out/*'] },
      { actions: ['s3:ListBucket'], resources: ['${aws_s3_bucket.chain_output_bucket.arn}'] },
      {
        actions: ['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes'],
        resources: ['${aws_sqs_queue.chain_resized_queue.arn}'],
      },
    ]);
  });
});

describe('event source mappings', () => {
  test(
    'each stage maps its queue to its function with ReportBatchItemFailures, ' +
      'batching window and maximum concurrency',
    () => {
      const d = synthChain({ resize: { batchSize: 50, maxBatchingWindow: 5, maximumConcurrency: 20 } });
      expect(resourceNamed(d, 'aws_lambda_event_source_mapping', 'resize')).toMatchObject({
        event_source_arn: '${aws_sqs_queue.chain_ingest_queue.arn}',
        function_name: '${aws_lambda_function.chain_resize_function.arn}',
        batch_size: 50,
        maximum_batching_window_in_seconds: 5,
        function_response_types: ['ReportBatchItemFailures'],
        scaling_config: { maximum_concurrency: 20 },
        depends_on: ['aws_iam_role_policy.chain_resize_policy'],
      });
      expect(resourceNamed(d, 'aws_lambda_event_source_mapping', 'publish')).toMatchObject({
        event_source_arn: '${aws_sqs_queue.chain_resized_queue.arn}',
        function_name: '${aws_lambda_function.chain_publish_function.arn}',
        function_response_types: ['ReportBatchItemFailures'],
        scaling_config: { maximum_concurrency: 5 },
      });
    },
  );
});

describe('images built during deploy when no URIs are given', () => {
  const built = synthChain({ images: undefined });

  test('creates ECR repositories with scan on push, immutable tags and a lifecycle policy', () => {
    for (const h of ['resize', 'publish']) {
      expect(resourceNamed(built, 'aws_ecr_repository', h)).toMatchObject({
        name: `image-resize-chain-${h}`,
        image_tag_mutability: 'IMMUTABLE',
        image_scanning_configuration: { scan_on_push: true },
      });
      const { rules } = JSON.parse(resourceNamed(built, 'aws_ecr_lifecycle_policy', h).policy as string) as {
        rules: Array<{ selection: { countType: string } }>;
      };
      expect(rules.map((r) => r.selection.countType)).toEqual(['sinceImagePushed', 'imageCountMoreThan']);
    }
  });

  test('a terraform_data step keyed on the source hash builds and pushes each image; functions wait for it', () => {
    for (const h of ['resize', 'publish']) {
      const step = resourceNamed(built, 'terraform_data', h);
      const hash = (step.triggers_replace as { sourceHash: string }).sourceHash;
      expect(hash).toMatch(/^[0-9a-f]{64}$/);
      const exec = (
        step.provisioner as Array<Record<string, { environment: Record<string, string>; command: string }>>
      )[0]['local-exec'];
      expect(exec.environment.HANDLER).toBe(h);
      expect(exec.environment.TAG).toBe(`x86_64-${hash.slice(0, 16)}`);
      expect(exec.command).toContain('--build-arg HANDLER="$HANDLER"');
      expect(exec.command).toContain('aws ecr get-login-password');
      expect(exec.command).not.toContain('${'); // Terraform would parse it as an interpolation
      const fn = resourceNamed(built, 'aws_lambda_function', `${h}_function`);
      expect(fn.image_uri).toBe(
        `\${aws_ecr_repository.chain_${h}_image_repository.repository_url}:x86_64-${hash.slice(0, 16)}`,
      );
      expect(fn.depends_on).toContain(`terraform_data.chain_${h}_image_build_and_push`);
    }
    expect(Object.keys(resourcesOf(doc, 'terraform_data'))).toEqual([]);
  });
});

describe('cross-stack reuse', () => {
  test('a consumer stack uses the chain outputs through remote state and the grant helpers', () => {
    const { chain, consumer } = synthWithConsumer('123456789012.dkr.ecr.us-east-1.amazonaws.com/rejections:1');
    expect(Object.keys(chain.output ?? {}).some((k) => k.startsWith('cross_stack_output_'))).toBe(true);
    const remote = Object.values(consumer.data?.terraform_remote_state ?? {});
    expect(remote).toHaveLength(1);
    // Portable: no absolute path of the synthesizing machine.
    expect(remote[0]).toMatchObject({ backend: 'local', config: { path: '../../../terraform.chain-stack.tfstate' } });
    expect((chain.terraform as { backend: unknown }).backend).toEqual({
      local: { path: '../../../terraform.chain-stack.tfstate' },
    });
    const policy = statementsOf(resourceNamed(consumer, 'aws_iam_role_policy', 'app_policy').policy);
    expect(policy.map((s) => s.Sid)).toEqual(['UploadSources', 'ReadOutputsObjects', 'ListOutputBucket']);
    for (const s of policy) expect(String(s.Resource)).toContain('data.terraform_remote_state');
    expect(resourceNamed(consumer, 'aws_lambda_event_source_mapping', 'rejection')).toMatchObject({
      function_response_types: ['ReportBatchItemFailures'],
    });
  });
});
