/**
 * The gateway's steps, each alone: the guard's answer, naming a request (reading a form body),
 * S3's early refusals, the proxy's rewrites and notification facts (pure); then the proxy, faults
 * and the answer helpers over real sockets against a small upstream server.
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { MAX_QUERY_BODY_BYTES, readAwsRequest } from '../../src/local/cloud/gateway/aws-request';
import { callerRefusal } from '../../src/local/cloud/gateway/endpoint-guard';
import { applyFault, type FaultEffect } from '../../src/local/cloud/gateway/gateway-faults';
import {
  createStandInProxy,
  createdEventOf,
  objectCreatedFact,
  putObjectFacts,
  rewriteQueueUrls,
  sqsAnswer,
  upstreamPath,
  withoutHopByHop,
} from '../../src/local/cloud/gateway/gateway-proxy';
import { readBody, sendJson } from '../../src/local/cloud/http-io';
import type { ObjectCreatedFact } from '../../src/local/cloud/s3/notification-router';
import { objectTooLarge, s3Refusal } from '../../src/local/cloud/s3/s3-validation';
import { MAX_LOCAL_OBJECT_BYTES } from '../../src/local/cloud/standin/standin';

const PORT = 4566;
const bare = (method: string, url: string, headers: Record<string, string> = {}) => ({
  method,
  url,
  headers: { host: `127.0.0.1:${PORT}`, ...headers },
});

/** A request with a body, as readAwsRequest reads it (a stream with method, url and headers). */
function streamed(
  method: string,
  url: string,
  headers: Record<string, string>,
  body: string | Buffer,
): IncomingMessage {
  return Object.assign(Readable.from([Buffer.from(body)]), { method, url, headers }) as unknown as IncomingMessage;
}

describe('step 1, the guard: callerRefusal', () => {
  it('lets loopback callers and the endpoint`s own pages pass', () => {
    expect(callerRefusal(bare('GET', '/b/k'), PORT)).toBeUndefined();
    expect(callerRefusal(bare('GET', '/b/k', { origin: `http://localhost:${PORT}` }), PORT)).toBeUndefined();
  });

  it('refuses another Host with S3`s AccessDenied for an S3 request', () => {
    const refusal = callerRefusal(bare('GET', '/b/k', { host: 'attacker.example' }), PORT);
    expect([
      refusal?.rule,
      refusal?.info.service,
      refusal?.queryProtocol,
      refusal?.answer.status,
      refusal?.answer.code,
    ]).toEqual(['host', 's3', false, 403, 'AccessDenied']);
  });

  it(
    'answers the JSON REST APIs served as routes with AccessDeniedException, ' +
      'and a form POST (SQS Query) with AccessDenied in XML',
    () => {
      const rest = callerRefusal(
        bare('PUT', '/2015-03-31/event-source-mappings/u', { origin: 'https://evil.example' }),
        PORT,
      );
      expect([rest?.rule, rest?.info.service, rest?.answer.code]).toEqual(['origin', 'other', 'AccessDeniedException']);
      const query = callerRefusal(
        bare('POST', '/', { host: 'evil.example', 'content-type': 'application/x-www-form-urlencoded' }),
        PORT,
      );
      expect([query?.queryProtocol, query?.answer.code]).toEqual([true, 'AccessDenied']);
    },
  );

  it('lets an origin named in allowedOrigins in', () => {
    expect(
      callerRefusal(bare('GET', '/b/k', { origin: 'http://localhost:3000' }), PORT, ['http://localhost:3000']),
    ).toBeUndefined();
  });
});

describe('step 3a, naming the request: readAwsRequest', () => {
  it('names S3 and SQS JSON requests from their line and headers, without reading the body', async () => {
    expect(await readAwsRequest(streamed('PUT', '/b/k.jpg', {}, 'bytes'))).toEqual({
      info: { service: 's3', operation: 'PutObject', bucket: 'b', key: 'k.jpg' },
    });
    expect(await readAwsRequest(streamed('POST', '/', { 'x-amz-target': 'AmazonSQS.SendMessage' }, '{}'))).toEqual({
      info: { service: 'sqs', operation: 'SendMessage' },
    });
  });

  it('reads a form POST: an SQS Query body names its action and carries its JSON equivalent', async () => {
    const form = 'Action=GetQueueUrl&QueueName=q&Version=2012-11-05';
    const read = await readAwsRequest(
      streamed('POST', '/', { 'content-type': 'application/x-www-form-urlencoded' }, form),
    );
    expect([read?.info, read?.query?.action, read?.query?.json, read?.body?.toString()]).toEqual([
      { service: 'sqs', operation: 'GetQueueUrl' },
      'GetQueueUrl',
      { QueueName: 'q' },
      form,
    ]);
  });

  it('keeps a form body that is no Query request for the stand-in, and gives up past MAX_QUERY_BODY_BYTES', async () => {
    const other = await readAwsRequest(
      streamed('POST', '/', { 'content-type': 'application/x-www-form-urlencoded' }, 'a=b'),
    );
    expect([other?.info.service, other?.query, other?.body?.toString()]).toEqual(['other', undefined, 'a=b']);
    expect(
      await readAwsRequest(
        streamed(
          'POST',
          '/',
          { 'content-type': 'application/x-www-form-urlencoded' },
          Buffer.alloc(MAX_QUERY_BODY_BYTES + 1),
        ),
      ),
    ).toBeUndefined();
  });
});

describe('step 3c, S3`s refusals before the body: s3Refusal', () => {
  const put = { service: 's3' as const, operation: 'PutObject', bucket: 'b', key: 'k' };

  it('refuses an object body larger than the stand-in takes, by Content-Length or the aws-chunked decoded length', () => {
    const over = String(MAX_LOCAL_OBJECT_BYTES + 1);
    expect(objectTooLarge({ 'content-length': over }, put)?.code).toBe('EntityTooLarge');
    expect(objectTooLarge({ 'content-length': '10', 'x-amz-decoded-content-length': over }, put)?.details).toEqual({
      ProposedSize: over,
      MaxSizeAllowed: String(MAX_LOCAL_OBJECT_BYTES),
    });
    expect(objectTooLarge({ 'content-length': String(MAX_LOCAL_OBJECT_BYTES) }, put)).toBeUndefined();
    expect(objectTooLarge({ 'content-length': over }, { ...put, operation: 'GetObject' })).toBeUndefined();
  });

  it('refuses expired presigned URLs, over-long keys and bad bucket names; lets other services pass', () => {
    const presigned =
      '/b/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Date=20260101T000000Z&X-Amz-Expires=60&X-Amz-Signature=00';
    expect(s3Refusal({ url: presigned, headers: {} }, put, new Date('2026-01-01T00:00:59Z'))).toBeUndefined();
    expect(s3Refusal({ url: presigned, headers: {} }, put, new Date('2026-01-01T00:01:01Z'))?.code).toBe(
      'AccessDenied',
    );
    expect(s3Refusal({ url: '/b/k', headers: {} }, { ...put, key: 'k'.repeat(1025) }, new Date())?.code).toBe(
      'KeyTooLongError',
    );
    expect(
      s3Refusal(
        { url: '/B_', headers: {} },
        { service: 's3', operation: 'CreateBucket', bucket: 'B_', key: '' },
        new Date(),
      )?.code,
    ).toBe('InvalidBucketName');
    expect(
      s3Refusal({ url: presigned, headers: {} }, { service: 'sqs', operation: 'SendMessage' }, new Date('2030-01-01')),
    ).toBeUndefined();
  });
});

describe('step 3f, the proxy`s pure parts', () => {
  it('points queue URLs at the origin the client used and keeps other URLs', () => {
    const body = '{"QueueUrl":"http://127.0.0.1:4999/000000000000/ingest","Other":"http://example.com/x"}';
    expect(rewriteQueueUrls(body, 'http://localhost:4566')).toBe(
      '{"QueueUrl":"http://localhost:4566/000000000000/ingest","Other":"http://example.com/x"}',
    );
  });

  it('makes virtual-hosted requests path-style and drops hop-by-hop headers', () => {
    expect(
      upstreamPath('/k?x=1', {
        service: 's3',
        operation: 'GetObject',
        bucket: 'my.bucket',
        key: 'k',
        virtualHosted: true,
      }),
    ).toBe('/my.bucket/k?x=1');
    expect(upstreamPath('/b/k', { service: 's3', operation: 'GetObject', bucket: 'b', key: 'k' })).toBe('/b/k');
    expect(
      withoutHopByHop({ connection: 'keep-alive', 'transfer-encoding': 'chunked', 'x-amz-date': 'd', host: 'h' }),
    ).toEqual({ 'x-amz-date': 'd', host: 'h' });
  });

  it('reports object-creating writes to watched buckets only', () => {
    const watched = (bucket: string): boolean => bucket === 'src';
    expect(createdEventOf({ service: 's3', operation: 'PutObject', bucket: 'src', key: 'k' }, watched)).toBe(
      'ObjectCreated:Put',
    );
    expect(
      createdEventOf({ service: 's3', operation: 'CompleteMultipartUpload', bucket: 'src', key: 'k' }, watched),
    ).toBe('ObjectCreated:CompleteMultipartUpload');
    expect(
      createdEventOf({ service: 's3', operation: 'PutObject', bucket: 'other', key: 'k' }, watched),
    ).toBeUndefined();
    expect(createdEventOf({ service: 's3', operation: 'GetObject', bucket: 'src', key: 'k' }, watched)).toBeUndefined();
  });

  it('builds the notification fact from the answer: S3 ids, the caller`s IPv4, a POST upload`s key from its form', () => {
    const eventTime = new Date('2026-12-06T00:00:00Z');
    const answer = {
      headers: { 'x-amz-request-id': 'R1', 'x-amz-id-2': 'H1' },
      remoteAddress: '::ffff:127.0.0.1',
      eventTime,
      sequencer: '01',
    };
    expect(
      objectCreatedFact(
        { service: 's3', operation: 'PutObject', bucket: 'src', key: 'a b.jpg' },
        'ObjectCreated:Put',
        answer,
      ),
    ).toEqual({
      bucket: 'src',
      key: 'a b.jpg',
      eventName: 'ObjectCreated:Put',
      requestId: 'R1',
      hostId: 'H1',
      sourceIp: '127.0.0.1',
      eventTime,
      sequencer: '01',
    });
    const post = { service: 's3' as const, operation: 'PostObject', bucket: 'src', key: '' };
    expect(objectCreatedFact(post, 'ObjectCreated:Post', { ...answer, postKey: 'uploads/x.png' })).toMatchObject({
      key: 'uploads/x.png',
    });
    expect(objectCreatedFact(post, 'ObjectCreated:Post', answer)).toEqual({
      skipped: 'POST upload without a key field',
    });
    const fauxqs = objectCreatedFact(post, 'ObjectCreated:Post', {
      ...answer,
      headers: { 'x-amz-id-2': 'fauxqs' },
      postKey: 'k',
    }) as ObjectCreatedFact;
    expect([fauxqs.hostId === 'fauxqs', Buffer.from(fauxqs.hostId, 'base64').length, fauxqs.requestId]).toEqual([
      false,
      24,
      expect.stringMatching(/^[0-9A-F]{16}$/),
    ]);
  });

  it('takes a PutObject`s size and ETag from the write itself, and leaves the rest to a HeadObject', () => {
    const etag = { etag: '"5d41402abc4b2a76b9719d911017c592"' };
    expect(putObjectFacts({ 'content-length': '5' }, etag)).toEqual({
      size: 5,
      eTag: '5d41402abc4b2a76b9719d911017c592',
    });
    expect(putObjectFacts({ 'content-length': 5 }, { ...etag, 'x-amz-version-id': 'v1' })).toMatchObject({
      versionId: 'v1',
    });
    expect(putObjectFacts({ 'content-length': '5' }, { ...etag, 'x-amz-version-id': 'null' })).not.toHaveProperty(
      'versionId',
    );
    // An aws-chunked body is stored decoded: its length is the decoded one, and without it nothing is known.
    const chunked = { 'content-encoding': 'aws-chunked', 'content-length': '180' };
    expect(putObjectFacts({ ...chunked, 'x-amz-decoded-content-length': '5' }, etag)).toMatchObject({ size: 5 });
    expect(putObjectFacts(chunked, etag)).toBeUndefined();
    expect(putObjectFacts({ 'transfer-encoding': 'chunked' }, etag)).toBeUndefined();
    expect(putObjectFacts({ 'content-length': '5' }, {})).toBeUndefined();

    const answer = {
      headers: etag,
      requestHeaders: { 'content-length': '5' },
      remoteAddress: '127.0.0.1',
      eventTime: new Date(),
      sequencer: '01',
    };
    const info = { service: 's3' as const, operation: 'PutObject', bucket: 'src', key: 'k' };
    expect(objectCreatedFact(info, 'ObjectCreated:Put', answer)).toMatchObject({ object: { size: 5 } });
    // A copy's or a completed multipart upload's length is not the request's: the router asks.
    expect(objectCreatedFact({ ...info, operation: 'CopyObject' }, 'ObjectCreated:Copy', answer)).not.toHaveProperty(
      'object',
    );
  });
});

/** A server on 127.0.0.1 answering with `handler`; closed by the returned function. */
async function serve(
  handler: (req: IncomingMessage, res: ServerResponse) => void,
): Promise<{ url: string; close: () => Promise<void> }> {
  const server = http.createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    close: () => {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

/** One request; the status, headers and body, or the error that ended it. */
function request(
  url: string,
  method: string,
  path: string,
  headers: http.OutgoingHttpHeaders = {},
  body?: string,
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string } | { error: string }> {
  return new Promise((resolve) => {
    const req = http.request(`${url}${path}`, { method, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString() }),
      );
    });
    req.on('error', (err) => resolve({ error: (err as NodeJS.ErrnoException).code ?? err.message }));
    req.end(body);
  });
}

describe('step 3f, SQS answers as SQS gives them: sqsAnswer', () => {
  test('GetQueueAttributes leaves out a removed (empty) Policy and redrive attributes, and keeps the rest', () => {
    const body = JSON.stringify({
      Attributes: {
        Policy: '',
        RedriveAllowPolicy: '',
        RedrivePolicy: '{"maxReceiveCount":5}',
        VisibilityTimeout: '30',
      },
    });
    expect(JSON.parse(sqsAnswer('GetQueueAttributes', body, 'http://x'))).toEqual({
      Attributes: { RedrivePolicy: '{"maxReceiveCount":5}', VisibilityTimeout: '30' },
    });
  });
  test('queue URL answers move to the caller origin; other answers pass as they are', () => {
    expect(sqsAnswer('GetQueueUrl', '{"QueueUrl":"http://127.0.0.1:9/000000000000/q"}', 'http://localhost:1')).toBe(
      '{"QueueUrl":"http://localhost:1/000000000000/q"}',
    );
    expect(sqsAnswer('SendMessage', '{"MessageId":"m"}', 'http://x')).toBe('{"MessageId":"m"}');
  });
});

describe('step 3f, the proxy over real sockets: createStandInProxy', () => {
  let upstream: { url: string; close: () => Promise<void> };
  let seen: Array<{ method?: string; url?: string; headers: http.IncomingHttpHeaders; body: string }>;
  /** What the stand-in answers next. */
  let answer: { status: number; headers: Record<string, string>; body: string };

  beforeEach(async () => {
    seen = [];
    answer = { status: 200, headers: {}, body: '' };
    upstream = await serve((req, res) => {
      void readBody(req, 1 << 20).then((body) => {
        seen.push({ method: req.method, url: req.url, headers: req.headers, body: body?.toString() ?? '' });
        res.writeHead(answer.status, answer.headers).end(answer.body);
      });
    });
  });
  afterEach(() => upstream.close());

  /** A gateway made of the proxy alone, reporting created objects to `facts` for bucket `src`. */
  async function gatewayOf(
    facts: ObjectCreatedFact[],
    route: (proxy: ReturnType<typeof createStandInProxy>, req: IncomingMessage, res: ServerResponse) => Promise<void>,
  ) {
    const notifications = {
      watches: (bucket: string) => bucket === 'src',
      objectCreated: (fact: ObjectCreatedFact) => void facts.push(fact),
      nextSequencer: () => '01',
    };
    const proxy = createStandInProxy({
      upstream: upstream.url,
      notifications,
      log: () => {},
      originOf: (req) => `http://${req.headers.host}`,
    });
    const front = await serve((req, res) => void route(proxy, req, res));
    return { url: front.url, close: async () => (proxy.close(), await front.close()) };
  }

  it('forwards a virtual-hosted PutObject path-style with the stand-in`s Host, and reports the created object', async () => {
    const facts: ObjectCreatedFact[] = [];
    const gateway = await gatewayOf(facts, (proxy, req, res) =>
      proxy.forward(req, res, {
        service: 's3',
        operation: 'PutObject',
        bucket: 'src',
        key: 'k.jpg',
        virtualHosted: true,
      }),
    );
    try {
      answer = { status: 200, headers: { etag: '"e"', 'x-amz-request-id': 'R' }, body: '' };
      const res = await request(gateway.url, 'PUT', '/k.jpg', { host: 'src.localhost', 'x-amz-date': 'd' }, 'image');
      expect([
        'status' in res && res.status,
        seen[0]?.url,
        seen[0]?.headers.host,
        seen[0]?.headers['x-amz-date'],
        seen[0]?.body,
      ]).toEqual([200, '/src/k.jpg', new URL(upstream.url).host, 'd', 'image']);
      expect(facts.map((f) => [f.bucket, f.key, f.eventName, f.requestId])).toEqual([
        ['src', 'k.jpg', 'ObjectCreated:Put', 'R'],
      ]);
    } finally {
      await gateway.close();
    }
  });

  it('reports no object when CompleteMultipartUpload answers 200 with an <Error> body, as S3 may', async () => {
    const facts: ObjectCreatedFact[] = [];
    const gateway = await gatewayOf(facts, (proxy, req, res) =>
      proxy.forward(req, res, { service: 's3', operation: 'CompleteMultipartUpload', bucket: 'src', key: 'k' }),
    );
    try {
      answer = { status: 200, headers: {}, body: '<Error><Code>InternalError</Code></Error>' };
      const failed = await request(gateway.url, 'POST', '/src/k?uploadId=1', {}, '<CompleteMultipartUpload/>');
      answer = { status: 200, headers: {}, body: '<CompleteMultipartUploadResult/>' };
      await request(gateway.url, 'POST', '/src/k?uploadId=1', {}, '<CompleteMultipartUpload/>');
      expect(['body' in failed && failed.body, facts.length]).toEqual(['<Error><Code>InternalError</Code></Error>', 1]);
    } finally {
      await gateway.close();
    }
  });

  it('sends an SQS Query request on as JSON and answers XML with the queue URL at the client`s origin', async () => {
    const gateway = await gatewayOf([], (proxy, req, res) =>
      proxy.forwardSqsQuery(req, res, { action: 'GetQueueUrl', json: { QueueName: 'q' } }),
    );
    try {
      answer = {
        status: 200,
        headers: { 'x-amzn-requestid': 'RID' },
        body: '{"QueueUrl":"http://127.0.0.1:1/000000000000/q"}',
      };
      const res = await request(
        gateway.url,
        'POST',
        '/',
        { host: 'localhost:4566', 'content-type': 'application/x-www-form-urlencoded' },
        'Action=GetQueueUrl&QueueName=q&Version=2012-11-05',
      );
      expect([seen[0]?.headers['x-amz-target'], seen[0]?.headers['content-type'], seen[0]?.body]).toEqual([
        'AmazonSQS.GetQueueUrl',
        'application/x-amz-json-1.0',
        '{"QueueName":"q"}',
      ]);
      expect('body' in res && res.body).toContain('<QueueUrl>http://localhost:4566/000000000000/q</QueueUrl>');
      expect('headers' in res && res.headers['x-amzn-requestid']).toBe('RID');
    } finally {
      await gateway.close();
    }
  });

  it('answers 502 naming the cause when the stand-in is unreachable', async () => {
    const gateway = await gatewayOf([], (proxy, req, res) =>
      proxy.forward(req, res, { service: 's3', operation: 'GetObject', bucket: 'b', key: 'k' }),
    );
    try {
      await upstream.close();
      const res = await request(gateway.url, 'GET', '/b/k');
      expect(['status' in res && res.status, 'body' in res && res.body]).toEqual([
        502,
        expect.stringMatching(/^stand-in unreachable: /),
      ]);
    } finally {
      await gateway.close();
    }
  });
});

describe('step 3d, faults over real sockets: applyFault', () => {
  const info = { service: 's3' as const, operation: 'GetObject', bucket: 'b', key: 'k' };

  async function faulted(
    effect: FaultEffect,
  ): Promise<{ result: Awaited<ReturnType<typeof request>>; tookIt: boolean | undefined }> {
    let tookIt: boolean | undefined;
    const server = await serve((req, res) => {
      void applyFault(req, res, info, effect, false, () => {}).then((took) => {
        tookIt = took;
        if (!took) res.writeHead(200).end('forwarded');
      });
    });
    try {
      return { result: await request(server.url, 'GET', '/b/k'), tookIt };
    } finally {
      await server.close();
    }
  }

  it('answers an S3-shaped error for a status, cuts the connection for drop, lets a delay-only fault go on', async () => {
    const error = await faulted({ status: 503 });
    expect([
      'status' in error.result && error.result.status,
      'body' in error.result && error.result.body,
      error.tookIt,
    ]).toEqual([503, expect.stringContaining('<Code>SlowDown</Code>'), true]);
    const dropped = await faulted({ drop: true });
    expect([dropped.result, dropped.tookIt]).toEqual([{ error: 'ECONNRESET' }, true]);
    const delayed = await faulted({ delayMs: 1 });
    expect(['body' in delayed.result && delayed.result.body, delayed.tookIt]).toEqual(['forwarded', false]);
  });
});

describe('the answer helpers: sendJson, readBody', () => {
  it('sendJson sets the JSON content type (or the caller`s) and the byte length of multi-byte text', async () => {
    const server = await serve((req, res) =>
      req.url === '/own'
        ? sendJson(res, 400, { message: 'é' }, { 'content-type': 'application/x-amz-json-1.1' })
        : sendJson(res, 200, { ok: 'ü' }),
    );
    try {
      const plain = await request(server.url, 'GET', '/');
      const own = await request(server.url, 'GET', '/own');
      expect(
        'headers' in plain && [
          plain.status,
          plain.headers['content-type'],
          plain.headers['content-length'],
          plain.body,
        ],
      ).toEqual([200, 'application/json', '11', '{"ok":"ü"}']);
      expect('headers' in own && [own.status, own.headers['content-type'], JSON.parse(own.body)]).toEqual([
        400,
        'application/x-amz-json-1.1',
        { message: 'é' },
      ]);
    } finally {
      await server.close();
    }
  });

  it('readBody gives the body, or undefined past its limit', async () => {
    expect((await readBody(streamed('POST', '/', {}, 'abc'), 3))?.toString()).toBe('abc');
    expect(await readBody(streamed('POST', '/', {}, 'abcd'), 3)).toBeUndefined();
  });
});
