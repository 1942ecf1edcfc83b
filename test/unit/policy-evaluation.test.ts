// The local policy evaluator held to the evaluation rules and examples of AWS's IAM documentation
// (each describe names the page). The policies are written here in the shape of those examples.
import {
  evaluateAuthorization,
  MalformedPolicyError,
  type AuthorizationInput,
  type NamedPolicy,
  type PolicyStatement,
  type RequestPrincipal,
} from '../../src/local/cloud/iam/policy-evaluation';
import { UnsupportedConditionError } from '../../src/local/cloud/iam/policy-conditions';
import { arnMatch, globMatch } from '../../src/local/cloud/iam/policy-match';

const ACCOUNT = '111122223333';
const OTHER_ACCOUNT = '444455556666';
const ROLE_ARN = `arn:aws:iam::${ACCOUNT}:role/resize-role`;
const ROLE: RequestPrincipal = {
  kind: 'aws',
  arn: `arn:aws:sts::${ACCOUNT}:assumed-role/resize-role/fn`,
  account: ACCOUNT,
  roleArn: ROLE_ARN,
};
const USER: RequestPrincipal = { kind: 'aws', arn: `arn:aws:iam::${ACCOUNT}:user/carlossalazar`, account: ACCOUNT };

const policy = (name: string, ...Statement: PolicyStatement[]): NamedPolicy => ({
  name,
  document: { Version: '2012-10-17', Statement },
});

/** The decision alone, for the many cases that need no statement. */
const decide = (input: AuthorizationInput): string => evaluateAuthorization(input).decision;

describe('wildcards (IAM JSON policy elements: Action / Resource)', () => {
  it('matches * as any run, ? as one character; actions ignore case, resources do not', () => {
    expect(globMatch('s3:Get*', 's3:getobject', true)).toBe(true);
    expect(globMatch('s3:Get*', 's3:getobject', false)).toBe(false);
    expect(globMatch('uploads/??.jpg', 'uploads/ab.jpg', false)).toBe(true);
    expect(globMatch('uploads/??.jpg', 'uploads/abc.jpg', false)).toBe(false);
    expect(globMatch('*a*b*', 'xxaxxbxx', false)).toBe(true);
    expect(globMatch('*a*b', 'xxaxxbxxc', false)).toBe(false);
  });

  it('matches an ARN component by component: a * in the region does not reach into the account', () => {
    expect(arnMatch('arn:aws:sqs:*:111122223333:q', 'arn:aws:sqs:us-east-1:111122223333:q')).toBe(true);
    expect(arnMatch('arn:aws:sqs:*:q', 'arn:aws:sqs:us-east-1:111122223333:q')).toBe(false);
    expect(arnMatch('arn:aws:s3:::bucket/*', 'arn:aws:s3:::bucket/a/b:c')).toBe(true);
    expect(arnMatch('arn:aws:s3:::Bucket/*', 'arn:aws:s3:::bucket/a')).toBe(false);
  });

  it('applies an Allow on s3:get* to s3:GetObject but an Allow on arn:aws:s3:::Out/* not to out/…', () => {
    const id = [policy('p', { Effect: 'Allow', Action: 's3:get*', Resource: 'arn:aws:s3:::Out/*' })];
    expect(
      decide({
        request: { action: 's3:GetObject', resource: 'arn:aws:s3:::Out/a.jpg', principal: ROLE },
        identityPolicies: id,
      }),
    ).toBe('Allow');
    expect(
      decide({
        request: { action: 's3:GetObject', resource: 'arn:aws:s3:::out/a.jpg', principal: ROLE },
        identityPolicies: id,
      }),
    ).toBe('ImplicitDeny');
  });
});

describe('Policy evaluation for requests within a single account', () => {
  // The page's example: a user whose identity policy allows S3 on his own bucket and denies every
  // S3 action on any "*log*" resource, and a logs bucket whose policy allows him to write.
  const identity = policy(
    'carlos-identity',
    {
      Sid: 'AllowS3ListRead',
      Effect: 'Allow',
      Action: ['s3:GetBucketLocation', 's3:ListAllMyBuckets'],
      Resource: 'arn:aws:s3:::*',
    },
    {
      Sid: 'AllowS3Self',
      Effect: 'Allow',
      Action: 's3:*',
      Resource: ['arn:aws:s3:::carlossalazar', 'arn:aws:s3:::carlossalazar/*'],
    },
    { Sid: 'DenyS3Logs', Effect: 'Deny', Action: 's3:*', Resource: 'arn:aws:s3:::*log*' },
  );
  const logsBucketPolicy = policy('bucket policy of carlossalazar-logs', {
    Sid: 'AllowCarlosWrite',
    Effect: 'Allow',
    Principal: { AWS: USER.kind === 'aws' ? USER.arn : '' },
    Action: 's3:PutObject',
    Resource: 'arn:aws:s3:::carlossalazar-logs/*',
  });

  it('an explicit deny in the identity policy overrides the bucket policy allow, and names the deny', () => {
    expect(
      evaluateAuthorization({
        request: { action: 's3:PutObject', resource: 'arn:aws:s3:::carlossalazar-logs/today.log', principal: USER },
        identityPolicies: [identity],
        resourcePolicy: logsBucketPolicy,
      }),
    ).toEqual({
      decision: 'ExplicitDeny',
      statement: { policy: 'carlos-identity', kind: 'identity', index: 2, sid: 'DenyS3Logs' },
    });
  });

  it('the identity policy alone allows his own bucket; nothing allows another bucket', () => {
    expect(
      evaluateAuthorization({
        request: { action: 's3:PutObject', resource: 'arn:aws:s3:::carlossalazar/a.txt', principal: USER },
        identityPolicies: [identity],
      }),
    ).toEqual({
      decision: 'Allow',
      statement: { policy: 'carlos-identity', kind: 'identity', index: 1, sid: 'AllowS3Self' },
    });
    expect(
      evaluateAuthorization({
        request: { action: 's3:PutObject', resource: 'arn:aws:s3:::someone-else/a.txt', principal: USER },
        identityPolicies: [identity],
      }),
    ).toEqual({
      decision: 'ImplicitDeny',
    });
  });

  it('within one account, a resource policy that names the principal allows without any identity policy', () => {
    const bucketPolicy = policy('bucket policy of shared', {
      Effect: 'Allow',
      Principal: { AWS: ROLE_ARN },
      Action: 's3:GetObject',
      Resource: 'arn:aws:s3:::shared/*',
    });
    expect(
      evaluateAuthorization({
        request: { action: 's3:GetObject', resource: 'arn:aws:s3:::shared/a', principal: ROLE },
        resourcePolicy: bucketPolicy,
      }),
    ).toEqual({
      decision: 'Allow',
      statement: { policy: 'bucket policy of shared', kind: 'resource', index: 0 },
    });
    // Naming the role covers its sessions; naming another role does not.
    const other = policy('q', {
      Effect: 'Allow',
      Principal: { AWS: `arn:aws:iam::${ACCOUNT}:role/other` },
      Action: 's3:GetObject',
      Resource: 'arn:aws:s3:::shared/*',
    });
    expect(
      decide({
        request: { action: 's3:GetObject', resource: 'arn:aws:s3:::shared/a', principal: ROLE },
        resourcePolicy: other,
      }),
    ).toBe('ImplicitDeny');
  });

  it('a resource policy naming only the account delegates to identity policies: it allows the root, not a role', () => {
    const bucketPolicy = policy('b', {
      Effect: 'Allow',
      Principal: { AWS: ACCOUNT },
      Action: 's3:GetObject',
      Resource: 'arn:aws:s3:::shared/*',
    });
    const root: RequestPrincipal = { kind: 'aws', arn: `arn:aws:iam::${ACCOUNT}:root`, account: ACCOUNT };
    expect(
      decide({
        request: { action: 's3:GetObject', resource: 'arn:aws:s3:::shared/a', principal: ROLE },
        resourcePolicy: bucketPolicy,
      }),
    ).toBe('ImplicitDeny');
    expect(
      decide({
        request: { action: 's3:GetObject', resource: 'arn:aws:s3:::shared/a', principal: root },
        resourcePolicy: bucketPolicy,
      }),
    ).toBe('Allow');
  });

  it('a Deny with Principal "*" in the resource policy overrides an identity allow', () => {
    const id = policy('id', { Effect: 'Allow', Action: 's3:*', Resource: '*' });
    const bucketPolicy = policy('b', {
      Sid: 'NoDeletes',
      Effect: 'Deny',
      Principal: '*',
      Action: 's3:DeleteObject',
      Resource: 'arn:aws:s3:::shared/*',
    });
    expect(
      evaluateAuthorization({
        request: { action: 's3:DeleteObject', resource: 'arn:aws:s3:::shared/a', principal: ROLE },
        identityPolicies: [id],
        resourcePolicy: bucketPolicy,
      }),
    ).toEqual({
      decision: 'ExplicitDeny',
      statement: { policy: 'b', kind: 'resource', index: 0, sid: 'NoDeletes' },
    });
  });
});

describe('Cross-account policy evaluation logic', () => {
  const foreign: RequestPrincipal = {
    kind: 'aws',
    arn: `arn:aws:iam::${OTHER_ACCOUNT}:role/reader`,
    account: OTHER_ACCOUNT,
  };
  const id = policy('reader-identity', { Effect: 'Allow', Action: 'sqs:ReceiveMessage', Resource: '*' });
  const queuePolicy = policy('queue policy of q', {
    Effect: 'Allow',
    Principal: { AWS: foreign.kind === 'aws' ? foreign.arn : '' },
    Action: 'sqs:ReceiveMessage',
    Resource: `arn:aws:sqs:us-east-1:${ACCOUNT}:q`,
  });
  const request = { action: 'sqs:ReceiveMessage', resource: `arn:aws:sqs:us-east-1:${ACCOUNT}:q`, principal: foreign };

  it('needs both the identity policy of the caller and the resource policy of the owner', () => {
    expect(decide({ request, identityPolicies: [id], resourcePolicy: queuePolicy })).toBe('Allow');
    expect(decide({ request, identityPolicies: [id] })).toBe('ImplicitDeny');
    expect(decide({ request, resourcePolicy: queuePolicy })).toBe('ImplicitDeny');
  });
});

describe('IAM JSON policy elements: NotResource', () => {
  // The page's HRPayroll example: deny all of S3 except one folder of one bucket (grants nothing itself).
  const hr = policy('hr-payroll', {
    Effect: 'Deny',
    Action: 's3:*',
    NotResource: ['arn:aws:s3:::HRBucket/Payroll', 'arn:aws:s3:::HRBucket/Payroll/*'],
  });
  const broad = policy('s3-full', { Effect: 'Allow', Action: 's3:*', Resource: '*' });

  it('denies everything outside the listed resources and leaves the listed ones to the allow', () => {
    expect(
      decide({
        request: { action: 's3:GetObject', resource: 'arn:aws:s3:::HRBucket/Payroll/jan.csv', principal: USER },
        identityPolicies: [hr, broad],
      }),
    ).toBe('Allow');
    expect(
      decide({
        request: { action: 's3:GetObject', resource: 'arn:aws:s3:::HRBucket/Other/jan.csv', principal: USER },
        identityPolicies: [hr, broad],
      }),
    ).toBe('ExplicitDeny');
    expect(
      decide({
        request: { action: 's3:GetObject', resource: 'arn:aws:s3:::HRBucket/Payroll/jan.csv', principal: USER },
        identityPolicies: [hr],
      }),
    ).toBe('ImplicitDeny');
  });
});

describe('IAM JSON policy elements: NotAction', () => {
  it('an Allow with NotAction allows every action but the listed ones', () => {
    const notIam = policy('all-but-iam', { Effect: 'Allow', NotAction: 'iam:*', Resource: '*' });
    expect(
      decide({
        request: { action: 's3:GetObject', resource: 'arn:aws:s3:::b/k', principal: USER },
        identityPolicies: [notIam],
      }),
    ).toBe('Allow');
    expect(
      decide({
        request: { action: 'IAM:CreateUser', resource: `arn:aws:iam::${ACCOUNT}:user/x`, principal: USER },
        identityPolicies: [notIam],
      }),
    ).toBe('ImplicitDeny');
  });

  it('a Deny with NotAction and BoolIfExists denies everything else without MFA, and nothing when MFA is present', () => {
    const requireMfa = policy('require-mfa', {
      Sid: 'DenyAllUsersNotUsingMFA',
      Effect: 'Deny',
      NotAction: 'iam:*',
      Resource: '*',
      Condition: { BoolIfExists: { 'aws:MultiFactorAuthPresent': 'false' } },
    });
    const allowAll = policy('admin', { Effect: 'Allow', Action: '*', Resource: '*' });
    const s3 = { action: 's3:ListBucket', resource: 'arn:aws:s3:::b', principal: USER };
    expect(decide({ request: s3, identityPolicies: [requireMfa, allowAll] })).toBe('ExplicitDeny');
    expect(
      decide({
        request: { ...s3, context: { 'aws:MultiFactorAuthPresent': 'false' } },
        identityPolicies: [requireMfa, allowAll],
      }),
    ).toBe('ExplicitDeny');
    expect(
      decide({
        request: { ...s3, context: { 'aws:MultiFactorAuthPresent': 'true' } },
        identityPolicies: [requireMfa, allowAll],
      }),
    ).toBe('Allow');
    expect(
      decide({
        request: { action: 'iam:ListUsers', resource: '*', principal: USER },
        identityPolicies: [requireMfa, allowAll],
      }),
    ).toBe('Allow');
  });
});

describe('IAM JSON policy elements: Condition operators', () => {
  const guarded = (Condition: PolicyStatement['Condition'], context: Record<string, string | string[]> = {}): string =>
    decide({
      request: { action: 's3:ListBucket', resource: 'arn:aws:s3:::b', principal: USER, context },
      identityPolicies: [
        policy('c', { Effect: 'Allow', Action: 's3:ListBucket', Resource: 'arn:aws:s3:::b', Condition }),
      ],
    });

  it('a key absent from the request makes a positive operator false and a negated one true', () => {
    expect(guarded({ StringLike: { 's3:prefix': 'uploads/*' } })).toBe('ImplicitDeny');
    expect(guarded({ StringNotLike: { 's3:prefix': 'private/*' } })).toBe('Allow');
    expect(guarded({ ArnNotLike: { 'aws:SourceArn': 'arn:aws:s3:::*' } })).toBe('Allow');
  });

  it('…IfExists holds when the key is absent and tests it when present; Null tests presence', () => {
    expect(guarded({ StringLikeIfExists: { 's3:prefix': 'uploads/*' } })).toBe('Allow');
    expect(guarded({ StringLikeIfExists: { 's3:prefix': 'uploads/*' } }, { 's3:prefix': 'other/' })).toBe(
      'ImplicitDeny',
    );
    expect(guarded({ Null: { 's3:prefix': 'true' } })).toBe('Allow');
    expect(guarded({ Null: { 's3:prefix': 'false' } })).toBe('ImplicitDeny');
    expect(guarded({ Null: { 's3:prefix': 'false' } }, { 's3:prefix': '' })).toBe('Allow');
  });

  it('string operators are case-sensitive unless IgnoreCase; key names are not', () => {
    expect(guarded({ StringEquals: { 's3:prefix': 'Uploads/' } }, { 's3:prefix': 'uploads/' })).toBe('ImplicitDeny');
    expect(guarded({ StringEqualsIgnoreCase: { 's3:prefix': 'Uploads/' } }, { 's3:prefix': 'uploads/' })).toBe('Allow');
    expect(guarded({ StringEquals: { 'S3:Prefix': 'uploads/' } }, { 's3:prefix': 'uploads/' })).toBe('Allow');
  });

  it('numeric, date, Bool and IpAddress operators compare as their types', () => {
    expect(guarded({ NumericLessThanEquals: { 's3:max-keys': '10' } }, { 's3:max-keys': '10' })).toBe('Allow');
    expect(guarded({ NumericLessThan: { 's3:max-keys': '10' } }, { 's3:max-keys': '10' })).toBe('ImplicitDeny');
    expect(guarded({ NumericGreaterThan: { 's3:max-keys': '9' } }, { 's3:max-keys': '10' })).toBe('Allow');
    expect(guarded({ NumericEquals: { 's3:max-keys': '10' } }, { 's3:max-keys': 'ten' })).toBe('ImplicitDeny');
    expect(
      guarded(
        { DateLessThan: { 'aws:CurrentTime': '2026-12-31T00:00:00Z' } },
        { 'aws:CurrentTime': '2026-12-06T07:00:00Z' },
      ),
    ).toBe('Allow');
    expect(guarded({ DateGreaterThan: { 'aws:EpochTime': '1800000000' } }, { 'aws:EpochTime': '1700000000' })).toBe(
      'ImplicitDeny',
    );
    expect(guarded({ Bool: { 'aws:SecureTransport': 'true' } }, { 'aws:SecureTransport': 'TRUE' })).toBe('Allow');
    expect(guarded({ IpAddress: { 'aws:SourceIp': '203.0.113.0/24' } }, { 'aws:SourceIp': '203.0.113.9' })).toBe(
      'Allow',
    );
    expect(
      guarded(
        { NotIpAddress: { 'aws:SourceIp': ['203.0.113.0/24', '2001:db8::/32'] } },
        { 'aws:SourceIp': '2001:db8::1' },
      ),
    ).toBe('ImplicitDeny');
  });
});

describe('Conditions with multiple context keys or values', () => {
  const guarded = (Condition: PolicyStatement['Condition'], context: Record<string, string | string[]> = {}): string =>
    decide({
      request: { action: 'sqs:TagQueue', resource: `arn:aws:sqs:us-east-1:${ACCOUNT}:q`, principal: USER, context },
      identityPolicies: [policy('c', { Effect: 'Allow', Action: 'sqs:TagQueue', Resource: '*', Condition })],
    });

  it('values of one key are ORed, keys and operators ANDed, a negated operator NORs its values', () => {
    expect(guarded({ StringEquals: { 'aws:RequestTag/env': ['dev', 'test'] } }, { 'aws:RequestTag/env': 'test' })).toBe(
      'Allow',
    );
    expect(
      guarded(
        { StringEquals: { 'aws:RequestTag/env': 'dev', 'aws:RequestTag/team': 'img' } },
        { 'aws:RequestTag/env': 'dev' },
      ),
    ).toBe('ImplicitDeny');
    expect(
      guarded(
        { StringEquals: { 'aws:RequestTag/env': 'dev' }, StringLike: { 'aws:RequestTag/team': 'i*' } },
        { 'aws:RequestTag/env': 'dev', 'aws:RequestTag/team': 'img' },
      ),
    ).toBe('Allow');
    expect(
      guarded({ StringNotEquals: { 'aws:RequestTag/env': ['dev', 'test'] } }, { 'aws:RequestTag/env': 'test' }),
    ).toBe('ImplicitDeny');
    expect(
      guarded({ StringNotEquals: { 'aws:RequestTag/env': ['dev', 'test'] } }, { 'aws:RequestTag/env': 'prod' }),
    ).toBe('Allow');
  });

  it('ForAllValues holds when every request value is listed (and for none); ForAnyValue needs one', () => {
    const only = { 'ForAllValues:StringEquals': { 'aws:TagKeys': ['environment', 'cost-center'] } };
    expect(guarded(only, { 'aws:TagKeys': ['environment'] })).toBe('Allow');
    expect(guarded(only, { 'aws:TagKeys': ['environment', 'owner'] })).toBe('ImplicitDeny');
    expect(guarded(only)).toBe('Allow');
    const any = { 'ForAnyValue:StringEquals': { 'aws:TagKeys': ['environment', 'cost-center'] } };
    expect(guarded(any, { 'aws:TagKeys': ['owner', 'cost-center'] })).toBe('Allow');
    expect(guarded(any, { 'aws:TagKeys': ['owner'] })).toBe('ImplicitDeny');
    expect(guarded(any)).toBe('ImplicitDeny');
  });
});

describe('IAM policy elements: variables and tags', () => {
  it('resolves ${…} from the request in 2012-10-17 policies; an absent variable matches nothing', () => {
    const scoped = policy('own-prefix', {
      Effect: 'Allow',
      Action: 's3:GetObject',
      Resource: 'arn:aws:s3:::b/${aws:SourceAccount}/*',
    });
    const req = { action: 's3:GetObject', resource: `arn:aws:s3:::b/${ACCOUNT}/k`, principal: ROLE };
    expect(decide({ request: { ...req, context: { 'aws:SourceAccount': ACCOUNT } }, identityPolicies: [scoped] })).toBe(
      'Allow',
    );
    expect(
      decide({ request: { ...req, context: { 'aws:SourceAccount': OTHER_ACCOUNT } }, identityPolicies: [scoped] }),
    ).toBe('ImplicitDeny');
    expect(decide({ request: req, identityPolicies: [scoped] })).toBe('ImplicitDeny');
    // 2008-10-17 takes the text literally.
    const old: NamedPolicy = {
      name: 'old',
      document: {
        Version: '2008-10-17',
        Statement: [{ Effect: 'Allow', Action: 's3:GetObject', Resource: 'arn:aws:s3:::b/${x}' }],
      },
    };
    expect(decide({ request: { ...req, resource: 'arn:aws:s3:::b/${x}' }, identityPolicies: [old] })).toBe('Allow');
  });
});

describe('service principals: the module queue policy for S3 notifications', () => {
  const bucketArn = 'arn:aws:s3:::images-source';
  const queueArn = `arn:aws:sqs:us-east-1:${ACCOUNT}:images-ingest`;
  const queuePolicy = policy(
    'queue policy of images-ingest',
    {
      Sid: 'DenyInsecureTransport',
      Effect: 'Deny',
      Principal: '*',
      Action: 'sqs:*',
      Resource: queueArn,
      Condition: { Bool: { 'aws:SecureTransport': 'false' } },
    },
    {
      Sid: 'AllowS3Notifications',
      Effect: 'Allow',
      Principal: { Service: 's3.amazonaws.com' },
      Action: 'sqs:SendMessage',
      Resource: queueArn,
      Condition: { ArnEquals: { 'aws:SourceArn': bucketArn }, StringEquals: { 'aws:SourceAccount': ACCOUNT } },
    },
  );
  const s3: RequestPrincipal = { kind: 'service', service: 's3.amazonaws.com' };
  const send = (context: Record<string, string>): AuthorizationInput => ({
    request: { action: 'sqs:SendMessage', resource: queueArn, principal: s3, context },
    resourcePolicy: queuePolicy,
  });

  it('allows the bucket of the same account over TLS, and names the statement', () => {
    expect(
      evaluateAuthorization(
        send({ 'aws:SourceArn': bucketArn, 'aws:SourceAccount': ACCOUNT, 'aws:SecureTransport': 'true' }),
      ),
    ).toEqual({
      decision: 'Allow',
      statement: { policy: 'queue policy of images-ingest', kind: 'resource', index: 1, sid: 'AllowS3Notifications' },
    });
  });

  it('refuses another bucket, another account, plain HTTP, and any other service', () => {
    expect(
      decide(
        send({
          'aws:SourceArn': 'arn:aws:s3:::elsewhere',
          'aws:SourceAccount': ACCOUNT,
          'aws:SecureTransport': 'true',
        }),
      ),
    ).toBe('ImplicitDeny');
    expect(
      decide(send({ 'aws:SourceArn': bucketArn, 'aws:SourceAccount': OTHER_ACCOUNT, 'aws:SecureTransport': 'true' })),
    ).toBe('ImplicitDeny');
    expect(
      evaluateAuthorization(
        send({ 'aws:SourceArn': bucketArn, 'aws:SourceAccount': ACCOUNT, 'aws:SecureTransport': 'false' }),
      ),
    ).toMatchObject({
      decision: 'ExplicitDeny',
      statement: { sid: 'DenyInsecureTransport' },
    });
    expect(
      decide({
        ...send({ 'aws:SourceArn': bucketArn, 'aws:SourceAccount': ACCOUNT, 'aws:SecureTransport': 'true' }),
        request: {
          action: 'sqs:SendMessage',
          resource: queueArn,
          principal: { kind: 'service', service: 'sns.amazonaws.com' },
        },
      }),
    ).toBe('ImplicitDeny');
  });

  it('a service principal gets nothing from identity policies (it has none)', () => {
    const id = policy('id', { Effect: 'Allow', Action: '*', Resource: '*' });
    expect(
      decide({ request: { action: 'sqs:SendMessage', resource: queueArn, principal: s3 }, identityPolicies: [id] }),
    ).toBe('ImplicitDeny');
  });

  it('NotPrincipal in a Deny spares the named role and denies everyone else', () => {
    const only = policy('b', {
      Effect: 'Deny',
      NotPrincipal: { AWS: ROLE_ARN },
      Action: 's3:GetObject',
      Resource: 'arn:aws:s3:::b/*',
    });
    const id = policy('id', { Effect: 'Allow', Action: 's3:GetObject', Resource: '*' });
    expect(
      decide({
        request: { action: 's3:GetObject', resource: 'arn:aws:s3:::b/k', principal: ROLE },
        identityPolicies: [id],
        resourcePolicy: only,
      }),
    ).toBe('Allow');
    expect(
      decide({
        request: { action: 's3:GetObject', resource: 'arn:aws:s3:::b/k', principal: USER },
        identityPolicies: [id],
        resourcePolicy: only,
      }),
    ).toBe('ExplicitDeny');
  });
});

describe('refusals: what the evaluator will not guess', () => {
  it('throws MalformedPolicyDocument for unreadable JSON, a bad Effect, or Action and NotAction together', () => {
    const req = { action: 's3:GetObject', resource: 'arn:aws:s3:::b/k', principal: USER };
    expect(() =>
      evaluateAuthorization({ request: req, identityPolicies: [{ name: 'broken', document: '{"Statement": [' }] }),
    ).toThrow(MalformedPolicyError);
    expect(() =>
      evaluateAuthorization({
        request: req,
        identityPolicies: [policy('x', { Effect: 'allow' as 'Allow', Action: '*', Resource: '*' })],
      }),
    ).toThrow(/x: statement 0: Effect/);
    expect(() =>
      evaluateAuthorization({
        request: req,
        identityPolicies: [policy('y', { Effect: 'Allow', Action: '*', NotAction: 's3:*', Resource: '*' })],
      }),
    ).toThrow(/y: statement 0: exactly one/);
  });

  it('throws UnsupportedCondition for an operator it does not know, on allows and denies alike', () => {
    const req = { action: 's3:GetObject', resource: 'arn:aws:s3:::b/k', principal: USER };
    const odd = policy('odd', {
      Effect: 'Deny',
      Action: '*',
      Resource: '*',
      Condition: { StringSoundsLike: { 's3:prefix': 'x' } },
    });
    expect(() => evaluateAuthorization({ request: req, identityPolicies: [odd] })).toThrow(UnsupportedConditionError);
  });

  it('parses a policy stored as JSON text (as the IAM and bucket-policy APIs keep it)', () => {
    const text: NamedPolicy = {
      name: 'text',
      document: JSON.stringify({
        Version: '2012-10-17',
        Statement: { Effect: 'Allow', Action: 's3:GetObject', Resource: '*' },
      }),
    };
    expect(
      decide({
        request: { action: 's3:GetObject', resource: 'arn:aws:s3:::b/k', principal: USER },
        identityPolicies: [text],
      }),
    ).toBe('Allow');
  });
});
