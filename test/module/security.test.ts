/**
 * Security checks over the synthesized JSON of several configurations (including the plain
 * module and the consumer stack). Each check walks every resource of a kind, so a new resource
 * that misses a control fails here.
 */
import { synthPlainModule } from '../../modules/terraform-module';
import { synthStreamSourceModule } from '../../modules/terraform-stream-source';
import { synthUploadApiModule } from '../../modules/terraform-upload-api';
import { WILDCARD_RESOURCE_SIDS } from '../../modules/container-function';
import { TEST_IMAGES, TfJson, asList, resourcesOf, statementsOf, synthChain, synthWithConsumer } from './synth';

const secretArn = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:hook-AbCdEf';
const withConsumer = synthWithConsumer('123456789012.dkr.ecr.us-east-1.amazonaws.com/rejections:1');
const configs: Record<string, TfJson> = {
  default: synthChain(),
  'built images': synthChain({ images: undefined }),
  'one bucket, tracing, webhook': synthChain({
    outputBucket: { sameAsSource: true },
    outputPrefix: 'out/',
    tracing: true,
    webhook: { url: 'https://h.example.com', secretArn },
  }),
  'existing source bucket': synthChain({ sourceBucket: { existingBucketName: 'team-uploads' } }),
  'upload API and stream source': synthChain({
    images: { ...TEST_IMAGES, upload: '123456789012.dkr.ecr.us-east-1.amazonaws.com/irc-upload:t1' },
    uploadApi: { allowAnonymousUploads: true },
    streamSource: {},
  }),
  'plain module': synthPlainModule(),
  'plain upload-api submodule': synthUploadApiModule(),
  'plain stream-source submodule': synthStreamSourceModule(),
  'consumer stack': withConsumer.consumer,
};

/** Where a bucket-scoped resource points: `${aws_s3_bucket.x.id}` -> x. */
const bucketOf = (r: Record<string, unknown>): string | undefined =>
  /aws_s3_bucket\.([a-z0-9_]+)\./.exec(String(r.bucket))?.[1];

/** Every policy document in a configuration: identity policies and resource policies. */
function policies(
  doc: TfJson,
): Array<{ where: string; kind: 'identity' | 'resource'; statements: ReturnType<typeof statementsOf> }> {
  const out: ReturnType<typeof policies> = [];
  for (const [type, kind] of [
    ['aws_iam_role_policy', 'identity'],
    ['aws_s3_bucket_policy', 'resource'],
    ['aws_sqs_queue_policy', 'resource'],
  ] as const) {
    for (const [name, r] of Object.entries(resourcesOf(doc, type))) {
      // A policy built by jsonencode at plan time (a list chosen by variables) is checked by its own test.
      if (/^\$\{jsonencode\(/.test(String(r.policy))) continue;
      out.push({ where: `${type}.${name}`, kind, statements: statementsOf(r.policy) });
    }
  }
  return out;
}

describe.each(Object.entries(configs))('%s', (_name, doc) => {
  test('every created bucket has a public access block, default encryption, ownership enforced and a TLS-only policy', () => {
    const buckets = Object.keys(resourcesOf(doc, 'aws_s3_bucket'));
    const covered = (type: string): string[] =>
      Object.values(resourcesOf(doc, type))
        .map(bucketOf)
        .filter((b): b is string => !!b);
    for (const type of [
      'aws_s3_bucket_public_access_block',
      'aws_s3_bucket_server_side_encryption_configuration',
      'aws_s3_bucket_ownership_controls',
      'aws_s3_bucket_policy',
    ]) {
      expect({ type, missing: buckets.filter((b) => !covered(type).includes(b)) }).toEqual({ type, missing: [] });
    }
    for (const pab of Object.values(resourcesOf(doc, 'aws_s3_bucket_public_access_block'))) {
      expect([
        pab.block_public_acls,
        pab.block_public_policy,
        pab.ignore_public_acls,
        pab.restrict_public_buckets,
      ]).toEqual([true, true, true, true]);
    }
    for (const [name, p] of Object.entries(resourcesOf(doc, 'aws_s3_bucket_policy'))) {
      const tls = statementsOf(p.policy).find(
        (s) => s.Effect === 'Deny' && JSON.stringify(s.Condition) === '{"Bool":{"aws:SecureTransport":"false"}}',
      );
      expect({ name, tls: !!tls }).toEqual({ name, tls: true });
    }
  });

  test('every queue has SSE and (unless it is a DLQ) a redrive policy to a DLQ', () => {
    // A counted DLQ (plain submodules) is named with [0].
    const queues = resourcesOf(doc, 'aws_sqs_queue');
    const dlqs = new Set(
      Object.values(queues)
        .map((q) =>
          typeof q.redrive_policy === 'string'
            ? /aws_sqs_queue\.([a-z0-9_]+)(?:\[0\])?\.arn/.exec(q.redrive_policy)?.[1]
            : undefined,
        )
        .filter(Boolean),
    );
    for (const [name, q] of Object.entries(queues)) {
      expect({ name, sse: q.sqs_managed_sse_enabled ?? q.kms_master_key_id }).toEqual({ name, sse: true });
      if (!dlqs.has(name)) expect({ name, redrive: typeof q.redrive_policy }).toEqual({ name, redrive: 'string' });
    }
  });

  test('every queue, DLQs included, has exactly one TLS-only queue policy; every DLQ accepts only its own source queue', () => {
    const queues = resourcesOf(doc, 'aws_sqs_queue');
    /** `${aws_sqs_queue.x.url}` or `${aws_sqs_queue.x[0].url}` -> x */
    const queueOf = (value: unknown, attribute: 'url' | 'arn'): string | undefined =>
      new RegExp(`aws_sqs_queue\\.([a-z0-9_]+)(?:\\[0\\])?\\.${attribute}`).exec(String(value))?.[1];
    const policiesByQueue = new Map<string, unknown[]>();
    for (const p of Object.values(resourcesOf(doc, 'aws_sqs_queue_policy'))) {
      const queue = queueOf(p.queue_url, 'url') ?? '?';
      policiesByQueue.set(queue, [...(policiesByQueue.get(queue) ?? []), p.policy]);
    }
    for (const name of Object.keys(queues)) {
      const attached = policiesByQueue.get(name) ?? [];
      expect({ name, policies: attached.length }).toEqual({ name, policies: 1 });
      const tls = statementsOf(attached[0]).find(
        (s) =>
          s.Effect === 'Deny' &&
          s.Principal === '*' &&
          asList(s.Action).includes('sqs:*') &&
          JSON.stringify(s.Condition) === '{"Bool":{"aws:SecureTransport":"false"}}',
      );
      expect({ name, tlsOnly: queueOf(tls?.Resource, 'arn') }).toEqual({ name, tlsOnly: name });
    }
    // DLQ -> its source queue, from the source queues' redrive policies.
    const sourceOf = new Map<string, string>();
    for (const [name, q] of Object.entries(queues))
      if (q.redrive_policy) sourceOf.set(queueOf(q.redrive_policy, 'arn')!, name);
    const allowByDlq = new Map<string, string>();
    for (const a of Object.values(resourcesOf(doc, 'aws_sqs_queue_redrive_allow_policy'))) {
      const policy = JSON.parse(String(a.redrive_allow_policy)) as {
        redrivePermission: string;
        sourceQueueArns: string[];
      };
      expect(policy.redrivePermission).toBe('byQueue');
      expect(policy.sourceQueueArns).toHaveLength(1);
      allowByDlq.set(queueOf(a.queue_url, 'url')!, queueOf(policy.sourceQueueArns[0], 'arn')!);
    }
    if (Object.keys(queues).length > 0) expect(sourceOf.size).toBeGreaterThan(0);
    expect(Object.fromEntries(allowByDlq)).toEqual(Object.fromEntries(sourceOf));
  });

  test('no Allow statement has "*" actions; "*" resources only where AWS offers nothing narrower (X-Ray)', () => {
    for (const { where, kind, statements } of policies(doc)) {
      for (const s of statements.filter((st) => st.Effect === 'Allow')) {
        for (const action of asList(s.Action))
          expect({ where, action }).not.toEqual({ where, action: expect.stringMatching(/(^\*$)|(:\*$)/) });
        if (kind === 'identity' && asList(s.Resource).includes('*')) {
          expect({
            where,
            sid: s.Sid,
            allowed: (WILDCARD_RESOURCE_SIDS as readonly string[]).includes(s.Sid ?? ''),
          }).toEqual({ where, sid: s.Sid, allowed: true });
        }
        if (kind === 'resource') expect({ where, principal: s.Principal }).not.toEqual({ where, principal: '*' });
      }
    }
  });

  test('every Lambda is an image function with its own log group with retention', () => {
    const groups = resourcesOf(doc, 'aws_cloudwatch_log_group');
    for (const [name, fn] of Object.entries(resourcesOf(doc, 'aws_lambda_function'))) {
      expect({ name, type: fn.package_type, zip: fn.filename ?? fn.s3_bucket }).toEqual({
        name,
        type: 'Image',
        zip: undefined,
      });
      const group = /aws_cloudwatch_log_group\.([a-z0-9_]+)\.name/.exec(JSON.stringify(fn.logging_config))?.[1];
      expect({ name, group: group && typeof groups[group]?.retention_in_days }).toEqual({
        name,
        group: expect.stringMatching(/number|string/),
      });
    }
  });
});

test('the X-Ray exception is real: tracing adds exactly one "*" resource statement', () => {
  const traced = configs['one bucket, tracing, webhook'];
  const wildcard = policies(traced).flatMap((p) =>
    p.statements.filter((s) => asList(s.Resource).includes('*')).map((s) => s.Sid),
  );
  expect(wildcard).toEqual(['XRayWriteTraces', 'XRayWriteTraces']);
});

describe('webhook secret: only its Secrets Manager ARN travels, never a value', () => {
  const hooked = configs['one bucket, tracing, webhook'];
  const fnEnv = (doc: TfJson) =>
    Object.entries(resourcesOf(doc, 'aws_lambda_function')).map(([name, fn]) => ({
      name,
      vars: (fn.environment as { variables?: Record<string, string> } | undefined)?.variables ?? {},
    }));

  test.each(Object.entries(configs))(
    '%s: no function environment holds a secret value (names like SECRET/TOKEN/PASSWORD/KEY only as *_ARN)',
    (_name, doc) => {
      for (const { name, vars } of fnEnv(doc)) {
        const suspicious = Object.keys(vars).filter(
          (k) => /SECRET|TOKEN|PASSWORD|PRIVATE|API_KEY|ACCESS_KEY/i.test(k) && !/_ARN$/.test(k),
        );
        expect({ name, suspicious }).toEqual({ name, suspicious: [] });
      }
      // A secret value in Terraform would live in one of these; none is created.
      expect(Object.keys(resourcesOf(doc, 'aws_secretsmanager_secret_version'))).toEqual([]);
      expect(Object.keys(resourcesOf(doc, 'aws_ssm_parameter'))).toEqual([]);
    },
  );

  test('the publish function gets the ARN, and only its role may read that one secret', () => {
    const withArn = fnEnv(hooked).filter((f) => f.vars.WEBHOOK_SECRET_ARN !== undefined);
    expect(withArn.map((f) => f.vars.WEBHOOK_SECRET_ARN)).toEqual([secretArn]);
    expect(withArn[0]?.name).toMatch(/publish/);
    const readers = policies(hooked).filter((p) =>
      p.statements.some((s) => asList(s.Action).some((a) => a.startsWith('secretsmanager:'))),
    );
    expect(readers.map((r) => r.where)).toHaveLength(1);
    expect(readers[0]?.where).toMatch(/publish/);
    const stmt = readers[0]?.statements.find((s) => asList(s.Action).some((a) => a.startsWith('secretsmanager:')));
    expect([asList(stmt?.Action), asList(stmt?.Resource)]).toEqual([['secretsmanager:GetSecretValue'], [secretArn]]);
  });

  test('a secret value planted where the ARN belongs is refused at synth, so it never reaches the JSON', () => {
    const planted = 'whsec_live_0123456789abcdef';
    expect(() => synthChain({ webhook: { url: 'https://h.example.com', secretArn: planted } })).toThrow(/secretArn/);
    for (const [name, doc] of Object.entries(configs))
      expect({ name, leaked: JSON.stringify(doc).includes('whsec_') }).toEqual({ name, leaked: false });
  });
});
