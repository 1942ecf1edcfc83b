/**
 * CloudWatch for the local cloud: metric alarms and dashboards as the AWS provider manages them
 * (`aws_cloudwatch_metric_alarm`: PutMetricAlarm, DescribeAlarms, DeleteAlarms and the tag calls;
 * `aws_cloudwatch_dashboard`: PutDashboard, GetDashboard, DeleteDashboards, ListDashboards), over
 * the Query protocol the provider's SDK speaks for CloudWatch (form-encoded `Action=…&Version=2010-08-01`,
 * signing name `monitoring`), with CloudWatch's errors and messages. Alarms are inert: no metric is
 * collected, so each stays in `INSUFFICIENT_DATA` and never runs its actions; they are readable,
 * as applied.
 */
import {
  QueryError,
  memberRecords,
  memberStrings,
  members,
  type QueryParams,
  type QueryService,
  type QueryValue,
} from '../query-protocol';

export const CLOUDWATCH_XMLNS = 'http://monitoring.amazonaws.com/doc/2010-08-01/';

const COMPARISON_OPERATORS = new Set([
  'GreaterThanOrEqualToThreshold',
  'GreaterThanThreshold',
  'LessThanThreshold',
  'LessThanOrEqualToThreshold',
  'LessThanLowerOrGreaterThanUpperThreshold',
  'LessThanLowerThreshold',
  'GreaterThanUpperThreshold',
]);
const STATISTICS = new Set(['SampleCount', 'Average', 'Sum', 'Minimum', 'Maximum']);
const TREAT_MISSING_DATA = new Set(['breaching', 'notBreaching', 'ignore', 'missing']);

/** The alarm fields PutMetricAlarm takes as plain strings (copied as given). */
const ALARM_TEXT_FIELDS = [
  'AlarmDescription',
  'MetricName',
  'Namespace',
  'Statistic',
  'ExtendedStatistic',
  'Unit',
  'ComparisonOperator',
  'TreatMissingData',
  'EvaluateLowSampleCountPercentile',
  'ThresholdMetricId',
] as const;
/** The alarm fields PutMetricAlarm takes as numbers. */
const ALARM_NUMBER_FIELDS = ['Period', 'EvaluationPeriods', 'DatapointsToAlarm', 'Threshold'] as const;

interface MetricAlarm {
  readonly name: string;
  readonly fields: Record<string, QueryValue>;
  readonly configurationUpdated: string;
  readonly stateUpdated: string;
  readonly tags: Map<string, string>;
}

interface Dashboard {
  readonly name: string;
  readonly body: string;
  readonly lastModified: string;
}

function missing(field: string): QueryError {
  return new QueryError('MissingParameter', `The parameter ${field} is required.`);
}

function required(params: QueryParams, field: string): string {
  const value = params[field];
  if (!value) throw missing(field);
  return value;
}

/** InvalidParameterValue unless `value` is one of `allowed`. */
function oneOf(field: string, value: string | undefined, allowed: ReadonlySet<string>): void {
  if (value !== undefined && !allowed.has(value))
    throw new QueryError(
      'InvalidParameterValue',
      `1 validation error detected: Value '${value}' at '${field.charAt(0).toLowerCase()}${field.slice(1)}' ` +
        `failed to satisfy constraint: Member must satisfy enum value set: [${[...allowed].join(', ')}]`,
    );
}

function tagsOf(params: QueryParams): Array<[string, string]> {
  return memberRecords(params, 'Tags').map((tag) => [tag.Key ?? '', tag.Value ?? '']);
}

/** The alarm's settings as DescribeAlarms lists them, from a PutMetricAlarm request. */
function alarmFields(params: QueryParams): Record<string, QueryValue> {
  const fields: Record<string, QueryValue> = {};
  for (const name of ALARM_TEXT_FIELDS) if (params[name] !== undefined) fields[name] = params[name];
  for (const name of ALARM_NUMBER_FIELDS) {
    if (params[name] === undefined) continue;
    const value = Number(params[name]);
    if (!Number.isFinite(value))
      throw new QueryError('InvalidParameterValue', `The parameter ${name} must be a number.`);
    fields[name] = value;
  }
  fields.ActionsEnabled = params.ActionsEnabled !== 'false';
  for (const list of ['OKActions', 'AlarmActions', 'InsufficientDataActions'])
    fields[list] = members(memberStrings(params, list));
  fields.Dimensions = members(memberRecords(params, 'Dimensions').map((d) => ({ Name: d.Name, Value: d.Value })));
  return fields;
}

/** CloudWatch's refusals of an alarm definition (the ones a configuration can get wrong). */
function checkAlarm(params: QueryParams): void {
  oneOf('ComparisonOperator', params.ComparisonOperator, COMPARISON_OPERATORS);
  oneOf('Statistic', params.Statistic, STATISTICS);
  oneOf('TreatMissingData', params.TreatMissingData, TREAT_MISSING_DATA);
  const hasMetrics = params['Metrics.member.1.Id'] !== undefined;
  if (!hasMetrics && !params.MetricName) throw missing('MetricName');
  if (params.Statistic && params.ExtendedStatistic)
    throw new QueryError(
      'InvalidParameterCombination',
      'Exactly one of Statistic and ExtendedStatistic must be set, or Metrics must be set.',
    );
  if (!hasMetrics && !params.Statistic && !params.ExtendedStatistic)
    throw new QueryError(
      'InvalidParameterCombination',
      'Exactly one of Statistic and ExtendedStatistic must be set, or Metrics must be set.',
    );
  if (!params.EvaluationPeriods) throw missing('EvaluationPeriods');
}

/** The CloudWatch (alarms and dashboards) service of the local cloud. @param partition @default 'aws' */
export function cloudwatchService(region: string, accountId: string, partition = 'aws'): QueryService {
  const alarms = new Map<string, MetricAlarm>();
  const dashboards = new Map<string, Dashboard>();
  const alarmArn = (name: string): string => `arn:${partition}:cloudwatch:${region}:${accountId}:alarm:${name}`;
  const dashboardArn = (name: string): string => `arn:${partition}:cloudwatch::${accountId}:dashboard/${name}`;

  function describe(alarm: MetricAlarm): Record<string, QueryValue> {
    return {
      AlarmName: alarm.name,
      AlarmArn: alarmArn(alarm.name),
      AlarmConfigurationUpdatedTimestamp: alarm.configurationUpdated,
      StateValue: 'INSUFFICIENT_DATA',
      StateReason: 'Unchecked: Initial alarm creation',
      StateUpdatedTimestamp: alarm.stateUpdated,
      StateTransitionedTimestamp: alarm.stateUpdated,
      ...alarm.fields,
    };
  }

  /** The alarm a tagging call names by ARN; ResourceNotFoundException when there is none. */
  function alarmOfArn(arn: string): MetricAlarm {
    const prefix = alarmArn('');
    const alarm = arn.startsWith(prefix) ? alarms.get(arn.slice(prefix.length)) : undefined;
    if (!alarm) throw new QueryError('ResourceNotFoundException', `The specified resource ${arn} does not exist.`, 404);
    return alarm;
  }

  function putMetricAlarm(params: QueryParams): undefined {
    const name = required(params, 'AlarmName');
    checkAlarm(params);
    const now = new Date().toISOString();
    const previous = alarms.get(name);
    alarms.set(name, {
      name,
      fields: alarmFields(params),
      configurationUpdated: now,
      stateUpdated: previous?.stateUpdated ?? now,
      // PutMetricAlarm's Tags apply at creation only; an update keeps the alarm's tags.
      tags: previous?.tags ?? new Map(tagsOf(params)),
    });
    return undefined;
  }

  function describeAlarms(params: QueryParams): Record<string, QueryValue> {
    const names = memberStrings(params, 'AlarmNames');
    const prefix = params.AlarmNamePrefix ?? '';
    const types = memberStrings(params, 'AlarmTypes');
    const listed =
      types.length > 0 && !types.includes('MetricAlarm')
        ? []
        : [...alarms.values()]
            .filter((a) => (names.length === 0 || names.includes(a.name)) && a.name.startsWith(prefix))
            .sort((a, b) => a.name.localeCompare(b.name));
    return { MetricAlarms: members(listed.map(describe)), CompositeAlarms: members([]) };
  }

  function deleteAlarms(params: QueryParams): undefined {
    const names = memberStrings(params, 'AlarmNames');
    const absent = names.filter((name) => !alarms.has(name));
    if (absent.length > 0) throw new QueryError('ResourceNotFound', `${absent.join(', ')} does not exist`, 404);
    for (const name of names) alarms.delete(name);
    return undefined;
  }

  function putDashboard(params: QueryParams): Record<string, QueryValue> {
    const name = required(params, 'DashboardName');
    const body = required(params, 'DashboardBody');
    if (!/^[A-Za-z0-9_-]{1,255}$/.test(name))
      throw new QueryError(
        'InvalidParameterValue',
        'The value for field DashboardName contains invalid characters. ' +
          'It can only contain alphanumerics, dash (-) and underscore (_).',
      );
    let parsed: unknown;
    try {
      parsed = JSON.parse(body);
    } catch {
      parsed = undefined;
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
      throw new QueryError('InvalidParameterInput', 'The field DashboardBody must be a valid JSON object');
    dashboards.set(name, { name, body, lastModified: new Date().toISOString() });
    return { DashboardValidationMessages: members([]) };
  }

  function dashboard(name: string): Dashboard {
    const found = dashboards.get(name);
    if (!found) throw new QueryError('ResourceNotFound', `Dashboard ${name} does not exist`, 404);
    return found;
  }

  return {
    xmlns: CLOUDWATCH_XMLNS,
    operations: {
      PutMetricAlarm: putMetricAlarm,
      DescribeAlarms: describeAlarms,
      DeleteAlarms: deleteAlarms,
      ListTagsForResource(params) {
        const arn = required(params, 'ResourceARN');
        const tags = arn.startsWith(dashboardArn('')) ? new Map<string, string>() : alarmOfArn(arn).tags;
        return { Tags: members([...tags].map(([Key, Value]) => ({ Key, Value }))) };
      },
      TagResource(params) {
        const alarm = alarmOfArn(required(params, 'ResourceARN'));
        for (const [key, value] of tagsOf(params)) alarm.tags.set(key, value);
        return {};
      },
      UntagResource(params) {
        const alarm = alarmOfArn(required(params, 'ResourceARN'));
        for (const key of memberStrings(params, 'TagKeys')) alarm.tags.delete(key);
        return {};
      },
      PutDashboard: putDashboard,
      GetDashboard(params) {
        const found = dashboard(required(params, 'DashboardName'));
        return { DashboardArn: dashboardArn(found.name), DashboardBody: found.body, DashboardName: found.name };
      },
      DeleteDashboards(params) {
        const names = memberStrings(params, 'DashboardNames');
        for (const name of names) dashboard(name);
        for (const name of names) dashboards.delete(name);
        return {};
      },
      ListDashboards(params) {
        const prefix = params.DashboardNamePrefix ?? '';
        const listed = [...dashboards.values()]
          .filter((d) => d.name.startsWith(prefix))
          .sort((a, b) => a.name.localeCompare(b.name));
        return {
          DashboardEntries: members(
            listed.map((d) => ({
              DashboardName: d.name,
              DashboardArn: dashboardArn(d.name),
              LastModified: d.lastModified,
              Size: Buffer.byteLength(d.body),
            })),
          ),
        };
      },
    },
  };
}
