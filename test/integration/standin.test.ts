/**
 * The stand-in S3/SQS server behind the gateway, with the real SDK over real sockets: plain
 * S3 and SQS traffic, queue URLs, S3 bucket notifications and fault injection.
 */
import type { S3Event } from 'aws-lambda';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import http from 'node:http';
import {
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import {
  CreateQueueCommand,
  DeleteMessageCommand,
  DeleteQueueCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
  type Message,
} from '@aws-sdk/client-sqs';
import {
  MAX_LOCAL_OBJECT_BYTES,
  startStandIn,
  resolveStandInScript,
  type StandIn,
} from '../../src/local/cloud/standin/standin';
import { startGateway, type Gateway } from '../../src/local/cloud/gateway/gateway';
import { localClientConfig, localAwsEnv } from '../../src/local/client-config';
import { presignPost } from '../../src/aws/presign';
import { encodeS3Key } from '../../src/core/s3-event';
import { classifyRequest } from '../../src/local/cloud/gateway/aws-request';
import { EMPTY_QUEUE, queueCounts } from '../helpers/local-cloud';
import { waitFor } from '../helpers/wait';
import { allowS3Notifications, putQueueNotification, s3NotificationQueuePolicy } from '../../src/local/resources';

let standIn: StandIn;
let gateway: Gateway;
let s3: S3Client;
let sqs: SQSClient;
let queueUrl: string;
let queueArn: string;
const logs: Record<string, unknown>[] = [];

async function receiveAll(url: string, expectAtLeast: number, maxPolls = 4): Promise<Message[]> {
  const messages: Message[] = [];
  for (let poll = 0; poll < maxPolls && messages.length < expectAtLeast; poll += 1) {
    const answer = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }),
    );
    for (const message of answer.Messages ?? []) {
      messages.push(message);
      await sqs.send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: message.ReceiptHandle }));
    }
  }
  return messages;
}

beforeAll(async () => {
  standIn = await startStandIn();
  gateway = await startGateway({ upstream: standIn.endpoint, logSink: (line) => logs.push(line) });
  s3 = new S3Client(localClientConfig(gateway.endpoint));
  sqs = new SQSClient(localClientConfig(gateway.endpoint));
  await s3.send(new CreateBucketCommand({ Bucket: 'source' }));
  queueUrl = (await sqs.send(new CreateQueueCommand({ QueueName: 'ingest' }))).QueueUrl!;
  const attributes = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] }),
  );
  queueArn = attributes.Attributes!.QueueArn!;
});

afterAll(async () => {
  s3?.destroy();
  sqs?.destroy();
  await gateway?.stop();
  await standIn?.stop();
});

describe('stand-in and gateway', () => {
  it('binds the stand-in and the gateway on loopback', () => {
    expect(standIn.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(gateway.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(resolveStandInScript()).toMatch(/standin-server\.mjs$/);
  });

  it('round-trips an S3 object with the SDK default checksums', async () => {
    const body = Buffer.from('hello stand-in');
    await s3.send(new PutObjectCommand({ Bucket: 'source', Key: 'plain/a.txt', Body: body }));
    const got = await s3.send(new GetObjectCommand({ Bucket: 'source', Key: 'plain/a.txt' }));
    expect(Buffer.from(await got.Body!.transformToByteArray())).toEqual(body);
  });

  it('streams a large upload (the SDK sends Expect: 100-continue) through intact', async () => {
    const body = Buffer.alloc(3 * 1024 * 1024, 7);
    await s3.send(new PutObjectCommand({ Bucket: 'source', Key: 'plain/big.bin', Body: body }));
    const got = await s3.send(new GetObjectCommand({ Bucket: 'source', Key: 'plain/big.bin' }));
    const bytes = Buffer.from(await got.Body!.transformToByteArray());
    expect(bytes.length).toBe(body.length);
    expect(bytes.equals(body)).toBe(true);
  });

  it(
    'takes an object above the 11 MiB body limit fauxqs has alone in one PutObject, ' +
      'and refuses one above MAX_LOCAL_OBJECT_BYTES',
    async () => {
      const body = Buffer.alloc(20 * 1024 * 1024, 9);
      await s3.send(new PutObjectCommand({ Bucket: 'source', Key: 'plain/twenty.bin', Body: body }));
      const head = await s3.send(new GetObjectCommand({ Bucket: 'source', Key: 'plain/twenty.bin' }));
      const got = Buffer.from(await head.Body!.transformToByteArray());
      expect(got.length).toBe(body.length);
      expect(createHash('sha256').update(got).digest('hex')).toBe(createHash('sha256').update(body).digest('hex'));
      const tooBig = Buffer.alloc(MAX_LOCAL_OBJECT_BYTES + 2 * 1024 * 1024, 1);
      await expect(
        s3.send(new PutObjectCommand({ Bucket: 'source', Key: 'plain/too-big.bin', Body: tooBig })),
      ).rejects.toMatchObject({
        name: 'EntityTooLarge',
        $metadata: { httpStatusCode: 400 },
      });
      await expect(s3.send(new GetObjectCommand({ Bucket: 'source', Key: 'plain/too-big.bin' }))).rejects.toMatchObject(
        {
          $metadata: { httpStatusCode: 404 },
        },
      );
    },
  );

  it('keeps the connection after a HEAD of a missing key (the answer carries a length), stand-in and gateway', async () => {
    /** HEADs `path` on `endpoint` three times over one kept-alive agent; the sockets used and the answers. */
    async function headThrice(endpoint: string, path: string) {
      const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
      const sockets = new Set<unknown>();
      const answers: Array<{ status?: number; length?: string }> = [];
      try {
        for (let i = 0; i < 3; i += 1) {
          answers.push(
            await new Promise((resolve, reject) => {
              const req = http.request(`${endpoint}${path}`, { method: 'HEAD', agent }, (res) => {
                res.resume();
                res.on('end', () => resolve({ status: res.statusCode, length: res.headers['content-length'] }));
              });
              req.on('socket', (socket) => sockets.add(socket));
              req.on('error', reject);
              req.end();
            }),
          );
        }
      } finally {
        agent.destroy();
      }
      return { sockets: sockets.size, answers };
    }
    const missing = { status: 404, length: '0' };
    // Unsigned: the stand-in checks no signature. The gateway here enforces IAM, so it refuses the
    // anonymous HEAD as S3 refuses one on a private bucket (403, no body): an answer with a length too.
    expect(await headThrice(standIn.endpoint, '/source/plain/missing.txt')).toEqual({
      sockets: 1,
      answers: [missing, missing, missing],
    });
    const refused = { status: 403, length: '0' };
    expect(await headThrice(gateway.endpoint, '/source/plain/missing.txt')).toEqual({
      sockets: 1,
      answers: [refused, refused, refused],
    });
  });

  it('answers queue URLs that point at the gateway', async () => {
    expect(queueUrl.startsWith(gateway.endpoint + '/')).toBe(true);
    const again = await sqs.send(new GetQueueUrlCommand({ QueueName: 'ingest' }));
    expect(again.QueueUrl).toBe(queueUrl);
  });

  it('sends and receives SQS messages through the gateway', async () => {
    await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: 'ping' }));
    const messages = await receiveAll(queueUrl, 1);
    expect(messages.map((message) => message.Body)).toEqual(['ping']);
    expect(gateway.counters().requests['sqs:SendMessage']).toBeGreaterThanOrEqual(1);
  });

  it('gives child processes an environment that reaches the gateway', () => {
    const env = localAwsEnv(gateway.endpoint);
    expect(env).toMatchObject({
      AWS_ENDPOINT_URL: gateway.endpoint,
      AWS_REGION: 'us-east-1',
      S3_FORCE_PATH_STYLE: 'true',
    });
  });
});

describe('S3 bucket notifications', () => {
  beforeAll(async () => {
    await allowS3Notifications(sqs, { name: 'ingest', url: queueUrl, arn: queueArn }, 'source');
    await putQueueNotification(s3, { bucket: 'source', queueArn, prefix: 'uploads/', id: 'ingest-uploads' });
  });

  it('sends the s3:TestEvent when a configuration is added', async () => {
    const [message] = await receiveAll(queueUrl, 1);
    expect(JSON.parse(message.Body!)).toMatchObject({ Service: 'Amazon S3', Event: 's3:TestEvent', Bucket: 'source' });
  });

  it('encodes keys as S3 does', () => {
    expect(encodeS3Key('uploads/my photo ü+1.jpg')).toBe('uploads/my+photo+%C3%BC%2B1.jpg');
    expect(encodeS3Key("a/b (1)!~'*.-_=:.jpg")).toBe('a/b+%281%29%21%7E%27*.-_%3D%3A.jpg');
  });

  it('sends exactly one notification for a put under the prefix, with size and eTag', async () => {
    const body = Buffer.from('not really a jpeg, but bytes');
    const put = await s3.send(new PutObjectCommand({ Bucket: 'source', Key: 'uploads/my photo ü+1.jpg', Body: body }));
    await gateway.notificationsSettled();
    const messages = await receiveAll(queueUrl, 2, 2);
    expect(messages).toHaveLength(1);
    const event = JSON.parse(messages[0].Body!) as S3Event;
    expect(event.Records).toHaveLength(1);
    const [record] = event.Records;
    expect(record).toMatchObject({
      eventVersion: '2.1',
      eventSource: 'aws:s3',
      awsRegion: 'us-east-1',
      eventName: 'ObjectCreated:Put',
      requestParameters: { sourceIPAddress: '127.0.0.1' },
      s3: {
        s3SchemaVersion: '1.0',
        configurationId: 'ingest-uploads',
        bucket: { name: 'source', arn: 'arn:aws:s3:::source' },
        object: {
          key: 'uploads/my+photo+%C3%BC%2B1.jpg',
          size: body.length,
          eTag: createHash('md5').update(body).digest('hex'),
        },
      },
    });
    expect(put.ETag).toBe(`"${record.s3.object.eTag}"`);
    expect(new Date(record.eventTime).toISOString()).toBe(record.eventTime);
    expect(record.s3.object.sequencer).toMatch(/^[0-9A-F]+$/);
    expect(record.responseElements['x-amz-request-id']).toEqual(expect.any(String));
  });

  it('describes in each event the object its own put stored, also when the key is written again at once', async () => {
    const bodies = ['first body', 'the second, longer body', Buffer.alloc(70_000, 7)].map((b) => Buffer.from(b));
    // The last as a stream: the SDK sends it aws-chunked, and the event names the decoded length.
    await Promise.all(
      bodies.map((body, i) =>
        s3.send(
          new PutObjectCommand({
            Bucket: 'source',
            Key: 'uploads/twice.jpg',
            Body: i === 2 ? Readable.from([body]) : body,
            ContentLength: body.length,
          }),
        ),
      ),
    );
    await gateway.notificationsSettled();
    const objects = (await receiveAll(queueUrl, 3)).map(
      (message) => (JSON.parse(message.Body!) as S3Event).Records[0].s3.object,
    );
    const described = (o: { size: number; eTag: string }) => `${o.size}:${o.eTag}`;
    expect(new Set(objects.map(described))).toEqual(
      new Set(
        bodies.map((body) => described({ size: body.length, eTag: createHash('md5').update(body).digest('hex') })),
      ),
    );
  });

  it('sends nothing for a put outside the prefix', async () => {
    const before = gateway.counters().notificationsSent;
    await s3.send(new PutObjectCommand({ Bucket: 'source', Key: 'other/x.jpg', Body: 'x' }));
    await gateway.notificationsSettled();
    expect(gateway.counters().notificationsSent).toBe(before);
    expect(await queueCounts({ sqs }, queueUrl)).toEqual(EMPTY_QUEUE);
  });

  it('names copies and multipart uploads by their event, with increasing sequencers', async () => {
    await s3.send(
      new CopyObjectCommand({ Bucket: 'source', Key: 'uploads/copy.jpg', CopySource: 'source/plain/a.txt' }),
    );
    const upload = await s3.send(new CreateMultipartUploadCommand({ Bucket: 'source', Key: 'uploads/multi.jpg' }));
    const part = await s3.send(
      new UploadPartCommand({
        Bucket: 'source',
        Key: 'uploads/multi.jpg',
        UploadId: upload.UploadId,
        PartNumber: 1,
        Body: 'part-one',
      }),
    );
    await s3.send(
      new CompleteMultipartUploadCommand({
        Bucket: 'source',
        Key: 'uploads/multi.jpg',
        UploadId: upload.UploadId,
        MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part.ETag }] },
      }),
    );
    await gateway.notificationsSettled();
    const records = (await receiveAll(queueUrl, 2)).map((message) => (JSON.parse(message.Body!) as S3Event).Records[0]);
    const byKey = Object.fromEntries(records.map((record) => [record.s3.object.key, record]));
    expect(byKey['uploads/copy.jpg']).toMatchObject({ eventName: 'ObjectCreated:Copy', s3: { object: { size: 14 } } });
    expect(byKey['uploads/multi.jpg']).toMatchObject({
      eventName: 'ObjectCreated:CompleteMultipartUpload',
      s3: { object: { size: 8, eTag: expect.stringMatching(/^[0-9a-f]{32}-1$/) } },
    });
    expect(byKey['uploads/copy.jpg'].s3.object.sequencer < byKey['uploads/multi.jpg'].s3.object.sequencer).toBe(true);
  });

  it('names browser form uploads (POST) by their event and form key', async () => {
    // A signed form, as browsers post them: an anonymous one (no policy) is refused as on S3.
    const signed = await presignPost({
      client: s3,
      bucket: 'source',
      key: 'uploads/form photo.png',
      contentType: 'image/png',
      minBytes: 1,
      maxBytes: 1000,
      expiresSeconds: 60,
    });
    const form = new FormData();
    for (const [name, value] of Object.entries(signed.fields)) form.append(name, value);
    form.append('file', new Blob([Buffer.from('form bytes')], { type: 'image/png' }), 'form photo.png');
    const answer = await fetch(`${gateway.endpoint}/source`, { method: 'POST', body: form });
    expect(answer.status).toBe(204);
    await gateway.notificationsSettled();
    const [message] = await receiveAll(queueUrl, 1);
    expect((JSON.parse(message.Body!) as S3Event).Records[0]).toMatchObject({
      eventName: 'ObjectCreated:Post',
      s3: { object: { key: 'uploads/form+photo.png', size: 10 } },
    });
  });
});

describe('notification delivery', () => {
  it('retries until the destination queue accepts the notification', async () => {
    await s3.send(new CreateBucketCommand({ Bucket: 'late' }));
    const late = { name: 'late-queue', url: '', arn: 'arn:aws:sqs:us-east-1:000000000000:late-queue' };
    late.url = (await sqs.send(new CreateQueueCommand({ QueueName: late.name }))).QueueUrl!;
    await allowS3Notifications(sqs, late, 'late');
    await putQueueNotification(s3, { bucket: 'late', queueArn: late.arn, id: 'late' });
    await gateway.notificationsSettled();
    // The queue goes away after the configuration was validated: deliveries wait for it to come back.
    await sqs.send(new DeleteQueueCommand({ QueueUrl: late.url }));
    const retriesBefore = gateway.counters().notificationRetries;
    await s3.send(new PutObjectCommand({ Bucket: 'late', Key: 'a.jpg', Body: 'a' }));
    await waitFor('a notification retry', () => gateway.counters().notificationRetries > retriesBefore, 5000, 20);
    expect(gateway.counters().notificationRetries).toBeGreaterThan(retriesBefore);
    // IAM is enforced: the queue comes back with the policy that lets the bucket send (as on AWS, a
    // queue without one refuses S3's delivery).
    const lateUrl = (
      await sqs.send(
        new CreateQueueCommand({
          QueueName: 'late-queue',
          Attributes: { Policy: s3NotificationQueuePolicy('late', late.arn) },
        }),
      )
    ).QueueUrl!;
    await gateway.notificationsSettled();
    const messages = await receiveAll(lateUrl, 1);
    expect(messages.map((message) => (JSON.parse(message.Body!) as S3Event).Records[0].s3.object.key)).toEqual([
      'a.jpg',
    ]);
    expect(logs.some((line) => line.event === 'notification.retry')).toBe(true);
    expect(logs.filter((line) => line.event === 'notification.denied' && line.key === 'a.jpg')).toEqual([]);
  });

  it("drops and logs a notification an existing queue's policy refuses, without retrying it", async () => {
    await s3.send(new CreateBucketCommand({ Bucket: 'refused' }));
    const queue = { name: 'refusing-queue', url: '', arn: 'arn:aws:sqs:us-east-1:000000000000:refusing-queue' };
    queue.url = (await sqs.send(new CreateQueueCommand({ QueueName: queue.name }))).QueueUrl!;
    await allowS3Notifications(sqs, queue, 'refused');
    await putQueueNotification(s3, { bucket: 'refused', queueArn: queue.arn, id: 'refused' });
    await gateway.notificationsSettled();
    // The policy now allows another bucket only.
    await allowS3Notifications(sqs, queue, 'another-bucket');
    await s3.send(new PutObjectCommand({ Bucket: 'refused', Key: 'r.jpg', Body: 'r' }));
    await gateway.notificationsSettled();
    expect(logs.filter((line) => line.event === 'notification.denied' && line.key === 'r.jpg')).toHaveLength(1);
    expect(logs.some((line) => line.event === 'iam.denied' && line.resource === queue.arn)).toBe(true);
    expect(logs.some((line) => line.event === 'notification.retry' && line.key === 'r.jpg')).toBe(false);
    const keys = (await receiveAll(queue.url, 2, 2)).map(
      (message) => (JSON.parse(message.Body!) as Partial<S3Event>).Records?.[0].s3.object.key,
    );
    // Only the configuration's s3:TestEvent arrived (sent while the policy allowed the bucket).
    expect(keys).toEqual([undefined]);
  });
});

describe('fault injection', () => {
  it('fails exactly one GetObject with a 503 the SDK understands, then lets the next through', async () => {
    const once = new S3Client(localClientConfig(gateway.endpoint, 'us-east-1', { maxAttempts: 1 }));
    try {
      await s3.send(new PutObjectCommand({ Bucket: 'source', Key: 'plain/faulty.txt', Body: 'ok' }));
      const rule = gateway.faults.add({
        service: 's3',
        operation: 'GetObject',
        key: 'plain/faulty.txt',
        effect: { status: 503 },
      });
      const failure = await once
        .send(new GetObjectCommand({ Bucket: 'source', Key: 'plain/faulty.txt' }))
        .catch((err: unknown) => err);
      expect(failure).toMatchObject({ name: 'SlowDown', $metadata: { httpStatusCode: 503 } });
      expect(rule.hits).toBe(1);
      const got = await once.send(new GetObjectCommand({ Bucket: 'source', Key: 'plain/faulty.txt' }));
      expect(await got.Body!.transformToString()).toBe('ok');
      expect(gateway.counters().faultsInjected).toBeGreaterThanOrEqual(1);
    } finally {
      once.destroy();
    }
  });

  it('answers SQS faults in the JSON protocol shape', async () => {
    const once = new SQSClient(localClientConfig(gateway.endpoint, 'us-east-1', { maxAttempts: 1 }));
    try {
      gateway.faults.add({
        service: 'sqs',
        operation: 'SendMessage',
        effect: { status: 400, code: 'ThrottlingException' },
      });
      const failure = await once
        .send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: 'x' }))
        .catch((err: unknown) => err);
      expect(failure).toMatchObject({ name: 'ThrottlingException', $metadata: { httpStatusCode: 400 } });
    } finally {
      once.destroy();
    }
  });

  it('lets the SDK retry through a transient fault', async () => {
    gateway.faults.add({
      service: 's3',
      operation: 'GetObject',
      key: 'plain/a.txt',
      times: 2,
      effect: { status: 500 },
    });
    const got = await s3.send(new GetObjectCommand({ Bucket: 'source', Key: 'plain/a.txt' }));
    expect(got.$metadata.attempts).toBe(3);
  });

  it('surfaces a dropped connection as an SDK error', async () => {
    const once = new S3Client(localClientConfig(gateway.endpoint, 'us-east-1', { maxAttempts: 1 }));
    try {
      gateway.faults.add({ service: 's3', operation: 'GetObject', key: /faulty/, effect: { drop: true } });
      const failure = await once
        .send(new GetObjectCommand({ Bucket: 'source', Key: 'plain/faulty.txt' }))
        .catch((err: unknown) => err);
      expect(failure).toBeInstanceOf(Error);
      expect((failure as Error).message).toMatch(/socket hang up|ECONNRESET/i);
    } finally {
      once.destroy();
    }
  });

  it('draws rate-based faults from the seed, reproducibly', () => {
    const request = classifyRequest('GET', '/b/k', { host: '127.0.0.1:1' });
    const draw = async (seed: number): Promise<boolean[]> => {
      const { FaultInjector } = await import('../../src/local/cloud/gateway/gateway-faults');
      const injector = new FaultInjector(seed);
      injector.add({ operation: 'GetObject', rate: 0.5, effect: { status: 500 } });
      return Array.from({ length: 32 }, () => injector.pick(request) !== undefined);
    };
    return Promise.all([draw(7), draw(7), draw(8)]).then(([a, b, c]) => {
      expect(a).toEqual(b);
      expect(a).not.toEqual(c);
      expect(a.filter(Boolean).length).toBeGreaterThan(4);
    });
  });

  it('classifies S3 operations from method, path and query', () => {
    const host = { host: '127.0.0.1:1' };
    expect(classifyRequest('PUT', '/b/k%20x?x-id=PutObject', host)).toEqual({
      service: 's3',
      operation: 'PutObject',
      bucket: 'b',
      key: 'k x',
    });
    expect(classifyRequest('PUT', '/b/k', { ...host, 'x-amz-copy-source': 'b/j' }).operation).toBe('CopyObject');
    expect(classifyRequest('POST', '/b/k?uploadId=1', host).operation).toBe('CompleteMultipartUpload');
    expect(classifyRequest('GET', '/b?list-type=2', host).operation).toBe('ListObjectsV2');
    expect(classifyRequest('GET', '/k', { host: 'photos.localhost:9' })).toMatchObject({
      operation: 'GetObject',
      bucket: 'photos',
      key: 'k',
      virtualHosted: true,
    });
    expect(classifyRequest('GET', '/b/k', { host: 'host.docker.internal:9' })).toMatchObject({ bucket: 'b', key: 'k' });
    expect(
      classifyRequest('POST', '/', {
        ...host,
        'x-amz-target': 'AmazonSQS.ReceiveMessage',
        'content-type': 'application/x-amz-json-1.0',
      }),
    ).toEqual({
      service: 'sqs',
      operation: 'ReceiveMessage',
    });
  });
});

describe('stop', () => {
  it('a stopped stand-in refuses connections', async () => {
    const extra = await startStandIn();
    await extra.stop();
    const refused = await new Promise<boolean>((resolve) => {
      http.get(`${extra.endpoint}/health`, () => resolve(false)).on('error', () => resolve(true));
    });
    expect(refused).toBe(true);
  });
});
