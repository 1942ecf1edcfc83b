/**
 * The chain's own metrics: their names, units and dimensions (the contract the handlers emit, the
 * module's dashboard and alarms read, and the local report adds up) and what each batch result
 * contributes to them. Pure: the EMF lines themselves are written by src/aws/metrics.ts, and read
 * back for the local report by src/tools/metric-figures.ts.
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
  /**
   * both: records reported as failed for a retry (transient faults). The invocation itself succeeds, so Lambda's Errors
   * misses them.
   */
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

const datum = (metric: { name: MetricName; unit: MetricUnit }, values: readonly number[]): MetricDatum => ({
  ...metric,
  values,
});

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
  const byCode = Object.entries(figures.rejectedByCode).map(([code, n]) => ({
    dimensions: { [CODE_DIMENSION]: code },
    metrics: [datum(METRICS.imagesRejected, [n])],
  }));
  return [{ dimensions: {}, metrics: main }, ...byCode];
}

/** What one publish invocation reports. */
export function publishBatchMetrics(result: Pick<PublishBatchResult, 'summary' | 'figures'>): MetricGroup[] {
  const main: MetricDatum[] = [
    datum(METRICS.imagesDone, [result.summary.published]),
    datum(METRICS.recordsFailed, [result.summary.failed]),
  ];
  if (result.figures.uploadToManifestMs.length > 0)
    main.push(datum(METRICS.uploadToManifest, result.figures.uploadToManifestMs));
  return [{ dimensions: {}, metrics: main }];
}

/** The group of a sandbox's first (cold) invocation. */
export function coldStartMetrics(): MetricGroup {
  return { dimensions: {}, metrics: [datum(METRICS.coldStart, [1])] };
}
