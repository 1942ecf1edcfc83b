// The handlers' metrics in CloudWatch's embedded metric format (src/aws/metrics.ts, src/core/metrics.ts):
// the records match the EMF specification's shape and what Powertools Metrics writes for the same
// metrics, and the figures read back from them are the figures of the batches.
import type { Context } from 'aws-lambda';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { createMetrics, emfRecords } from '../../src/aws/metrics';
import {
  coldStartMetrics,
  METRICS_NAMESPACE,
  publishBatchMetrics,
  resizeBatchMetrics,
  type MetricGroup,
} from '../../src/core/metrics';
import { figuresFromEmf, formatFigures } from '../../src/tools/metric-figures';
import { DEFAULT_LIMITS } from '../../src/core/limits';
import { processResizeBatch } from '../../src/core/resize-batch';
import { parseVariantSpecs } from '../../src/core/variants';

const at = new Date('2026-12-06T04:00:00.000Z');
const context = (requestId: string): Context => ({ awsRequestId: requestId, functionName: 'irc-resize' }) as Context;

const resizeResult = {
  summary: { resized: 3, resent: 1, duplicate: 0, stale: 0, ignored: 0, rejected: 3, retry: 1, testEvents: 0 },
  figures: {
    bytesIn: 3_000_000,
    bytesOut: 450_000,
    renderMs: [120, 80, 300],
    rejectedByCode: { NOT_AN_IMAGE: 2, TRUNCATED: 1 },
  },
};
const publishResult = {
  summary: { published: 4, duplicate: 1, failed: 0 },
  figures: { uploadToManifestMs: [900, 1100, 700, 1500] },
};

/**
 * The EMF specification (CloudWatch User Guide, "Embedded metric format specification"): a root
 * `_aws` with an integer millisecond `Timestamp` and `CloudWatchMetrics`, an array of directives
 * `{Namespace, Dimensions: DimensionSet[], Metrics: [{Name, Unit?}]}`; every dimension a top-level
 * string, every metric a top-level number or array of at most 100 numbers; at most 30 dimensions
 * per set and 100 metrics per directive. Returns the violations.
 */
function emfViolations(record: Record<string, unknown>): string[] {
  const out: string[] = [];
  const aws = record._aws as { Timestamp?: unknown; CloudWatchMetrics?: unknown } | undefined;
  if (!aws || typeof aws !== 'object') return ['no _aws object'];
  if (!Number.isInteger(aws.Timestamp) || (aws.Timestamp as number) < 0)
    out.push('_aws.Timestamp is not a non-negative integer');
  if (!Array.isArray(aws.CloudWatchMetrics) || aws.CloudWatchMetrics.length === 0)
    return [...out, '_aws.CloudWatchMetrics is not a non-empty array'];
  for (const d of aws.CloudWatchMetrics as Array<Record<string, unknown>>) {
    if (typeof d.Namespace !== 'string' || d.Namespace.length < 1 || d.Namespace.length > 1024)
      out.push('Namespace is not a 1-1024 character string');
    if (!Array.isArray(d.Dimensions)) out.push('Dimensions is not an array');
    for (const set of (d.Dimensions as unknown[]) ?? []) {
      if (!Array.isArray(set) || set.length > 30)
        out.push(`dimension set ${JSON.stringify(set)} is not an array of at most 30 names`);
      for (const name of (set as unknown[]) ?? [])
        if (typeof name !== 'string' || typeof record[name] !== 'string')
          out.push(`dimension ${String(name)} has no top-level string value`);
    }
    if (!Array.isArray(d.Metrics) || d.Metrics.length > 100) out.push('Metrics is not an array of at most 100');
    for (const m of (d.Metrics as Array<Record<string, unknown>>) ?? []) {
      if (typeof m.Name !== 'string' || m.Name.length < 1 || m.Name.length > 1024)
        out.push('a metric has no 1-1024 character Name');
      if (m.Unit !== undefined && typeof m.Unit !== 'string') out.push(`${String(m.Name)}: Unit is not a string`);
      const v = record[m.Name as string];
      const ok =
        typeof v === 'number' ||
        (Array.isArray(v) && v.length >= 1 && v.length <= 100 && v.every((n) => typeof n === 'number'));
      if (!ok) out.push(`${String(m.Name)}: no top-level number or array of 1-100 numbers`);
    }
  }
  return out;
}

/** What Powertools Metrics writes for `group`, without the `service` dimension it always adds. */
function powertoolsRecord(group: MetricGroup, functionName: string, requestId: string): Record<string, unknown> {
  const pt = new Metrics({
    namespace: METRICS_NAMESPACE,
    serviceName: 'svc',
    defaultDimensions: { function_name: functionName },
  });
  for (const [name, value] of Object.entries(group.dimensions)) pt.addDimension(name, value);
  for (const m of group.metrics) for (const v of m.values) pt.addMetric(m.name, m.unit, v);
  pt.addMetadata('function_request_id', requestId);
  pt.setTimestamp(at);
  const record = JSON.parse(JSON.stringify(pt.serializeMetrics())) as Record<string, unknown> & {
    _aws: { CloudWatchMetrics: Array<{ Dimensions: string[][] }> };
  };
  delete record.service;
  for (const d of record._aws.CloudWatchMetrics)
    d.Dimensions = d.Dimensions.map((set) => set.filter((n) => n !== 'service'));
  return record;
}

/** Dimension sets and metrics compared as sets (their order carries no meaning). */
function normalized(record: Record<string, unknown>): Record<string, unknown> {
  const aws = record._aws as {
    Timestamp: number;
    CloudWatchMetrics: Array<{ Namespace: string; Dimensions: string[][]; Metrics: Array<{ Name: string }> }>;
  };
  return {
    ...record,
    _aws: {
      ...aws,
      CloudWatchMetrics: aws.CloudWatchMetrics.map((d) => ({
        ...d,
        Dimensions: d.Dimensions.map((s) => [...s].sort()),
        Metrics: [...d.Metrics].sort((a, b) => a.Name.localeCompare(b.Name)),
      })),
    },
  };
}

const allGroups = (): MetricGroup[] => [
  coldStartMetrics(),
  ...resizeBatchMetrics(resizeResult),
  ...publishBatchMetrics(publishResult),
];

describe('EMF records', () => {
  it.each(allGroups().map((g) => [g.metrics.map((m) => m.name).join(',') + JSON.stringify(g.dimensions), g] as const))(
    '%s: valid EMF, and what Powertools Metrics writes',
    (_name, group) => {
      const [ours] = emfRecords(group, 'irc-resize', at, { function_request_id: 'req-1' });
      expect(emfViolations(ours)).toEqual([]);
      expect(normalized(ours)).toEqual(normalized(powertoolsRecord(group, 'irc-resize', 'req-1')));
    },
  );

  it('splits a metric with more than 100 values over several records, each valid', () => {
    const values = Array.from({ length: 250 }, (_, i) => i);
    const records = emfRecords(
      {
        dimensions: {},
        metrics: [
          { name: 'RenderTime', unit: 'Milliseconds', values },
          { name: 'BytesIn', unit: 'Bytes', values: [7] },
        ],
      },
      'fn',
      at,
    );
    expect(records.map((r) => (r.RenderTime as number[]).length)).toEqual([100, 100, 50]);
    expect(records.map((r) => r.BytesIn)).toEqual([7, undefined, undefined]);
    for (const r of records) expect(emfViolations(r)).toEqual([]);
  });

  it('writes one JSON line per record, ColdStart only on the first invocation of an on-demand sandbox', () => {
    const lines: string[] = [];
    const metrics = createMetrics({
      env: { AWS_LAMBDA_INITIALIZATION_TYPE: 'on-demand' },
      now: () => at,
      write: (l) => lines.push(l),
    });
    metrics.captureColdStart(context('a'));
    metrics.publish(context('a'), publishBatchMetrics(publishResult));
    metrics.captureColdStart(context('b'));
    metrics.publish(context('b'), publishBatchMetrics(publishResult));
    const records = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.every((l) => !l.includes('\n'))).toBe(true);
    expect(records.map((r) => [r.function_request_id, 'ColdStart' in r])).toEqual([
      ['a', true],
      ['a', false],
      ['b', false],
    ]);
    const provisioned: string[] = [];
    createMetrics({
      env: { AWS_LAMBDA_INITIALIZATION_TYPE: 'provisioned-concurrency' },
      write: (l) => provisioned.push(l),
    }).captureColdStart(context('c'));
    expect(provisioned).toEqual([]);
  });
});

describe('figuresFromEmf', () => {
  it('adds up the batches from their records, as CloudWatch would', () => {
    const records = allGroups().flatMap((g) => emfRecords(g, 'fn', at));
    const figures = figuresFromEmf([
      ...records,
      { level: 'INFO', message: 'not a metric' },
      {
        _aws: { Timestamp: 1, CloudWatchMetrics: [{ Namespace: 'Other', Metrics: [{ Name: 'ImagesDone' }] }] },
        ImagesDone: 99,
      },
    ]);
    expect(figures).toEqual({
      done: 4,
      rejected: 3,
      rejectedByCode: { NOT_AN_IMAGE: 2, TRUNCATED: 1 },
      recordsFailed: 1,
      bytesIn: 3_000_000,
      bytesOut: 450_000,
      renderMs: { count: 3, p50: 120, p99: 300 },
      uploadToManifestMs: { count: 4, p50: 900, p99: 1500 },
      coldStarts: 1,
    });
    expect(formatFigures(figures)).toBe(
      'metrics: 4 done, 3 rejected (NOT_AN_IMAGE 2, TRUNCATED 1), 1 retried, 3.0 MB in, ' +
        '0.5 MB out, render p50 120 ms, upload-to-manifest p50 900 ms, 1 cold start',
    );
  });
});

describe('figuresFromEmf, code', () => {
  it('counts a rejection by code only where code is a dimension of the directive', () => {
    const record = (dimensions: string[][]) => ({
      _aws: {
        Timestamp: 1,
        CloudWatchMetrics: [
          {
            Namespace: METRICS_NAMESPACE,
            Dimensions: dimensions,
            Metrics: [{ Name: 'ImagesRejected', Unit: 'Count' }],
          },
        ],
      },
      function_name: 'fn',
      code: 'CORRUPT',
      ImagesRejected: 2,
    });
    expect(figuresFromEmf([record([['function_name']]), record([['function_name', 'code']])])).toMatchObject({
      rejected: 2,
      rejectedByCode: { CORRUPT: 2 },
    });
  });
});

describe('resize batch figures', () => {
  it('counts rejections by code and no bytes for sources that were not rendered', async () => {
    const ports = {
      getSource: async () => ({ data: Buffer.from('plain text'), eTag: 'e1' }),
      headOutput: async () => undefined,
      putOutput: async () => undefined,
      sendResized: async () => new Map(),
      sendRejected: async () => new Map(),
      log: () => undefined,
      now: () => at,
    };
    const body = (key: string, size: number) =>
      JSON.stringify({
        Records: [
          {
            eventName: 'ObjectCreated:Put',
            s3: { bucket: { name: 'src' }, object: { key, size, eTag: 'e1', sequencer: '1' } },
          },
        ],
      });
    const cfg = {
      outputBucket: 'out',
      outputPrefix: '',
      variants: parseVariantSpecs([{ name: 's', width: 64, format: 'webp' }]),
      limits: { ...DEFAULT_LIMITS, maxInputBytes: 100 },
      concurrency: 2,
      cacheControl: '',
    };
    const result = await processResizeBatch(cfg, ports, [
      { messageId: 'm1', body: body('uploads/a.jpg', 10) },
      { messageId: 'm2', body: body('uploads/b.jpg', 1000) },
    ]);
    expect(result.figures).toEqual({
      bytesIn: 0,
      bytesOut: 0,
      renderMs: [],
      rejectedByCode: { NOT_AN_IMAGE: 1, TOO_LARGE: 1 },
    });
  });
});
