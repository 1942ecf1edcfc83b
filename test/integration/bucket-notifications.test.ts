/**
 * Bucket notification configurations through S3's API, with the real SDK against the gateway: what
 * PutBucketNotificationConfiguration refuses (as S3 refuses it) and what it applies, which is then
 * exactly what routes events: filters, destinations, several configurations, an empty configuration,
 * a deleted bucket.
 */
import type { S3Event } from 'aws-lambda';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CreateBucketCommand,
  DeleteBucketCommand,
  GetBucketNotificationConfigurationCommand,
  PutBucketNotificationConfigurationCommand,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
  type NotificationConfiguration,
} from '@aws-sdk/client-s3';
import {
  CreateQueueCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SQSClient,
  type Message,
} from '@aws-sdk/client-sqs';
import { startStandIn, type StandIn } from '../../src/local/cloud/standin/standin';
import { startGateway, type Gateway } from '../../src/local/cloud/gateway/gateway';
import { localClientConfig } from '../../src/local/client-config';
import { allowS3Notifications, type QueueRef } from '../../src/local/resources';
import { EMPTY_QUEUE, queueCounts } from '../helpers/local-cloud';

let standIn: StandIn;
let gateway: Gateway;
let s3: S3Client;
let sqs: SQSClient;

async function queue(name: string): Promise<QueueRef> {
  const url = (await sqs.send(new CreateQueueCommand({ QueueName: name }))).QueueUrl!;
  const attributes = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['QueueArn'] }));
  return { name, url, arn: attributes.Attributes!.QueueArn! };
}

const put = (bucket: string, config: NotificationConfiguration) =>
  s3.send(new PutBucketNotificationConfigurationCommand({ Bucket: bucket, NotificationConfiguration: config }));

/** What a refused call threw: S3's code, message and its extra elements (ArgumentName…). */
async function refusal(work: Promise<unknown>): Promise<Record<string, unknown>> {
  try {
    await work;
  } catch (err) {
    if (!(err instanceof S3ServiceException)) throw err;
    const extra = Object.fromEntries(Object.entries(err).filter(([k]) => /^Argument(Name|Value)/.test(k)));
    return { name: err.name, status: err.$metadata.httpStatusCode, message: err.message, ...extra };
  }
  throw new Error('the call was not refused');
}

/** Takes every message a queue holds (read once the sends that could fill it are settled: the count is final). */
async function drain(q: QueueRef): Promise<Message[]> {
  const taken: Message[] = [];
  for (;;) {
    const { Messages = [] } = await sqs.send(new ReceiveMessageCommand({ QueueUrl: q.url, MaxNumberOfMessages: 10 }));
    if (Messages.length === 0) return taken;
    for (const m of Messages)
      await sqs.send(new DeleteMessageCommand({ QueueUrl: q.url, ReceiptHandle: m.ReceiptHandle }));
    taken.push(...Messages);
  }
}

/** What a queue was sent since last asked: `s3:TestEvent`, or `eventName key` per record. */
async function events(q: QueueRef): Promise<string[]> {
  await gateway.notificationsSettled();
  const messages = await drain(q);
  return messages.flatMap((m) => {
    const body = JSON.parse(m.Body!) as S3Event & { Event?: string };
    return body.Event ? [body.Event] : body.Records.map((r) => `${r.eventName} ${r.s3.object.key}`);
  });
}

beforeAll(async () => {
  standIn = await startStandIn();
  gateway = await startGateway({ upstream: standIn.endpoint });
  s3 = new S3Client(localClientConfig(gateway.endpoint));
  sqs = new SQSClient(localClientConfig(gateway.endpoint));
});

afterAll(async () => {
  s3?.destroy();
  sqs?.destroy();
  await gateway?.stop();
  await standIn?.stop();
});

describe('PutBucketNotificationConfiguration refuses what S3 refuses', () => {
  let open: QueueRef;
  beforeAll(async () => {
    await s3.send(new CreateBucketCommand({ Bucket: 'refusals' }));
    open = await queue('refusals-allowed');
    await allowS3Notifications(sqs, open, 'refusals');
  });

  it('a queue without a policy letting the bucket send: InvalidArgument naming the queue', async () => {
    const closed = await queue('refusals-closed');
    expect(
      await refusal(
        put('refusals', { QueueConfigurations: [{ QueueArn: closed.arn, Events: ['s3:ObjectCreated:*'] }] }),
      ),
    ).toEqual({
      name: 'InvalidArgument',
      status: 400,
      message: 'Unable to validate the following destination configurations',
      ArgumentName1: closed.arn,
      ArgumentValue1: 'Permissions on the destination queue do not allow S3 to publish notifications from this bucket',
    });
    expect(await queueCounts({ sqs }, closed.url)).toEqual(EMPTY_QUEUE);
  });

  it('a policy for another bucket does not let this one in; a queue that does not exist is named as such', async () => {
    const other = await queue('refusals-other');
    await allowS3Notifications(sqs, other, 'another-bucket');
    const missing = 'arn:aws:sqs:us-east-1:000000000000:refusals-missing';
    expect(
      await refusal(
        put('refusals', {
          QueueConfigurations: [
            {
              QueueArn: other.arn,
              Events: ['s3:ObjectCreated:*'],
              Filter: { Key: { FilterRules: [{ Name: 'prefix', Value: 'a/' }] } },
            },
            {
              QueueArn: missing,
              Events: ['s3:ObjectCreated:*'],
              Filter: { Key: { FilterRules: [{ Name: 'prefix', Value: 'b/' }] } },
            },
          ],
        }),
      ),
    ).toMatchObject({
      name: 'InvalidArgument',
      ArgumentName1: other.arn,
      ArgumentValue1: 'Permissions on the destination queue do not allow S3 to publish notifications from this bucket',
      ArgumentName2: missing,
      ArgumentValue2: 'The destination queue does not exist',
    });
  });

  it('two unfiltered configurations sharing an event type overlap', async () => {
    expect(
      await refusal(
        put('refusals', {
          QueueConfigurations: [
            { QueueArn: open.arn, Events: ['s3:ObjectCreated:*'] },
            { QueueArn: open.arn, Events: ['s3:ObjectCreated:Put'] },
          ],
        }),
      ),
    ).toEqual({
      name: 'InvalidArgument',
      status: 400,
      message: 'Configurations overlap. Configurations on the same bucket cannot share a common event type.',
      ArgumentName: 'Event',
      ArgumentValue: 's3:ObjectCreated:*, s3:ObjectCreated:Put',
    });
  });

  it('overlapping prefixes with overlapping suffixes for one event type are ambiguous; distinct suffixes are not', async () => {
    const rules = (prefix: string, suffix: string) => ({
      Key: {
        FilterRules: [
          { Name: 'prefix' as const, Value: prefix },
          { Name: 'suffix' as const, Value: suffix },
        ],
      },
    });
    expect(
      await refusal(
        put('refusals', {
          QueueConfigurations: [
            { QueueArn: open.arn, Events: ['s3:ObjectCreated:*'], Filter: rules('uploads/', '.jpg') },
            { QueueArn: open.arn, Events: ['s3:ObjectCreated:Put'], Filter: rules('uploads/cats/', 'g') },
          ],
        }),
      ),
    ).toMatchObject({
      name: 'InvalidArgument',
      message:
        'Configuration is ambiguously defined. ' +
        'Cannot have overlapping suffixes in two rules if the prefixes are overlapping for the same event type.',
    });
    await put('refusals', {
      QueueConfigurations: [
        { QueueArn: open.arn, Events: ['s3:ObjectCreated:*'], Filter: rules('uploads/', '.jpg') },
        { QueueArn: open.arn, Events: ['s3:ObjectCreated:*'], Filter: rules('uploads/', '.png') },
      ],
    });
    expect(await events(open)).toEqual(['s3:TestEvent']);
  });

  it('an event type S3 does not know, and destinations not emulated', async () => {
    expect(
      await refusal(
        put('refusals', {
          QueueConfigurations: [{ QueueArn: open.arn, Events: ['s3:ObjectEaten:*' as 's3:ObjectCreated:*'] }],
        }),
      ),
    ).toEqual({
      name: 'InvalidArgument',
      status: 400,
      message: 'The event is not supported for notifications',
      ArgumentName: 'Event',
      ArgumentValue: 's3:ObjectEaten:*',
    });
    expect(
      await refusal(
        put('refusals', {
          TopicConfigurations: [{ TopicArn: 'arn:aws:sns:us-east-1:000000000000:t', Events: ['s3:ObjectCreated:*'] }],
        }),
      ),
    ).toMatchObject({ name: 'NotImplemented', status: 501 });
  });

  it('a bucket that does not exist: NoSuchBucket', async () => {
    expect(await refusal(put('no-such-bucket', {}))).toMatchObject({ name: 'NoSuchBucket', status: 404 });
  });
});

describe('the applied configuration routes the events', () => {
  let images: QueueRef;
  let documents: QueueRef;
  beforeAll(async () => {
    await s3.send(new CreateBucketCommand({ Bucket: 'routed' }));
    images = await queue('routed-images');
    documents = await queue('routed-documents');
    await allowS3Notifications(sqs, images, 'routed');
    await allowS3Notifications(sqs, documents, 'routed');
  });

  it('a fresh bucket has an empty configuration', async () => {
    const got = await s3.send(new GetBucketNotificationConfigurationCommand({ Bucket: 'routed' }));
    expect([got.QueueConfigurations, got.TopicConfigurations, got.EventBridgeConfiguration]).toEqual([
      undefined,
      undefined,
      undefined,
    ]);
  });

  it('sends each destination its s3:TestEvent, answers the configurations with the ids S3 made', async () => {
    await put('routed', {
      QueueConfigurations: [
        {
          Id: 'images',
          QueueArn: images.arn,
          Events: ['s3:ObjectCreated:*'],
          Filter: {
            Key: {
              FilterRules: [
                { Name: 'prefix', Value: 'in/' },
                { Name: 'suffix', Value: '.jpg' },
              ],
            },
          },
        },
        {
          QueueArn: documents.arn,
          Events: ['s3:ObjectCreated:Put'],
          Filter: { Key: { FilterRules: [{ Name: 'prefix', Value: 'docs/' }] } },
        },
      ],
    });
    expect(await events(images)).toEqual(['s3:TestEvent']);
    expect(await events(documents)).toEqual(['s3:TestEvent']);
    const got = await s3.send(new GetBucketNotificationConfigurationCommand({ Bucket: 'routed' }));
    expect(got.QueueConfigurations).toEqual([
      {
        Id: 'images',
        QueueArn: images.arn,
        Events: ['s3:ObjectCreated:*'],
        Filter: {
          Key: {
            FilterRules: [
              { Name: 'Prefix', Value: 'in/' },
              { Name: 'Suffix', Value: '.jpg' },
            ],
          },
        },
      },
      {
        Id: expect.stringMatching(/^\w{20,}$/) as string,
        QueueArn: documents.arn,
        Events: ['s3:ObjectCreated:Put'],
        Filter: { Key: { FilterRules: [{ Name: 'Prefix', Value: 'docs/' }] } },
      },
    ]);
  });

  it('routes each write by the filters and the destination applied', async () => {
    for (const key of ['in/cat.jpg', 'in/cat.png', 'out/cat.jpg', 'docs/a.txt', 'docs/b.pdf'])
      await s3.send(new PutObjectCommand({ Bucket: 'routed', Key: key, Body: key }));
    expect(await events(images)).toEqual(['ObjectCreated:Put in/cat.jpg']);
    expect((await events(documents)).sort()).toEqual(['ObjectCreated:Put docs/a.txt', 'ObjectCreated:Put docs/b.pdf']);
  });

  it('a new configuration replaces the old one', async () => {
    await put('routed', {
      QueueConfigurations: [{ Id: 'all', QueueArn: documents.arn, Events: ['s3:ObjectCreated:*'] }],
    });
    expect(await events(documents)).toEqual(['s3:TestEvent']);
    await s3.send(new PutObjectCommand({ Bucket: 'routed', Key: 'in/dog.jpg', Body: 'x' }));
    expect(await events(documents)).toEqual(['ObjectCreated:Put in/dog.jpg']);
    expect(await events(images)).toEqual([]);
  });

  it('an empty configuration stops the notifications', async () => {
    await put('routed', {});
    const got = await s3.send(new GetBucketNotificationConfigurationCommand({ Bucket: 'routed' }));
    expect(got.QueueConfigurations).toBeUndefined();
    await s3.send(new PutObjectCommand({ Bucket: 'routed', Key: 'in/bird.jpg', Body: 'x' }));
    expect(await events(documents)).toEqual([]);
    expect(gateway.counters().requests['s3:PutObject']).toBeGreaterThan(0);
  });

  it('a deleted bucket loses its configuration: recreated, it routes nothing', async () => {
    await s3.send(new CreateBucketCommand({ Bucket: 'short-lived' }));
    await allowS3Notifications(sqs, images, 'short-lived');
    await put('short-lived', { QueueConfigurations: [{ QueueArn: images.arn, Events: ['s3:ObjectCreated:*'] }] });
    expect(await events(images)).toEqual(['s3:TestEvent']);
    await s3.send(new DeleteBucketCommand({ Bucket: 'short-lived' }));
    await s3.send(new CreateBucketCommand({ Bucket: 'short-lived' }));
    const got = await s3.send(new GetBucketNotificationConfigurationCommand({ Bucket: 'short-lived' }));
    expect(got.QueueConfigurations).toBeUndefined();
    await s3.send(new PutObjectCommand({ Bucket: 'short-lived', Key: 'x.jpg', Body: 'x' }));
    expect(await events(images)).toEqual([]);
  });
});

describe('with a state file', () => {
  it('a configuration outlives a restart of the gateway, and routes without a new s3:TestEvent', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'irc-notifications-'));
    const stateFile = join(dir, 'bucket-notifications.json');
    try {
      await s3.send(new CreateBucketCommand({ Bucket: 'kept' }));
      const kept = await queue('kept-queue');
      await allowS3Notifications(sqs, kept, 'kept');
      const first = await startGateway({ upstream: standIn.endpoint, notificationStateFile: stateFile });
      const firstS3 = new S3Client(localClientConfig(first.endpoint));
      await firstS3.send(
        new PutBucketNotificationConfigurationCommand({
          Bucket: 'kept',
          NotificationConfiguration: {
            QueueConfigurations: [{ Id: 'k', QueueArn: kept.arn, Events: ['s3:ObjectCreated:*'] }],
          },
        }),
      );
      firstS3.destroy();
      await first.stop();
      expect(await drain(kept)).toHaveLength(1);

      const second = await startGateway({ upstream: standIn.endpoint, notificationStateFile: stateFile });
      const secondS3 = new S3Client(localClientConfig(second.endpoint));
      try {
        const got = await secondS3.send(new GetBucketNotificationConfigurationCommand({ Bucket: 'kept' }));
        expect(got.QueueConfigurations).toEqual([{ Id: 'k', QueueArn: kept.arn, Events: ['s3:ObjectCreated:*'] }]);
        await secondS3.send(new PutObjectCommand({ Bucket: 'kept', Key: 'a.jpg', Body: 'a' }));
        await second.notificationsSettled();
        const bodies = (await drain(kept)).map((m) => (JSON.parse(m.Body!) as S3Event).Records[0].s3.object.key);
        expect(bodies).toEqual(['a.jpg']);
      } finally {
        secondS3.destroy();
        await second.stop();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
