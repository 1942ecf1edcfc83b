/** The cost arithmetic (src/tools/cost.ts) on small inputs whose bill is worked out by hand below. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  expectedBatchFill,
  monthlyCost,
  provisionedConcurrencyMonthlyUsd,
  resizeMsAt,
  SECONDS_PER_MONTH,
  sqsChunks,
  vcpusFor,
  type CostInputs,
} from '../../src/tools/cost';
import { US_EAST_1 } from '../../src/tools/prices';
import { benchFiguresFrom, buildCostReport, messageSizes, storageUsd } from '../../src/cli/commands/cost';

const MIB = 1024 * 1024;

/**
 * 1,000 images, 10 per batch -> 100 resize and 100 publish invocations.
 *   Lambda requests   200 x $0.20/1M                                   = $0.00004
 *   resize duration   1,000 x 0.5 s x 1 GB = 500 GB-s x $0.0000166667  = $0.00833335
 *   resize INIT       100 x 1 % = 1 cold start x 1 s x 1 GB = 1 GB-s    = $0.0000166667
 *   publish duration  100 x 0.1 s x 0.25 GB = 2.5 GB-s                 = $0.00004166675
 *   publish INIT      1 x 1 s x 0.25 GB = 0.25 GB-s                    = $0.000004166675
 *   SQS               1,000 S3 sends + 5 x 100 batch calls = 1,500 x $0.40/1M = $0.0006
 *                     (10 x 1,000 B per batch call < 64 KB: one request each)
 *   S3 PUT            1,000 uploads + 4,000 variants + 1,000 manifests = 6,000 x $0.005/1K = $0.03
 *   S3 GET-class      1,000 GET + 1,000 re-checks + 2 x 1,000 x (1 + 4) HEADs = 12,000 x $0.0004/1K = $0.0048
 *   storage           sources 1,000 x 1 MiB = 0.9765625 GB, outputs the same: 2 x 0.9765625 x $0.023 = $0.044921875
 *   total                                                                = $0.088757725125
 */
const SMALL: CostInputs = {
  imagesPerMonth: 1000,
  sourceBytes: MIB,
  outputBytesPerImage: MIB - 2048,
  manifestBytes: 2048,
  variantCount: 4,
  architecture: 'x86_64',
  imagesPerBatch: 10,
  coldStartRatio: 0.01,
  resize: { memoryMb: 1024, msPerImage: 500, initMs: 1000 },
  publish: { memoryMb: 256, msPerInvocation: 100, initMs: 1000 },
  messageBytes: { notification: 1000, resizedEvent: 1000 },
};

const usdOf = (report: ReturnType<typeof monthlyCost>, id: string): number => {
  const item = report.items.find((i) => i.id === id);
  if (!item) throw new Error(`no item ${id}`);
  return item.usd;
};

describe('monthlyCost on 1,000 images', () => {
  const report = monthlyCost(SMALL, US_EAST_1);

  test('each item is the figure computed by hand', () => {
    expect(report.invocations).toEqual({ resize: 100, publish: 100 });
    expect(usdOf(report, 'lambda.requests')).toBeCloseTo(0.00004, 12);
    expect(usdOf(report, 'lambda.resize.duration')).toBeCloseTo(0.00833335, 12);
    expect(usdOf(report, 'lambda.resize.init')).toBeCloseTo(0.0000166667, 12);
    expect(usdOf(report, 'lambda.publish.duration')).toBeCloseTo(0.00004166675, 12);
    expect(usdOf(report, 'lambda.publish.init')).toBeCloseTo(0.000004166675, 12);
    expect(report.byService.sqs).toBeCloseTo(0.0006, 12);
    const put = ['s3.put.upload', 's3.put.variants', 's3.put.manifest'].reduce((s, id) => s + usdOf(report, id), 0);
    expect(put).toBeCloseTo(0.03, 12);
    const get = ['s3.get.source', 's3.get.recheck', 's3.head.resize', 's3.head.publish'].reduce(
      (s, id) => s + usdOf(report, id),
      0,
    );
    expect(get).toBeCloseTo(0.0048, 12);
    expect(usdOf(report, 's3.storage.sources') + usdOf(report, 's3.storage.outputs')).toBeCloseTo(0.044921875, 12);
    expect(storageUsd(report)).toBeCloseTo(0.044921875, 12);
  });

  test('the total is the hand-computed bill and the sum of the items and of the services', () => {
    expect(report.totalUsd).toBeCloseTo(0.088757725125, 12);
    expect(report.items.reduce((s, i) => s + i.usd, 0)).toBeCloseTo(report.totalUsd, 12);
    expect(report.byService.lambda + report.byService.sqs + report.byService.s3).toBeCloseTo(report.totalUsd, 12);
    expect(report.perImageUsd).toBeCloseTo(0.088757725125 / 1000, 15);
  });

  test('no item is counted without a price or a quantity', () => {
    for (const item of report.items) {
      expect(item.unitUsd).toBeGreaterThan(0);
      expect(item.usd).toBeCloseTo(item.quantity * item.unitUsd, 15);
    }
    expect(report.items.find((i) => i.id === 'sqs.idle-polling')).toBeUndefined();
  });
});

describe('monthlyCost variations', () => {
  test('arm64 bills GB-seconds at $0.0000133334 and requests at the same price', () => {
    const x86 = monthlyCost(SMALL, US_EAST_1);
    const arm = monthlyCost({ ...SMALL, architecture: 'arm64' }, US_EAST_1);
    expect(usdOf(arm, 'lambda.resize.duration')).toBeCloseTo(500 * 0.0000133334, 12);
    expect(usdOf(arm, 'lambda.requests')).toBe(usdOf(x86, 'lambda.requests'));
    expect(arm.byService.s3).toBe(x86.byService.s3);
  });

  test('event payloads above 64 KB per batch call are billed per 64 KB chunk', () => {
    // 10 events of 10,000 B = 100,000 B per SendMessageBatch / ReceiveMessage: 2 requests each.
    const r = monthlyCost({ ...SMALL, messageBytes: { notification: 1000, resizedEvent: 10000 } }, US_EAST_1);
    expect(r.items.find((i) => i.id === 'sqs.resized.send')!.quantity).toBe(200);
    expect(r.items.find((i) => i.id === 'sqs.resized.receive')!.quantity).toBe(200);
    expect(r.items.find((i) => i.id === 'sqs.resized.delete')!.quantity).toBe(100);
  });

  test('one image per batch: every batch call is made once per image', () => {
    const r = monthlyCost({ ...SMALL, imagesPerBatch: 1 }, US_EAST_1);
    // 1,000 S3 sends + 5 x 1,000 batch calls.
    expect(r.items.filter((i) => i.service === 'sqs').reduce((s, i) => s + i.quantity, 0)).toBe(6000);
    expect(r.items.find((i) => i.id === 'lambda.requests')!.quantity).toBe(2000);
  });

  test('idle polling: 2 queues x 5 pollers x one 20 s poll for 730 h = 1,314,000 requests', () => {
    const r = monthlyCost({ ...SMALL, idlePolling: { queues: 2, pollersPerQueue: 5, waitSeconds: 20 } }, US_EAST_1);
    const idle = r.items.find((i) => i.id === 'sqs.idle-polling')!;
    expect(idle.quantity).toBe(1_314_000);
    expect(idle.usd).toBeCloseTo(0.5256, 12);
  });

  test('provisioned concurrency: a monthly charge, the lower duration rate, no on-demand cold starts', () => {
    const r = monthlyCost({ ...SMALL, resize: { ...SMALL.resize, provisionedConcurrency: 2 } }, US_EAST_1);
    // 2 x 1 GB x 2,628,000 s = 5,256,000 GB-s x $0.0000041667 = $21.9001752
    expect(usdOf(r, 'lambda.resize.provisioned')).toBeCloseTo(21.9001752, 9);
    expect(usdOf(r, 'lambda.resize.duration')).toBeCloseTo(500 * 0.0000097222, 12);
    expect(usdOf(r, 'lambda.resize.init')).toBe(0);
    expect(r.items.find((i) => i.id === 'lambda.publish.provisioned')).toBeUndefined();
    expect(provisionedConcurrencyMonthlyUsd(2, 1024, 'x86_64', US_EAST_1)).toBeCloseTo(21.9001752, 9);
  });

  test('refuses inputs no month can have', () => {
    expect(() => monthlyCost({ ...SMALL, imagesPerMonth: 0 }, US_EAST_1)).toThrow(/imagesPerMonth/);
    expect(() => monthlyCost({ ...SMALL, imagesPerBatch: 0.5 }, US_EAST_1)).toThrow(/imagesPerBatch/);
    expect(() => monthlyCost({ ...SMALL, coldStartRatio: 2 }, US_EAST_1)).toThrow(/coldStartRatio/);
  });
});

describe('helpers', () => {
  test('sqsChunks: one request per started 64 KB, at least one', () => {
    expect(sqsChunks(0)).toBe(1);
    expect(sqsChunks(65536)).toBe(1);
    expect(sqsChunks(65537)).toBe(2);
    expect(sqsChunks(256 * 1024)).toBe(4);
  });

  test('expectedBatchFill: 1 + arrivals per batching window, capped at the batch size', () => {
    expect(SECONDS_PER_MONTH).toBe(2_628_000);
    expect(expectedBatchFill(2_628_000, 10, 1)).toBe(2); // one upload a second
    expect(expectedBatchFill(10, 10, 1)).toBeCloseTo(1, 5);
    expect(expectedBatchFill(1e10, 10, 1)).toBe(10);
  });

  test('resizeMsAt: CPU time over the vCPUs of the memory, or wall time, plus I/O', () => {
    expect(vcpusFor(1769)).toBe(1);
    expect(resizeMsAt(1769, { wallMs: 100, cpuMs: 300, ioMs: 50 })).toBe(350);
    expect(resizeMsAt(3538, { wallMs: 100, cpuMs: 300, ioMs: 50 })).toBe(200);
    expect(resizeMsAt(10240, { wallMs: 100, cpuMs: 300, ioMs: 50 })).toBe(150); // wall time bounds it
  });
});

describe('bench figures and message sizes', () => {
  const doc = {
    generatedAt: '2026-01-01T00:00:00.000Z',
    variants: [
      { name: 'thumb', width: 320, format: 'webp' },
      { name: 'fallback', width: 1600, format: 'jpeg' },
    ],
    inputs: [
      {
        id: '12mp-jpeg',
        impls: [{ id: 'ours', ms: { median: 100 }, cpuMs: { median: 150 }, bytes: { thumb: 1000, fallback: 9000 } }],
      },
    ],
    coldInit: { resize: { median: 500 } },
    chain: { warmInvokeMs: { median: 300 }, warmCoreMs: { median: 120 } },
  };

  test('benchFiguresFrom reads the "ours" row, the chain overhead and the cold init', () => {
    const f = benchFiguresFrom(doc, '12mp-jpeg', 'test.json')!;
    expect(f).toMatchObject({ wallMs: 100, cpuMs: 150, ioMs: 180, initMs: 500 });
    expect(f.variantBytes).toEqual([
      { name: 'thumb', format: 'webp', bytes: 1000 },
      { name: 'fallback', format: 'jpeg', bytes: 9000 },
    ]);
    expect(f.provenance).toContain('test.json');
  });

  test('benchFiguresFrom returns undefined when a figure is missing', () => {
    expect(benchFiguresFrom({ ...doc, coldInit: {} }, '12mp-jpeg', 'x')).toBeUndefined();
    expect(benchFiguresFrom(doc, 'no-such-input', 'x')).toBeUndefined();
    expect(benchFiguresFrom(null, '12mp-jpeg', 'x')).toBeUndefined();
  });

  test('the committed bench/results.json has every figure the report needs', () => {
    const committed = JSON.parse(readFileSync(join(__dirname, '..', '..', 'bench', 'results.json'), 'utf8')) as unknown;
    expect(benchFiguresFrom(committed, '12mp-jpeg', 'bench/results.json')).toBeDefined();
  });

  test("messages built with the chain's builders are small: one SQS request each, ten per batch call", () => {
    const sizes = messageSizes(benchFiguresFrom(doc, '12mp-jpeg', 'x')!.variantBytes, 4_000_000);
    expect(sizes.notification).toBeGreaterThan(500);
    expect(sizes.resizedEvent).toBeGreaterThan(300);
    expect(10 * Math.max(sizes.notification, sizes.resizedEvent)).toBeLessThan(65536);
    expect(sizes.manifest).toBeGreaterThan(sizes.resizedEvent); // pretty-printed, plus publishedAt
  });
});

describe('buildCostReport (command options)', () => {
  test('refuses bad options with INVALID_CONFIG naming the flag', () => {
    expect(() => buildCostReport({})).toThrow(/--images-per-month/);
    expect(() => buildCostReport({ imagesPerMonth: '1e3.5' })).toThrow(/--images-per-month/);
    expect(() => buildCostReport({ imagesPerMonth: '1000', architecture: 'sparc' })).toThrow(/--architecture/);
    expect(() => buildCostReport({ imagesPerMonth: '1000', region: 'eu-west-1' })).toThrow(/--region/);
    expect(() => buildCostReport({ imagesPerMonth: '1000', memory: '64' })).toThrow(/--memory/);
  });

  test('--images-per-batch and --avg-bytes reach the arithmetic', () => {
    const { inputs, report } = buildCostReport({ imagesPerMonth: '1000', imagesPerBatch: '10', avgBytes: String(MIB) });
    expect(inputs.imagesPerBatch).toBe(10);
    expect(report.items.find((i) => i.id === 's3.storage.sources')!.quantity).toBeCloseTo(0.9765625, 12);
  });
});
