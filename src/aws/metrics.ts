import type { Context } from 'aws-lambda';
import { coldStartMetrics, FUNCTION_DIMENSION, METRICS_NAMESPACE, type MetricGroup } from '../core/metrics';

/**
 * CloudWatch embedded metric format (EMF): each record is one JSON line on stdout that Lambda's
 * log agent turns into metrics, no API call and no extra permission. A record is
 *
 *     {"_aws": {"Timestamp",
 *               "CloudWatchMetrics": [{"Namespace", "Dimensions": [[...]], "Metrics": [{"Name", "Unit"}]}]},
 *      <dimension>: "...", <metric>: value | [values]}
 *
 * Ours rather than `@aws-lambda-powertools/metrics` for the reason the logger is ours: cold init
 * (README, "Logs and metrics"). test/unit/metrics.test.ts checks our records against the records
 * Powertools writes for the same metrics.
 */
export interface MetricsEmitter {
  /**
   * Writes `ColdStart` for the sandbox's first on-demand invocation, at once: called as the handler
   * starts (as Powertools' logMetrics does, before the handler), so an invocation that then throws
   * still counts its cold start and the next one is warm (the sandbox's init ran once).
   */
  captureColdStart(context: Context): void;
  /** Writes one EMF record per group of the invocation `context`. */
  publish(context: Context, groups: readonly MetricGroup[]): void;
}

export interface MetricsOptions {
  /** Environment read once, at creation. @default process.env */
  env?: NodeJS.ProcessEnv;
  /** Where a finished line goes. @default stdout */
  write?: (line: string) => void;
  /** Clock. @default () => new Date() */
  now?: () => Date;
}

/** EMF takes at most 100 values of one metric in one record. */
const MAX_VALUES = 100;

/**
 * The EMF records of `group` for function `functionName` (one per 100 values of its longest
 * metric), with `properties` (e.g. the request id) as searchable fields that are not dimensions.
 */
export function emfRecords(
  group: MetricGroup,
  functionName: string,
  timestamp: Date,
  properties: Record<string, string> = {},
): Array<Record<string, unknown>> {
  const dimensions = { [FUNCTION_DIMENSION]: functionName, ...group.dimensions };
  const longest = Math.max(1, ...group.metrics.map((m) => m.values.length));
  const records: Array<Record<string, unknown>> = [];
  for (let from = 0; from < longest; from += MAX_VALUES) {
    const metrics = group.metrics.filter((m) => m.values.length > from);
    const values = Object.fromEntries(
      metrics.map((m) => [m.name, m.values.length === 1 ? m.values[0] : m.values.slice(from, from + MAX_VALUES)]),
    );
    records.push({
      _aws: {
        Timestamp: timestamp.getTime(),
        CloudWatchMetrics: [
          {
            Namespace: METRICS_NAMESPACE,
            Dimensions: [Object.keys(dimensions)],
            Metrics: metrics.map((m) => ({ Name: m.name, Unit: m.unit })),
          },
        ],
      },
      ...properties,
      ...dimensions,
      ...values,
    });
  }
  return records;
}

/**
 * True for the first invocation of an on-demand sandbox (not provisioned concurrency or SnapStart), as Powertools
 * counts cold starts.
 */
export function isOnDemandSandbox(env: NodeJS.ProcessEnv): boolean {
  return env.AWS_LAMBDA_INITIALIZATION_TYPE?.trim() === 'on-demand';
}

/** An emitter for the handler's sandbox. Defaults: see MetricsOptions. */
export function createMetrics(opts: MetricsOptions = {}): MetricsEmitter {
  const env = opts.env ?? process.env;
  const write = opts.write ?? ((line: string) => void process.stdout.write(`${line}\n`));
  const now = opts.now ?? (() => new Date());
  let coldStartPending = isOnDemandSandbox(env);
  const publish = (context: Context, groups: readonly MetricGroup[]): void => {
    const at = now();
    for (const group of groups) {
      for (const record of emfRecords(group, context.functionName, at, { function_request_id: context.awsRequestId }))
        write(JSON.stringify(record));
    }
  };
  return {
    captureColdStart(context) {
      if (coldStartPending) publish(context, [coldStartMetrics()]);
      coldStartPending = false;
    },
    publish,
  };
}
