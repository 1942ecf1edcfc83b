// The scale model's arithmetic (src/tools/scale.ts), on figures worked out by hand.
import {
  AWS_QUOTAS,
  concurrencyFor,
  drainSeconds,
  rampSeconds,
  scaleModel,
  type ScaleInputs,
} from '../../src/tools/scale';

const inputs: ScaleInputs = {
  resizeMsPerImage: 250, // 4 images/s per environment
  publishMsPerBatch: 100, // 100 images/s per environment with batches of 10
  resize: { maximumConcurrency: 10, batchSize: 10 },
  publish: { maximumConcurrency: 5, batchSize: 10 },
  burst: 100_000,
};

describe('scaleModel', () => {
  it('rates each stage at its maximum concurrency and takes the slower one', () => {
    const result = scaleModel(inputs);
    expect(result.resizePerEnvironment).toBe(4);
    expect(result.resizeImagesPerSecond).toBe(40);
    expect(result.publishImagesPerSecond).toBe(500);
    expect(result.imagesPerSecond).toBe(40);
    expect(result.bottleneck).toBe('resize');
  });

  it('drains a burst after the ramp: 10 environments are reached in 1 s, then 40 images/s', () => {
    // Ramp from 5 to 10 at 300/min takes 1 s, during which 4 * (5 * 1 + 5 * 1 / 2) = 30 images are done.
    expect(rampSeconds(10)).toBeCloseTo(1, 10);
    expect(drainSeconds(100_000, 4, 10)).toBeCloseTo(1 + (100_000 - 30) / 40, 6);
    expect(scaleModel(inputs).drainSeconds).toBeCloseTo(1 + (100_000 - 30) / 40, 6);
  });

  it('solves the ramp when the burst is gone before the maximum is reached', () => {
    // 1 image/s per environment, ramp 5 -> 305 over 60 s: after t s, 5t + 2.5 t^2 images. 5t + 2.5t^2 = 60 at t = 4.
    expect(drainSeconds(60, 1, 305)).toBeCloseTo(4, 9);
  });

  it('fails the concurrency and in-flight checks for settings beyond the quotas', () => {
    const checks = scaleModel({
      ...inputs,
      resize: { maximumConcurrency: 1000, batchSize: 10 },
      publish: { maximumConcurrency: 100, batchSize: 10 },
    }).checks;
    expect(checks.filter((c) => !c.ok).map((c) => c.quota)).toEqual([
      'Lambda concurrent executions per region (resize + publish)',
    ]);
    const inFlight = scaleModel({ ...inputs, resize: { maximumConcurrency: 1000, batchSize: 200 } }).checks.find((c) =>
      c.quota.startsWith('SQS in-flight'),
    )!;
    expect(inFlight).toEqual({
      quota: 'SQS in-flight messages, ingest queue',
      needed: 200_000,
      limit: AWS_QUOTAS.sqsStandardInFlight,
      ok: false,
    });
  });

  it('sizes both mappings for 10x the rate', () => {
    // 400 images/s: 100 resize environments at 4/s; 4 publish environments at 100/s would do, the current 5 stay.
    expect(concurrencyFor(10, inputs)).toEqual({ resize: 100, publish: 5, targetImagesPerSecond: 400 });
    expect(concurrencyFor(10, { ...inputs, publish: { maximumConcurrency: 2, batchSize: 10 } }).publish).toBe(4);
  });

  it('refuses non-positive figures', () => {
    expect(() => scaleModel({ ...inputs, resizeMsPerImage: 0 })).toThrow(RangeError);
    expect(() => scaleModel({ ...inputs, resize: { maximumConcurrency: -1, batchSize: 10 } })).toThrow(
      'resize.maximumConcurrency',
    );
  });
});
