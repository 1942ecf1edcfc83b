/**
 * A schedule rule fires through the gateway: a gateway given an invoker (standing for Lambda's
 * Invoke, which records what it is sent), a rule `rate(1 minute)` and a Lambda target put with the
 * AWS CLI, and the target's Input delivered about a minute later (disabled rules, cron rules and
 * other targets: test/unit/rule-schedule.test.ts). Real gateway, stand-in and CLI over real sockets.
 */
import { startGateway, type Gateway } from '../../src/local/cloud/gateway/gateway';
import { startStandIn, type StandIn } from '../../src/local/cloud/standin/standin';
import type { InvokeFn } from '../../src/local/cloud/lambda/invoke-contract';
import { describeWhen } from '../helpers/requires';
import { AWS_CLI_MISSING, findAwsCli, runAws } from '../helpers/up-process';
import { waitFor } from '../helpers/wait';

const cli = findAwsCli();
const FUNCTION = 'arn:aws:lambda:us-east-1:000000000000:function:sched-upload';

describeWhen(cli ? undefined : AWS_CLI_MISSING, 'schedule rules fire their Lambda targets', () => {
  let standIn: StandIn;
  let gateway: Gateway;
  const delivered: Array<{ arn: string; payload: unknown }> = [];
  const invoker =
    (arn: string): InvokeFn =>
    (payload) => {
      delivered.push({ arn, payload });
      return Promise.resolve({ ok: true, requestId: `req-${delivered.length}`, payload: null, durationMs: 1 });
    };
  const aws = (args: string[]): Promise<string> =>
    runAws(cli!.path, gateway.endpoint, [...args, '--output', 'json'], 60_000);

  beforeAll(async () => {
    standIn = await startStandIn();
    gateway = await startGateway({ upstream: standIn.endpoint, functionInvoker: invoker });
  });

  afterAll(async () => {
    await gateway?.stop();
    await standIn?.stop();
  });

  test('rate(1 minute) with a Lambda target: its Input arrives about a minute later', async () => {
    await aws(['events', 'put-rule', '--name', 'sched-keep-warm', '--schedule-expression', 'rate(1 minute)']);
    await aws([
      'events',
      'put-targets',
      '--rule',
      'sched-keep-warm',
      '--targets',
      JSON.stringify([{ Id: 'keep-warm-1', Arn: FUNCTION, Input: '{"source":"resize-chain.keep-warm"}' }]),
    ]);
    const first = await waitFor('the first scheduled delivery', () => delivered[0], 150_000, 1000);
    expect(first).toEqual({ arn: FUNCTION, payload: { source: 'resize-chain.keep-warm' } });
  }, 300_000);
});
