/**
 * Schedule rules that fire: every enabled `rate(…)` rule on the default bus sends EventBridge's
 * "Scheduled Event" (or the target's constant `Input`) to each of its Lambda targets, once per
 * period, through the invoker the local cloud gives (a function's synchronous Invoke). Without an
 * invoker, or for `cron(…)` rules and targets that are not Lambda functions, rules stay records
 * (each skipped firing is logged once per rule and target). A failed delivery is logged with the
 * function's error; it is not retried (the module's keep-warm targets set no retries either).
 */
import { randomUUID } from 'node:crypto';
import type { FunctionInvoker, LogSink } from '../lambda/invoke-contract';

/** A rule as the scheduler reads it (events-api.ts, `schedules()`). */
export interface ScheduledRule {
  readonly arn: string;
  readonly name: string;
  readonly scheduleExpression: string;
  readonly enabled: boolean;
  /** When the rule (or its schedule) was last put, ms since the epoch: the first firing is one period later. */
  readonly scheduledSince: number;
  readonly targets: ReadonlyArray<Readonly<Record<string, unknown>>>;
}

const UNIT_MS: Readonly<Record<string, number>> = { minute: 60_000, hour: 3_600_000, day: 86_400_000 };

/** The period of a `rate(N unit[s])` expression in ms; undefined for cron(…) and anything else. */
export function rateIntervalMs(expression: string): number | undefined {
  const rate = /^rate\((\d+) (minute|hour|day)s?\)$/.exec(expression);
  return rate ? Number(rate[1]) * UNIT_MS[rate[2]] : undefined;
}

/** The event EventBridge sends for one firing of a schedule rule. */
export function scheduledEvent(rule: ScheduledRule, time: number, region: string, accountId: string): unknown {
  return {
    version: '0',
    id: randomUUID(),
    'detail-type': 'Scheduled Event',
    source: 'aws.events',
    account: accountId,
    time: new Date(time).toISOString().replace(/\.\d{3}Z$/, 'Z'),
    region,
    resources: [rule.arn],
    detail: {},
  };
}

/** What a target receives: its constant `Input` (JSON) when it has one, else the event itself. */
export function targetPayload(target: Readonly<Record<string, unknown>>, event: unknown): unknown {
  return typeof target.Input === 'string' ? (JSON.parse(target.Input) as unknown) : event;
}

/** True for a Lambda function ARN (with or without a qualifier), the only target kind delivered locally. */
export function isFunctionArn(arn: unknown): arn is string {
  return typeof arn === 'string' && /^arn:[^:]+:lambda:[^:]*:\d{12}:function:[^:]+(:[^:]+)?$/.test(arn);
}

export interface RuleSchedulerOptions {
  /** The rules now, read at each tick. */
  rules: () => readonly ScheduledRule[];
  /** Invokes the function a target ARN names. @default none: rules do not fire */
  invoker?: FunctionInvoker;
  region: string;
  accountId: string;
  /** @default no logging */
  logSink?: LogSink;
  /** How often due rules are looked for. @default 1000 ms */
  tickMs?: number;
}

/** Fires due schedule rules (see the file comment); start() looks every tickMs, stop() ends that. */
export class RuleScheduler {
  private readonly lastFired = new Map<string, number>();
  private readonly skipped = new Set<string>();
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly opts: RuleSchedulerOptions) {}

  start(): void {
    if (this.timer || !this.opts.invoker) return;
    this.timer = setInterval(() => void this.tick(Date.now()), this.opts.tickMs ?? 1000);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Fires every rule due at `now` (once, however many periods passed); settles when their deliveries have. */
  async tick(now: number): Promise<void> {
    const deliveries: Array<Promise<void>> = [];
    for (const rule of this.opts.rules()) {
      const period = rateIntervalMs(rule.scheduleExpression);
      if (!rule.enabled || period === undefined) continue;
      const since = Math.max(rule.scheduledSince, this.lastFired.get(rule.arn) ?? 0);
      if (now < since + period) continue;
      this.lastFired.set(rule.arn, now);
      const event = scheduledEvent(rule, now, this.opts.region, this.opts.accountId);
      for (const target of rule.targets) deliveries.push(this.deliver(rule, target, event));
    }
    await Promise.all(deliveries);
  }

  private async deliver(rule: ScheduledRule, target: Readonly<Record<string, unknown>>, event: unknown): Promise<void> {
    const log = this.opts.logSink ?? (() => {});
    const invoke = isFunctionArn(target.Arn) ? this.opts.invoker?.(target.Arn) : undefined;
    if (!invoke) {
      const key = `${rule.arn} ${String(target.Id)}`;
      if (!this.skipped.has(key))
        log({ event: 'events.target_not_delivered', level: 'warn', rule: rule.name, target: target.Arn });
      this.skipped.add(key);
      return;
    }
    try {
      const result = await invoke(targetPayload(target, event));
      log(
        result.ok
          ? {
              event: 'events.delivered',
              level: 'info',
              rule: rule.name,
              target: target.Arn,
              requestId: result.requestId,
            }
          : {
              event: 'events.delivery_failed',
              level: 'error',
              rule: rule.name,
              target: target.Arn,
              requestId: result.requestId,
              code: result.error.errorType,
              message: result.error.errorMessage,
            },
      );
    } catch (err) {
      log({
        event: 'events.delivery_failed',
        level: 'error',
        rule: rule.name,
        target: target.Arn,
        code: (err as { code?: string; name?: string }).code ?? (err as Error).name,
        message: (err as Error).message,
      });
    }
  }
}
