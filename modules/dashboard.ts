/**
 * `ChainDashboard`: one CloudWatch dashboard for the chain: its queues (depth, age of the oldest
 * message, dead letters), its functions (invocations, errors, throttles, duration) and the chain's
 * own metrics that the handlers emit in embedded metric format (src/core/metrics.ts): images done
 * and rejected (by code), bytes in and out, render time, upload-to-manifest latency, cold starts.
 */
import { Construct } from 'constructs';
import { CloudwatchDashboard } from '@cdktf/provider-aws/lib/cloudwatch-dashboard';
import { DataAwsRegion } from '@cdktf/provider-aws/lib/data-aws-region';
import { CODE_DIMENSION, FUNCTION_DIMENSION, METRICS, METRICS_NAMESPACE } from '../src/core/metrics';

export interface DashboardQueue {
  /** What the widgets call it, e.g. 'ingest'. */
  readonly label: string;
  readonly queueName: string;
  readonly deadLetterQueueName: string;
}

export interface ChainDashboardProps {
  /** Dashboard name (letters, digits, '-', '_'). */
  readonly dashboardName: string;
  readonly queues: readonly DashboardQueue[];
  /** The resize and publish function names; their EMF metrics fill the chain's widgets. */
  readonly resizeFunctionName: string;
  readonly publishFunctionName: string;
  /** Further functions shown in the function widgets (e.g. the upload function). @default [] */
  readonly otherFunctionNames?: string[];
  /** An HTTP API shown with its requests, 4xx, 5xx and latency. @default - none */
  readonly api?: { readonly apiId: string; readonly stage: string };
}

/** One line of a metric widget: [namespace, metric, dimension name, value, ..., options]. */
type MetricLine = Array<string | Record<string, unknown>>;

const PERIOD = 300;
const WIDTH = 8;
const HEIGHT = 6;

export class ChainDashboard extends Construct {
  readonly dashboard: CloudwatchDashboard;
  readonly dashboardName: string;
  /** The dashboard in the CloudWatch console. */
  readonly url: string;

  constructor(scope: Construct, id: string, props: ChainDashboardProps) {
    super(scope, id);
    const region = new DataAwsRegion(this, 'region').name;
    const resize = props.resizeFunctionName;
    const publish = props.publishFunctionName;
    const functions = [resize, publish, ...(props.otherFunctionNames ?? [])];

    const widgets: Array<Record<string, unknown>> = [];
    const add = (title: string, metrics: MetricLine[], extra: Record<string, unknown> = {}) => {
      const n = widgets.length;
      widgets.push({
        type: 'metric',
        x: (n % 3) * WIDTH,
        y: Math.floor(n / 3) * HEIGHT,
        width: WIDTH,
        height: HEIGHT,
        properties: { title, region, view: 'timeSeries', stat: 'Sum', period: PERIOD, metrics, ...extra },
      });
    };
    const sqs = (metric: string, queueName: string, label: string, stat = 'Maximum'): MetricLine => [
      'AWS/SQS',
      metric,
      'QueueName',
      queueName,
      { label, stat },
    ];
    const lambda = (metric: string, fn: string, stat = 'Sum', label = fn): MetricLine => [
      'AWS/Lambda',
      metric,
      'FunctionName',
      fn,
      { label, stat },
    ];
    const chain = (metric: { name: string }, fn: string, stat = 'Sum', label: string = metric.name): MetricLine => [
      METRICS_NAMESPACE,
      metric.name,
      FUNCTION_DIMENSION,
      fn,
      { label, stat },
    ];

    // Queues.
    add(
      'Queue depth (visible messages)',
      props.queues.map((q) => sqs('ApproximateNumberOfMessagesVisible', q.queueName, q.label)),
    );
    add(
      'Oldest message age (s)',
      props.queues.map((q) => sqs('ApproximateAgeOfOldestMessage', q.queueName, q.label)),
    );
    add(
      'Dead letters (visible messages)',
      props.queues.map((q) => sqs('ApproximateNumberOfMessagesVisible', q.deadLetterQueueName, `${q.label} DLQ`)),
    );
    // Functions.
    add(
      'Invocations',
      functions.map((fn) => lambda('Invocations', fn)),
    );
    add(
      'Errors and throttles',
      functions.flatMap((fn) => [
        lambda('Errors', fn, 'Sum', `${fn} errors`),
        lambda('Throttles', fn, 'Sum', `${fn} throttles`),
      ]),
    );
    add(
      'Duration p50 / p99 (ms)',
      functions.flatMap((fn) => [
        lambda('Duration', fn, 'p50', `${fn} p50`),
        lambda('Duration', fn, 'p99', `${fn} p99`),
      ]),
    );
    // The chain's own metrics.
    add('Images', [
      chain(METRICS.imagesDone, publish, 'Sum', 'done (manifests)'),
      chain(METRICS.imagesResized, resize, 'Sum', 'resized'),
      chain(METRICS.imagesRejected, resize, 'Sum', 'rejected'),
      chain(METRICS.recordsFailed, resize, 'Sum', 'resize records retried'),
      chain(METRICS.recordsFailed, publish, 'Sum', 'publish records retried'),
    ]);
    add('Rejected images by code', [
      [
        {
          id: 'byCode',
          expression:
            `SEARCH('{${METRICS_NAMESPACE},${CODE_DIMENSION},${FUNCTION_DIMENSION}} ` +
            `MetricName="${METRICS.imagesRejected.name}" ${FUNCTION_DIMENSION}="${resize}"', 'Sum', ${PERIOD})`,
        },
      ],
    ]);
    add('Bytes in / out', [
      chain(METRICS.bytesIn, resize, 'Sum', 'in (sources)'),
      chain(METRICS.bytesOut, resize, 'Sum', 'out (variants)'),
    ]);
    add('Render time (ms)', [
      chain(METRICS.renderTime, resize, 'p50', 'p50'),
      chain(METRICS.renderTime, resize, 'p99', 'p99'),
    ]);
    add('Upload to manifest (ms)', [
      chain(METRICS.uploadToManifest, publish, 'p50', 'p50'),
      chain(METRICS.uploadToManifest, publish, 'p99', 'p99'),
    ]);
    add('Cold starts', [
      chain(METRICS.coldStart, resize, 'Sum', resize),
      chain(METRICS.coldStart, publish, 'Sum', publish),
    ]);
    if (props.api) {
      const api = (metric: string, stat = 'Sum', label = metric): MetricLine => [
        'AWS/ApiGateway',
        metric,
        'ApiId',
        props.api!.apiId,
        'Stage',
        props.api!.stage,
        { label, stat },
      ];
      add('Upload API requests', [api('Count', 'Sum', 'requests'), api('4xx'), api('5xx')]);
      add('Upload API latency (ms)', [api('Latency', 'p50', 'p50'), api('Latency', 'p99', 'p99')]);
    }

    this.dashboardName = props.dashboardName;
    this.dashboard = new CloudwatchDashboard(this, 'dashboard', {
      dashboardName: props.dashboardName,
      dashboardBody: JSON.stringify({ widgets }),
    });
    this.url = `https://${region}.console.aws.amazon.com/cloudwatch/home?region=${region}#dashboards/dashboard/${this.dashboard.dashboardName}`;
  }
}
