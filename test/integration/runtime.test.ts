/**
 * The Lambda side of the local cloud, end to end: our Runtime API server, and real aws-lambda-ric
 * processes on the real Node 22 binary running fixture handlers against it over real sockets.
 */
import path from 'node:path';
import {
  startLocalFunction,
  type LocalFunction,
  type LocalFunctionOptions,
} from '../../src/local/cloud/lambda/function-host';
import { LambdaRuntimeApi, MAX_PAYLOAD_BYTES } from '../../src/local/cloud/lambda/runtime-api';
import type { InvokeResult } from '../../src/local/cloud/lambda/invoke-contract';
import { waitFor } from '../helpers/wait';

const FIXTURES = path.join(__dirname, '..', 'fixtures', 'handlers');

interface EchoPayload {
  event: unknown;
  awsRequestId: string;
  functionName: string;
  invokedFunctionArn: string;
  memoryLimitInMB: string;
  remainingMs: number;
  traceId: string | null;
  nodeVersion: string;
  cwd: string;
  pid: number;
  env: Record<string, string | null>;
}

/** A started function plus every log line it produced. */
interface Harness {
  fn: LocalFunction;
  logs: Record<string, unknown>[];
}

const started: LocalFunction[] = [];

async function start(opts: Omit<LocalFunctionOptions, 'taskRoot' | 'logSink'>): Promise<Harness> {
  const logs: Record<string, unknown>[] = [];
  const fn = await startLocalFunction({ ...opts, taskRoot: FIXTURES, logSink: (line) => logs.push(line) });
  started.push(fn);
  return { fn, logs };
}

afterAll(async () => {
  await Promise.all(started.map((fn) => fn.stop()));
});

function expectOk(result: InvokeResult): EchoPayload {
  if (!result.ok) throw new Error(`expected success, got ${result.kind}: ${JSON.stringify(result.error)}`);
  return result.payload as EchoPayload;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('echo handler under aws-lambda-ric', () => {
  let harness: Harness;

  beforeAll(async () => {
    process.env.FIXTURE_PARENT_ONLY = 'must-not-leak';
    harness = await start({
      name: 'echo-fn',
      handler: 'echo.handler',
      memoryMb: 512,
      region: 'eu-west-1',
      env: { ECHO_CUSTOM: 'from-opts' },
    });
  });

  afterAll(() => {
    delete process.env.FIXTURE_PARENT_ONLY;
  });

  it('returns the event with the context and the Lambda environment set', async () => {
    const result = await harness.fn.invoke({ hello: 'world' });
    const payload = expectOk(result);

    expect(payload.event).toEqual({ hello: 'world' });
    expect(payload.awsRequestId).toBe(result.requestId);
    expect(payload.functionName).toBe('echo-fn');
    expect(payload.invokedFunctionArn).toBe('arn:aws:lambda:eu-west-1:000000000000:function:echo-fn');
    expect(payload.memoryLimitInMB).toBe('512');
    expect(payload.remainingMs).toBeGreaterThan(0);
    expect(payload.traceId).toMatch(/^Root=1-[0-9a-f]{8}-[0-9a-f]{24};Parent=[0-9a-f]{16};Sampled=0$/);
    expect(payload.nodeVersion).toMatch(/^v2[2-9]\./);
    expect(payload.cwd).toBe(FIXTURES);
    expect(payload.env).toMatchObject({
      AWS_LAMBDA_FUNCTION_NAME: 'echo-fn',
      AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
      AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '512',
      AWS_LAMBDA_LOG_GROUP_NAME: '/aws/lambda/echo-fn',
      AWS_LAMBDA_INITIALIZATION_TYPE: 'on-demand',
      AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs22.x',
      AWS_REGION: 'eu-west-1',
      AWS_DEFAULT_REGION: 'eu-west-1',
      LAMBDA_TASK_ROOT: FIXTURES,
      _HANDLER: 'echo.handler',
      TZ: ':UTC',
      LANG: 'en_US.UTF-8',
      ECHO_CUSTOM: 'from-opts',
      FIXTURE_PARENT_ONLY: null,
    });
    expect(payload.env.AWS_LAMBDA_LOG_STREAM_NAME).toMatch(/^\d{4}\/\d{2}\/\d{2}\/\[\$LATEST\][0-9a-f]{32}$/);
    expect(payload.env.AWS_LAMBDA_RUNTIME_API).toMatch(/^127\.0\.0\.1:\d+$/);
  });

  it('logs START/REPORT for the invocation and the function output as lines', async () => {
    const result = await harness.fn.invoke({ n: 1 });
    expectOk(result);
    const { logs } = harness;
    expect(logs).toContainEqual(expect.objectContaining({ type: 'START', fn: 'echo-fn', requestId: result.requestId }));
    expect(logs).toContainEqual(
      expect.objectContaining({
        type: 'REPORT',
        fn: 'echo-fn',
        requestId: result.requestId,
        outcome: 'ok',
        durationMs: expect.any(Number),
      }),
    );
    const output = logs.filter(
      (l) => l.stream === 'stdout' && typeof l.line === 'string' && l.line.includes(`echo invoked ${result.requestId}`),
    );
    expect(output).toHaveLength(1);
    expect(harness.fn.stats()).toMatchObject({ invocations: 2, errors: 0, coldStarts: 1, restarts: 0 });
  });

  it('serves the RIE invoke endpoint over HTTP', async () => {
    const { port } = harness.fn.runtimeApi;
    const res = await fetch(`http://127.0.0.1:${port}/2015-03-31/functions/function/invocations`, {
      method: 'POST',
      body: JSON.stringify({ via: 'rie' }),
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-amz-function-error')).toBeNull();
    const payload = (await res.json()) as EchoPayload;
    expect(payload.event).toEqual({ via: 'rie' });
    expect(payload.awsRequestId).toBe(res.headers.get('x-amzn-requestid'));
  });

  it('answers 400 InvalidRequestID for a response to an unknown request id', async () => {
    const { port } = harness.fn.runtimeApi;
    const res = await fetch(`http://127.0.0.1:${port}/2018-06-01/runtime/invocation/not-a-request/response`, {
      method: 'POST',
      body: '{}',
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ errorType: 'InvalidRequestID', errorMessage: 'Invalid request ID' });
  });

  it('refuses events over 6 MiB: 413 on the RIE endpoint, INVALID_EVENT on invoke', async () => {
    const big = JSON.stringify({ blob: 'x'.repeat(MAX_PAYLOAD_BYTES) });
    const res = await fetch(
      `http://127.0.0.1:${harness.fn.runtimeApi.port}/2015-03-31/functions/function/invocations`,
      {
        method: 'POST',
        body: big,
      },
    );
    expect(res.status).toBe(413);
    await expect(harness.fn.invoke({ blob: 'x'.repeat(MAX_PAYLOAD_BYTES) })).rejects.toMatchObject({
      code: 'INVALID_EVENT',
    });
  });
});

describe('handler errors', () => {
  let harness: Harness;

  beforeAll(async () => {
    harness = await start({ name: 'throws-fn', handler: 'throws.handler' });
  });

  it('comes back as kind handled with errorType and errorMessage', async () => {
    const result = await harness.fn.invoke({ key: 'uploads/cat.jpg' });
    expect(result).toMatchObject({
      ok: false,
      kind: 'handled',
      error: { errorType: 'ImageRejected', errorMessage: 'cannot process uploads/cat.jpg' },
    });
    if (result.ok) return;
    expect(result.error.stackTrace?.some((frame) => frame.includes('throws.js'))).toBe(true);
    expect(harness.fn.stats()).toMatchObject({ invocations: 1, errors: 1, restarts: 0 });
  });

  it('comes back on the RIE endpoint with X-Amz-Function-Error: Unhandled', async () => {
    const res = await fetch(
      `http://127.0.0.1:${harness.fn.runtimeApi.port}/2015-03-31/functions/function/invocations`,
      {
        method: 'POST',
        body: JSON.stringify({ key: 'a.png' }),
      },
    );
    expect(res.status).toBe(200);
    expect(res.headers.get('x-amz-function-error')).toBe('Unhandled');
    expect(await res.json()).toMatchObject({ errorType: 'ImageRejected', errorMessage: 'cannot process a.png' });
  });
});

describe('init error (handler throws at module load)', () => {
  it('fails invokes with kind init and the error document, without a restart loop', async () => {
    const { fn, logs } = await start({ name: 'init-error-fn', handler: 'init-error.handler' });

    const first = await fn.invoke({});
    expect(first).toMatchObject({
      ok: false,
      kind: 'init',
      error: { errorType: 'Error', errorMessage: 'VARIANTS is not valid JSON' },
    });
    expect(logs).toContainEqual(
      expect.objectContaining({ type: 'INIT_ERROR', fn: 'init-error-fn', errorMessage: 'VARIANTS is not valid JSON' }),
    );

    // The next invoke starts a new sandbox, which fails the same way.
    const second = await fn.invoke({});
    expect(second).toMatchObject({ ok: false, kind: 'init', error: { errorMessage: 'VARIANTS is not valid JSON' } });

    // Nothing restarts while nobody invokes: the host comes to rest with every slot parked (no sandbox
    // alive), which a host that replaced failed sandboxes by itself never reaches, since it would
    // start the next one in the same turn as it saw the last one go.
    await waitFor('every slot parked', () => fn.stats().sandboxes === 0, 15_000, 50);
    const starts = logs.filter((l) => l.type === 'SANDBOX_START').length;
    expect(starts).toBeLessThanOrEqual(3); // the initial sandbox + at most one per invoke
    expect(logs.filter((l) => l.type === 'SANDBOX_EXIT')).toHaveLength(starts);
    expect(fn.stats()).toMatchObject({ invocations: 2, errors: 2, coldStarts: 0, restarts: starts - 1 });
  });
});

describe('a runtime that cannot start', () => {
  it('fails invokes with kind init when the Node binary does not exist', async () => {
    const { fn } = await start({
      name: 'no-node-fn',
      handler: 'echo.handler',
      nodeBinary: path.join(FIXTURES, 'no-such-node'),
    });
    const result = await fn.invoke({});
    expect(result).toMatchObject({ ok: false, kind: 'init', error: { errorType: 'Runtime.InvalidEntrypoint' } });
    if (!result.ok) expect(result.error.errorMessage).toContain('ENOENT');
  });

  it('kills a sandbox whose init outlives initTimeoutMs, retries the init with the function timeout, then fails the invoke with kind init', async () => {
    const { fn, logs } = await start({
      name: 'hang-fn',
      handler: 'hang-init.handler',
      initTimeoutMs: 500,
      timeoutSeconds: 1,
    });
    const result = await fn.invoke({});
    expect(result).toMatchObject({ ok: false, kind: 'init', error: { errorType: 'Sandbox.Timedout' } });
    if (!result.ok) expect(result.error.errorMessage).toBe('Init timed out after 1.00 seconds');
    const initReports = logs.filter((l) => l.type === 'INIT_REPORT');
    expect(initReports).toEqual([
      expect.objectContaining({ status: 'timeout', initDurationMs: expect.any(Number) as number }),
      expect.objectContaining({ status: 'timeout', initDurationMs: expect.any(Number) as number }),
    ]);
    // The first init had Lambda's init limit (here 500 ms); the retry the function's timeout (1 s).
    expect(initReports.map((l) => (l.initDurationMs as number) >= 1000)).toEqual([false, true]);
  });
});

describe('a slow init (as Lambda: the init limit, then one retry within the function timeout)', () => {
  /** A function whose init takes 700 ms, over its 300 ms init limit. */
  const startSlowInit = (name: string, timeoutSeconds: number) =>
    start({ name, handler: 'slow-init.handler', env: { SLOW_INIT_MS: '700' }, initTimeoutMs: 300, timeoutSeconds });

  it('an init longer than initTimeoutMs is retried with the function timeout and the invoke succeeds', async () => {
    const { fn, logs } = await startSlowInit('slow-init-fn', 3);
    const result = await fn.invoke({ hello: 1 });
    expect(result).toMatchObject({ ok: true, payload: { event: { hello: 1 } } });
    expect(logs.filter((l) => l.type === 'SANDBOX_EXIT').map((l) => l.reason)).toEqual(['init-timeout']);
  });

  it("the retried init and the first invocation share the function's timeout", async () => {
    const { fn } = await startSlowInit('slow-init-budget-fn', 1);
    // 700 ms of retried init + 600 ms of invocation > 1 s; either alone would fit.
    const first = await fn.invoke({ sleepMs: 600 });
    expect(first).toMatchObject({ ok: false, kind: 'timeout', error: { errorType: 'Sandbox.Timedout' } });
    if (!first.ok) expect(first.error.errorMessage).toContain('Task timed out after 1.00 seconds');
  });
});

describe('timeout', () => {
  it('fails with kind timeout, replaces the process, and the next invoke succeeds', async () => {
    const { fn, logs } = await start({ name: 'slow-fn', handler: 'echo.handler', timeoutSeconds: 1 });
    const before = expectOk(await fn.invoke({}));

    const slow = await fn.invoke({ sleepMs: 5000 });
    expect(slow).toMatchObject({ ok: false, kind: 'timeout', error: { errorType: 'Sandbox.Timedout' } });
    if (!slow.ok) expect(slow.error.errorMessage).toContain('Task timed out after 1.00 seconds');

    const after = expectOk(await fn.invoke({ again: true }));
    expect(after.event).toEqual({ again: true });
    expect(after.pid).not.toBe(before.pid);
    expect(isAlive(before.pid)).toBe(false);
    expect(logs).toContainEqual(expect.objectContaining({ type: 'SANDBOX_EXIT', pid: before.pid, reason: 'timeout' }));
    expect(fn.stats()).toMatchObject({ invocations: 3, errors: 1, coldStarts: 2, restarts: 1 });
  });
});

describe('crash mid-invocation', () => {
  it('fails with kind crash and the next invoke runs in a new process', async () => {
    const { fn } = await start({ name: 'crash-fn', handler: 'crash.handler' });
    const before = expectOk(await fn.invoke({}));

    const crashed = await fn.invoke({ crash: true });
    expect(crashed).toMatchObject({ ok: false, kind: 'crash', error: { errorType: 'Runtime.ExitError' } });
    if (!crashed.ok)
      expect(crashed.error.errorMessage).toBe(
        `RequestId: ${crashed.requestId} Error: Runtime exited with error: exit status 1`,
      );

    // Through the RIE endpoint: work arriving there must also bring up a new sandbox.
    const res = await fetch(`http://127.0.0.1:${fn.runtimeApi.port}/2015-03-31/functions/function/invocations`, {
      method: 'POST',
      body: '{}',
    });
    expect(res.status).toBe(200);
    const after = (await res.json()) as { ok: boolean; pid: number };
    expect(after.ok).toBe(true);
    expect(after.pid).not.toBe(before.pid);
    expect(fn.stats()).toMatchObject({ invocations: 3, errors: 1, restarts: 1 });
  });
});

describe('concurrency', () => {
  it('serves 6 concurrent invokes on 3 sandboxes, and stop() leaves no process behind', async () => {
    const { fn } = await start({ name: 'wide-fn', handler: 'echo.handler', concurrency: 3 });
    const results = await Promise.all(Array.from({ length: 6 }, (_, i) => fn.invoke({ i, sleepMs: 300 })));

    const payloads = results.map(expectOk);
    expect(payloads.map((p) => p.event)).toEqual(Array.from({ length: 6 }, (_, i) => ({ i, sleepMs: 300 })));
    expect(new Set(results.map((r) => r.requestId)).size).toBe(6);
    const pids = new Set(payloads.map((p) => p.pid));
    expect(pids.size).toBeGreaterThanOrEqual(2);

    await fn.stop();
    for (const pid of pids) expect(isAlive(pid)).toBe(false);
  });
});

describe('LambdaRuntimeApi with a runtime speaking HTTP itself', () => {
  let api: LambdaRuntimeApi;
  let base: string;

  beforeAll(async () => {
    api = new LambdaRuntimeApi({ functionName: 'raw-fn', region: 'ap-southeast-2', timeoutMs: 5000 });
    const { port } = await api.start();
    base = `http://127.0.0.1:${port}/2018-06-01/runtime`;
  });

  afterAll(() => api.stop());

  it('hands queued invocations out oldest first', async () => {
    const invokes = [api.invoke({ order: 1 }), api.invoke({ order: 2 })];
    for (const order of [1, 2]) {
      const res = await fetch(`${base}/invocation/next`);
      expect(await res.json()).toEqual({ order });
      const id = res.headers.get('lambda-runtime-aws-request-id')!;
      await fetch(`${base}/invocation/${id}/response`, { method: 'POST', body: JSON.stringify(order) });
    }
    expect((await Promise.all(invokes)).map((r) => (r.ok ? r.payload : r.kind))).toEqual([1, 2]);
  });

  it('hands invocations to concurrent pollers with Lambda headers', async () => {
    const polls = [fetch(`${base}/invocation/next`), fetch(`${base}/invocation/next`)];
    const invokes = [api.invoke({ order: 1 }), api.invoke({ order: 2 })];
    const responses = await Promise.all(polls);

    const taken = await Promise.all(
      responses.map(async (res) => ({
        id: res.headers.get('lambda-runtime-aws-request-id')!,
        deadline: Number(res.headers.get('lambda-runtime-deadline-ms')),
        arn: res.headers.get('lambda-runtime-invoked-function-arn'),
        trace: res.headers.get('lambda-runtime-trace-id'),
        event: (await res.json()) as { order: number },
      })),
    );
    expect(taken.map((t) => t.event.order).sort()).toEqual([1, 2]);
    for (const t of taken) {
      expect(t.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
      expect(t.deadline).toBeGreaterThan(Date.now());
      expect(t.arn).toBe('arn:aws:lambda:ap-southeast-2:000000000000:function:raw-fn');
      expect(t.trace).toMatch(/^Root=1-/);
    }

    const [one, two] = taken.sort((a, b) => a.event.order - b.event.order) as [(typeof taken)[0], (typeof taken)[0]];
    const accepted = await fetch(`${base}/invocation/${one.id}/response`, {
      method: 'POST',
      body: JSON.stringify({ done: 1 }),
    });
    expect(accepted.status).toBe(202);
    const errored = await fetch(`${base}/invocation/${two.id}/error`, {
      method: 'POST',
      headers: { 'Lambda-Runtime-Function-Error-Type': 'Runtime.Custom' },
      body: '',
    });
    expect(errored.status).toBe(202);

    const [first, second] = await Promise.all(invokes);
    expect(first).toMatchObject({ ok: true, requestId: one.id, payload: { done: 1 } });
    expect(second).toMatchObject({
      ok: false,
      requestId: two.id,
      kind: 'handled',
      error: { errorType: 'Runtime.Custom' },
    });

    const again = await fetch(`${base}/invocation/${one.id}/response`, { method: 'POST', body: '{}' });
    expect(again.status).toBe(400);
  });

  it('reports /init/error to the host and answers 413 to an oversized response', async () => {
    const reported = new Promise<unknown>((resolve) => api.once('initError', resolve));
    const res = await fetch(`${base}/init/error`, {
      method: 'POST',
      headers: { 'Lambda-Runtime-Function-Error-Type': 'Runtime.ImportModuleError' },
      body: JSON.stringify({ errorType: 'Runtime.ImportModuleError', errorMessage: 'no module', trace: ['at x'] }),
    });
    expect(res.status).toBe(202);
    expect(await reported).toEqual({
      sandboxId: 'shared',
      error: { errorType: 'Runtime.ImportModuleError', errorMessage: 'no module', stackTrace: ['at x'] },
    });

    const poll = fetch(`${base}/invocation/next`);
    const invoked = api.invoke({});
    const id = (await poll).headers.get('lambda-runtime-aws-request-id')!;
    const tooBig = await fetch(`${base}/invocation/${id}/response`, {
      method: 'POST',
      body: 'x'.repeat(MAX_PAYLOAD_BYTES + 1),
    });
    expect(tooBig.status).toBe(413);
    expect(await invoked).toMatchObject({
      ok: false,
      kind: 'handled',
      error: { errorType: 'Function.ResponseSizeTooLarge' },
    });
  });
});
