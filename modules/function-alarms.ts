/**
 * Alarms on the functions themselves and on what only the chain's own metrics can tell: Lambda's
 * Errors, Throttles and Duration near the timeout for any function; the records a queue-driven
 * stage reports for retry (the invocation succeeds, so Errors stays 0); rejected images; and the
 * 5xx answers of an HTTP API. The queue alarms live with the queues (`BufferedQueue`).
 */
import { Construct } from 'constructs';
import { Annotations, Op, Token } from 'cdktf';
import { CloudwatchMetricAlarm, CloudwatchMetricAlarmConfig } from '@cdktf/provider-aws/lib/cloudwatch-metric-alarm';
import { CODE_DIMENSION, FUNCTION_DIMENSION, METRICS, METRICS_NAMESPACE } from '../src/core/metrics';
import { ContainerFunction } from './container-function';
import { isKnown } from './validation';

type AlarmSettings = Omit<CloudwatchMetricAlarmConfig, 'alarmActions' | 'okActions' | 'tags' | 'treatMissingData'>;

/** What every alarm of the chain shares: notify on alarm and on recovery; no data is not a breach. */
function alarm(
  scope: Construct,
  id: string,
  settings: AlarmSettings,
  alarmActions: string[],
  tags?: Record<string, string>,
): CloudwatchMetricAlarm {
  return new CloudwatchMetricAlarm(scope, id, {
    ...settings,
    treatMissingData: 'notBreaching',
    alarmActions,
    okActions: alarmActions,
    tags,
  });
}

/** The warning every alarm-creating construct gives when its alarms would notify nobody. */
export function warnWithoutAlarmActions(scope: Construct, alarmActions: string[], prop = 'alarmActions'): void {
  if (alarmActions.length > 0) return;
  Annotations.of(scope).addWarning(
    `${prop} is empty: the alarms are created but notify nobody. ` +
      `Pass an SNS topic ARN (whose key CloudWatch may use) in ${prop}.`,
  );
}

export interface FunctionAlarmsProps {
  readonly fn: ContainerFunction;
  /** SNS topic ARNs (or other alarm action ARNs) notified when an alarm fires or recovers. @default [] */
  readonly alarmActions?: string[];
  /** The duration alarm fires when the p99 Duration stays above this share of the timeout (0-1). @default 0.8 */
  readonly durationShareOfTimeout?: number;
  /**
   * Also alarm on the chain's `RecordsFailed` metric (src/core/metrics.ts): records a queue-driven
   * stage hands back for a retry, for 15 minutes in a row. Only for the chain's resize and publish handlers.
   * @default false
   */
  readonly recordsFailed?: boolean;
  readonly tags?: Record<string, string>;
}

/** Errors, Throttles and Duration near the timeout of one function (plus `RecordsFailed` on request). */
export class FunctionAlarms extends Construct {
  readonly errors: CloudwatchMetricAlarm;
  readonly throttles: CloudwatchMetricAlarm;
  readonly duration: CloudwatchMetricAlarm;
  readonly recordsFailed?: CloudwatchMetricAlarm;
  readonly alarms: CloudwatchMetricAlarm[];

  constructor(scope: Construct, id: string, props: FunctionAlarmsProps) {
    super(scope, id);
    const name = props.fn.functionName;
    const actions = props.alarmActions ?? [];
    const lambda = { namespace: 'AWS/Lambda', dimensions: { FunctionName: name } };
    // Any failed or throttled invocation in five minutes: each retries or delays a whole batch.
    const anyIn5Minutes = (id: string, metricName: string, alarmDescription: string): CloudwatchMetricAlarm =>
      alarm(
        this,
        id,
        {
          ...lambda,
          alarmName: `${name}-${id}`,
          alarmDescription,
          metricName,
          statistic: 'Sum',
          period: 300,
          evaluationPeriods: 1,
          threshold: 1,
          comparisonOperator: 'GreaterThanOrEqualToThreshold',
        },
        actions,
        props.tags,
      );
    this.errors = anyIn5Minutes(
      'errors',
      'Errors',
      `${name} failed invocations (a thrown error, a timeout or out of memory): their whole batch is retried.`,
    );
    this.throttles = anyIn5Minutes(
      'throttles',
      'Throttles',
      `${name} was throttled: the account's or the function's concurrency limit is reached.`,
    );
    const share = props.durationShareOfTimeout ?? 0.8;
    const timeout = props.fn.timeout;
    // The timeout may be a Terraform expression (the plain module's variable): then so is the threshold.
    const thresholdMs = isKnown(timeout) ? timeout * 1000 * share : Token.asNumber(Op.mul(timeout, 1000 * share));
    this.duration = alarm(
      this,
      'duration',
      {
        ...lambda,
        alarmName: `${name}-duration-near-timeout`,
        alarmDescription:
          `The p99 duration of ${name} is above ${Math.round(share * 100)} % of its timeout: ` +
          `invocations are close to being cut off.`,
        metricName: 'Duration',
        extendedStatistic: 'p99',
        period: 300,
        evaluationPeriods: 3,
        datapointsToAlarm: 2,
        threshold: thresholdMs,
        comparisonOperator: 'GreaterThanThreshold',
      },
      actions,
      props.tags,
    );
    this.alarms = [this.errors, this.throttles, this.duration];
    if (props.recordsFailed) {
      this.recordsFailed = alarm(
        this,
        'records-failed',
        {
          alarmName: `${name}-records-failed`,
          alarmDescription:
            `${name} handed records back for a retry in each of the last 15 minutes (transient S3, ` +
            `SQS or webhook faults). The invocations succeed, so the Errors alarm does not see it.`,
          namespace: METRICS_NAMESPACE,
          metricName: METRICS.recordsFailed.name,
          dimensions: { [FUNCTION_DIMENSION]: name },
          statistic: 'Sum',
          period: 300,
          evaluationPeriods: 3,
          threshold: 1,
          comparisonOperator: 'GreaterThanOrEqualToThreshold',
        },
        actions,
        props.tags,
      );
      this.alarms.push(this.recordsFailed);
    }
  }
}

export interface RejectedImagesAlarmsProps {
  readonly fn: ContainerFunction;
  readonly alarmActions?: string[];
  /** Rejected images in one hour that fire the alarm. @default 10 */
  readonly threshold?: number;
  readonly tags?: Record<string, string>;
}

/**
 * Two alarms on the resize function's `ImagesRejected` metric: any rejection with code
 * INVALID_EVENT (a message on the ingest queue that is not an S3 notification: a misconfigured
 * producer, not a bad upload), and more than `threshold` rejections of any code in an hour
 * (a client that uploads what is not an image, or limits set too low).
 */
export function rejectedImagesAlarms(scope: Construct, props: RejectedImagesAlarmsProps): CloudwatchMetricAlarm[] {
  const name = props.fn.functionName;
  const actions = props.alarmActions ?? [];
  const metric = {
    namespace: METRICS_NAMESPACE,
    metricName: METRICS.imagesRejected.name,
    statistic: 'Sum',
    comparisonOperator: 'GreaterThanOrEqualToThreshold',
  };
  return [
    alarm(
      scope,
      'rejected-images-alarm',
      {
        ...metric,
        alarmName: `${name}-rejected-images`,
        alarmDescription:
          `${name} rejected many images in an hour: ` +
          `see the rejected queue and the dashboard's "rejected by code".`,
        dimensions: { [FUNCTION_DIMENSION]: name },
        period: 3600,
        evaluationPeriods: 1,
        threshold: props.threshold ?? 10,
      },
      actions,
      props.tags,
    ),
    alarm(
      scope,
      'invalid-events-alarm',
      {
        ...metric,
        alarmName: `${name}-invalid-events`,
        alarmDescription:
          `${name} received messages that are not S3 notifications (code INVALID_EVENT): ` +
          `something other than the bucket sends to the ingest queue.`,
        dimensions: { [FUNCTION_DIMENSION]: name, [CODE_DIMENSION]: 'INVALID_EVENT' },
        period: 300,
        evaluationPeriods: 1,
        threshold: 1,
      },
      actions,
      props.tags,
    ),
  ];
}

/** 5xx answers of an HTTP API stage (API Gateway's own faults and the integration's): at least one in 5 minutes. */
export function apiServerErrorsAlarm(
  scope: Construct,
  id: string,
  props: { apiId: string; apiName: string; stage: string; alarmActions?: string[]; tags?: Record<string, string> },
): CloudwatchMetricAlarm {
  return alarm(
    scope,
    id,
    {
      alarmName: `${props.apiName}-5xx`,
      alarmDescription:
        `${props.apiName} answered with 5xx: ` + 'the upload function failed or API Gateway could not reach it.',
      namespace: 'AWS/ApiGateway',
      metricName: '5xx',
      dimensions: { ApiId: props.apiId, Stage: props.stage },
      statistic: 'Sum',
      period: 300,
      evaluationPeriods: 1,
      threshold: 1,
      comparisonOperator: 'GreaterThanOrEqualToThreshold',
    },
    props.alarmActions ?? [],
    props.tags,
  );
}
