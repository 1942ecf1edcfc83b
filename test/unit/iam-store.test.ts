/**
 * IAM's state and refusals (iam-store.ts) and the Query protocol's encoding (query-protocol.ts),
 * as pure logic; test/integration/control-plane.test.ts drives the same through the AWS CLI.
 */
import { IamStore } from '../../src/local/cloud/iam/iam-store';
import { iamService } from '../../src/local/cloud/iam/iam-api';
import {
  QueryError,
  memberRecords,
  memberStrings,
  queryErrorXml,
  queryResponseXml,
} from '../../src/local/cloud/query-protocol';

const TRUST = JSON.stringify({
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' }],
});
const POLICY = JSON.stringify({
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Action: 's3:GetObject', Resource: '*' }],
});

function refusal(fn: () => unknown): { code: string; status: number; message: string } {
  try {
    fn();
  } catch (err) {
    if (err instanceof QueryError) return { code: err.code, status: err.status, message: err.message };
    throw err;
  }
  throw new Error('expected a refusal');
}

describe('IamStore', () => {
  test('a role gets an AROA id and an ARN with its path; names are unique case-insensitively', () => {
    const store = new IamStore('000000000000');
    const role = store.createRole({ name: 'resize', assumeRolePolicyDocument: TRUST, path: '/service/' });
    expect(role.id).toMatch(/^AROA[A-Z2-7]{17}$/);
    expect(role.arn).toBe('arn:aws:iam::000000000000:role/service/resize');
    expect(refusal(() => store.createRole({ name: 'RESIZE', assumeRolePolicyDocument: TRUST }))).toEqual({
      code: 'EntityAlreadyExists',
      status: 409,
      message: 'Role with name RESIZE already exists.',
    });
  });

  test('a trust policy that is not JSON is MalformedPolicyDocument; a bad name is a ValidationError', () => {
    const store = new IamStore('000000000000');
    expect(refusal(() => store.createRole({ name: 'r', assumeRolePolicyDocument: '{not json' })).code).toBe(
      'MalformedPolicyDocument',
    );
    expect(refusal(() => store.createRole({ name: 'bad name', assumeRolePolicyDocument: TRUST })).code).toBe(
      'ValidationError',
    );
  });

  test('a role with policies cannot be deleted until they are removed (DeleteConflict), then can', () => {
    const store = new IamStore('000000000000');
    store.createRole({ name: 'resize', assumeRolePolicyDocument: TRUST });
    store.putRolePolicy('resize', 'read', POLICY);
    store.attachRolePolicy('resize', 'arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole');
    expect(refusal(() => store.deleteRole('resize'))).toMatchObject({ code: 'DeleteConflict', status: 409 });
    store.deleteRolePolicy('resize', 'read');
    expect(refusal(() => store.deleteRole('resize')).message).toBe(
      'Cannot delete entity, must detach all policies first.',
    );
    store.detachRolePolicy('resize', 'arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole');
    store.deleteRole('resize');
    expect(refusal(() => store.role('resize'))).toEqual({
      code: 'NoSuchEntity',
      status: 404,
      message: 'The role with name resize cannot be found.',
    });
  });

  test('an unknown customer policy cannot be attached; an attached one cannot be deleted', () => {
    const store = new IamStore('000000000000');
    store.createRole({ name: 'resize', assumeRolePolicyDocument: TRUST });
    expect(refusal(() => store.attachRolePolicy('resize', 'arn:aws:iam::000000000000:policy/nope')).code).toBe(
      'NoSuchEntity',
    );
    const policy = store.createPolicy({ name: 'read', document: POLICY });
    store.attachRolePolicy('resize', policy.arn);
    expect(store.attachmentCount(policy.arn)).toBe(1);
    expect(refusal(() => store.deletePolicy(policy.arn)).code).toBe('DeleteConflict');
    store.detachRolePolicy('resize', policy.arn);
    store.deletePolicy(policy.arn);
    expect(store.listPolicies()).toEqual([]);
  });

  test('GetRole answers the trust policy URL-encoded, as IAM does', () => {
    const store = new IamStore('000000000000');
    store.createRole({ name: 'resize', assumeRolePolicyDocument: TRUST, tags: [{ key: 'team', value: 'media' }] });
    const answer = iamService(store).operations.GetRole({ RoleName: 'resize' }) as { Role: Record<string, unknown> };
    expect(decodeURIComponent(String(answer.Role.AssumeRolePolicyDocument))).toBe(TRUST);
    expect(answer.Role.Tags).toEqual({ member: [{ Key: 'team', Value: 'media' }] });
  });
});

describe('the Query protocol', () => {
  test('lists arrive flattened as Name.member.N[.Field]', () => {
    const params = {
      'Tags.member.1.Key': 'a',
      'Tags.member.1.Value': '1',
      'Tags.member.2.Key': 'b',
      'Tags.member.2.Value': '2',
      'TagKeys.member.1': 'x',
      'TagKeys.member.2': 'y',
    };
    expect(memberRecords(params, 'Tags')).toEqual([
      { Key: 'a', Value: '1' },
      { Key: 'b', Value: '2' },
    ]);
    expect(memberStrings(params, 'TagKeys')).toEqual(['x', 'y']);
  });

  test('answers are <ActionResponse><ActionResult>, lists as <member>, text escaped', () => {
    const xml = queryResponseXml(
      'ListRolePolicies',
      'https://iam.amazonaws.com/doc/2010-05-08/',
      { PolicyNames: { member: ['a&b', 'c'] }, IsTruncated: false },
      'req-1',
    );
    expect(xml).toBe(
      '<?xml version="1.0"?><ListRolePoliciesResponse ' +
        'xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><ListRolePoliciesResult><PolicyNames><member>a&amp;' +
        'b</member><member>c</member></PolicyNames><IsTruncated>false</IsTruncated></ListRolePoliciesResult>' +
        '<ResponseMetadata><RequestId>req-1</RequestId></ResponseMetadata></ListRolePoliciesResponse>',
    );
  });

  test('errors are <ErrorResponse><Error><Type><Code><Message>', () => {
    expect(queryErrorXml(new QueryError('NoSuchEntity', 'gone', 404), 'req-2')).toBe(
      '<?xml version="1.0"?><ErrorResponse><Error><Type>Sender</Type><Code>NoSuchEntity</Code>' +
        '<Message>gone</Message></Error><RequestId>req-2</RequestId></ErrorResponse>',
    );
  });
});
