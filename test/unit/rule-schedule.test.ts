/**
 * Schedule rules firing (rule-schedule.ts) as pure logic, driven by tick(now) with a recording
 * invoker standing for Lambda's Invoke: when a rate rule is due, what each target receives, and
 * which rules and targets stay records.
 */
import { eventsService } from '../../src/local/cloud/events/events-api';
import {
  RuleScheduler,
  isFunctionArn,
  rateIntervalMs,
  scheduledEvent,
  type ScheduledRule,
} from '../../src/local/cloud/events/rule-schedule';
import type { InvokeFn } from '../../src/local/cloud/lambda/invoke-contract';

const FUNCTION = 'arn:aws:lambda:us-east-1:000000000000:function:chain-upload';
const MINUTE = 60_000;

/** An events service with one rule and its targets, a scheduler over it, and what the invoker was given. */
async function setup(rule: Record<string, unknown>, targets: Array<Record<string, unknown>>, withInvoker = true) {
  const events = eventsService('us-east-1', '000000000000');
  await events.operations.PutRule({ Name: 'keep-warm', ...rule });
  await events.operations.PutTargets({ Rule: 'keep-warm', Targets: targets });
  const calls: Array<{ arn: string; payload: unknown }> = [];
  const logs: Array<Record<string, unknown>> = [];
  const invoker =
    (arn: string): InvokeFn =>
    async (payload) => {
      calls.push({ arn, payload });
      return { ok: true, requestId: `req-${calls.length}`, payload: null, durationMs: 1 };
    };
  const scheduler = new RuleScheduler({
    rules: () => events.schedules(),
    invoker: withInvoker ? invoker : undefined,
    region: 'us-east-1',
    accountId: '000000000000',
    logSink: (line) => logs.push(line),
  });
  const since = events.schedules()[0].scheduledSince;
  return { events, scheduler, calls, logs, since };
}

test.each([
  ['rate(1 minute)', MINUTE],
  ['rate(5 minutes)', 5 * MINUTE],
  ['rate(2 hours)', 2 * 60 * MINUTE],
  ['rate(1 day)', 24 * 60 * MINUTE],
  ['cron(0 12 * * ? *)', undefined],
])('rateIntervalMs(%s) is %s', (expression, ms) => {
  expect(rateIntervalMs(expression)).toBe(ms);
});

test('a rate rule fires one period after it was put, then once per period, with the target Input', async () => {
  const input = { source: 'resize-chain.keep-warm' };
  const { scheduler, calls, logs, since } = await setup({ ScheduleExpression: 'rate(5 minutes)' }, [
    { Id: 'keep-warm-1', Arn: FUNCTION, Input: JSON.stringify(input) },
    { Id: 'keep-warm-2', Arn: FUNCTION, Input: JSON.stringify(input) },
  ]);
  await scheduler.tick(since + 5 * MINUTE - 1);
  expect(calls).toEqual([]);
  await scheduler.tick(since + 5 * MINUTE);
  expect(calls).toEqual([
    { arn: FUNCTION, payload: input },
    { arn: FUNCTION, payload: input },
  ]);
  await scheduler.tick(since + 9 * MINUTE);
  expect(calls).toHaveLength(2);
  await scheduler.tick(since + 10 * MINUTE);
  expect(calls).toHaveLength(4);
  expect(logs.filter((l) => l.event === 'events.delivered')).toHaveLength(4);
});

test('a target without Input receives the Scheduled Event naming the rule', async () => {
  const { scheduler, calls, since } = await setup({ ScheduleExpression: 'rate(1 minute)' }, [
    { Id: 't', Arn: FUNCTION },
  ]);
  await scheduler.tick(since + MINUTE);
  expect(calls[0].payload).toMatchObject({
    'detail-type': 'Scheduled Event',
    source: 'aws.events',
    account: '000000000000',
    region: 'us-east-1',
    resources: ['arn:aws:events:us-east-1:000000000000:rule/keep-warm'],
    detail: {},
  });
});

test('a disabled rule, a cron rule, a non-Lambda target and a scheduler without invoker do not deliver', async () => {
  const disabled = await setup({ ScheduleExpression: 'rate(1 minute)', State: 'DISABLED' }, [
    { Id: 't', Arn: FUNCTION },
  ]);
  await disabled.scheduler.tick(disabled.since + 10 * MINUTE);
  expect(disabled.calls).toEqual([]);

  const cron = await setup({ ScheduleExpression: 'cron(0 12 * * ? *)' }, [{ Id: 't', Arn: FUNCTION }]);
  await cron.scheduler.tick(cron.since + 2 * 24 * 60 * MINUTE);
  expect(cron.calls).toEqual([]);

  const queue = await setup({ ScheduleExpression: 'rate(1 minute)' }, [
    { Id: 'q', Arn: 'arn:aws:sqs:us-east-1:000000000000:q' },
  ]);
  await queue.scheduler.tick(queue.since + MINUTE);
  await queue.scheduler.tick(queue.since + 2 * MINUTE);
  expect(queue.calls).toEqual([]);
  // Logged once per rule and target, not at every firing.
  expect(queue.logs).toEqual([
    {
      event: 'events.target_not_delivered',
      level: 'warn',
      rule: 'keep-warm',
      target: 'arn:aws:sqs:us-east-1:000000000000:q',
    },
  ]);

  const inert = await setup({ ScheduleExpression: 'rate(1 minute)' }, [{ Id: 't', Arn: FUNCTION }], false);
  await inert.scheduler.tick(inert.since + MINUTE);
  expect(inert.calls).toEqual([]);
  expect(inert.logs).toMatchObject([{ event: 'events.target_not_delivered' }]);
});

test('a delivery that fails is logged with the function error code', async () => {
  const events = eventsService('us-east-1', '000000000000');
  await events.operations.PutRule({ Name: 'r', ScheduleExpression: 'rate(1 minute)' });
  await events.operations.PutTargets({ Rule: 'r', Targets: [{ Id: 't', Arn: FUNCTION }] });
  const logs: Array<Record<string, unknown>> = [];
  const scheduler = new RuleScheduler({
    rules: () => events.schedules(),
    invoker: () => () =>
      Promise.reject(
        Object.assign(new Error('Function not found: chain-upload'), { code: 'ResourceNotFoundException' }),
      ),
    region: 'us-east-1',
    accountId: '000000000000',
    logSink: (line) => logs.push(line),
  });
  await scheduler.tick(events.schedules()[0].scheduledSince + MINUTE);
  expect(logs).toEqual([
    {
      event: 'events.delivery_failed',
      level: 'error',
      rule: 'r',
      target: FUNCTION,
      code: 'ResourceNotFoundException',
      message: 'Function not found: chain-upload',
    },
  ]);
});

test('isFunctionArn takes function ARNs with or without a qualifier, nothing else', () => {
  expect(
    [FUNCTION, `${FUNCTION}:live`, 'arn:aws:sqs:us-east-1:000000000000:q', 'chain-upload'].map(isFunctionArn),
  ).toEqual([true, true, false, false]);
});

test('scheduledEvent writes the time without milliseconds, as EventBridge does', () => {
  const rule: ScheduledRule = {
    arn: 'arn:aws:events:us-east-1:000000000000:rule/r',
    name: 'r',
    scheduleExpression: 'rate(1 minute)',
    enabled: true,
    scheduledSince: 0,
    targets: [],
  };
  expect(scheduledEvent(rule, Date.UTC(2026, 0, 2, 3, 4, 5, 678), 'us-east-1', '000000000000')).toMatchObject({
    time: '2026-01-02T03:04:05Z',
  });
});
