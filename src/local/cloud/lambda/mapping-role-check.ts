/**
 * Whether a function's execution role lets Lambda's poller read an event source, decided as IAM
 * decides it (policy-evaluation.ts) over the role's inline and attached policies held by the local
 * IAM (IamStore) and the source's own policy (a queue policy). CreateEventSourceMapping refuses a
 * mapping whose role cannot, with Lambda's messages.
 */
import type { IamStore } from '../iam/iam-store';
import { evaluateAuthorization, type NamedPolicy, type PolicyDocument } from '../iam/policy-evaluation';
import { eventSourceMappingPermissions, type RequiredPermission } from '../iam/operation-actions';

/**
 * The AWS-managed policies a Lambda execution role is given for event sources, as AWS publishes
 * them (the local IAM stores attachments of AWS-managed policies, not their documents). Any other
 * AWS-managed policy grants nothing here.
 */
const AWS_MANAGED_POLICIES: Readonly<Record<string, PolicyDocument>> = {
  'arn:aws:iam::aws:policy/service-role/AWSLambdaSQSQueueExecutionRole': {
    Statement: [
      { Effect: 'Allow', Action: ['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes'], Resource: '*' },
      {
        Effect: 'Allow',
        Action: ['logs:CreateLogGroup', 'logs:CreateLogStream', 'logs:PutLogEvents'],
        Resource: '*',
      },
    ],
  },
  'arn:aws:iam::aws:policy/service-role/AWSLambdaKinesisExecutionRole': {
    Statement: [
      {
        Effect: 'Allow',
        Action: [
          'kinesis:DescribeStream',
          'kinesis:DescribeStreamSummary',
          'kinesis:GetRecords',
          'kinesis:GetShardIterator',
          'kinesis:ListShards',
          'kinesis:ListStreams',
          'kinesis:SubscribeToShard',
          'logs:CreateLogGroup',
          'logs:CreateLogStream',
          'logs:PutLogEvents',
        ],
        Resource: '*',
      },
    ],
  },
  'arn:aws:iam::aws:policy/AdministratorAccess': { Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }] },
};

/** The session name of the role session Lambda's pollers act in (`assumed-role/<role>/<this>`). */
export const EVENT_SOURCE_MAPPING_SESSION = 'awslambda_event_source_mapping';

/** The role's identity policies (inline, then attached), or undefined when the local IAM has no such role. */
export function roleIdentityPolicies(iam: IamStore, roleArn: string): NamedPolicy[] | undefined {
  const name = roleArn.split('/').pop();
  let role;
  try {
    role = iam.role(name);
  } catch {
    return undefined;
  }
  if (role.arn !== roleArn) return undefined;
  const inline = [...role.inlinePolicies].map(([policyName, document]) => ({ name: policyName, document }));
  const attached = [...role.attachedPolicies].flatMap((arn): NamedPolicy[] => {
    const managed = AWS_MANAGED_POLICIES[arn];
    if (managed) return [{ name: arn, document: managed }];
    try {
      const policy = iam.policy(arn);
      const version = policy.versions.find((v) => v.versionId === policy.defaultVersionId);
      return version ? [{ name: arn, document: version.document }] : [];
    } catch {
      return [];
    }
  });
  return [...inline, ...attached];
}

/** The first permission of `required` the role is not allowed, or undefined when it has them all. */
export function firstDeniedPermission(
  iam: IamStore,
  roleArn: string,
  required: readonly RequiredPermission[],
  resourcePolicy?: NamedPolicy,
): RequiredPermission | undefined {
  const identityPolicies = roleIdentityPolicies(iam, roleArn) ?? [];
  const roleName = roleArn.split('/').pop() ?? '';
  const principal = {
    kind: 'aws' as const,
    arn: `arn:aws:sts::${iam.accountId}:assumed-role/${roleName}/${EVENT_SOURCE_MAPPING_SESSION}`,
    account: iam.accountId,
    roleArn,
  };
  return required.find(
    (permission) =>
      evaluateAuthorization({
        request: { action: permission.action, resource: permission.resource, principal, context: permission.context },
        identityPolicies,
        resourcePolicy,
      }).decision !== 'Allow',
  );
}

/**
 * Lambda's refusal message when the role cannot read the source, or undefined when it can: for a
 * queue it names the first SQS action missing, for a stream it lists the actions to grant.
 */
export function sourceAccessRefusal(
  iam: IamStore,
  roleArn: string,
  kind: 'sqs' | 'kinesis',
  sourceArn: string,
  sourcePolicy?: string,
): string | undefined {
  const resourcePolicy = sourcePolicy ? { name: `queue policy of ${sourceArn}`, document: sourcePolicy } : undefined;
  const denied = firstDeniedPermission(iam, roleArn, eventSourceMappingPermissions(kind, sourceArn), resourcePolicy);
  if (!denied) return undefined;
  return kind === 'sqs'
    ? `The provided execution role does not have permissions to call ${denied.action.replace('sqs:', '')} on SQS`
    : `Cannot access stream ${sourceArn}. Please ensure the role can perform the GetRecords, GetShardIterator, ` +
        'DescribeStream, and ListStreams Actions on your stream in IAM.';
}

/**
 * Lambda's refusal when the role cannot send a mapping's failure records to its SQS on-failure
 * destination (sqs:SendMessage, allowed by the role's policies or the queue's), or undefined when it can.
 */
export function destinationAccessRefusal(
  iam: IamStore,
  roleArn: string,
  queueArn: string,
  queuePolicy?: string,
): string | undefined {
  const resourcePolicy = queuePolicy ? { name: `queue policy of ${queueArn}`, document: queuePolicy } : undefined;
  const denied = firstDeniedPermission(
    iam,
    roleArn,
    [{ action: 'sqs:SendMessage', resource: queueArn }],
    resourcePolicy,
  );
  return denied ? 'The provided execution role does not have permissions to call SendMessage on SQS' : undefined;
}

/**
 * What stops the role of a mapping reading its stream: the first Kinesis permission Lambda's reads
 * need (eventSourceMappingPermissions) that the role's policies do not allow, with the poller's
 * principal; undefined when it may read.
 */
export function streamReadDenial(
  iam: IamStore,
  roleArn: string,
  streamArn: string,
): { principal: string; action: string; resource: string } | undefined {
  const denied = firstDeniedPermission(iam, roleArn, eventSourceMappingPermissions('kinesis', streamArn));
  if (!denied) return undefined;
  const roleName = roleArn.split('/').pop() ?? '';
  return {
    principal: `arn:aws:sts::${iam.accountId}:assumed-role/${roleName}/${EVENT_SOURCE_MAPPING_SESSION}`,
    action: denied.action,
    resource: denied.resource,
  };
}
