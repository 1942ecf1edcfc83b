/**
 * The figures bench/lambda-shaped.ts measures (the resize image under Lambda's memory and CPU share, invoked through
 * the Runtime API with real S3 traffic) and how `resize-chain cost` picks one: pure functions over the parsed
 * bench/lambda-shaped.json, no I/O.
 */

/** Where the bench writes its document, relative to the repository root. */
export const LAMBDA_SHAPED_FILE = 'bench/lambda-shaped.json';

/** One source at one memory size. */
export interface LambdaShapedRow {
  readonly input: string;
  readonly description: string;
  readonly megapixels: number;
  readonly memoryMb: number;
  /** `docker run --cpus`: memoryMb / 1,769. */
  readonly cpus: number;
  readonly samples: number;
  /** Median invocation duration (one image per invocation), as the Runtime API measured it. */
  readonly p50Ms?: number;
  readonly minMs?: number;
  readonly maxMs?: number;
  /** p50 rounded up to the ms × memory in GB (1,024 MB = 1 GB). */
  readonly billedGbSecondsPerImage?: number;
  /** Peak charge of the container's memory cgroup over the run, MiB. */
  readonly peakMiB?: number;
  readonly oomKilled: boolean;
  /** Invocations that failed or reported item failures (not counted in the durations). */
  readonly failures: number;
}

export interface LambdaShapedDoc {
  /** Date and a random suffix: names the run wherever its figures are used. */
  readonly runId: string;
  readonly generatedAt: string;
  readonly machine: {
    readonly host: string;
    readonly cpu: string;
    readonly cores: number;
    readonly memoryGiB: number;
    readonly os: string;
    readonly loadAverageAtStart: number[];
    loadAverageAtEnd?: number[];
  };
  readonly image: string;
  readonly imageId?: string;
  /** The function's CONCURRENCY setting during the run. */
  readonly concurrency: number;
  /** Variants written per image. */
  readonly variants: number;
  /** Timed invocations per source and size. */
  readonly rounds: number;
  readonly rows: LambdaShapedRow[];
  /** The arm64 image's functional check under emulation (untimed), when it ran. */
  arm64?: { readonly image: string; readonly ok: boolean; readonly objectsWritten: number; readonly error?: string };
}

/** A measured per-image duration for the cost model, with the words saying where it comes from. */
export interface MeasuredDuration {
  /** Billed ms per image: the p50 invocation duration, rounded up to the ms. */
  readonly msPerImage: number;
  readonly peakMiB?: number;
  readonly provenance: string;
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The document when `value` has the shape bench/lambda-shaped.ts writes (each row's keys checked), else undefined. */
export function asLambdaShapedDoc(value: unknown): LambdaShapedDoc | undefined {
  if (!isObj(value) || typeof value.runId !== 'string' || typeof value.generatedAt !== 'string') return undefined;
  if (!isObj(value.machine) || typeof value.machine.host !== 'string' || typeof value.machine.cpu !== 'string')
    return undefined;
  if (!Array.isArray(value.rows)) return undefined;
  const rowsOk = value.rows.every(
    (r) => isObj(r) && typeof r.input === 'string' && typeof r.memoryMb === 'number' && typeof r.samples === 'number',
  );
  return rowsOk ? (value as unknown as LambdaShapedDoc) : undefined;
}

/**
 * The measured duration of `inputId` at `memoryMb`, or undefined when the run has no usable row for that pair
 * (no such size measured, no successful sample, or the container was killed for memory).
 */
export function measuredDuration(
  doc: LambdaShapedDoc,
  inputId: string,
  memoryMb: number,
): MeasuredDuration | undefined {
  const row = doc.rows.find((r) => r.input === inputId && r.memoryMb === memoryMb);
  if (!row || row.p50Ms === undefined || !(row.samples > 0) || row.oomKilled) return undefined;
  const m = doc.machine;
  return {
    msPerImage: Math.ceil(row.p50Ms),
    peakMiB: row.peakMiB,
    provenance:
      `MEASURED under Lambda's limits (docker --memory ${row.memoryMb}m --cpus ${row.cpus}): run ${doc.runId} ` +
      `of ${doc.generatedAt} on ${m.host} (${m.cores} × ${m.cpu}, load ${m.loadAverageAtStart.join('/')}), ` +
      `input ${inputId}, p50 of ${row.samples} invocations through the Runtime API with S3 traffic`,
  };
}

/** The memory sizes a run measured for `inputId` (to say what is available when a size is missing). */
export function measuredSizes(doc: LambdaShapedDoc, inputId: string): number[] {
  return doc.rows.filter((r) => r.input === inputId && r.p50Ms !== undefined).map((r) => r.memoryMb);
}
