// The module's roles and resource policies as the local chain takes them from the synthesized plain
// module: registered in the local IAM, resolved to the local names, evaluated with the evaluator.
import { IamStore } from '../../src/local/cloud/iam/iam-store';
import { evaluateAuthorization } from '../../src/local/cloud/iam/policy-evaluation';
import { s3Permissions } from '../../src/local/cloud/iam/operation-actions';
import { moduleResourcePolicies, registerModuleRoles, type ModuleRoleNames } from '../../src/local/module-policies';

const NAMES: ModuleRoleNames = {
  namePrefix: 'irc',
  uploadsPrefix: 'uploads/',
  outputPrefix: '',
  buckets: { source: 'irc-src-local', output: 'irc-out-local' },
  queues: {
    ingest: 'irc-ingest',
    ingest_dlq: 'irc-ingest-dlq',
    resized: 'irc-resized',
    resized_dlq: 'irc-resized-dlq',
    rejected: 'irc-rejected',
    rejected_dlq: 'irc-rejected-dlq',
  },
  functions: { resize: 'irc-resize', publish: 'irc-publish', upload: 'irc-upload' },
};

describe("the module's IAM for the local chain", () => {
  it('registers the resize, publish and upload roles with their inline policies resolved to the local names', () => {
    const iam = new IamStore('000000000000');
    const roles = registerModuleRoles(iam, NAMES, { upload: true });
    expect(Object.keys(roles).sort()).toEqual(['publish', 'resize', 'upload']);
    expect(roles.resize?.roleArn).toBe('arn:aws:iam::000000000000:role/irc-resize-role');
    const resizePolicies = iam.identityPolicies('irc-resize-role');
    expect(resizePolicies.map((p) => p.name)).toEqual(['role/irc-resize-role: irc-resize-least-privilege']);
    expect(resizePolicies[0].document).not.toContain('${');
    const decide = (key: string, bucket: string, operation: string): string =>
      evaluateAuthorization({
        request: {
          ...s3Permissions({ operation, bucket, key })[0],
          principal: {
            kind: 'aws',
            arn: 'arn:aws:sts::000000000000:assumed-role/irc-resize-role/irc-resize',
            account: '000000000000',
            roleArn: roles.resize!.roleArn,
          },
        },
        identityPolicies: resizePolicies,
      }).decision;
    expect(decide('thumb/a.jpg', NAMES.buckets.output, 'PutObject')).toBe('Allow');
    expect(decide('uploads/a.jpg', NAMES.buckets.source, 'GetObject')).toBe('Allow');
    expect(decide('uploads/a.jpg', NAMES.buckets.source, 'PutObject')).toBe('ImplicitDeny');
    expect(decide('private/a.jpg', NAMES.buckets.source, 'GetObject')).toBe('ImplicitDeny');
  });

  it('with a stream source, the resize role may read the stream and the objects under the readable prefixes', () => {
    const iam = new IamStore('000000000000');
    registerModuleRoles(iam, {
      ...NAMES,
      stream: { name: 'irc-uploads', failureQueue: 'irc-stream-failures', readablePrefixes: ['stream/'] },
    });
    const documents = iam.identityPolicies('irc-resize-role').map((p) => p.document);
    expect(documents.join('\n')).toContain('arn:aws:kinesis:us-east-1:000000000000:stream/irc-uploads');
    expect(documents.join('\n')).toContain('arn:aws:s3:::irc-src-local/stream/*');
  });

  it("keeps every resource-policy statement, the module's DenyInsecureTransport included (the local chain talks TLS)", () => {
    const policies = moduleResourcePolicies(NAMES);
    type Statement = { Sid: string; Effect: string; Condition: object };
    const ingest = JSON.parse(policies.queues['irc-ingest']) as { Statement: Statement[] };
    expect(ingest.Statement.map((s) => s.Sid)).toEqual(['DenyInsecureTransport', 'AllowS3Notifications']);
    expect(ingest.Statement[1].Condition).toEqual({
      ArnEquals: { 'aws:SourceArn': 'arn:aws:s3:::irc-src-local' },
      StringEquals: { 'aws:SourceAccount': '000000000000' },
    });
    expect(Object.keys(policies.queues).sort()).toEqual(Object.values(NAMES.queues).sort());
    expect(Object.keys(policies.buckets).sort()).toEqual(['irc-out-local', 'irc-src-local']);
    const source = JSON.parse(policies.buckets['irc-src-local']) as { Statement: Statement[] };
    expect(source.Statement).toEqual([
      expect.objectContaining({
        Sid: 'DenyInsecureTransport',
        Effect: 'Deny',
        Condition: { Bool: { 'aws:SecureTransport': 'false' } },
      }),
    ]);
  });
});
