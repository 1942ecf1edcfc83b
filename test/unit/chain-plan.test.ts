// The local chain's settings before anything starts: the module's names and defaults, its refusals,
// and the queue depth arithmetic waitForIdle relies on. The running chain is tested in test/integration/e2e*.test.ts.
import { join } from 'node:path';
import { isPipelineError } from '../../src/core/errors';
import {
  DEFAULT_NAME_PREFIX,
  messagesHeld,
  planLocalChain,
  stageDefaults,
  streamSourceSettings,
} from '../../src/local/chain';

describe('planLocalChain', () => {
  test("names everything after the module's namePrefix, with its defaults", () => {
    const plan = planLocalChain();
    expect(plan.prefix).toBe(DEFAULT_NAME_PREFIX);
    expect(plan.names).toEqual({
      sourceBucket: 'image-resize-chain-src-local',
      outputBucket: 'image-resize-chain-out-local',
      ingestQueue: 'image-resize-chain-ingest',
      resizedQueue: 'image-resize-chain-resized',
      rejectedQueue: 'image-resize-chain-rejected',
    });
    expect(plan).toMatchObject({ uploadsPrefix: 'uploads/', outputPrefix: '' });
    // The module's numbers (src/core/chain-defaults.ts), spelled out once here to catch a silent change.
    expect(plan.resizeStage).toEqual({
      concurrency: 2,
      timeoutSeconds: 60,
      memoryMb: 2048,
      batchSize: 10,
      maximumBatchingWindowSeconds: 0,
      maximumConcurrency: 10,
    });
    expect(plan.publishStage).toMatchObject({ timeoutSeconds: 30, memoryMb: 256, maximumConcurrency: 5 });
    expect(plan.maxReceiveCount).toBe(5);
    // 6 x 60 s + the resize stage's batching window (0 s), the longer of the two.
    expect(plan.visibilityTimeoutSeconds).toBe(360);
  });

  test("follows the module's defaults: a changed STAGE_DEFAULTS or maxReceiveCount changes the plan", () => {
    const actual = jest.requireActual<typeof import('../../src/core/chain-defaults')>('../../src/core/chain-defaults');
    let plan: ReturnType<typeof planLocalChain> | undefined;
    jest.isolateModules(() => {
      jest.doMock('../../src/core/chain-defaults', () => ({
        ...actual,
        DEFAULT_MAX_RECEIVE_COUNT: 7,
        STAGE_DEFAULTS: {
          resize: { ...actual.STAGE_DEFAULTS.resize, batchSize: 4, timeout: 45, maximumConcurrency: 3 },
          publish: { ...actual.STAGE_DEFAULTS.publish, memorySize: 512, maxBatchingWindow: 2 },
        },
      }));
      // eslint-disable-next-line @typescript-eslint/no-require-imports -- a fresh copy of chain.ts over the mock
      const isolated = require('../../src/local/chain') as typeof import('../../src/local/chain');
      plan = isolated.planLocalChain();
    });
    jest.dontMock('../../src/core/chain-defaults');
    expect(plan?.resizeStage).toMatchObject({ batchSize: 4, timeoutSeconds: 45, maximumConcurrency: 3 });
    expect(plan?.publishStage).toMatchObject({ memoryMb: 512, maximumBatchingWindowSeconds: 2 });
    expect(plan?.maxReceiveCount).toBe(7);
    expect(plan?.visibilityTimeoutSeconds).toBe(6 * 45);
  });

  test('given names and stage settings win; the rest keep their defaults', () => {
    const plan = planLocalChain({
      namePrefix: 'shop',
      names: { output: 'thumbs' },
      publish: { batchSize: 5, env: { A: '1' } },
      handlersDir: 'h',
    });
    expect(plan.names).toMatchObject({
      sourceBucket: 'shop-src-local',
      outputBucket: 'thumbs',
      ingestQueue: 'shop-ingest',
    });
    expect(plan.publishStage).toEqual({ ...stageDefaults('publish'), batchSize: 5, env: { A: '1' } });
    expect(plan.handlersDir).toBe(join(process.cwd(), 'h'));
  });

  test("the queues' visibility timeout is 6 x the longest function timeout + its window, as AWS advises, unless given", () => {
    expect(
      planLocalChain({ resize: { timeoutSeconds: 40 }, publish: { timeoutSeconds: 10 } }).visibilityTimeoutSeconds,
    ).toBe(240);
    expect(
      planLocalChain({ resize: { timeoutSeconds: 40, maximumBatchingWindowSeconds: 2 } }).visibilityTimeoutSeconds,
    ).toBe(242);
    expect(
      planLocalChain({ resize: { timeoutSeconds: 40 }, visibilityTimeoutSeconds: 90 }).visibilityTimeoutSeconds,
    ).toBe(90);
  });

  test.each([
    [{ namePrefix: 'Bad_Name' }, 'namePrefix', /"Bad_Name" is not 1\.\.24 of a-z/],
    [{ namePrefix: 'a'.repeat(25) }, 'namePrefix', /is not 1\.\.24/],
    [
      { names: { source: 'b', output: 'b' }, outputPrefix: 'uploads/thumbs/' },
      'outputPrefix',
      /would land under the watched prefix "uploads\/"/,
    ],
    [
      { resize: { timeoutSeconds: 3 }, publish: { timeoutSeconds: 1 }, visibilityTimeoutSeconds: 2 },
      'visibilityTimeoutSeconds',
      /Queue visibility timeout: 2 seconds is less than Function timeout: 3 seconds$/,
    ],
  ])('refuses %j naming the option', (opts, field, message) => {
    let caught: unknown;
    try {
      planLocalChain(opts);
    } catch (err) {
      caught = err;
    }
    expect(isPipelineError(caught)).toBe(true);
    expect(caught).toMatchObject({
      code: 'INVALID_CONFIG',
      subject: { field },
      message: expect.stringMatching(message),
    });
  });
});

describe('streamSourceSettings', () => {
  test("the module's StreamSource defaults: bisect on, 3 retries, records never too old", () => {
    expect(streamSourceSettings({})).toEqual({
      shardCount: 1,
      batchSize: 100,
      bisectBatchOnFunctionError: true,
      maximumRetryAttempts: 3,
      maximumRecordAgeSeconds: -1,
      parallelizationFactor: 1,
      retryDelayMs: 50,
    });
  });

  test('a given setting wins, an undefined one keeps the default, names are not settings', () => {
    const settings = streamSourceSettings({
      streamName: 's',
      failureQueueName: 'f',
      shardCount: 4,
      bisectBatchOnFunctionError: false,
      maximumRetryAttempts: undefined,
    });
    expect(settings).toMatchObject({ shardCount: 4, bisectBatchOnFunctionError: false, maximumRetryAttempts: 3 });
    expect(Object.keys(settings)).not.toContain('streamName');
    expect(Object.keys(settings)).not.toContain('failureQueueName');
  });
});

describe('messagesHeld', () => {
  test('counts visible, in-flight and delayed messages; missing attributes are 0', () => {
    expect(
      messagesHeld({
        ApproximateNumberOfMessages: '2',
        ApproximateNumberOfMessagesNotVisible: '3',
        ApproximateNumberOfMessagesDelayed: '1',
      }),
    ).toBe(6);
    expect(messagesHeld({ ApproximateNumberOfMessagesNotVisible: '1' })).toBe(1);
    expect(messagesHeld({})).toBe(0);
  });
});
