/**
 * The chain's figures read back from CloudWatch embedded metric format (EMF) records, as CloudWatch
 * would read them: what `resize-chain start` and `up` report from the lines the functions write.
 * The metric names, units and dimensions are the contract in src/core/metrics.ts.
 */
import { CODE_DIMENSION, METRICS, METRICS_NAMESPACE } from '../core/metrics';

/**
 * Median, 99th percentile and count of a set of durations (nearest-rank percentiles, as CloudWatch's pNN of raw
 * values).
 */
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
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1];
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
export function isEmfRecord(
  value: unknown,
): value is Record<string, unknown> & { _aws: { Timestamp: number; CloudWatchMetrics: EmfDirective[] } } {
  if (typeof value !== 'object' || value === null) return false;
  const aws = (value as { _aws?: unknown })._aws;
  return (
    typeof aws === 'object' &&
    aws !== null &&
    typeof (aws as { Timestamp?: unknown }).Timestamp === 'number' &&
    Array.isArray((aws as { CloudWatchMetrics?: unknown }).CloudWatchMetrics)
  );
}

const valuesOf = (v: unknown): number[] =>
  (Array.isArray(v) ? v : [v]).filter((n): n is number => typeof n === 'number' && Number.isFinite(n));

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
      const code =
        dimensions.includes(CODE_DIMENSION) && typeof record[CODE_DIMENSION] === 'string'
          ? record[CODE_DIMENSION]
          : undefined;
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
