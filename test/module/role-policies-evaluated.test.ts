// The module's own role and resource policies, synthesized and run through the local policy
// evaluator: each function's role allows exactly what its code does (each S3, SQS and Kinesis
// operation as AWS authorizes it) and a sample of what it must not do is denied.
import {
  evaluateAuthorization,
  type NamedPolicy,
  type RequestPrincipal,
} from '../../src/local/cloud/iam/policy-evaluation';
import {
  eventSourceMappingPermissions,
  kinesisPermission,
  s3NotificationPermission,
  s3Permissions,
  sqsPermission,
  type RequiredPermission,
  type S3Request,
} from '../../src/local/cloud/iam/operation-actions';
import { resourceNamed, resourcesOf, synthChain, type TfJson } from './synth';

const ACCOUNT = '123456789012';
const REGION = 'us-east-1';

/** Concrete ARNs for the synthesized `${type.name.arn}` references (names chosen here, as an apply would). */
function concreteArn(type: string, name: string): string {
  switch (type) {
    case 'aws_s3_bucket':
      return `arn:aws:s3:::${name}`;
    case 'aws_sqs_queue':
      return `arn:aws:sqs:${REGION}:${ACCOUNT}:${name}`;
    case 'aws_kinesis_stream':
      return `arn:aws:kinesis:${REGION}:${ACCOUNT}:stream/${name}`;
    case 'aws_cloudwatch_log_group':
      return `arn:aws:logs:${REGION}:${ACCOUNT}:log-group:${name}`;
    default:
      throw new Error(`no concrete ARN for ${type}`);
  }
}

/** A synthesized policy with its Terraform references replaced by concrete values. */
function resolved(policy: unknown): string {
  return String(policy)
    .replace(/\$\{([a-z0-9_]+)\.([a-z0-9_]+)\.arn\}/g, (_, type: string, name: string) => concreteArn(type, name))
    .replace(/\$\{local\.[a-z0-9_]*account_id\}/g, ACCOUNT);
}

const bucket = (name: string): string => name;
const queueArn = (name: string): string => concreteArn('aws_sqs_queue', name);

interface Chain {
  readonly doc: TfJson;
  readonly roles: Record<'resize' | 'publish', { principal: RequestPrincipal; policies: NamedPolicy[] }>;
  readonly bucketPolicies: Record<string, NamedPolicy>;
  readonly queuePolicies: Record<string, NamedPolicy>;
}

function roleOf(doc: TfJson, fn: 'resize' | 'publish'): Chain['roles']['resize'] {
  const inline = resourceNamed(doc, 'aws_iam_role_policy', `${fn}_policy`);
  const roleArn = `arn:aws:iam::${ACCOUNT}:role/image-resize-chain-${fn}-role`;
  return {
    principal: {
      kind: 'aws',
      arn: `arn:aws:sts::${ACCOUNT}:assumed-role/image-resize-chain-${fn}-role/image-resize-chain-${fn}`,
      account: ACCOUNT,
      roleArn,
    },
    policies: [{ name: String(inline.name), document: resolved(inline.policy) }],
  };
}

function chainOf(doc: TfJson): Chain {
  const bucketPolicies: Record<string, NamedPolicy> = {};
  for (const [name, p] of Object.entries(resourcesOf(doc, 'aws_s3_bucket_policy'))) {
    const target = /\$\{aws_s3_bucket\.([a-z0-9_]+)\.id\}/.exec(String(p.bucket))![1];
    bucketPolicies[target] = { name: `bucket policy ${name}`, document: resolved(p.policy) };
  }
  const queuePolicies: Record<string, NamedPolicy> = {};
  for (const [name, p] of Object.entries(resourcesOf(doc, 'aws_sqs_queue_policy'))) {
    const target = /\$\{aws_sqs_queue\.([a-z0-9_]+)\.url\}/.exec(String(p.queue_url))![1];
    queuePolicies[target] = { name: `queue policy ${name}`, document: resolved(p.policy) };
  }
  return {
    doc,
    roles: { resize: roleOf(doc, 'resize'), publish: roleOf(doc, 'publish') },
    bucketPolicies,
    queuePolicies,
  };
}

/** The resource policy of the resource a permission concerns (by the logical name in its ARN). */
function resourcePolicyFor(chain: Chain, permission: RequiredPermission): NamedPolicy | undefined {
  const s3 = /^arn:aws:s3:::([^/]+)/.exec(permission.resource)?.[1];
  if (s3) return chain.bucketPolicies[s3];
  const sqs = /^arn:aws:sqs:[^:]+:\d+:(.+)$/.exec(permission.resource)?.[1];
  return sqs ? chain.queuePolicies[sqs] : undefined;
}

/** The decisions for every permission the request needs, over TLS (as the functions call). */
function decisions(
  chain: Chain,
  fn: 'resize' | 'publish',
  permissions: readonly RequiredPermission[],
  secure = true,
): string[] {
  const role = chain.roles[fn];
  return permissions.map(
    (p) =>
      evaluateAuthorization({
        request: {
          action: p.action,
          resource: p.resource,
          principal: role.principal,
          context: { ...p.context, 'aws:SecureTransport': String(secure) },
        },
        identityPolicies: role.policies,
        resourcePolicy: resourcePolicyFor(chain, p),
      }).decision,
  );
}

const s3 = (req: S3Request): RequiredPermission[] => s3Permissions(req);

describe('the module policies, evaluated', () => {
  const chain = chainOf(synthChain({ streamSource: {} }));
  const src = bucket('chain_source_bucket');
  const out = bucket('chain_output_bucket');
  const allowed = (fn: 'resize' | 'publish', permissions: readonly RequiredPermission[]): void =>
    expect(decisions(chain, fn, permissions)).toEqual(permissions.map(() => 'Allow'));
  const denied = (fn: 'resize' | 'publish', permissions: readonly RequiredPermission[]): void =>
    expect(decisions(chain, fn, permissions)).not.toContain('Allow');

  it(
    'resize: reads uploads, writes and reads outputs, ' +
      'sends to the resized and rejected queues, consumes the ingest queue and reads the stream',
    () => {
      allowed('resize', [
        ...s3({ operation: 'GetObject', bucket: src, key: 'uploads/cat.jpg' }),
        ...s3({ operation: 'HeadObject', bucket: src, key: 'uploads/cat.jpg' }),
        ...s3({ operation: 'ListObjectsV2', bucket: src, prefix: 'uploads/' }),
        ...s3({ operation: 'PutObject', bucket: out, key: 'thumb/cat.jpg' }),
        ...s3({ operation: 'HeadObject', bucket: out, key: 'thumb/cat.jpg' }),
        ...s3({ operation: 'CreateMultipartUpload', bucket: out, key: 'large/cat.jpg' }),
        sqsPermission('SendMessageBatch', queueArn('chain_resized_queue')),
        sqsPermission('AmazonSQS.SendMessage', queueArn('chain_rejected_queue')),
        ...eventSourceMappingPermissions('sqs', queueArn('chain_ingest_queue')),
        ...eventSourceMappingPermissions('kinesis', concreteArn('aws_kinesis_stream', 'chain_stream_source_stream')),
      ]);
    },
  );

  it('resize: refuses what it never does', () => {
    denied('resize', [
      ...s3({ operation: 'GetObject', bucket: src, key: 'private/cat.jpg' }),
      ...s3({ operation: 'PutObject', bucket: src, key: 'uploads/cat.jpg' }),
      ...s3({ operation: 'DeleteObject', bucket: out, key: 'thumb/cat.jpg' }),
      ...s3({ operation: 'DeleteObjects', bucket: src, keys: ['uploads/cat.jpg'] }),
      ...s3({ operation: 'PutBucketPolicy', bucket: out }),
      ...s3({ operation: 'ListBuckets' }),
      sqsPermission('SendMessage', queueArn('chain_ingest_queue')),
      sqsPermission('ReceiveMessage', queueArn('chain_resized_queue')),
      sqsPermission('SendMessage', queueArn('chain_ingest_dlq')),
      sqsPermission('PurgeQueue', queueArn('chain_ingest_queue')),
      kinesisPermission('PutRecord', concreteArn('aws_kinesis_stream', 'chain_stream_source_stream')),
    ]);
  });

  it('publish: writes the manifest, reads outputs, consumes the resized queue, and nothing of the source side', () => {
    allowed('publish', [
      ...s3({ operation: 'PutObject', bucket: out, key: 'manifests/cat.json' }),
      ...s3({ operation: 'GetObject', bucket: out, key: 'manifests/cat.json' }),
      ...s3({ operation: 'ListObjectsV2', bucket: out, prefix: 'thumb/' }),
      ...eventSourceMappingPermissions('sqs', queueArn('chain_resized_queue')),
    ]);
    denied('publish', [
      ...s3({ operation: 'GetObject', bucket: src, key: 'uploads/cat.jpg' }),
      ...s3({ operation: 'ListObjectsV2', bucket: src }),
      sqsPermission('SendMessage', queueArn('chain_resized_queue')),
      ...eventSourceMappingPermissions('sqs', queueArn('chain_ingest_queue')),
    ]);
  });

  it(
    'a resize role without s3:PutObject on the output bucket is refused the write, ' +
      'with no statement to name (implicit deny)',
    () => {
      const role = chain.roles.resize;
      const withoutPut = role.policies.map((p) => ({
        ...p,
        document: (p.document as string).replace('["s3:PutObject","s3:GetObject"]', '["s3:GetObject"]'),
      }));
      expect(withoutPut[0].document).not.toEqual(role.policies[0].document);
      const put = s3({ operation: 'PutObject', bucket: out, key: 'thumb/cat.jpg' })[0];
      const narrowed: Chain = { ...chain, roles: { ...chain.roles, resize: { ...role, policies: withoutPut } } };
      expect(decisions(narrowed, 'resize', [put])).toEqual(['ImplicitDeny']);
      expect(decisions(narrowed, 'resize', s3({ operation: 'GetObject', bucket: out, key: 'thumb/cat.jpg' }))).toEqual([
        'Allow',
      ]);
    },
  );

  it('the DenyInsecureTransport statements refuse even allowed calls over plain HTTP', () => {
    const put = s3({ operation: 'PutObject', bucket: out, key: 'thumb/cat.jpg' });
    expect(decisions(chain, 'resize', put, false)).toEqual(['ExplicitDeny']);
    expect(decisions(chain, 'resize', [sqsPermission('SendMessage', queueArn('chain_resized_queue'))], false)).toEqual([
      'ExplicitDeny',
    ]);
  });

  it('the ingest queue policy lets the source bucket notify it, and no other bucket', () => {
    const decide = (bucketName: string, account: string): string => {
      const p = s3NotificationPermission(bucketName, account, queueArn('chain_ingest_queue'));
      return evaluateAuthorization({
        request: {
          action: p.action,
          resource: p.resource,
          principal: { kind: 'service', service: 's3.amazonaws.com' },
          context: { ...p.context, 'aws:SecureTransport': 'true' },
        },
        resourcePolicy: resourcePolicyFor(chain, p),
      }).decision;
    };
    expect(decide(src, ACCOUNT)).toBe('Allow');
    expect(decide(out, ACCOUNT)).toBe('ImplicitDeny');
    expect(decide(src, '999999999999')).toBe('ImplicitDeny');
    // The resized queue has no such statement: the output bucket cannot notify it.
    const toResized = s3NotificationPermission(out, ACCOUNT, queueArn('chain_resized_queue'));
    expect(
      evaluateAuthorization({
        request: {
          ...toResized,
          principal: { kind: 'service', service: 's3.amazonaws.com' },
          context: { ...toResized.context, 'aws:SecureTransport': 'true' },
        },
        resourcePolicy: resourcePolicyFor(chain, toResized),
      }).decision,
    ).toBe('ImplicitDeny');
  });
});
