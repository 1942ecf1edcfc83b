/** Synth-time refusals: each bad configuration fails with INVALID_CONFIG and a message naming the problem. */
import { Testing } from 'cdktf';
import { BufferedQueue } from '../../modules/buffered-queue';
import { ImageResizeChainStack } from '../../modules/example-stacks';
import { TEST_IMAGES, refusal, synthChain } from './synth';

describe('refusals', () => {
  test('outputs that would trigger the chain again (same bucket, overlapping prefixes)', () => {
    for (const outputPrefix of ['uploads/resized/', '', 'up']) {
      const r = refusal({
        outputBucket: { sameAsSource: true },
        uploadsPrefix: outputPrefix === 'up' ? 'up/' : 'uploads/',
        outputPrefix: outputPrefix === 'up' ? '' : outputPrefix,
      });
      expect(r.field).toBe('outputPrefix');
      expect(r.message).toMatch(/trigger the chain again/);
    }
    const r = refusal({
      sourceBucket: { existingBucketName: 'media' },
      outputBucket: { existingBucketName: 'media' },
      outputPrefix: '',
    });
    expect(r.message).toMatch(/trigger the chain again/);
    // Same bucket, disjoint prefixes: accepted.
    expect(() =>
      synthChain({ outputBucket: { sameAsSource: true }, uploadsPrefix: 'uploads/', outputPrefix: 'resized/' }),
    ).not.toThrow();
  });

  test('visibility timeout below 6x the function timeout', () => {
    const r = refusal({ resize: { timeout: 120, visibilityTimeoutSeconds: 600 } });
    expect(r.field).toBe('resize.visibilityTimeoutSeconds');
    expect(r.message).toMatch(/600 s is below 6 x the function timeout \(120 s = 720 s\)/);
    expect(refusal({ publish: { timeout: 30, visibilityTimeoutSeconds: 60 } }).field).toBe(
      'publish.visibilityTimeoutSeconds',
    );
    expect(() => synthChain({ resize: { timeout: 120, visibilityTimeoutSeconds: 720 } })).not.toThrow();
  });

  test('an invalid variant spec, reported by the handler parser with the field path', () => {
    expect(
      refusal({ variants: [{ name: 'thumb', width: 0, fit: 'inside', format: 'webp', quality: 80 }] }),
    ).toMatchObject({ field: 'variants[0].width' });
    expect(refusal({ variants: '[{"name":"Thumb","width":320,"format":"webp"}]' }).field).toBe('variants[0].name');
    expect(refusal({ variants: '{not json' }).message).toMatch(/not valid JSON/);
    expect(refusal({ variants: [] }).message).toMatch(/has 0 variants/);
  });

  test('batch size above 10 without a batching window', () => {
    const r = refusal({ resize: { batchSize: 11, maxBatchingWindow: 0 } });
    expect(r.field).toBe('resize-stage.batchSize');
    expect(r.message).toMatch(/batchSize 11 is above 10.*maxBatchingWindow >= 1/);
    expect(() => synthChain({ resize: { batchSize: 11, maxBatchingWindow: 1 } })).not.toThrow();
  });

  test('a FIFO queue as the S3 destination', () => {
    expect(refusal({ ingestQueueFifo: true }).message).toMatch(
      /FIFO queue cannot be the destination of S3 event notifications/,
    );
    // The part refuses it too, when someone wires a FIFO BufferedQueue to a bucket directly.
    expect(() =>
      Testing.synthScope((scope) => {
        new BufferedQueue(scope, 'q', { queueName: 'q.fifo', fifo: true }).allowS3Notifications('arn:aws:s3:::b');
      }),
    ).toThrow(/FIFO queue cannot be the destination/);
  });

  test('an ingest queue too small for S3 events, and other out-of-range props', () => {
    expect(refusal({ ingestMaxMessageSizeBytes: 32768 }).message).toMatch(/at least 65536 bytes/);
    expect(refusal({ resize: { maximumConcurrency: 1 } }).field).toBe('resize-stage.maximumConcurrency');
    expect(refusal({ resize: { memorySize: 100 } }).field).toBe('resize.memorySize');
    expect(refusal({ logRetentionDays: 10 }).field).toBe('resize.logRetentionDays');
    expect(refusal({ namePrefix: 'Bad_Name' }).field).toBe('namePrefix');
    expect(refusal({ outputPrefix: 'out' }).field).toBe('outputPrefix');
    expect(
      refusal({
        webhook: {
          url: 'http://insecure.example.com',
          secretArn: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:x',
        },
      }).field,
    ).toBe('webhook.url');
    expect(refusal({ webhook: { url: 'https://ok.example.com', secretArn: 'plain-secret-value' } }).field).toBe(
      'webhook.secretArn',
    );
  });

  test('a refusal stops synthesis of the whole stack', () => {
    expect(
      () => new ImageResizeChainStack(Testing.app(), 's', { chain: { images: TEST_IMAGES, ingestQueueFifo: true } }),
    ).toThrow(/FIFO/);
  });
});
