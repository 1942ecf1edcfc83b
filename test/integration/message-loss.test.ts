/**
 * "No message is ever lost", at the level of the queues themselves: the stand-in with and without
 * --state, through the gateway, with the real SDK. ChangeMessageVisibility(0) (single and batch)
 * puts a message back at once with its receive count; a restart on the same state keeps it; the
 * queue's approximate counts follow visibility deadlines without anyone receiving.
 */
import {
  ChangeMessageVisibilityBatchCommand,
  ChangeMessageVisibilityCommand,
  CreateQueueCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SQSClient,
  type Message,
} from '@aws-sdk/client-sqs';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startGateway, type Gateway } from '../../src/local/cloud/gateway/gateway';
import { localClientConfig } from '../../src/local/client-config';
import { startStandIn, type StandIn } from '../../src/local/cloud/standin/standin';
import { waitFor } from '../helpers/wait';

interface Cloud {
  sqs: SQSClient;
  stop(): Promise<void>;
}

async function startCloud(dataDir?: string): Promise<Cloud> {
  const standIn: StandIn = await startStandIn({ dataDir });
  const gateway: Gateway = await startGateway({ upstream: standIn.endpoint });
  const sqs = new SQSClient(localClientConfig(gateway.endpoint));
  return {
    sqs,
    async stop() {
      sqs.destroy();
      await gateway.stop();
      await standIn.stop();
    },
  };
}

async function counts(sqs: SQSClient, url: string): Promise<{ visible: number; notVisible: number }> {
  const res = await sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: url,
      AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
    }),
  );
  return {
    visible: Number(res.Attributes?.ApproximateNumberOfMessages),
    notVisible: Number(res.Attributes?.ApproximateNumberOfMessagesNotVisible),
  };
}

async function receive(sqs: SQSClient, url: string, max: number): Promise<Message[]> {
  const res = await sqs.send(
    new ReceiveMessageCommand({
      QueueUrl: url,
      MaxNumberOfMessages: max,
      WaitTimeSeconds: 1,
      MessageSystemAttributeNames: ['ApproximateReceiveCount'],
    }),
  );
  return res.Messages ?? [];
}

/** Receives until `count` messages came back (one receive may return fewer than are visible). */
async function receiveCount(sqs: SQSClient, url: string, count: number): Promise<Message[]> {
  const got = new Map<string, Message>();
  await waitFor(
    `${count} messages on ${url}`,
    async () => {
      for (const m of await receive(sqs, url, 10)) got.set(m.MessageId!, m);
      return got.size >= count ? true : undefined;
    },
    15_000,
    0,
  );
  return [...got.values()];
}

async function sendBodies(sqs: SQSClient, url: string, bodies: string[]): Promise<void> {
  await sqs.send(
    new SendMessageBatchCommand({
      QueueUrl: url,
      Entries: bodies.map((body, i) => ({ Id: String(i), MessageBody: body })),
    }),
  );
}

const receiveCountOf = (m: Message): number => Number(m.Attributes?.ApproximateReceiveCount);

describe.each([
  ['in memory', false],
  ['with --state', true],
])('the stand-in %s', (_label, persistent) => {
  let work: string | undefined;
  let cloud: Cloud;

  beforeAll(async () => {
    work = persistent ? mkdtempSync(join(tmpdir(), 'irc-loss-')) : undefined;
    cloud = await startCloud(work && join(work, 'state'));
  });
  afterAll(async () => {
    await cloud?.stop();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('ChangeMessageVisibility(0) makes the message visible again at once, receive count kept', async () => {
    const url = (
      await cloud.sqs.send(
        new CreateQueueCommand({ QueueName: 'cmv-single', Attributes: { VisibilityTimeout: '300' } }),
      )
    ).QueueUrl!;
    await sendBodies(cloud.sqs, url, ['one']);
    const [first] = await receiveCount(cloud.sqs, url, 1);
    expect(receiveCountOf(first)).toBe(1);
    await cloud.sqs.send(
      new ChangeMessageVisibilityCommand({ QueueUrl: url, ReceiptHandle: first.ReceiptHandle, VisibilityTimeout: 0 }),
    );
    expect(await counts(cloud.sqs, url)).toEqual({ visible: 1, notVisible: 0 });
    const [again] = await receiveCount(cloud.sqs, url, 1);
    expect({ id: again.MessageId, body: again.Body, count: receiveCountOf(again) }).toEqual({
      id: first.MessageId,
      body: 'one',
      count: 2,
    });
    await cloud.sqs.send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: again.ReceiptHandle }));
    expect(await counts(cloud.sqs, url)).toEqual({ visible: 0, notVisible: 0 });
  });

  it('ChangeMessageVisibilityBatch(0) releases every entry of the batch', async () => {
    const url = (
      await cloud.sqs.send(new CreateQueueCommand({ QueueName: 'cmv-batch', Attributes: { VisibilityTimeout: '300' } }))
    ).QueueUrl!;
    const bodies = Array.from({ length: 8 }, (_, i) => `m${i}`);
    await sendBodies(cloud.sqs, url, bodies);
    const received = await receiveCount(cloud.sqs, url, 8);
    const answer = await cloud.sqs.send(
      new ChangeMessageVisibilityBatchCommand({
        QueueUrl: url,
        Entries: received.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle, VisibilityTimeout: 0 })),
      }),
    );
    expect({ ok: answer.Successful?.length, failed: answer.Failed ?? [] }).toEqual({ ok: 8, failed: [] });
    expect(await counts(cloud.sqs, url)).toEqual({ visible: 8, notVisible: 0 });
    const again = await receiveCount(cloud.sqs, url, 8);
    expect(again.map((m) => m.Body).sort()).toEqual(bodies);
    expect(again.every((m) => receiveCountOf(m) === 2)).toBe(true);
  });

  it('ApproximateNumberOfMessagesNotVisible stops counting a message once its visibility expired', async () => {
    const url = (
      await cloud.sqs.send(new CreateQueueCommand({ QueueName: 'expiry', Attributes: { VisibilityTimeout: '1' } }))
    ).QueueUrl!;
    await sendBodies(cloud.sqs, url, ['soon back']);
    await receiveCount(cloud.sqs, url, 1);
    expect(await counts(cloud.sqs, url)).toEqual({ visible: 0, notVisible: 1 });
    // Nobody receives meanwhile: the counts alone must follow the deadline.
    await waitFor(
      'the expired message counted as visible',
      async () => {
        const c = await counts(cloud.sqs, url);
        return c.visible === 1 && c.notVisible === 0 ? c : undefined;
      },
      15_000,
    );
  });
});

describe('the stand-in with --state, restarted', () => {
  const work = mkdtempSync(join(tmpdir(), 'irc-loss-restart-'));
  const state = join(work, 'state');
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it('keeps a message released with ChangeMessageVisibility(0), and its receive count, across a restart', async () => {
    let cloud = await startCloud(state);
    let url: string;
    try {
      url = (
        await cloud.sqs.send(new CreateQueueCommand({ QueueName: 'kept', Attributes: { VisibilityTimeout: '300' } }))
      ).QueueUrl!;
      await sendBodies(cloud.sqs, url, ['a', 'b', 'c']);
      const received = await receiveCount(cloud.sqs, url, 3);
      const [single, ...rest] = received;
      await cloud.sqs.send(
        new ChangeMessageVisibilityCommand({
          QueueUrl: url,
          ReceiptHandle: single.ReceiptHandle,
          VisibilityTimeout: 0,
        }),
      );
      await cloud.sqs.send(
        new ChangeMessageVisibilityBatchCommand({
          QueueUrl: url,
          Entries: rest.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle, VisibilityTimeout: 0 })),
        }),
      );
    } finally {
      await cloud.stop();
    }
    cloud = await startCloud(state);
    try {
      expect(await counts(cloud.sqs, url)).toEqual({ visible: 3, notVisible: 0 });
      const again = await receiveCount(cloud.sqs, url, 3);
      expect(again.map((m) => [m.Body, receiveCountOf(m)]).sort()).toEqual([
        ['a', 2],
        ['b', 2],
        ['c', 2],
      ]);
    } finally {
      await cloud.stop();
    }
  });
});

describe('the fauxqs patches', () => {
  it('are written for the fauxqs version package.json pins (the stand-in refuses any other)', () => {
    const root = join(__dirname, '..', '..');
    const script = readFileSync(join(root, 'src', 'local', 'cloud', 'standin', 'standin-server.mjs'), 'utf8');
    const patched = /PATCHED_FAUXQS_VERSION = '([^']+)'/.exec(script)?.[1];
    const pinned = (
      JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { dependencies: Record<string, string> }
    ).dependencies.fauxqs;
    expect(patched).toBeDefined();
    expect(pinned).toBe(patched);
  });
});
