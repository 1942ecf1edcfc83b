// The Kinesis control plane's behaviour (stream-control.ts) without a server: status over time,
// modes and shard counts, retention, encryption, tags and Kinesis's refusals.
import { createStreamControl } from '../../src/local/cloud/kinesis/stream-control';

function control(start = 1_000_000) {
  let clock = start;
  const c = createStreamControl({ activationMs: 500, now: () => clock });
  return { c, tick: (ms: number) => (clock += ms) };
}

/** The error code an operation throws (its `type`), or 'none'. */
function refusal(run: () => unknown): string {
  try {
    run();
    return 'none';
  } catch (err) {
    return `${(err as { type?: string }).type}: ${(err as Error).message}`;
  }
}

test('a new stream is CREATING, then ACTIVE after activationMs; updates wait for ACTIVE', () => {
  const { c, tick } = control();
  c.operations.CreateStream({ StreamName: 's', ShardCount: 2 });
  const stream = c.list()[0];
  expect(stream.status).toBe('CREATING');
  expect(refusal(() => c.operations.IncreaseStreamRetentionPeriod({ StreamName: 's', RetentionPeriodHours: 48 }))).toBe(
    'ResourceInUseException: Stream s under account 000000000000 not ACTIVE, instead in state CREATING',
  );
  tick(500);
  expect(stream.status).toBe('ACTIVE');
  expect(stream.stream.shardIds).toEqual(['shardId-000000000000', 'shardId-000000000001']);
  expect(c.byArn('arn:aws:kinesis:us-east-1:000000000000:stream/s')).toBe(stream);
});

test('ON_DEMAND opens 4 shards and refuses a shard count; PROVISIONED needs one', () => {
  const { c } = control();
  c.operations.CreateStream({ StreamName: 'od', StreamModeDetails: { StreamMode: 'ON_DEMAND' } });
  expect(c.list()[0].stream.shardIds).toHaveLength(4);
  expect(
    refusal(() =>
      c.operations.CreateStream({ StreamName: 'x', ShardCount: 1, StreamModeDetails: { StreamMode: 'ON_DEMAND' } }),
    ),
  ).toMatch(/^ValidationException: .*ShardCount is not expected/);
  expect(refusal(() => c.operations.CreateStream({ StreamName: 'y' }))).toMatch(
    /^ValidationException: .*ShardCount is required/,
  );
  expect(
    refusal(() => c.operations.CreateStream({ StreamName: 'od', StreamModeDetails: { StreamMode: 'ON_DEMAND' } })),
  ).toBe('ResourceInUseException: Stream od under account 000000000000 already exists.');
});

test('retention: the provider raises 24 to 24 (accepted); shorter needs Decrease; bounds are 24..8760', () => {
  const { c, tick } = control();
  c.operations.CreateStream({ StreamName: 's', ShardCount: 1 });
  tick(500);
  expect(refusal(() => c.operations.IncreaseStreamRetentionPeriod({ StreamName: 's', RetentionPeriodHours: 24 }))).toBe(
    'none',
  );
  c.operations.IncreaseStreamRetentionPeriod({ StreamName: 's', RetentionPeriodHours: 48 });
  expect(
    refusal(() => c.operations.IncreaseStreamRetentionPeriod({ StreamName: 's', RetentionPeriodHours: 36 })),
  ).toMatch(/^InvalidArgumentException: Requested retention period \(36 hours\) .* Use DecreaseRetentionPeriod API\.$/);
  c.operations.DecreaseStreamRetentionPeriod({ StreamName: 's', RetentionPeriodHours: 36 });
  expect(c.list()[0].retentionHours).toBe(36);
  expect(
    refusal(() => c.operations.IncreaseStreamRetentionPeriod({ StreamName: 's', RetentionPeriodHours: 9000 })),
  ).toMatch(/^InvalidArgumentException: Maximum allowed retention period is 8760 hours/);
});

test('encryption, monitoring, tags and delete', () => {
  const { c, tick } = control();
  c.operations.CreateStream({ StreamName: 's', ShardCount: 1, Tags: { b: '2' } });
  tick(500);
  c.operations.StartStreamEncryption({ StreamName: 's', EncryptionType: 'KMS', KeyId: 'alias/aws/kinesis' });
  expect(c.list()[0].encryption).toEqual({ type: 'KMS', keyId: 'alias/aws/kinesis' });
  c.operations.StopStreamEncryption({ StreamName: 's', EncryptionType: 'KMS', KeyId: 'alias/aws/kinesis' });
  expect(c.list()[0].encryption).toEqual({ type: 'NONE' });
  expect(
    c.operations.EnableEnhancedMonitoring({ StreamName: 's', ShardLevelMetrics: ['IncomingBytes'] }),
  ).toMatchObject({
    CurrentShardLevelMetrics: [],
    DesiredShardLevelMetrics: ['IncomingBytes'],
  });
  c.operations.AddTagsToStream({ StreamName: 's', Tags: { a: '1' } });
  expect(c.operations.ListTagsForStream({ StreamName: 's' })).toEqual({
    Tags: [
      { Key: 'a', Value: '1' },
      { Key: 'b', Value: '2' },
    ],
    HasMoreTags: false,
  });
  c.operations.RemoveTagsFromStream({ StreamName: 's', TagKeys: ['b'] });
  expect(c.operations.ListTagsForStream({ StreamName: 's' })).toEqual({
    Tags: [{ Key: 'a', Value: '1' }],
    HasMoreTags: false,
  });
  c.operations.DeleteStream({ StreamName: 's' });
  expect(refusal(() => c.operations.DeleteStream({ StreamName: 's' }))).toBe(
    'ResourceNotFoundException: Stream s under account 000000000000 not found.',
  );
});

test('UpdateShardCount reshards an empty stream and refuses one that holds records', () => {
  const { c, tick } = control();
  c.operations.CreateStream({ StreamName: 's', ShardCount: 1 });
  tick(500);
  c.operations.UpdateShardCount({ StreamName: 's', TargetShardCount: 3, ScalingType: 'UNIFORM_SCALING' });
  expect(c.list()[0].stream.shardIds).toHaveLength(3);
  c.list()[0].stream.putRecord({ partitionKey: 'k', data: 'x' });
  expect(refusal(() => c.operations.UpdateShardCount({ StreamName: 's', TargetShardCount: 1 }))).toMatch(
    /^LimitExceededException: Resharding stream s, which already holds records, is not emulated/,
  );
});
