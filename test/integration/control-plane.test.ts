/**
 * The control plane on the gateway, against real clients over real sockets: bucket sub-resources
 * through the AWS SDK (S3's defaults for a new bucket, its NoSuch…/…NotFoundError codes once unset,
 * configurations dropped with the bucket, NotImplemented for behaviour not emulated), IAM and STS
 * through the AWS CLI, and AWS's unknown-operation errors for services not served, in each
 * protocol (JSON, Query, REST), never a hang, a 500 or an S3 answer.
 */
import {
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteBucketOwnershipControlsCommand,
  DeleteBucketLifecycleCommand,
  DeleteBucketPolicyCommand,
  GetBucketLifecycleConfigurationCommand,
  PutBucketLifecycleConfigurationCommand,
  DeletePublicAccessBlockCommand,
  GetBucketEncryptionCommand,
  GetBucketOwnershipControlsCommand,
  GetBucketPolicyCommand,
  GetBucketTaggingCommand,
  GetBucketWebsiteCommand,
  GetPublicAccessBlockCommand,
  PutBucketPolicyCommand,
  PutBucketTaggingCommand,
  PutBucketVersioningCommand,
  PutPublicAccessBlockCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { startGateway, type Gateway } from '../../src/local/cloud/gateway/gateway';
import { startStandIn, type StandIn } from '../../src/local/cloud/standin/standin';
import { localClientConfig } from '../../src/local/client-config';
import { describeWhen } from '../helpers/requires';
import { AWS_CLI_MISSING, findAwsCli, runAws } from '../helpers/up-process';

let standIn: StandIn;
let gateway: Gateway;
let s3: S3Client;

beforeAll(async () => {
  standIn = await startStandIn();
  gateway = await startGateway({ upstream: standIn.endpoint });
  s3 = new S3Client(localClientConfig(gateway.endpoint));
});

afterAll(async () => {
  s3?.destroy();
  await gateway?.stop();
  await standIn?.stop();
});

/** The error code a call fails with (its name, as the SDK reports it), or 'ok'. */
async function outcome(call: Promise<unknown>): Promise<string> {
  try {
    await call;
    return 'ok';
  } catch (err) {
    return (err as { name: string }).name;
  }
}

describe('bucket sub-resources', () => {
  const Bucket = 'cp-config-bucket';

  beforeAll(async () => {
    await s3.send(new CreateBucketCommand({ Bucket }));
  });

  test(
    'a new bucket has what S3 gives every new bucket: SSE-S3, ' +
      'Block Public Access, BucketOwnerEnforced; no policy, no tags',
    async () => {
      const encryption = await s3.send(new GetBucketEncryptionCommand({ Bucket }));
      expect(
        encryption.ServerSideEncryptionConfiguration?.Rules?.[0]?.ApplyServerSideEncryptionByDefault?.SSEAlgorithm,
      ).toBe('AES256');
      const block = await s3.send(new GetPublicAccessBlockCommand({ Bucket }));
      expect(block.PublicAccessBlockConfiguration).toEqual({
        BlockPublicAcls: true,
        IgnorePublicAcls: true,
        BlockPublicPolicy: true,
        RestrictPublicBuckets: true,
      });
      const ownership = await s3.send(new GetBucketOwnershipControlsCommand({ Bucket }));
      expect(ownership.OwnershipControls?.Rules?.[0]?.ObjectOwnership).toBe('BucketOwnerEnforced');
      expect(await outcome(s3.send(new GetBucketPolicyCommand({ Bucket })))).toBe('NoSuchBucketPolicy');
      expect(await outcome(s3.send(new GetBucketTaggingCommand({ Bucket })))).toBe('NoSuchTagSet');
      expect(await outcome(s3.send(new GetBucketWebsiteCommand({ Bucket })))).toBe('NoSuchWebsiteConfiguration');
    },
  );

  test("what is written is read back; what is deleted answers S3's not-found codes", async () => {
    const policy = JSON.stringify({
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Deny',
          Principal: '*',
          Action: 's3:*',
          Resource: `arn:aws:s3:::${Bucket}/*`,
          Condition: { Bool: { 'aws:SecureTransport': 'false' } },
        },
      ],
    });
    await s3.send(new PutBucketPolicyCommand({ Bucket, Policy: policy }));
    expect((await s3.send(new GetBucketPolicyCommand({ Bucket }))).Policy).toBe(policy);
    await s3.send(new PutBucketTaggingCommand({ Bucket, Tagging: { TagSet: [{ Key: 'team', Value: 'media' }] } }));
    expect((await s3.send(new GetBucketTaggingCommand({ Bucket }))).TagSet).toEqual([{ Key: 'team', Value: 'media' }]);
    await s3.send(
      new PutPublicAccessBlockCommand({
        Bucket,
        PublicAccessBlockConfiguration: {
          BlockPublicAcls: true,
          IgnorePublicAcls: false,
          BlockPublicPolicy: true,
          RestrictPublicBuckets: false,
        },
      }),
    );
    expect(
      (await s3.send(new GetPublicAccessBlockCommand({ Bucket }))).PublicAccessBlockConfiguration?.IgnorePublicAcls,
    ).toBe(false);

    await s3.send(new DeleteBucketPolicyCommand({ Bucket }));
    await s3.send(new DeletePublicAccessBlockCommand({ Bucket }));
    await s3.send(new DeleteBucketOwnershipControlsCommand({ Bucket }));
    expect(await outcome(s3.send(new GetBucketPolicyCommand({ Bucket })))).toBe('NoSuchBucketPolicy');
    expect(await outcome(s3.send(new GetPublicAccessBlockCommand({ Bucket })))).toBe(
      'NoSuchPublicAccessBlockConfiguration',
    );
    expect(await outcome(s3.send(new GetBucketOwnershipControlsCommand({ Bucket })))).toBe(
      'OwnershipControlsNotFoundError',
    );
  });

  test('a lifecycle configuration is read back with the transition size S3 echoes; unset or deleted, NoSuchLifecycleConfiguration', async () => {
    expect(await outcome(s3.send(new GetBucketLifecycleConfigurationCommand({ Bucket })))).toBe(
      'NoSuchLifecycleConfiguration',
    );
    const Rules = [
      { ID: 'expire', Status: 'Enabled' as const, Filter: { Prefix: 'uploads/' }, Expiration: { Days: 7 } },
    ];
    await s3.send(new PutBucketLifecycleConfigurationCommand({ Bucket, LifecycleConfiguration: { Rules } }));
    const read = await s3.send(new GetBucketLifecycleConfigurationCommand({ Bucket }));
    expect(read.Rules).toEqual(Rules);
    // S3's default when the PUT names none (the SDK sends none here; the Terraform provider sends it).
    expect(read.TransitionDefaultMinimumObjectSize).toBe('all_storage_classes_128K');
    await s3.send(
      new PutBucketLifecycleConfigurationCommand({
        Bucket,
        LifecycleConfiguration: { Rules },
        TransitionDefaultMinimumObjectSize: 'varies_by_storage_class',
      }),
    );
    expect(
      (await s3.send(new GetBucketLifecycleConfigurationCommand({ Bucket }))).TransitionDefaultMinimumObjectSize,
    ).toBe('varies_by_storage_class');
    await s3.send(new DeleteBucketLifecycleCommand({ Bucket }));
    expect(await outcome(s3.send(new GetBucketLifecycleConfigurationCommand({ Bucket })))).toBe(
      'NoSuchLifecycleConfiguration',
    );
  });

  test('a policy that is not JSON is MalformedPolicy; versioning on is NotImplemented (not stored and ignored)', async () => {
    expect(await outcome(s3.send(new PutBucketPolicyCommand({ Bucket, Policy: 'not json' })))).toBe('MalformedPolicy');
    expect(
      await outcome(
        s3.send(new PutBucketVersioningCommand({ Bucket, VersioningConfiguration: { Status: 'Enabled' } })),
      ),
    ).toBe('NotImplemented');
  });

  test('a missing bucket is NoSuchBucket; a bucket deleted and made again starts from the defaults', async () => {
    expect(await outcome(s3.send(new GetBucketPolicyCommand({ Bucket: 'cp-no-such-bucket' })))).toBe('NoSuchBucket');
    const again = 'cp-recreated-bucket';
    await s3.send(new CreateBucketCommand({ Bucket: again }));
    await s3.send(new PutBucketTaggingCommand({ Bucket: again, Tagging: { TagSet: [{ Key: 'k', Value: 'v' }] } }));
    await s3.send(new DeleteBucketCommand({ Bucket: again }));
    await s3.send(new CreateBucketCommand({ Bucket: again }));
    expect(await outcome(s3.send(new GetBucketTaggingCommand({ Bucket: again })))).toBe('NoSuchTagSet');
  });
});

const cli = findAwsCli();

describeWhen(cli ? undefined : AWS_CLI_MISSING, 'IAM, STS and services not served, through the AWS CLI', () => {
  const aws = (args: string[]): Promise<string> =>
    runAws(cli!.path, gateway.endpoint, [...args, '--output', 'json'], 60_000);
  /** The CLI's failure: its stderr, which names the error code. */
  const failure = async (args: string[]): Promise<string> => {
    try {
      await aws(args);
    } catch (err) {
      return (err as Error).message;
    }
    throw new Error(`aws ${args.join(' ')} succeeded`);
  };
  const trust = JSON.stringify({
    Version: '2012-10-17',
    Statement: [{ Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' }],
  });

  test('sts get-caller-identity names the local account', async () => {
    expect(JSON.parse(await aws(['sts', 'get-caller-identity']))).toEqual({
      UserId: '000000000000',
      Account: '000000000000',
      Arn: 'arn:aws:iam::000000000000:root',
    });
  });

  test('a role with an inline and an attached policy: create, read, list, refuse to delete, clean up, delete', async () => {
    const created = JSON.parse(
      await aws([
        'iam',
        'create-role',
        '--role-name',
        'cp-resize',
        '--assume-role-policy-document',
        trust,
        '--tags',
        'Key=team,Value=media',
      ]),
    ) as { Role: { Arn: string } };
    expect(created.Role.Arn).toBe('arn:aws:iam::000000000000:role/cp-resize');
    const role = JSON.parse(await aws(['iam', 'get-role', '--role-name', 'cp-resize'])) as {
      Role: { AssumeRolePolicyDocument: unknown; Tags: unknown };
    };
    // The CLI decodes the URL-encoded document IAM sends into JSON.
    expect(role.Role.AssumeRolePolicyDocument).toEqual(JSON.parse(trust));
    expect(role.Role.Tags).toEqual([{ Key: 'team', Value: 'media' }]);
    expect(
      await failure(['iam', 'create-role', '--role-name', 'cp-resize', '--assume-role-policy-document', trust]),
    ).toContain('EntityAlreadyExists');

    const policy = JSON.stringify({
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Action: 's3:GetObject', Resource: '*' }],
    });
    await aws([
      'iam',
      'put-role-policy',
      '--role-name',
      'cp-resize',
      '--policy-name',
      'read',
      '--policy-document',
      policy,
    ]);
    await aws([
      'iam',
      'attach-role-policy',
      '--role-name',
      'cp-resize',
      '--policy-arn',
      'arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole',
    ]);
    expect(JSON.parse(await aws(['iam', 'list-role-policies', '--role-name', 'cp-resize']))).toMatchObject({
      PolicyNames: ['read'],
    });
    expect(
      JSON.parse(await aws(['iam', 'get-role-policy', '--role-name', 'cp-resize', '--policy-name', 'read'])),
    ).toMatchObject({ PolicyDocument: JSON.parse(policy) });
    expect(JSON.parse(await aws(['iam', 'list-attached-role-policies', '--role-name', 'cp-resize']))).toMatchObject({
      AttachedPolicies: [
        {
          PolicyName: 'AWSLambdaBasicExecutionRole',
          PolicyArn: 'arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole',
        },
      ],
    });
    expect(await failure(['iam', 'delete-role', '--role-name', 'cp-resize'])).toContain('DeleteConflict');

    await aws(['iam', 'delete-role-policy', '--role-name', 'cp-resize', '--policy-name', 'read']);
    await aws([
      'iam',
      'detach-role-policy',
      '--role-name',
      'cp-resize',
      '--policy-arn',
      'arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole',
    ]);
    await aws(['iam', 'delete-role', '--role-name', 'cp-resize']);
    expect(await failure(['iam', 'get-role', '--role-name', 'cp-resize'])).toContain('NoSuchEntity');
    expect(JSON.parse(await aws(['iam', 'list-roles']))).toEqual({ Roles: [] });
  }, 300_000);

  test('a log group: create, refuse a second, retention, tags by ARN, delete, not found', async () => {
    await aws(['logs', 'create-log-group', '--log-group-name', '/aws/lambda/cp-fn', '--tags', 'team=media']);
    expect(await failure(['logs', 'create-log-group', '--log-group-name', '/aws/lambda/cp-fn'])).toContain(
      'ResourceAlreadyExistsException',
    );
    await aws(['logs', 'put-retention-policy', '--log-group-name', '/aws/lambda/cp-fn', '--retention-in-days', '14']);
    expect(
      await failure([
        'logs',
        'put-retention-policy',
        '--log-group-name',
        '/aws/lambda/cp-fn',
        '--retention-in-days',
        '2',
      ]),
    ).toContain('InvalidParameterException');
    const { logGroups } = JSON.parse(
      await aws(['logs', 'describe-log-groups', '--log-group-name-prefix', '/aws/lambda/cp-']),
    ) as { logGroups: Array<{ arn: string; retentionInDays: number }> };
    expect(logGroups).toMatchObject([
      {
        logGroupName: '/aws/lambda/cp-fn',
        retentionInDays: 14,
        arn: 'arn:aws:logs:us-east-1:000000000000:log-group:/aws/lambda/cp-fn:*',
      },
    ]);
    expect(
      JSON.parse(await aws(['logs', 'list-tags-for-resource', '--resource-arn', logGroups[0].arn.replace(/:\*$/, '')])),
    ).toEqual({ tags: { team: 'media' } });
    await aws(['logs', 'delete-log-group', '--log-group-name', '/aws/lambda/cp-fn']);
    expect(await failure(['logs', 'delete-log-group', '--log-group-name', '/aws/lambda/cp-fn'])).toContain(
      'ResourceNotFoundException',
    );
    expect(JSON.parse(await aws(['logs', 'describe-log-groups']))).toEqual({ logGroups: [] });
  }, 300_000);

  test.each([
    [['cloudwatch', 'get-dashboard', '--dashboard-name', 'none'], 'ResourceNotFound'],
    [['cloudwatch', 'delete-alarms', '--alarm-names', 'none'], 'ResourceNotFound'],
    [['events', 'describe-rule', '--name', 'none'], 'ResourceNotFoundException'],
    [['kms', 'describe-key', '--key-id', '11111111-2222-3333-4444-555555555555'], 'NotFoundException'],
    [['sns', 'get-topic-attributes', '--topic-arn', 'arn:aws:sns:us-east-1:000000000000:none'], 'NotFound'],
  ])(
    "aws %j is refused with its service's %s",
    async (args, code) => {
      expect(await failure(args)).toContain(`(${code})`);
    },
    60_000,
  );

  test.each([
    [['logs', 'get-log-events', '--log-group-name', 'g', '--log-stream-name', 's'], 'UnknownOperationException'],
    [['kms', 'encrypt', '--key-id', 'alias/x', '--plaintext', 'aGk='], 'UnknownOperationException'],
    [['events', 'list-event-buses'], 'UnknownOperationException'],
    [['cloudwatch', 'list-metrics'], 'InvalidAction'],
    [['ecr', 'describe-pull-through-cache-rules'], 'UnknownOperationException'],
    [['lambda', 'list-functions'], 'UnknownOperationException'],
    [['apigatewayv2', 'get-domain-names'], 'UnknownOperationException'],
    [['iam', 'list-users'], 'InvalidAction'],
    [['sts', 'get-session-token'], 'InvalidAction'],
  ])(
    'aws %j is refused with %s',
    async (args, code) => {
      const message = await failure(args);
      expect(message).toContain(`(${code})`);
      expect(message).not.toMatch(/NoSuchBucket|InternalError|InternalFailure|\(500\)/);
    },
    60_000,
  );
});
