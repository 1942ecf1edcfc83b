/**
 * EventBridge for the local cloud: rules and targets on the default event bus as the AWS provider
 * manages them (`aws_cloudwatch_event_rule`: PutRule, DescribeRule, EnableRule/DisableRule,
 * DeleteRule, tags; `aws_cloudwatch_event_target`: PutTargets, ListTargetsByRule, RemoveTargets),
 * over the awsJson 1.1 protocol (`AWSEvents.<Operation>`), with EventBridge's errors and messages.
 * Enabled `rate(…)` rules fire their Lambda targets through rule-schedule.ts when the local cloud
 * gives it an invoker; otherwise rules are records. As on AWS, PutTargets does not check that a
 * target exists.
 */
import { JsonError, type JsonService } from '../json-protocol';
import type { ScheduledRule } from './rule-schedule';

const DEFAULT_BUS = 'default';
const RULE_NAME = /^[.\-_A-Za-z0-9]{1,64}$/;
const TARGET_ID = /^[.\-_A-Za-z0-9]{1,64}$/;
const MAX_TARGETS_PER_RULE = 5;
/** `rate(1 minute)`, `rate(5 minutes)`, `cron(…)` with six fields. */
const RATE = /^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$/;
const CRON = /^cron\(\S+( \S+){5}\)$/;

interface Rule {
  readonly name: string;
  readonly arn: string;
  readonly bus: string;
  readonly fields: Record<string, unknown>;
  state: string;
  /** When the rule's schedule was put (ms): a schedule rule first fires one period later. */
  readonly scheduledSince: number;
  readonly tags: Map<string, string>;
  readonly targets: Map<string, Record<string, unknown>>;
}

function text(input: Record<string, unknown>, field: string): string | undefined {
  const value = input[field];
  return typeof value === 'string' ? value : undefined;
}

function validation(message: string): JsonError {
  return new JsonError('ValidationException', message);
}

function required(input: Record<string, unknown>, field: string): string {
  const value = text(input, field);
  if (!value)
    throw validation(
      `1 validation error detected: Value null at '${field.charAt(0).toLowerCase()}${field.slice(1)}' failed to ` +
        'satisfy constraint: Member must not be null',
    );
  return value;
}

/** ValidationException unless `expression` is a rate or cron expression EventBridge takes. */
export function checkScheduleExpression(expression: string): void {
  const rate = RATE.exec(expression);
  const valid = rate ? Number(rate[1]) > 0 && (rate[1] === '1') === !rate[2].endsWith('s') : CRON.test(expression);
  if (!valid) throw validation('Parameter ScheduleExpression is not valid.');
}

function tagPairs(value: unknown): Array<[string, string]> {
  if (!Array.isArray(value)) return [];
  return value.map((entry: unknown) => {
    const { Key, Value } = (entry ?? {}) as { Key?: unknown; Value?: unknown };
    return [typeof Key === 'string' ? Key : '', typeof Value === 'string' ? Value : ''];
  });
}

/** EventBridge's API, and its schedule rules for the scheduler (rule-schedule.ts). */
export interface EventsService extends JsonService {
  /** The rules with a schedule expression, as they are now. */
  schedules(): ScheduledRule[];
}

/** The EventBridge service of the local cloud. @param partition @default 'aws' */
export function eventsService(region: string, accountId: string, partition = 'aws'): EventsService {
  const rules = new Map<string, Rule>();
  const key = (bus: string, name: string): string => `${bus}/${name}`;
  const ruleArn = (bus: string, name: string): string =>
    `arn:${partition}:events:${region}:${accountId}:rule/${bus === DEFAULT_BUS ? '' : `${bus}/`}${name}`;

  /** The bus a request names (by name or ARN); only the default bus exists locally. */
  function busOf(input: Record<string, unknown>): string {
    const named = text(input, 'EventBusName') ?? DEFAULT_BUS;
    const bus = named.startsWith('arn:') ? named.slice(named.lastIndexOf('/') + 1) : named;
    if (bus !== DEFAULT_BUS) throw new JsonError('ResourceNotFoundException', `Event bus ${bus} does not exist.`);
    return bus;
  }

  function rule(input: Record<string, unknown>, field = 'Name'): Rule {
    const bus = busOf(input);
    const name = required(input, field);
    const found = rules.get(key(bus, name));
    if (!found) throw new JsonError('ResourceNotFoundException', `Rule ${name} does not exist on EventBus ${bus}.`);
    return found;
  }

  function ruleOfArn(arn: string): Rule {
    const found = [...rules.values()].find((r) => r.arn === arn);
    if (!found) {
      const name = arn.slice(arn.lastIndexOf('/') + 1);
      throw new JsonError('ResourceNotFoundException', `Rule ${name} does not exist on EventBus ${DEFAULT_BUS}.`);
    }
    return found;
  }

  function putRule(input: Record<string, unknown>): Record<string, unknown> {
    const bus = busOf(input);
    const name = required(input, 'Name');
    if (!RULE_NAME.test(name))
      throw validation(
        `1 validation error detected: Value '${name}' at 'name' failed to satisfy constraint: Member must satisfy ` +
          'regular expression pattern: [\\.\\-_A-Za-z0-9]+',
      );
    const schedule = text(input, 'ScheduleExpression');
    const pattern = text(input, 'EventPattern');
    if (!schedule && !pattern) throw validation('Parameter(s) EventPattern or ScheduleExpression must be specified.');
    if (schedule) checkScheduleExpression(schedule);
    if (pattern) {
      try {
        JSON.parse(pattern);
      } catch {
        throw new JsonError('InvalidEventPatternException', 'Event pattern is not valid. Reason: invalid JSON');
      }
    }
    const state = text(input, 'State') ?? 'ENABLED';
    if (!['ENABLED', 'DISABLED', 'ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS'].includes(state))
      throw validation(
        `1 validation error detected: Value '${state}' at 'state' failed to satisfy constraint: ` +
          'Member must satisfy enum value set: [ENABLED, DISABLED, ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS]',
      );
    const fields: Record<string, unknown> = {};
    for (const field of ['ScheduleExpression', 'EventPattern', 'Description', 'RoleArn'])
      if (text(input, field) !== undefined) fields[field] = text(input, field);
    const previous = rules.get(key(bus, name));
    const arn = ruleArn(bus, name);
    const sameSchedule = previous?.fields.ScheduleExpression === schedule;
    rules.set(key(bus, name), {
      name,
      arn,
      bus,
      fields,
      state,
      scheduledSince: previous && sameSchedule ? previous.scheduledSince : Date.now(),
      // PutRule's Tags apply when the rule is created; an update keeps its tags and targets.
      tags: previous?.tags ?? new Map(tagPairs(input.Tags)),
      targets: previous?.targets ?? new Map<string, Record<string, unknown>>(),
    });
    return { RuleArn: arn };
  }

  function describeRule(r: Rule): Record<string, unknown> {
    return { Name: r.name, Arn: r.arn, ...r.fields, State: r.state, EventBusName: r.bus, CreatedBy: accountId };
  }

  function putTargets(input: Record<string, unknown>): Record<string, unknown> {
    const r = rule(input, 'Rule');
    const targets = Array.isArray(input.Targets) ? (input.Targets as unknown[]) : [];
    if (targets.length === 0)
      throw validation(
        "1 validation error detected: Value '[]' at 'targets' failed to satisfy constraint: " +
          'Member must have length greater than or equal to 1',
      );
    const failed: Array<Record<string, unknown>> = [];
    for (const entry of targets) {
      const target = (typeof entry === 'object' && entry !== null ? entry : {}) as Record<string, unknown>;
      const id = text(target, 'Id') ?? '';
      if (!TARGET_ID.test(id) || !text(target, 'Arn')) {
        failed.push({
          TargetId: id,
          ErrorCode: 'ValidationException',
          ErrorMessage: 'Target Id and Arn are required.',
        });
        continue;
      }
      if (!r.targets.has(id) && r.targets.size >= MAX_TARGETS_PER_RULE)
        throw new JsonError(
          'LimitExceededException',
          'The requested resource exceeds the maximum number allowed. ' +
            `Rule ${r.name} can have at most ${MAX_TARGETS_PER_RULE} targets.`,
        );
      r.targets.set(id, target);
    }
    return { FailedEntryCount: failed.length, FailedEntries: failed };
  }

  function schedules(): ScheduledRule[] {
    return [...rules.values()]
      .filter((r) => typeof r.fields.ScheduleExpression === 'string')
      .map((r) => ({
        arn: r.arn,
        name: r.name,
        scheduleExpression: r.fields.ScheduleExpression as string,
        enabled: r.state !== 'DISABLED',
        scheduledSince: r.scheduledSince,
        targets: [...r.targets.values()],
      }));
  }

  return {
    targetPrefix: 'AWSEvents',
    schedules,
    operations: {
      PutRule: putRule,
      DescribeRule: (input) => describeRule(rule(input)),
      ListRules(input) {
        const bus = busOf(input);
        const prefix = text(input, 'NamePrefix') ?? '';
        const listed = [...rules.values()]
          .filter((r) => r.bus === bus && r.name.startsWith(prefix))
          .sort((a, b) => a.name.localeCompare(b.name));
        return { Rules: listed.map(describeRule) };
      },
      EnableRule(input) {
        rule(input).state = 'ENABLED';
        return {};
      },
      DisableRule(input) {
        rule(input).state = 'DISABLED';
        return {};
      },
      DeleteRule(input) {
        const bus = busOf(input);
        const name = required(input, 'Name');
        const found = rules.get(key(bus, name));
        // Deleting a rule that does not exist succeeds on EventBridge.
        if (!found) return {};
        if (found.targets.size > 0) throw validation("Rule can't be deleted since it has targets.");
        rules.delete(key(bus, name));
        return {};
      },
      PutTargets: putTargets,
      ListTargetsByRule: (input) => ({ Targets: [...rule(input, 'Rule').targets.values()] }),
      RemoveTargets(input) {
        const r = rule(input, 'Rule');
        const ids = Array.isArray(input.Ids) ? input.Ids.map(String) : [];
        for (const id of ids) r.targets.delete(id);
        return { FailedEntryCount: 0, FailedEntries: [] };
      },
      ListRuleNamesByTarget(input) {
        const arn = required(input, 'TargetArn');
        const names = [...rules.values()]
          .filter((r) => [...r.targets.values()].some((t) => t.Arn === arn))
          .map((r) => r.name)
          .sort();
        return { RuleNames: names };
      },
      ListTagsForResource(input) {
        const r = ruleOfArn(required(input, 'ResourceARN'));
        return { Tags: [...r.tags].map(([Key, Value]) => ({ Key, Value })) };
      },
      TagResource(input) {
        const r = ruleOfArn(required(input, 'ResourceARN'));
        for (const [k, v] of tagPairs(input.Tags)) r.tags.set(k, v);
        return {};
      },
      UntagResource(input) {
        const r = ruleOfArn(required(input, 'ResourceARN'));
        for (const k of Array.isArray(input.TagKeys) ? input.TagKeys : []) r.tags.delete(String(k));
        return {};
      },
    },
  };
}
