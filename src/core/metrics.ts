/**
 * The chain's own metrics: their names, units and dimensions (the contract the handlers emit, the
 * module's dashboard and alarms read, and the local report adds up), what each batch result
 * contributes to them, and the reading back of CloudWatch embedded metric format (EMF) records.
 * Pure: the EMF lines themselves are written by src/aws/metrics.ts.
 */
import type { PublishBatchResult } from './publish-batch';
import type { ResizeBatchResult } from './resize-batch';

/** CloudWatch namespace of every metric the handlers emit. */
export const METRICS_NAMESPACE = 'ImageResizeChain';

/** Dimension naming the function (its Lambda name) on every metric. */
export const FUNCTION_DIMENSION = 'function_name';
/** Extra dimension of `ImagesRejected`: the rejection code (NOT_AN_IMAGE, TRUNCATED, ...). */
export const CODE_DIMENSION = 'code';

/** CloudWatch units used here (a subset of the ones CloudWatch accepts). */
export type MetricUnit = 'Count' | 'Bytes' | 'Milliseconds';

/** Every metric of the chain: name and unit. */
export const METRICS = {
  /** resize: sources rendered and written (one per image, redeliveries that only resend the event excluded). */
  imagesResized: { name: 'ImagesResized', unit: 'Count' },
  /** resize: sources rejected for good (sent to the rejected queue); once per function, once per function and code. */
  imagesRejected: { name: 'ImagesRejected', unit: 'Count' },
  /** publish: manifests written, i.e. sources the chain finished. */
  imagesDone: { name: 'ImagesDone', unit: 'Count' },
  /** both: records reported as failed for a retry (transient faults). The invocation itself succeeds, so Lambda's Errors misses them. */
  recordsFailed: { name: 'RecordsFailed', unit: 'Count' },
  /** resize: bytes of the sources rendered. */
  bytesIn: { name: 'BytesIn', unit: 'Bytes' },
  /** resize: bytes of the variants written. */
  bytesOut: { name: 'BytesOut', unit: 'Bytes' },
  /** resize: read-to-written time of one source (decode, every variant, the writes), one value per source. */
  renderTime: { name: 'RenderTime', unit: 'Milliseconds' },
  /** publish: from the upload's S3 event time to the manifest write, one value per manifest. */
  uploadToManifest: { name: 'UploadToManifestLatency', unit: 'Milliseconds' },
  /** both: 1 on the first invocation of an on-demand sandbox. */
  coldStart: { name: 'ColdStart', unit: 'Count' },
} as const satisfies Record<string, { name: string; unit: MetricUnit }>;

export type MetricName = (typeof METRICS)[keyof typeof METRICS]['name'];

/** One metric with its values (EMF takes up to 100 values of a metric in one record). */
export interface MetricDatum {
  readonly name: MetricName;
  readonly unit: MetricUnit;
  readonly values: readonly number[];
}

/** Metrics that share dimensions, beyond the function dimension every record carries: one EMF record. */
export interface MetricGroup {
  readonly dimensions: Readonly<Record<string, string>>;
  readonly metrics: readonly MetricDatum[];
}

const datum = (metric: { name: MetricName; unit: MetricUnit }, values: readonly number[]): MetricDatum => ({ ...metric, values });

/** Figures of one resize batch that its summary counts do not hold. */
export interface ResizeFigures {
  bytesIn: number;
  bytesOut: number;
  renderMs: number[];
  rejectedByCode: Record<string, number>;
}

/** Figures of one publish batch beyond its summary counts. */
export interface PublishFigures {
  uploadToManifestMs: number[];
}

/** What one resize invocation reports. Rejections by code come as one group per code. */
export function resizeBatchMetrics(result: Pick<ResizeBatchResult, 'summary' | 'figures'>): MetricGroup[] {
  const { summary, figures } = result;
  const main: MetricDatum[] = [
    datum(METRICS.imagesResized, [summary.resized]),
    datum(METRICS.imagesRejected, [summary.rejected]),
    datum(METRICS.recordsFailed, [summary.retry]),
    datum(METRICS.bytesIn, [figures.bytesIn]),
    datum(METRICS.bytesOut, [figures.bytesOut]),
  ];
  if (figures.renderMs.length > 0) main.push(datum(METRICS.renderTime, figures.renderMs));
  const byCode = Object.entries(figures.rejectedByCode).map(([code, n]) => ({ dimensions: { [CODE_DIMENSION]: code }, metrics: [datum(METRICS.imagesRejected, [n])] }));
  return [{ dimensions: {}, metrics: main }, ...byCode];
}

/** What one publish invocation reports. */
export function publishBatchMetrics(result: Pick<PublishBatchResult, 'summary' | 'figures'>): MetricGroup[] {
  const main: MetricDatum[] = [datum(METRICS.imagesDone, [result.summary.published]), datum(METRICS.recordsFailed, [result.summary.failed])];
  if (result.figures.uploadToManifestMs.length > 0) main.push(datum(METRICS.uploadToManifest, result.figures.uploadToManifestMs));
  return [{ dimensions: {}, metrics: main }];
}

/** The group of a sandbox's first (cold) invocation. */
export function coldStartMetrics(): MetricGroup {
  return { dimensions: {}, metrics: [datum(METRICS.coldStart, [1])] };
}

/** Median, 99th percentile and count of a set of durations (nearest-rank percentiles, as CloudWatch's pNN of raw values). */
export interface Distribution {
  count: number;
  p50: number;
  p99: number;
}

/** What an operator watches, added up over any number of EMF records (the local report's figures). */
export interface ChainFigures {
  /** Manifests written. */
  done: number;
  rejected: number;
  rejectedByCode: Record<string, number>;
  recordsFailed: number;
  bytesIn: number;
  bytesOut: number;
  renderMs: Distribution;
  uploadToManifestMs: Distribution;
  coldStarts: number;
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1] as number;
}

function distribution(values: number[]): Distribution {
  const sorted = [...values].sort((a, b) => a - b);
  return { count: sorted.length, p50: percentile(sorted, 50), p99: percentile(sorted, 99) };
}

interface EmfDirective {
  Namespace?: unknown;
  Dimensions?: unknown;
  Metrics?: Array<{ Name?: unknown }>;
}

/** True when `value` is an EMF record: an object whose `_aws` holds `Timestamp` and `CloudWatchMetrics`. */
export function isEmfRecord(value: unknown): value is Record<string, unknown> & { _aws: { Timestamp: number; CloudWatchMetrics: EmfDirective[] } } {
  if (typeof value !== 'object' || value === null) return false;
  const aws = (value as { _aws?: unknown })._aws;
  return typeof aws === 'object' && aws !== null && typeof (aws as { Timestamp?: unknown }).Timestamp === 'number' && Array.isArray((aws as { CloudWatchMetrics?: unknown }).CloudWatchMetrics);
}

const valuesOf = (v: unknown): number[] => (Array.isArray(v) ? v : [v]).filter((n): n is number => typeof n === 'number' && Number.isFinite(n));

/**
 * Adds up the chain's metrics from EMF records as they come (other values are ignored), reading
 * each record as CloudWatch would: the metrics its directives in our namespace name, their values
 * at top level, `code` only where it is a dimension. Keeps sums, and the durations for percentiles.
 */
export class FiguresAccumulator {
  private readonly sums = new Map<string, number>();
  private readonly rejectedByCode: Record<string, number> = {};
  private readonly renderMs: number[] = [];
  private readonly latencyMs: number[] = [];

  add(record: unknown): void {
    if (!isEmfRecord(record)) return;
    for (const directive of record._aws.CloudWatchMetrics) {
      if (directive.Namespace !== METRICS_NAMESPACE) continue;
      const dimensions = Array.isArray(directive.Dimensions) ? directive.Dimensions.flat() : [];
      const code = dimensions.includes(CODE_DIMENSION) && typeof record[CODE_DIMENSION] === 'string' ? (record[CODE_DIMENSION] as string) : undefined;
      for (const { Name } of directive.Metrics ?? []) {
        if (typeof Name === 'string') this.addValues(Name, valuesOf(record[Name]), code);
      }
    }
  }

  private addValues(name: string, values: number[], code: string | undefined): void {
    if (name === METRICS.renderTime.name) this.renderMs.push(...values);
    else if (name === METRICS.uploadToManifest.name) this.latencyMs.push(...values);
    else if (name === METRICS.imagesRejected.name && code !== undefined) {
      for (const n of values) this.rejectedByCode[code] = (this.rejectedByCode[code] ?? 0) + n;
    } else for (const n of values) this.sums.set(name, (this.sums.get(name) ?? 0) + n);
  }

  figures(): ChainFigures {
    const sum = (m: { name: string }) => this.sums.get(m.name) ?? 0;
    return {
      done: sum(METRICS.imagesDone),
      rejected: sum(METRICS.imagesRejected),
      rejectedByCode: { ...this.rejectedByCode },
      recordsFailed: sum(METRICS.recordsFailed),
      bytesIn: sum(METRICS.bytesIn),
      bytesOut: sum(METRICS.bytesOut),
      renderMs: distribution(this.renderMs),
      uploadToManifestMs: distribution(this.latencyMs),
      coldStarts: sum(METRICS.coldStart),
    };
  }
}

/** `FiguresAccumulator` over a set of records. */
export function figuresFromEmf(records: Iterable<unknown>): ChainFigures {
  const acc = new FiguresAccumulator();
  for (const record of records) acc.add(record);
  return acc.figures();
}

function megabytes(bytes: number): string {
  return `${(bytes / 1e6).toFixed(1)} MB`;
}

/**
 * One line of figures, e.g. `metrics: 8 done, 2 rejected (NOT_AN_IMAGE 1, TRUNCATED 1), 12.3 MB in,
 * 3.1 MB out, render p50 120 ms, upload-to-manifest p50 900 ms, 2 cold starts`.
 */
export function formatFigures(f: ChainFigures): string {
  const codes = Object.entries(f.rejectedByCode)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([code, n]) => `${code} ${n}`);
  const parts = [
    `${f.done} done`,
    `${f.rejected} rejected${codes.length ? ` (${codes.join(', ')})` : ''}`,
    ...(f.recordsFailed ? [`${f.recordsFailed} retried`] : []),
    `${megabytes(f.bytesIn)} in`,
    `${megabytes(f.bytesOut)} out`,
    `render p50 ${f.renderMs.count ? `${Math.round(f.renderMs.p50)} ms` : '-'}`,
    `upload-to-manifest p50 ${f.uploadToManifestMs.count ? `${Math.round(f.uploadToManifestMs.p50)} ms` : '-'}`,
    `${f.coldStarts} cold start${f.coldStarts === 1 ? '' : 's'}`,
  ];
  return `metrics: ${parts.join(', ')}`;
}
