/**
 * CloudWatch Logs for the local cloud, the log-group calls the AWS provider makes for
 * `aws_cloudwatch_log_group` (create, describe by prefix, retention, tags, delete) over the awsJson
 * 1.1 protocol, with Logs' own errors and messages. Groups are held in memory; no log events are
 * stored (the local functions write their logs to the terminal and `--logs`).
 */
import { JsonError, type JsonService } from '../json-protocol';

/** The retention periods Logs accepts, in days. */
const RETENTION_DAYS = new Set([
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
]);

const NAME = /^[.\-_/#A-Za-z0-9]{1,512}$/;

interface LogGroup {
  readonly name: string;
  readonly creationTime: number;
  retentionInDays?: number;
  readonly kmsKeyId?: string;
  readonly logGroupClass: string;
  readonly tags: Map<string, string>;
}

function text(input: Record<string, unknown>, field: string): string | undefined {
  const value = input[field];
  return typeof value === 'string' ? value : undefined;
}

function tagRecord(value: unknown): Array<[string, string]> {
  if (typeof value !== 'object' || value === null) return [];
  return Object.entries(value as Record<string, unknown>).map(([k, v]) => [k, String(v)]);
}

/** The CloudWatch Logs service of the local cloud. */
export function logsService(region: string, accountId: string, partition = 'aws'): JsonService {
  const groups = new Map<string, LogGroup>();
  const arnOf = (name: string): string => `arn:${partition}:logs:${region}:${accountId}:log-group:${name}`;

  function required(input: Record<string, unknown>, field: string): string {
    const value = text(input, field);
    if (!value)
      throw new JsonError(
        'InvalidParameterException',
        `1 validation error detected: Value null at '${field}' failed to satisfy constraint: Member must not be null`,
      );
    return value;
  }

  function group(name: string): LogGroup {
    const found = groups.get(name);
    if (!found) throw new JsonError('ResourceNotFoundException', 'The specified log group does not exist.');
    return found;
  }

  /** The group a tagging call names by ARN (with or without the `:*` suffix). */
  function groupOfArn(arn: string): LogGroup {
    const prefix = arnOf('');
    if (!arn.startsWith(prefix))
      throw new JsonError('ResourceNotFoundException', 'The specified resource does not exist.');
    return group(arn.slice(prefix.length).replace(/:\*$/, ''));
  }

  function describe(g: LogGroup): Record<string, unknown> {
    return {
      logGroupName: g.name,
      creationTime: g.creationTime,
      ...(g.retentionInDays !== undefined ? { retentionInDays: g.retentionInDays } : {}),
      metricFilterCount: 0,
      arn: `${arnOf(g.name)}:*`,
      logGroupArn: arnOf(g.name),
      storedBytes: 0,
      ...(g.kmsKeyId ? { kmsKeyId: g.kmsKeyId } : {}),
      logGroupClass: g.logGroupClass,
    };
  }

  return {
    targetPrefix: 'Logs_20140328',
    operations: {
      CreateLogGroup(input) {
        const name = required(input, 'logGroupName');
        if (!NAME.test(name))
          throw new JsonError(
            'InvalidParameterException',
            `1 validation error detected: Value '${name}' at 'logGroupName' failed to satisfy constraint: ` +
              `Member must satisfy regular expression pattern: [\\.\\-_/#A-Za-z0-9]+`,
          );
        if (groups.has(name))
          throw new JsonError('ResourceAlreadyExistsException', 'The specified log group already exists');
        groups.set(name, {
          name,
          creationTime: Date.now(),
          kmsKeyId: text(input, 'kmsKeyId'),
          logGroupClass: text(input, 'logGroupClass') ?? 'STANDARD',
          tags: new Map(tagRecord(input.tags)),
        });
        return {};
      },
      DescribeLogGroups(input) {
        const prefix = text(input, 'logGroupNamePrefix') ?? '';
        const listed = [...groups.values()]
          .filter((g) => g.name.startsWith(prefix))
          .sort((a, b) => a.name.localeCompare(b.name));
        return { logGroups: listed.map(describe) };
      },
      PutRetentionPolicy(input) {
        const g = group(required(input, 'logGroupName'));
        const days = input.retentionInDays;
        if (typeof days !== 'number' || !RETENTION_DAYS.has(days)) {
          throw new JsonError(
            'InvalidParameterException',
            `1 validation error detected: Value '${String(days)}' at 'retentionInDays' failed to ` +
              `satisfy constraint: Member must satisfy enum value set: [${[...RETENTION_DAYS].join(', ')}]`,
          );
        }
        g.retentionInDays = days;
        return {};
      },
      DeleteRetentionPolicy(input) {
        delete group(required(input, 'logGroupName')).retentionInDays;
        return {};
      },
      DeleteLogGroup(input) {
        const name = required(input, 'logGroupName');
        group(name);
        groups.delete(name);
        return {};
      },
      ListTagsForResource(input) {
        return { tags: Object.fromEntries(groupOfArn(required(input, 'resourceArn')).tags) };
      },
      TagResource(input) {
        const g = groupOfArn(required(input, 'resourceArn'));
        for (const [k, v] of tagRecord(input.tags)) g.tags.set(k, v);
        return {};
      },
      UntagResource(input) {
        const g = groupOfArn(required(input, 'resourceArn'));
        for (const key of Array.isArray(input.tagKeys) ? input.tagKeys : []) g.tags.delete(String(key));
        return {};
      },
      ListTagsLogGroup(input) {
        return { tags: Object.fromEntries(group(required(input, 'logGroupName')).tags) };
      },
    },
  };
}
