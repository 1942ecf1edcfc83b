// The publish handler's order of effects, with the bundled handler under aws-lambda-ric, a real
// webhook receiver on a real socket, and failures injected by the gateway between the two steps:
// the manifest is written first and the webhook notified after it, so no receiver is ever told
// about a source whose manifest does not exist, and a retry delivers under the same event id.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { eventIdOf } from '../../src/core/publish-batch';
import { imageResizedEvent } from '../../src/core/events';
import { startLocalFunction, type LocalFunction } from '../../src/local/cloud/lambda/function-host';
import { exists, functionEnvFor, HANDLERS_DIR, startTestCloud, type TestCloud } from '../helpers/local-cloud';

interface Delivery {
  eventId: string;
  /** Whether manifest.json existed when the delivery arrived. */
  manifestExisted: boolean;
  status: number;
}

let cloud: TestCloud;
let receiver: Server;
let publish: LocalFunction;
const deliveries: Delivery[] = [];
/** Status the receiver answers with, one per delivery in order; 204 once they run out. */
const answers: number[] = [];
let manifestOf: (eventId: string) => string = () => '';

beforeAll(async () => {
  cloud = await startTestCloud();
  // The receiver looks for the manifest while it holds the delivery: what a receiver that reacts to
  // "done" by fetching the manifest would find.
  receiver = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const eventId = String(req.headers['x-resize-chain-event-id']);
      void exists(cloud, cloud.resources.buckets.output, manifestOf(eventId)).then((manifest) => {
        const status = answers.shift() ?? 204;
        deliveries.push({ eventId, manifestExisted: manifest !== undefined, status });
        res.writeHead(status).end();
      });
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  const port = (receiver.address() as AddressInfo).port;
  publish = await startLocalFunction({
    name: 'publish-order',
    handler: 'publish.handler',
    taskRoot: HANDLERS_DIR,
    env: functionEnvFor(cloud, {
      WEBHOOK_URL: `http://127.0.0.1:${port}/hook`,
      WEBHOOK_SECRET: 'order-secret',
      WEBHOOK_ALLOW_HTTP: 'true',
    }),
    logSink: () => undefined,
  });
});

afterAll(async () => {
  await publish?.stop();
  receiver?.close();
  await cloud?.stop();
});

function eventFor(name: string) {
  return imageResizedEvent(
    {
      bucket: cloud.resources.buckets.source,
      key: `uploads/order/${name}.jpg`,
      eTag: `etag-${name}`,
      size: 10,
      width: 2,
      height: 1,
      format: 'jpeg',
    },
    [
      {
        name: 'thumb',
        bucket: cloud.resources.buckets.output,
        key: `v/uploads/order/${name}/thumb.webp`,
        width: 2,
        height: 1,
        format: 'webp',
        bytes: 5,
      },
    ],
    new Date(),
  );
}

async function publishTwice(
  name: string,
): Promise<{ first: unknown; second: unknown; eventId: string; manifest: string }> {
  const event = eventFor(name);
  const eventId = eventIdOf(event);
  const manifest = `v/uploads/order/${name}/manifest.json`;
  manifestOf = (id) => (id === eventId ? manifest : '');
  const record = { Records: [{ messageId: `m-${name}`, body: JSON.stringify(event) }] };
  const first = await publish.invoke(record);
  const second = await publish.invoke(record); // SQS's redelivery of the failed message
  return { first, second, eventId, manifest };
}

describe('publish: manifest first, then the webhook', () => {
  beforeEach(() => {
    deliveries.length = 0;
    answers.length = 0;
  });

  it('a manifest write refused between the two steps notifies nobody; the retry writes it, then notifies once', async () => {
    const fault = cloud.gateway.faults.add({
      service: 's3',
      operation: 'PutObject',
      key: 'v/uploads/order/refused/manifest.json',
      times: 1,
      // 403 is not retried by the SDK: the invocation fails on the first attempt.
      effect: { status: 403, code: 'AccessDenied', message: 'injected between manifest and webhook' },
    });
    const { first, second, eventId, manifest } = await publishTwice('refused');
    expect(fault.hits).toBe(1);
    expect(first).toMatchObject({ ok: true, payload: { batchItemFailures: [{ itemIdentifier: 'm-refused' }] } });
    expect(second).toMatchObject({ ok: true, payload: { batchItemFailures: [] } });
    expect(deliveries).toEqual([{ eventId, manifestExisted: true, status: 204 }]);
    expect(await exists(cloud, cloud.resources.buckets.output, manifest)).toMatchObject({
      metadata: { 'source-etag': 'etag-refused' },
    });
  });

  it('a delivery that fails after the manifest is written is delivered again on retry, under the same event id', async () => {
    answers.push(503);
    const { first, second, eventId } = await publishTwice('flaky-receiver');
    expect(first).toMatchObject({ ok: true, payload: { batchItemFailures: [{ itemIdentifier: 'm-flaky-receiver' }] } });
    expect(second).toMatchObject({ ok: true, payload: { batchItemFailures: [] } });
    expect(deliveries).toEqual([
      { eventId, manifestExisted: true, status: 503 },
      { eventId, manifestExisted: true, status: 204 },
    ]);
  });
});
