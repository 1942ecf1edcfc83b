/**
 * The control plane's CloudWatch, EventBridge, KMS and SNS services as pure logic: what each keeps,
 * what it answers the AWS provider's reads with, and its refusals in its own error shape;
 * test/integration/deploy-local-observability.test.ts applies the same through Terraform.
 */
import { cloudwatchService } from '../../src/local/cloud/cloudwatch/cloudwatch-api';
import { checkScheduleExpression, eventsService } from '../../src/local/cloud/events/events-api';
import { kmsService } from '../../src/local/cloud/kms/kms-api';
import { entryPairs, snsService } from '../../src/local/cloud/sns/sns-api';
import { JsonError } from '../../src/local/cloud/json-protocol';
import { QueryError, queryResponseXml, type QueryService } from '../../src/local/cloud/query-protocol';

const REGION = 'us-east-1';
const ACCOUNT = '000000000000';

/** The code, status and message a call is refused with (QueryError or JsonError); throws when it is not refused. */
function refusal(fn: () => unknown): { code: string; status: number; message: string } {
  try {
    fn();
  } catch (err) {
    if (err instanceof QueryError || err instanceof JsonError)
      return { code: err.code, status: err.status, message: err.message };
    throw err;
  }
  throw new Error('expected a refusal');
}

/** Runs a Query operation with `Action` set, as answerQuery would. */
function query(service: QueryService, action: string, params: Record<string, string>): unknown {
  return service.operations[action]({ Action: action, ...params });
}

describe('CloudWatch (Query protocol)', () => {
  const ALARM = {
    AlarmName: 'chain-errors',
    AlarmDescription: 'errors',
    ComparisonOperator: 'GreaterThanOrEqualToThreshold',
    EvaluationPeriods: '1',
    MetricName: 'Errors',
    Namespace: 'AWS/Lambda',
    Period: '300',
    Statistic: 'Sum',
    Threshold: '1',
    TreatMissingData: 'notBreaching',
    'Dimensions.member.1.Name': 'FunctionName',
    'Dimensions.member.1.Value': 'chain-resize',
    'AlarmActions.member.1': 'arn:aws:sns:us-east-1:000000000000:alarms',
    'Tags.member.1.Key': 'team',
    'Tags.member.1.Value': 'media',
  };

  test('an alarm is kept as put, inert (INSUFFICIENT_DATA), listed by name and tagged by ARN', () => {
    const cw = cloudwatchService(REGION, ACCOUNT);
    expect(query(cw, 'PutMetricAlarm', ALARM)).toBeUndefined();
    const described = query(cw, 'DescribeAlarms', {
      'AlarmNames.member.1': 'chain-errors',
      'AlarmTypes.member.1': 'MetricAlarm',
    }) as { MetricAlarms: { member: Array<Record<string, unknown>> } };
    expect(described.MetricAlarms.member).toMatchObject([
      {
        AlarmName: 'chain-errors',
        AlarmArn: 'arn:aws:cloudwatch:us-east-1:000000000000:alarm:chain-errors',
        StateValue: 'INSUFFICIENT_DATA',
        Threshold: 1,
        Period: 300,
        EvaluationPeriods: 1,
        ActionsEnabled: true,
        AlarmActions: { member: ['arn:aws:sns:us-east-1:000000000000:alarms'] },
        OKActions: { member: [] },
        Dimensions: { member: [{ Name: 'FunctionName', Value: 'chain-resize' }] },
      },
    ]);
    const arn = 'arn:aws:cloudwatch:us-east-1:000000000000:alarm:chain-errors';
    expect(query(cw, 'ListTagsForResource', { ResourceARN: arn })).toEqual({
      Tags: { member: [{ Key: 'team', Value: 'media' }] },
    });
    query(cw, 'UntagResource', { ResourceARN: arn, 'TagKeys.member.1': 'team' });
    expect(query(cw, 'ListTagsForResource', { ResourceARN: arn })).toEqual({ Tags: { member: [] } });
    expect(refusal(() => query(cw, 'ListTagsForResource', { ResourceARN: `${arn}-gone` })).code).toBe(
      'ResourceNotFoundException',
    );
    query(cw, 'DeleteAlarms', { 'AlarmNames.member.1': 'chain-errors' });
    expect(query(cw, 'DescribeAlarms', {})).toEqual({ MetricAlarms: { member: [] }, CompositeAlarms: { member: [] } });
    expect(refusal(() => query(cw, 'DeleteAlarms', { 'AlarmNames.member.1': 'chain-errors' }))).toMatchObject({
      code: 'ResourceNotFound',
      status: 404,
    });
  });

  test('an alarm with both Statistic and ExtendedStatistic, or an unknown operator, is refused', () => {
    const cw = cloudwatchService(REGION, ACCOUNT);
    expect(refusal(() => query(cw, 'PutMetricAlarm', { ...ALARM, ExtendedStatistic: 'p99' })).code).toBe(
      'InvalidParameterCombination',
    );
    expect(refusal(() => query(cw, 'PutMetricAlarm', { ...ALARM, ComparisonOperator: 'Above' })).code).toBe(
      'InvalidParameterValue',
    );
    expect(refusal(() => query(cw, 'PutMetricAlarm', { ...ALARM, AlarmName: '' })).code).toBe('MissingParameter');
  });

  test('a dashboard is kept as put; its body must be a JSON object; a missing one is ResourceNotFound', () => {
    const cw = cloudwatchService(REGION, ACCOUNT);
    const body = JSON.stringify({ widgets: [] });
    expect(query(cw, 'PutDashboard', { DashboardName: 'chain', DashboardBody: body })).toEqual({
      DashboardValidationMessages: { member: [] },
    });
    expect(query(cw, 'GetDashboard', { DashboardName: 'chain' })).toEqual({
      DashboardArn: 'arn:aws:cloudwatch::000000000000:dashboard/chain',
      DashboardBody: body,
      DashboardName: 'chain',
    });
    expect(refusal(() => query(cw, 'PutDashboard', { DashboardName: 'x', DashboardBody: '[1]' })).code).toBe(
      'InvalidParameterInput',
    );
    query(cw, 'DeleteDashboards', { 'DashboardNames.member.1': 'chain' });
    expect(refusal(() => query(cw, 'GetDashboard', { DashboardName: 'chain' }))).toEqual({
      code: 'ResourceNotFound',
      status: 404,
      message: 'Dashboard chain does not exist',
    });
    expect(query(cw, 'ListDashboards', {})).toEqual({ DashboardEntries: { member: [] } });
  });
});

describe('EventBridge (JSON 1.1)', () => {
  test('a schedule rule with a target: put, described, listed; not deletable while it has targets', async () => {
    const events = eventsService(REGION, ACCOUNT);
    const ops = events.operations;
    expect(
      ops.PutRule({
        Name: 'keep-warm',
        ScheduleExpression: 'rate(5 minutes)',
        Tags: [{ Key: 'team', Value: 'media' }],
      }),
    ).toEqual({
      RuleArn: 'arn:aws:events:us-east-1:000000000000:rule/keep-warm',
    });
    expect(ops.DescribeRule({ Name: 'keep-warm' })).toMatchObject({
      Name: 'keep-warm',
      ScheduleExpression: 'rate(5 minutes)',
      State: 'ENABLED',
      EventBusName: 'default',
    });
    const target = { Id: 'keep-warm-1', Arn: 'arn:aws:lambda:us-east-1:000000000000:function:f', Input: '{}' };
    expect(ops.PutTargets({ Rule: 'keep-warm', Targets: [target] })).toEqual({
      FailedEntryCount: 0,
      FailedEntries: [],
    });
    expect(ops.ListTargetsByRule({ Rule: 'keep-warm' })).toEqual({ Targets: [target] });
    await ops.DisableRule({ Name: 'keep-warm' });
    expect(ops.DescribeRule({ Name: 'keep-warm' })).toMatchObject({ State: 'DISABLED' });
    expect(refusal(() => ops.DeleteRule({ Name: 'keep-warm' }))).toMatchObject({
      code: 'ValidationException',
      message: "Rule can't be deleted since it has targets.",
    });
    expect(ops.ListTagsForResource({ ResourceARN: 'arn:aws:events:us-east-1:000000000000:rule/keep-warm' })).toEqual({
      Tags: [{ Key: 'team', Value: 'media' }],
    });
    await ops.RemoveTargets({ Rule: 'keep-warm', Ids: ['keep-warm-1'] });
    await ops.DeleteRule({ Name: 'keep-warm' });
    expect(refusal(() => ops.DescribeRule({ Name: 'keep-warm' }))).toEqual({
      code: 'ResourceNotFoundException',
      status: 400,
      message: 'Rule keep-warm does not exist on EventBus default.',
    });
    expect(refusal(() => ops.PutTargets({ Rule: 'keep-warm', Targets: [target] })).code).toBe(
      'ResourceNotFoundException',
    );
  });

  test.each(['rate(5 minutes)', 'rate(1 minute)', 'rate(2 hours)', 'cron(0 12 * * ? *)'])('%s is a schedule', (e) => {
    expect(() => checkScheduleExpression(e)).not.toThrow();
  });

  test.each(['rate(5 minute)', 'rate(1 minutes)', 'rate(0 minutes)', 'every 5 minutes', 'cron(0 12 * * ?)'])(
    '%s is refused as EventBridge refuses it',
    (e) => {
      expect(refusal(() => checkScheduleExpression(e))).toEqual({
        code: 'ValidationException',
        status: 400,
        message: 'Parameter ScheduleExpression is not valid.',
      });
    },
  );
});

describe('KMS (JSON 1.1)', () => {
  const POLICY = JSON.stringify({
    Version: '2012-10-17',
    Statement: [{ Effect: 'Allow', Principal: { AWS: '*' }, Action: 'kms:*', Resource: '*' }],
  });

  test('a key: created with its policy and tags, rotation on, found by id, ARN and alias, deletion scheduled', async () => {
    const kms = kmsService(REGION, ACCOUNT).operations;
    const { KeyMetadata } = kms.CreateKey({
      Policy: POLICY,
      Description: 'alarms',
      Tags: [{ TagKey: 'team', TagValue: 'media' }],
    }) as {
      KeyMetadata: { KeyId: string; Arn: string; KeyState: string; KeySpec: string };
    };
    expect(KeyMetadata).toMatchObject({
      KeyState: 'Enabled',
      KeySpec: 'SYMMETRIC_DEFAULT',
      Arn: `arn:aws:kms:us-east-1:000000000000:key/${KeyMetadata.KeyId}`,
    });
    expect(kms.GetKeyPolicy({ KeyId: KeyMetadata.Arn, PolicyName: 'default' })).toEqual({
      Policy: POLICY,
      PolicyName: 'default',
    });
    expect(kms.GetKeyRotationStatus({ KeyId: KeyMetadata.KeyId })).toEqual({
      KeyId: KeyMetadata.Arn,
      KeyRotationEnabled: false,
    });
    await kms.EnableKeyRotation({ KeyId: KeyMetadata.KeyId });
    expect(kms.GetKeyRotationStatus({ KeyId: KeyMetadata.KeyId })).toMatchObject({
      KeyRotationEnabled: true,
      RotationPeriodInDays: 365,
    });
    expect(kms.ListResourceTags({ KeyId: KeyMetadata.KeyId })).toEqual({
      Tags: [{ TagKey: 'team', TagValue: 'media' }],
      Truncated: false,
    });
    await kms.CreateAlias({ AliasName: 'alias/alarms', TargetKeyId: KeyMetadata.KeyId });
    expect(kms.DescribeKey({ KeyId: 'alias/alarms' })).toMatchObject({ KeyMetadata: { KeyId: KeyMetadata.KeyId } });
    expect(kms.ScheduleKeyDeletion({ KeyId: KeyMetadata.KeyId, PendingWindowInDays: 7 })).toMatchObject({
      KeyState: 'PendingDeletion',
      PendingWindowInDays: 7,
    });
    expect(kms.DescribeKey({ KeyId: KeyMetadata.KeyId })).toMatchObject({
      KeyMetadata: { KeyState: 'PendingDeletion', Enabled: false },
    });
    expect(refusal(() => kms.PutKeyPolicy({ KeyId: KeyMetadata.KeyId, Policy: POLICY }))).toMatchObject({
      code: 'KMSInvalidStateException',
    });
  });

  test('a key created without a policy gets the default one; unknown keys are NotFoundException', () => {
    const kms = kmsService(REGION, ACCOUNT).operations;
    const { KeyMetadata } = kms.CreateKey({}) as { KeyMetadata: { KeyId: string } };
    expect(JSON.parse((kms.GetKeyPolicy({ KeyId: KeyMetadata.KeyId }) as { Policy: string }).Policy)).toMatchObject({
      Statement: [{ Principal: { AWS: 'arn:aws:iam::000000000000:root' }, Action: 'kms:*' }],
    });
    const unknown = '11111111-2222-3333-4444-555555555555';
    expect(refusal(() => kms.DescribeKey({ KeyId: unknown }))).toEqual({
      code: 'NotFoundException',
      status: 400,
      message: `Key 'arn:aws:kms:us-east-1:000000000000:key/${unknown}' does not exist`,
    });
    expect(refusal(() => kms.DescribeKey({ KeyId: 'not-a-key' })).message).toBe("Invalid keyId 'not-a-key'");
    expect(refusal(() => kms.CreateKey({ Policy: '{not json' })).code).toBe('MalformedPolicyDocumentException');
    expect(refusal(() => kms.ScheduleKeyDeletion({ KeyId: KeyMetadata.KeyId, PendingWindowInDays: 3 })).code).toBe(
      'ValidationException',
    );
  });
});

describe('SNS topics (Query protocol)', () => {
  const TOPIC = 'arn:aws:sns:us-east-1:000000000000:alarms';

  test("CreateTopic, then the provider's SetTopicAttributes of KmsMasterKeyId; read back as a Query map", () => {
    const sns = snsService(REGION, ACCOUNT);
    expect(
      query(sns, 'CreateTopic', { Name: 'alarms', 'Tags.member.1.Key': 'team', 'Tags.member.1.Value': 'media' }),
    ).toEqual({ TopicArn: TOPIC });
    query(sns, 'SetTopicAttributes', { TopicArn: TOPIC, AttributeName: 'KmsMasterKeyId', AttributeValue: 'alias/x' });
    const answer = query(sns, 'GetTopicAttributes', { TopicArn: TOPIC }) as {
      Attributes: { entry: Array<{ key: string; value: string }> };
    };
    const attributes = Object.fromEntries(answer.Attributes.entry.map((e) => [e.key, e.value]));
    expect(attributes).toMatchObject({ TopicArn: TOPIC, Owner: ACCOUNT, KmsMasterKeyId: 'alias/x' });
    expect(JSON.parse(attributes.Policy)).toMatchObject({ Statement: [{ Resource: TOPIC }] });
    const xml = queryResponseXml('GetTopicAttributes', 'ns', answer, 'r');
    expect(xml).toContain('<entry><key>KmsMasterKeyId</key><value>alias/x</value></entry>');
    expect(query(sns, 'ListTagsForResource', { ResourceArn: TOPIC })).toEqual({
      Tags: { member: [{ Key: 'team', Value: 'media' }] },
    });
  });

  test('unknown attributes are InvalidParameter; a missing topic is NotFound (404); DeleteTopic is idempotent', () => {
    const sns = snsService(REGION, ACCOUNT);
    query(sns, 'CreateTopic', { Name: 'alarms' });
    expect(
      refusal(() =>
        query(sns, 'SetTopicAttributes', { TopicArn: TOPIC, AttributeName: 'Colour', AttributeValue: 'x' }),
      ),
    ).toEqual({
      code: 'InvalidParameter',
      status: 400,
      message: 'Invalid parameter: AttributeName',
    });
    expect(refusal(() => query(sns, 'CreateTopic', { Name: 'bad name' })).code).toBe('InvalidParameter');
    query(sns, 'DeleteTopic', { TopicArn: TOPIC });
    query(sns, 'DeleteTopic', { TopicArn: TOPIC });
    expect(refusal(() => query(sns, 'GetTopicAttributes', { TopicArn: TOPIC }))).toEqual({
      code: 'NotFound',
      status: 404,
      message: 'Topic does not exist',
    });
  });

  test('entryPairs reads a Query map in order', () => {
    expect(
      entryPairs(
        { 'A.entry.1.key': 'k1', 'A.entry.1.value': 'v1', 'A.entry.2.key': 'k2', 'A.entry.2.value': 'v2' },
        'A',
      ),
    ).toEqual([
      ['k1', 'v1'],
      ['k2', 'v2'],
    ]);
  });
});
