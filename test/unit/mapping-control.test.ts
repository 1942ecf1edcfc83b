// The pure parts of the event source mappings control plane: CreateEventSourceMapping's settings
// (AWS's defaults per source and its refusals), the role check over the local IAM with Lambda's
// messages, and event filtering. The API end to end is in test/integration/mapping-api.test.ts.
import { IamStore } from '../../src/local/cloud/iam/iam-store';
import { sourceAccessRefusal } from '../../src/local/cloud/lambda/mapping-role-check';
import {
  LambdaApiError,
  settingsConfiguration,
  settingsForCreate,
  settingsForUpdate,
  sourceKindOf,
} from '../../src/local/cloud/lambda/mapping-settings';
import { filteredInvoke, patternMatches } from '../../src/local/cloud/lambda/mapping-filters';
import type { InvokeFn } from '../../src/local/cloud/lambda/invoke-contract';

const QUEUE = 'arn:aws:sqs:us-east-1:000000000000:jobs';
const STREAM = 'arn:aws:kinesis:us-east-1:000000000000:stream/s';

/** The LambdaApiError `work` throws, as {type, message, status}. */
function refusalOf(work: () => unknown): { type: string; message: string; status: number } {
  try {
    work();
  } catch (err) {
    if (err instanceof LambdaApiError) return { type: err.type, message: err.message, status: err.status };
    throw err;
  }
  throw new Error('no refusal');
}

describe('settingsForCreate', () => {
  test("SQS: AWS's defaults (batch 10, no window, no response types, no ScalingConfig shown)", () => {
    const settings = settingsForCreate('sqs', { EventSourceArn: QUEUE });
    expect(settingsConfiguration('sqs', settings)).toEqual({
      BatchSize: 10,
      MaximumBatchingWindowInSeconds: 0,
      FunctionResponseTypes: [],
    });
  });

  test('SQS: the given settings are shown back as given', () => {
    const settings = settingsForCreate('sqs', {
      BatchSize: 50,
      MaximumBatchingWindowInSeconds: 2,
      ScalingConfig: { MaximumConcurrency: 4 },
      FunctionResponseTypes: ['ReportBatchItemFailures'],
    });
    expect(settingsConfiguration('sqs', settings)).toEqual({
      BatchSize: 50,
      MaximumBatchingWindowInSeconds: 2,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      ScalingConfig: { MaximumConcurrency: 4 },
    });
  });

  test("Kinesis: AWS's defaults (batch 100, retries and record age -1, empty OnFailure)", () => {
    expect(settingsConfiguration('kinesis', settingsForCreate('kinesis', { StartingPosition: 'LATEST' }))).toEqual({
      BatchSize: 100,
      MaximumBatchingWindowInSeconds: 0,
      FunctionResponseTypes: [],
      StartingPosition: 'LATEST',
      ParallelizationFactor: 1,
      BisectBatchOnFunctionError: false,
      MaximumRetryAttempts: -1,
      MaximumRecordAgeInSeconds: -1,
      TumblingWindowInSeconds: 0,
      DestinationConfig: { OnFailure: {} },
    });
  });

  test.each([
    [
      'sqs',
      { StartingPosition: 'LATEST' },
      'InvalidParameterValueException',
      'StartingPosition is not valid for SQS event sources.',
    ],
    [
      'sqs',
      { BatchSize: 11 },
      'InvalidParameterValueException',
      'Maximum batch window in seconds must be greater than 0 if maximum batch size is greater than 10',
    ],
    [
      'sqs',
      { ScalingConfig: { MaximumConcurrency: 1 } },
      'ValidationException',
      "1 validation error detected: Value '1' at 'maximumConcurrency' failed to satisfy constraint: " +
        'Member must have value greater than or equal to 2',
    ],
    [
      'sqs',
      { BisectBatchOnFunctionError: true },
      'InvalidParameterValueException',
      'Unsupported BisectBatchOnFunctionError parameter for given event source mapping type.',
    ],
    [
      'kinesis',
      { StartingPosition: 'LATEST', MaximumRecordAgeInSeconds: 30 },
      'ValidationException',
      "1 validation error detected: Value '30' at 'maximumRecordAgeInSeconds' failed to satisfy constraint: " +
        'Member must have value greater than or equal to 60',
    ],
    ['kinesis', {}, 'InvalidParameterValueException', 'StartingPosition is required for Kinesis event sources.'],
  ] as const)('%s %j is refused: %s', (kind, body, type, message) => {
    expect(refusalOf(() => settingsForCreate(kind, body))).toEqual({ type, message, status: 400 });
  });

  test('the source kind comes from the ARN; anything but a queue or a stream is refused', () => {
    expect(sourceKindOf(QUEUE)).toBe('sqs');
    expect(sourceKindOf(STREAM)).toBe('kinesis');
    expect(refusalOf(() => sourceKindOf('arn:aws:dynamodb:us-east-1:000000000000:table/t/stream/x')).type).toBe(
      'InvalidParameterValueException',
    );
  });
});

describe('settingsForUpdate', () => {
  test('replaces what the body holds; an empty ScalingConfig removes it (as the provider sends it)', () => {
    const current = settingsForCreate('sqs', { BatchSize: 5, ScalingConfig: { MaximumConcurrency: 3 } });
    const next = settingsForUpdate('sqs', current, { BatchSize: 7, ScalingConfig: {} });
    expect(settingsConfiguration('sqs', next)).toEqual({
      BatchSize: 7,
      MaximumBatchingWindowInSeconds: 0,
      FunctionResponseTypes: [],
    });
  });
});

describe('sourceAccessRefusal', () => {
  const trust = JSON.stringify({
    Statement: [{ Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' }],
  });
  const allow = (actions: string[], resource: string) =>
    JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: actions, Resource: resource }] });

  test("names the first SQS action the role lacks, in Lambda's words; none once all three are allowed", () => {
    const iam = new IamStore('000000000000');
    const role = iam.createRole({ name: 'r', assumeRolePolicyDocument: trust });
    expect(sourceAccessRefusal(iam, role.arn, 'sqs', QUEUE)).toBe(
      'The provided execution role does not have permissions to call ReceiveMessage on SQS',
    );
    iam.putRolePolicy('r', 'p', allow(['sqs:ReceiveMessage', 'sqs:DeleteMessage'], QUEUE));
    expect(sourceAccessRefusal(iam, role.arn, 'sqs', QUEUE)).toBe(
      'The provided execution role does not have permissions to call GetQueueAttributes on SQS',
    );
    iam.putRolePolicy('r', 'p', allow(['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes'], QUEUE));
    expect(sourceAccessRefusal(iam, role.arn, 'sqs', QUEUE)).toBeUndefined();
    // Granted on another queue only: refused.
    expect(sourceAccessRefusal(iam, role.arn, 'sqs', `${QUEUE}-other`)).toContain('ReceiveMessage');
  });

  test('an explicit deny wins; the AWS-managed SQS execution policy grants the reads', () => {
    const iam = new IamStore('000000000000');
    const role = iam.createRole({ name: 'm', assumeRolePolicyDocument: trust });
    iam.attachRolePolicy('m', 'arn:aws:iam::aws:policy/service-role/AWSLambdaSQSQueueExecutionRole');
    expect(sourceAccessRefusal(iam, role.arn, 'sqs', QUEUE)).toBeUndefined();
    iam.putRolePolicy(
      'm',
      'deny',
      JSON.stringify({ Statement: [{ Effect: 'Deny', Action: 'sqs:DeleteMessage', Resource: '*' }] }),
    );
    expect(sourceAccessRefusal(iam, role.arn, 'sqs', QUEUE)).toBe(
      'The provided execution role does not have permissions to call DeleteMessage on SQS',
    );
  });

  test("a stream the role cannot read: Lambda's Kinesis message", () => {
    const iam = new IamStore('000000000000');
    const role = iam.createRole({ name: 'k', assumeRolePolicyDocument: trust });
    expect(sourceAccessRefusal(iam, role.arn, 'kinesis', STREAM)).toBe(
      `Cannot access stream ${STREAM}. Please ensure the role can perform the GetRecords, GetShardIterator, ` +
        'DescribeStream, and ListStreams Actions on your stream in IAM.',
    );
    iam.putRolePolicy('k', 'p', allow(['kinesis:*'], STREAM));
    expect(sourceAccessRefusal(iam, role.arn, 'kinesis', STREAM)).toBeUndefined();
  });

  test('a role the local IAM does not hold has no permissions', () => {
    expect(
      sourceAccessRefusal(new IamStore('000000000000'), 'arn:aws:iam::000000000000:role/none', 'sqs', QUEUE),
    ).toContain('ReceiveMessage');
  });
});

describe('event filtering', () => {
  test('event patterns: exact values, prefix, exists, anything-but, numeric ranges, nested keys', () => {
    const event = { body: { kind: 'photo', size: 120, meta: { owner: 'ann' } } };
    expect(patternMatches({ body: { kind: ['photo', 'video'] } }, event)).toBe(true);
    expect(patternMatches({ body: { kind: [{ prefix: 'ph' }] } }, event)).toBe(true);
    expect(patternMatches({ body: { kind: [{ 'anything-but': ['photo'] }] } }, event)).toBe(false);
    expect(patternMatches({ body: { size: [{ numeric: ['>', 100, '<=', 200] }] } }, event)).toBe(true);
    expect(patternMatches({ body: { size: [{ numeric: ['<', 100] }] } }, event)).toBe(false);
    expect(patternMatches({ body: { meta: { owner: [{ exists: true }] } } }, event)).toBe(true);
    expect(patternMatches({ body: { missing: [{ exists: false }] } }, event)).toBe(true);
    expect(patternMatches({ body: { kind: ['text'] } }, event)).toBe(false);
  });

  test('only matching records reach the function; a batch with none is answered without invoking', async () => {
    const seen: unknown[] = [];
    const invoke: InvokeFn = async (event) => {
      seen.push(event);
      return { ok: true, requestId: 'r', payload: null, durationMs: 1 };
    };
    const filtered = filteredInvoke(
      invoke,
      { Filters: [{ Pattern: JSON.stringify({ body: { keep: [true] } }) }] },
      'sqs',
    );
    await filtered({ Records: [{ body: '{"keep":true}' }, { body: '{"keep":false}' }, { body: 'plain' }] });
    expect(seen).toEqual([{ Records: [{ body: '{"keep":true}' }] }]);
    const result = await filtered({ Records: [{ body: 'plain' }] });
    expect(result.ok).toBe(true);
    expect(seen).toHaveLength(1);
  });

  test('Kinesis: the pattern sees the decoded data', async () => {
    const seen: unknown[] = [];
    const filtered = filteredInvoke(
      async (event) => {
        seen.push(event);
        return { ok: true, requestId: 'r', payload: null, durationMs: 1 };
      },
      { Filters: [{ Pattern: JSON.stringify({ data: { n: [2] } }) }] },
      'kinesis',
    );
    const record = (n: number) => ({ kinesis: { data: Buffer.from(JSON.stringify({ n })).toString('base64') } });
    await filtered({ Records: [record(1), record(2)] });
    expect(seen).toEqual([{ Records: [record(2)] }]);
  });
});
