// The handlers' own lines (event shape -> core -> answer, the batch's log line and metrics, the upload
// API's answers), run in this process so coverage counts them. Only inputs that need no S3 or SQS
// call are used here (a test event, a folder marker, a malformed event, signing); the bundles under
// aws-lambda-ric against the local cloud are tested in test/integration and test/containers.
import type { Context } from 'aws-lambda';
import { lazily } from '../../src/handlers/lazy';
import { captureJsonLines } from '../helpers/captured-output';

type Handler = (event: unknown, context: Context) => Promise<unknown>;

const BASE_ENV = {
  AWS_REGION: 'us-east-1',
  AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE',
  AWS_SECRET_ACCESS_KEY: 'secret',
  AWS_EC2_METADATA_DISABLED: 'true',
  AWS_CONFIG_FILE: '/dev/null',
  AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
  AWS_LAMBDA_INITIALIZATION_TYPE: 'on-demand',
  OUTPUT_BUCKET: 'out',
  RESIZED_QUEUE_URL: 'http://127.0.0.1:9/000000000000/resized',
  REJECTED_QUEUE_URL: 'http://127.0.0.1:9/000000000000/rejected',
  SOURCE_BUCKET: 'src',
};

const context = (requestId: string): Context =>
  ({
    awsRequestId: requestId,
    functionName: 'fn',
    invokedFunctionArn: 'arn:aws:lambda:us-east-1:000000000000:function:fn',
    memoryLimitInMB: '1024',
  }) as Context;

let saved: NodeJS.ProcessEnv;
let lines: Array<Record<string, unknown>>;

beforeEach(() => {
  saved = process.env;
  // The handlers write their JSON lines to stdout and stderr: kept for the assertions instead of printed.
  lines = captureJsonLines();
});

afterEach(() => {
  process.env = saved;
  jest.restoreAllMocks();
});

/** A fresh copy of the handler module (its cold start) under `env`, which stays set for the test. */
function load(name: 'resize' | 'publish' | 'upload', env: Record<string, string | undefined> = {}): Handler {
  // Unset means absent: process.env would keep an undefined value as the string 'undefined'.
  process.env = Object.fromEntries(
    Object.entries({ PATH: saved.PATH, ...BASE_ENV, ...env }).filter(([, value]) => value !== undefined),
  );
  // A fresh registry, as a new sandbox has: the handler and what it imports later (its clients are built once per
  // process).
  jest.resetModules();
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- a fresh module per cold start needs require
  return (require(`../../src/handlers/${name}`) as { handler: Handler }).handler;
}

const logLine = (message: string) => lines.find((l) => l.message === message);
const emfMetricNames = () =>
  lines
    .filter((l) => l._aws)
    .flatMap((l) =>
      (l._aws as { CloudWatchMetrics: Array<{ Metrics: Array<{ Name: string }> }> }).CloudWatchMetrics.flatMap((d) =>
        d.Metrics.map((m) => m.Name),
      ),
    );

describe('resize handler', () => {
  it(
    "acknowledges an SQS batch holding only S3's test event, " +
      'logs the batch and publishes its metrics with the cold start',
    async () => {
      const handler = load('resize');
      const event = {
        Records: [
          {
            messageId: 'm1',
            body: JSON.stringify({ Service: 'Amazon S3', Event: 's3:TestEvent' }),
            eventSource: 'aws:sqs',
          },
        ],
      };
      expect(await handler(event, context('req-1'))).toEqual({ batchItemFailures: [] });
      expect(logLine('batch done')).toMatchObject({
        level: 'INFO',
        service: 'resize',
        function_request_id: 'req-1',
        cold_start: true,
        records: 1,
        testEvents: 1,
        batchItemFailures: 0,
      });
      expect(emfMetricNames()).toContain('ColdStart');
    },
  );

  it('takes a Kinesis batch: a folder marker is ignored, and nothing is reported failed', async () => {
    const handler = load('resize');
    const data = Buffer.from(
      JSON.stringify({ bucket: 'src', key: 'uploads/folder/', size: 0, eTag: 'd41d8cd98f00b204e9800998ecf8427e' }),
    ).toString('base64');
    const event = {
      Records: [
        {
          eventSource: 'aws:kinesis',
          eventID: 'shardId-000000000000:49',
          kinesis: { data, sequenceNumber: '49', partitionKey: 'k' },
        },
      ],
    };
    expect(await handler(event, context('req-2'))).toEqual({ batchItemFailures: [] });
    expect(logLine('batch done')).toMatchObject({ records: 1, ignored: 1 });
  });

  it('counts the cold start once when the first invocation throws: the next one is warm (init ran once)', async () => {
    const handler = load('resize');
    await expect(handler({ Records: 'not a list' }, context('cold-1'))).rejects.toMatchObject({
      code: 'INVALID_EVENT',
    });
    const testEvent = { Service: 'Amazon S3', Event: 's3:TestEvent' };
    const warm = { Records: [{ messageId: 'm1', body: JSON.stringify(testEvent), eventSource: 'aws:sqs' }] };
    expect(await handler(warm, context('warm-2'))).toEqual({ batchItemFailures: [] });
    const coldStarts = lines.filter((l) => 'ColdStart' in l).map((l) => l.function_request_id);
    expect({ coldStarts, logged: logLine('batch done')?.cold_start }).toEqual({
      coldStarts: ['cold-1'],
      logged: false,
    });
  });

  it('fails its cold start with a message naming the variable when the configuration is bad', () => {
    expect(() => load('resize', { OUTPUT_BUCKET: undefined })).toThrow(/OUTPUT_BUCKET/);
  });
});

describe('publish handler', () => {
  it('reports a malformed event by its message id, so SQS retries it and the DLQ keeps it', async () => {
    const handler = load('publish');
    const event = { Records: [{ messageId: 'bad-1', body: '{"type":"something.else"}', eventSource: 'aws:sqs' }] };
    expect(await handler(event, context('req-3'))).toEqual({ batchItemFailures: [{ itemIdentifier: 'bad-1' }] });
    expect(logLine('batch done')).toMatchObject({ service: 'publish', records: 1, failed: 1, batchItemFailures: 1 });
  });
});

describe('upload handler', () => {
  const post = (body: unknown) => ({ body: JSON.stringify(body), isBase64Encoded: false });
  const answer = (result: unknown) => {
    const r = result as { statusCode: number; body: string };
    return { status: r.statusCode, body: JSON.parse(r.body) as Record<string, unknown> };
  };

  it('answers the keep-warm ping with 200 and signs nothing', async () => {
    const handler = load('upload');
    expect(answer(await handler({ source: 'resize-chain.keep-warm' }, context('w')))).toEqual({
      status: 200,
      body: { warm: true },
    });
  });

  it('signs a POST for a good request (201), path-style to a local endpoint', async () => {
    const handler = load('upload', { AWS_ENDPOINT_URL_S3: 'http://127.0.0.1:4566' });
    const { status, body } = answer(
      await handler(post({ filename: 'cat.jpg', contentType: 'image/jpeg', size: 1000 }), context('u1')),
    );
    expect(status).toBe(201);
    expect(body).toMatchObject({
      url: 'http://127.0.0.1:4566/src',
      key: expect.stringMatching(/^uploads\/.+\/cat\.jpg$/),
      fields: expect.objectContaining({ 'X-Amz-Algorithm': 'AWS4-HMAC-SHA256' }),
    });
  });

  it('refuses bad input with 400 naming the field, base64 bodies included', async () => {
    const handler = load('upload');
    const event = {
      body: Buffer.from(
        JSON.stringify({ filename: 'cat.exe', contentType: 'application/x-msdownload', size: 10 }),
      ).toString('base64'),
      isBase64Encoded: true,
    };
    const { status, body } = answer(await handler(event, context('u2')));
    expect(status).toBe(400);
    expect(body).toMatchObject({ error: { code: expect.any(String), field: 'contentType' } });
    expect(answer(await handler({ body: 'not json' }, context('u3'))).status).toBe(400);
  });

  it('answers 500 with a code, and logs why, when it has no credentials to sign with', async () => {
    const handler = load('upload', { AWS_ACCESS_KEY_ID: undefined, AWS_SECRET_ACCESS_KEY: undefined });
    const { status, body } = answer(
      await handler(post({ filename: 'cat.jpg', contentType: 'image/jpeg', size: 1000 }), context('u4')),
    );
    expect(status).toBe(500);
    expect(body).toEqual({ error: { code: expect.any(String), message: 'could not sign the upload' } });
    expect(logLine('upload signing failed')).toMatchObject({
      level: 'ERROR',
      error: expect.objectContaining({ code: expect.any(String) }),
    });
  });
});

describe('lazily', () => {
  it('loads once for concurrent callers, and loads again after a failed load', async () => {
    let calls = 0;
    const load = lazily(async () => {
      calls += 1;
      if (calls === 1) throw new Error('first load fails');
      return calls;
    });
    await expect(Promise.all([load(), load()])).rejects.toThrow('first load fails');
    expect(calls).toBe(1);
    expect(await Promise.all([load(), load()])).toEqual([2, 2]);
    expect(calls).toBe(2);
  });
});
