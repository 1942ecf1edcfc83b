/**
 * The optional stream source: synth assertions over the Terraform JSON, its refusals, and an
 * offline terraform validate + plan of a chain with it (skipped without terraform and the provider
 * mirror, except under CI=true, as in terraform.test.ts).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App } from 'cdktf';
import { ImageResizeChainProps } from '../../modules/image-resize-chain';
import { ImageResizeChainStack } from '../../modules/example-stacks';
import { KINESIS_CONSUMER_ACTIONS } from '../../modules/stream-source';
import { synthStreamSourceModule } from '../../modules/terraform-stream-source';
import {
  TEST_IMAGES,
  TfJson,
  asList,
  refusal,
  resourceAddresses,
  resourceNamed,
  resourcesOf,
  statementsOf,
  synthChain,
} from './synth';
import { testWhen } from '../helpers/requires';
import { findOfflineTerraform, writeCliConfig, writeMockCredentials, runTerraformOrThrow } from './terraform-cli';

function resizePolicy(doc: TfJson) {
  return statementsOf(resourceNamed(doc, 'aws_iam_role_policy', 'resize').policy);
}

describe('off by default', () => {
  const doc = synthChain();
  test('no stream, no Kinesis mapping, no Kinesis permission, no stream outputs', () => {
    expect(resourcesOf(doc, 'aws_kinesis_stream')).toEqual({});
    expect(
      Object.values(resourcesOf(doc, 'aws_lambda_event_source_mapping')).filter((m) =>
        String(m.event_source_arn).includes('kinesis'),
      ),
    ).toEqual([]);
    expect(JSON.stringify(resizePolicy(doc))).not.toMatch(/kinesis/);
    expect(Object.keys(doc.output ?? {}).filter((name) => name.startsWith('stream_'))).toEqual([]);
  });
});

describe('streamSource: {} (defaults)', () => {
  const doc = synthChain({ streamSource: {} });
  const stream = resourceNamed(doc, 'aws_kinesis_stream', 'stream');
  const mapping = Object.values(resourcesOf(doc, 'aws_lambda_event_source_mapping')).find((m) =>
    String(m.event_source_arn).includes('aws_kinesis_stream'),
  ) as Record<string, unknown>;

  test('a KMS-encrypted provisioned stream of 1 shard, kept 24 h', () => {
    expect(stream).toMatchObject({
      name: 'image-resize-chain-uploads',
      encryption_type: 'KMS',
      kms_key_id: 'alias/aws/kinesis',
      stream_mode_details: { stream_mode: 'PROVISIONED' },
      shard_count: 1,
      retention_period: 24,
    });
  });

  test('the mapping: LATEST, batch 100, partial batch responses, bisect, 3 retries, on-failure queue', () => {
    expect(mapping).toMatchObject({
      function_name: expect.stringContaining('aws_lambda_function.'),
      starting_position: 'LATEST',
      batch_size: 100,
      parallelization_factor: 1,
      bisect_batch_on_function_error: true,
      maximum_retry_attempts: 3,
      maximum_record_age_in_seconds: -1,
      function_response_types: ['ReportBatchItemFailures'],
    });
    expect(String(mapping.function_name)).toMatch(/resize/);
    const destination = (mapping.destination_config as { on_failure: { destination_arn: string } }).on_failure
      .destination_arn;
    expect(destination).toMatch(
      /^\$\{aws_sqs_queue\.[a-z0-9_]*stream-failures[a-z0-9_]*\.arn\}$|^\$\{aws_sqs_queue\.[a-z0-9_]*stream_failures[a-z0-9_]*\.arn\}$/,
    );
    expect(mapping.depends_on).toEqual(
      expect.arrayContaining([expect.stringMatching(/^aws_iam_role_policy\..*resize/)]),
    );
  });

  test('the created failure queue has SSE, 14 days retention and a DLQ', () => {
    const queue = Object.entries(resourcesOf(doc, 'aws_sqs_queue')).find(([name]) =>
      /stream.failures.*queue/.test(name),
    )?.[1];
    expect(queue).toMatchObject({
      name: 'image-resize-chain-stream-failures',
      sqs_managed_sse_enabled: true,
      message_retention_seconds: 1209600,
      redrive_policy: expect.any(String),
    });
  });

  test(
    'the resize role reads exactly this stream, ' +
      'lists streams on "*" (account-level action), and sends to the failure queue',
    () => {
      const statements = resizePolicy(doc);
      const read = statements.find((s) => s.Sid === 'ReadUploadStream');
      expect(asList(read?.Action).sort()).toEqual([...KINESIS_CONSUMER_ACTIONS].sort());
      expect(asList(read?.Resource)).toEqual([expect.stringMatching(/^\$\{aws_kinesis_stream\.[a-z0-9_]+\.arn\}$/)]);
      const list = statements.find((s) => s.Sid === 'ListKinesisStreams');
      expect([asList(list?.Action), asList(list?.Resource)]).toEqual([['kinesis:ListStreams'], ['*']]);
      const wildcards = statements.filter((s) => asList(s.Resource).includes('*')).map((s) => s.Sid);
      expect(wildcards).toEqual(['ListKinesisStreams']);
      const send = statements.find((s) => s.Sid === 'SendStreamFailures');
      expect([asList(send?.Action), asList(send?.Resource)]).toEqual([
        ['sqs:SendMessage'],
        [expect.stringMatching(/^\$\{aws_sqs_queue\.[a-z0-9_]+\.arn\}$/)],
      ]);
      // The publish role gets none of it.
      expect(JSON.stringify(statementsOf(resourceNamed(doc, 'aws_iam_role_policy', 'publish').policy))).not.toMatch(
        /kinesis|StreamFailures/,
      );
    },
  );

  test('alarms: failures waiting, and the iterator age', () => {
    const alarms = Object.values(resourcesOf(doc, 'aws_cloudwatch_metric_alarm'));
    expect(alarms.map((a) => a.alarm_name)).toEqual(
      expect.arrayContaining([
        'image-resize-chain-stream-failures-not-empty',
        'image-resize-chain-uploads-iterator-age',
      ]),
    );
    expect(alarms.find((a) => a.alarm_name === 'image-resize-chain-uploads-iterator-age')).toMatchObject({
      namespace: 'AWS/Kinesis',
      metric_name: 'GetRecords.IteratorAgeMilliseconds',
      threshold: 900000,
    });
  });

  test('outputs stream_name, stream_arn and the failure destination', () => {
    expect(doc.output?.stream_name?.value).toMatch(/aws_kinesis_stream\..*\.name/);
    expect(doc.output?.stream_arn?.value).toMatch(/aws_kinesis_stream\..*\.arn/);
    expect(doc.output?.stream_failure_destination_arn?.value).toMatch(/aws_sqs_queue\..*\.arn/);
  });
});

describe('streamSource options', () => {
  test('every setting reaches the stream and the mapping', () => {
    const doc = synthChain({
      streamSource: {
        streamName: 'refs',
        shardCount: 4,
        retentionHours: 48,
        batchSize: 500,
        parallelizationFactor: 2,
        bisectBatchOnFunctionError: false,
        maximumRetryAttempts: 10,
        maximumRecordAgeSeconds: 3600,
      },
    });
    expect(resourceNamed(doc, 'aws_kinesis_stream', 'stream')).toMatchObject({
      name: 'refs',
      shard_count: 4,
      retention_period: 48,
    });
    const mapping = Object.values(resourcesOf(doc, 'aws_lambda_event_source_mapping')).find((m) =>
      String(m.event_source_arn).includes('aws_kinesis_stream'),
    );
    expect(mapping).toMatchObject({
      batch_size: 500,
      parallelization_factor: 2,
      bisect_batch_on_function_error: false,
      maximum_retry_attempts: 10,
      maximum_record_age_in_seconds: 3600,
    });
  });

  test('ON_DEMAND has no shard count', () => {
    const stream = resourceNamed(
      synthChain({ streamSource: { streamMode: 'ON_DEMAND' } }),
      'aws_kinesis_stream',
      'stream',
    );
    expect(stream.stream_mode_details).toEqual({ stream_mode: 'ON_DEMAND' });
    expect(stream.shard_count).toBeUndefined();
  });

  test('an existing destination: no queue is created, the role may send (SQS) or publish (SNS) to it', () => {
    const arn = 'arn:aws:sns:us-east-1:123456789012:stream-failures';
    const doc = synthChain({ streamSource: { onFailureDestinationArn: arn } });
    expect(Object.keys(resourcesOf(doc, 'aws_sqs_queue')).filter((n) => n.includes('stream'))).toEqual([]);
    const send = resizePolicy(doc).find((s) => s.Sid === 'SendStreamFailures');
    expect([asList(send?.Action), asList(send?.Resource)]).toEqual([['sns:Publish'], [arn]]);
  });

  test('with provisioned concurrency the mapping invokes the alias', () => {
    const doc = synthChain({ resize: { provisionedConcurrency: 1 }, streamSource: {} });
    const mapping = Object.values(resourcesOf(doc, 'aws_lambda_event_source_mapping')).find((m) =>
      String(m.event_source_arn).includes('aws_kinesis_stream'),
    );
    expect(String(mapping?.function_name)).toMatch(/aws_lambda_alias\./);
  });
});

describe('objects the stream records may reference (readableObjects)', () => {
  const readGrant = (doc: TfJson) => resizePolicy(doc).find((st) => st.Sid === 'ReadStreamObjects');

  test('by default: s3:GetObject on the source bucket under the uploads prefix, and nothing else', () => {
    const grant = readGrant(synthChain({ streamSource: {}, uploadsPrefix: 'in/' }));
    expect([asList(grant?.Action), asList(grant?.Resource)]).toEqual([
      ['s3:GetObject'],
      ['${aws_s3_bucket.chain_source_bucket.arn}/in/*'],
    ]);
  });

  test('exactly the buckets and prefixes given (a whole bucket with prefix "")', () => {
    const grant = readGrant(
      synthChain({
        streamSource: {
          readableObjects: [
            { bucketArn: 'arn:aws:s3:::partner-drop', prefix: 'incoming/' },
            { bucketArn: 'arn:aws:s3:::archive', prefix: '' },
          ],
        },
      }),
    );
    expect([asList(grant?.Action), asList(grant?.Resource)]).toEqual([
      ['s3:GetObject'],
      ['arn:aws:s3:::partner-drop/incoming/*', 'arn:aws:s3:::archive/*'],
    ]);
  });

  test(
    'the plain submodule renders the same grant from readable_objects, ' +
      'defaulting to source_bucket_arn + uploads_prefix',
    () => {
      const doc = synthStreamSourceModule() as TfJson;
      const policy = resourcesOf(doc, 'aws_iam_role_policy').resize_stream_objects;
      expect(policy.role).toBe('${var.resize_role_name}');
      expect(policy.policy).toBe(
        '${jsonencode({ Version = "2012-10-17", Statement = [{ Sid = "ReadStreamObjects", ' +
          'Effect = "Allow", Action = "s3:GetObject", Resource = local.stream_readable_object_arns }] })}',
      );
      expect((doc.locals as Record<string, string>).stream_readable_object_arns).toBe(
        '${[for o in (length(var.readable_objects) > 0 ? var.readable_objects : ' +
          '[{ bucket_arn = var.source_bucket_arn, prefix = var.uploads_prefix }]) : "${o.bucket_arn}/${o.prefix}*"]}',
      );
      // Not a second time in the inline policy of the stream and failure grants.
      expect(
        JSON.stringify(statementsOf(resourcesOf(doc, 'aws_iam_role_policy').resize_access_policy.policy)),
      ).not.toContain('s3:GetObject');
    },
  );
});

describe('streamSource refusals', () => {
  test.each([
    [{ batchSize: 0 }, 'streamSource.batchSize', /0 is not an integer in 1\.\.10000/],
    [{ batchSize: 10001 }, 'streamSource.batchSize', /10001 is not an integer in 1\.\.10000/],
    [{ maximumRetryAttempts: -2 }, 'streamSource.maximumRetryAttempts', /-2 is not an integer in -1\.\.10000/],
    [{ maximumRetryAttempts: 10001 }, 'streamSource.maximumRetryAttempts', /10001/],
    [{ maximumRecordAgeSeconds: 30 }, 'streamSource.maximumRecordAgeSeconds', /neither -1/],
    [{ parallelizationFactor: 11 }, 'streamSource.parallelizationFactor', /1\.\.10/],
    [{ shardCount: 0 }, 'streamSource.shardCount', /1\.\.500/],
    [{ retentionHours: 12 }, 'streamSource.retentionHours', /24\.\.8760/],
    [{ streamMode: 'ON_DEMAND', shardCount: 2 }, 'streamSource.shardCount', /ON_DEMAND/],
    [{ streamName: 'has space' }, 'streamSource.streamName', /not 1\.\.128/],
    [
      { onFailureDestinationArn: 'arn:aws:s3:::bucket' },
      'streamSource.onFailureDestinationArn',
      /SQS queue or SNS topic/,
    ],
    [{ readableObjects: [] }, 'streamSource.readableObjects', /names nothing/],
    [
      { readableObjects: [{ bucketArn: 'partner-drop', prefix: '' }] },
      'streamSource.readableObjects[0].bucketArn',
      /S3 bucket ARN/,
    ],
    [
      { readableObjects: [{ bucketArn: 'arn:aws:s3:::partner-drop', prefix: '/in/' }] },
      'streamSource.readableObjects[0].prefix',
      /leading/,
    ],
  ] as const)('%j', (streamSource, field, message) => {
    const r = refusal({ streamSource: streamSource as ImageResizeChainProps['streamSource'] });
    expect(r.field).toBe(field);
    expect(r.message).toMatch(message);
  });
  test('the edges are accepted', () => {
    expect(() =>
      synthChain({ streamSource: { batchSize: 10000, maximumRetryAttempts: -1, maximumRecordAgeSeconds: 60 } }),
    ).not.toThrow();
    expect(() =>
      synthChain({ streamSource: { batchSize: 1, maximumRetryAttempts: 10000, maximumRecordAgeSeconds: 604800 } }),
    ).not.toThrow();
  });
});

const terraform = findOfflineTerraform();

testWhen(
  terraform.missing,
  'offline terraform: a chain with a stream source validates and plans every synthesized resource',
  () => {
    const work = mkdtempSync(join(tmpdir(), 'irc-stream-tf-'));
    try {
      const cli = writeCliConfig(work, terraform.mirror!);
      const app = new App({ outdir: join(work, 'out') });
      new ImageResizeChainStack(app, 'stream', { chain: { images: TEST_IMAGES, streamSource: { shardCount: 2 } } });
      app.synth();
      const dir = join(work, 'out', 'stacks', 'stream');
      const doc = JSON.parse(readFileSync(join(dir, 'cdk.tf.json'), 'utf8')) as TfJson;
      writeMockCredentials(dir);
      const tf = (args: string[]): string => runTerraformOrThrow(terraform.bin!, cli, dir, args);
      tf(['init', '-input=false', '-no-color']);
      expect(tf(['validate', '-no-color'])).toContain('Success! The configuration is valid.');
      tf(['plan', '-input=false', '-no-color', '-lock=false', '-out=tfplan']);
      const shown = JSON.parse(tf(['show', '-json', 'tfplan'])) as {
        resource_changes: Array<{ address: string; change: { actions: string[] } }>;
      };
      const created = shown.resource_changes.filter((c) => c.change.actions.includes('create')).map((c) => c.address);
      expect(created.sort()).toEqual(resourceAddresses(doc).sort());
      expect(created.filter((a) => a.startsWith('aws_kinesis_stream.'))).toHaveLength(1);
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  },
  180000,
);
