// Who may talk to the local endpoint: requests over a real socket with the Host and Origin headers
// a DNS-rebinding page or a foreign web page would send, against the real gateway and stand-in.
// Refusals are each protocol's own 403 AccessDenied; loopback names and the endpoint's own pages
// pass; clients with no Origin (SDKs, the AWS CLI) are untouched.
import { CreateBucketCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { CreateQueueCommand, GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import http from 'node:http';
import net from 'node:net';
import { startGateway, type Gateway } from '../../src/local/cloud/gateway/gateway';
import { isEndpointOrigin, isLoopbackHost, normalizeOrigin } from '../../src/local/cloud/gateway/endpoint-guard';
import { exists, startTestCloud, type TestCloud } from '../helpers/local-cloud';
import { testWhen } from '../helpers/requires';
import { AWS_CLI_MISSING, findAwsCli, runAws } from '../helpers/up-process';

const BUCKET = 'guarded-bucket';
let cloud: TestCloud;
let port: number;
let queueUrl: string;
const awsCli = findAwsCli();
const CLI_MISSING = awsCli ? undefined : AWS_CLI_MISSING;

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** One request to the gateway with exactly these headers (Host included). */
function send(
  method: string,
  path: string,
  headers: Record<string, string>,
  body?: string | Buffer,
  to = port,
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: to, method, path, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }),
      );
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

const s3Code = (body: string): string | undefined => /<Code>([^<]*)<\/Code>/.exec(body)?.[1];

beforeAll(async () => {
  // The guard is tested with unsigned requests: signature checks are iam-enforcement.test.ts's.
  cloud = await startTestCloud({ auth: false });
  port = cloud.gateway.port;
  await cloud.s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
  await cloud.s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'hello.txt', Body: 'hello' }));
  queueUrl = (await cloud.sqs.send(new CreateQueueCommand({ QueueName: 'guarded-queue' }))).QueueUrl!;
});
afterAll(async () => {
  await cloud?.stop();
});

describe('Host: only loopback names', () => {
  it.each(['127.0.0.1', 'localhost', 'LocalHost', `${BUCKET}.localhost`, '[::1]', 'host.docker.internal'])(
    '%s (with the port) is answered',
    async (name) => {
      const path = name.endsWith('.localhost') ? '/hello.txt' : `/${BUCKET}/hello.txt`;
      const res = await send('GET', path, { host: `${name}:${port}` });
      expect([name, res.status, res.body]).toEqual([name, 200, 'hello']);
    },
  );

  it.each([
    'attacker.example',
    'rebind.attacker.example:' + 'PORT',
    '127.0.0.1.nip.io',
    'localhost.attacker.example',
    '10.0.0.5',
  ])('Host %j is refused with S3 AccessDenied, and a write through it stores nothing (DNS rebinding)', async (raw) => {
    const host = raw.replace('PORT', String(port));
    const get = await send('GET', `/${BUCKET}/hello.txt`, { host });
    expect([host, get.status, s3Code(get.body)]).toEqual([host, 403, 'AccessDenied']);
    expect(get.body).toContain('loopback host names');
    const put = await send('PUT', `/${BUCKET}/rebound.txt`, { host, 'content-type': 'text/plain' }, 'pwned');
    expect(put.status).toBe(403);
    expect(await exists(cloud, BUCKET, 'rebound.txt')).toBeUndefined();
  });
});

describe('no Host at all', () => {
  it('an HTTP/1.0 request without Host is refused', async () => {
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = net.connect(port, '127.0.0.1', () => socket.end(`GET /${BUCKET}/hello.txt HTTP/1.0\r\n\r\n`));
      let text = '';
      socket.setEncoding('utf8').on('data', (c: string) => (text += c));
      socket.on('end', () => resolve(text));
      socket.on('error', reject);
    });
    expect(answer).toMatch(/^HTTP\/1\.[01] 403 /);
    expect(answer).toContain('<Code>AccessDenied</Code>');
  });
});

describe('Origin: only the endpoint itself', () => {
  const host = (): string => `127.0.0.1:${port}`;

  it('a foreign page cannot PUT an object (S3 XML AccessDenied) or POST an upload form', async () => {
    const put = await send(
      'PUT',
      `/${BUCKET}/from-page.txt`,
      { host: host(), origin: 'https://attacker.example', 'content-type': 'text/plain' },
      'pwned',
    );
    expect([put.status, s3Code(put.body), put.headers['content-type']]).toEqual([
      403,
      'AccessDenied',
      'application/xml',
    ]);
    const boundary = 'b0undary';
    const form =
      `--${boundary}\r\nContent-Disposition: form-data; ` +
      `name="key"\r\n\r\nfrom-form.txt\r\n--${boundary}\r\nContent-Disposition: form-data; ` +
      `name="file"; filename="x.txt"\r\nContent-Type: text/plain\r\n\r\npwned\r\n--${boundary}--\r\n`;
    const post = await send(
      'POST',
      `/${BUCKET}`,
      { host: host(), origin: 'http://attacker.example', 'content-type': `multipart/form-data; boundary=${boundary}` },
      form,
    );
    expect([post.status, s3Code(post.body)]).toEqual([403, 'AccessDenied']);
    expect(await exists(cloud, BUCKET, 'from-page.txt')).toBeUndefined();
    expect(await exists(cloud, BUCKET, 'from-form.txt')).toBeUndefined();
  });

  it('a foreign page cannot send SQS messages: JSON protocol answers AccessDenied JSON with the query-error header', async () => {
    const res = await send(
      'POST',
      '/',
      {
        host: host(),
        origin: 'http://attacker.example',
        'content-type': 'application/x-amz-json-1.0',
        'x-amz-target': 'AmazonSQS.SendMessage',
      },
      JSON.stringify({ QueueUrl: queueUrl, MessageBody: 'pwned' }),
    );
    expect(res.status).toBe(403);
    expect(res.headers['x-amzn-query-error']).toBe('AccessDenied;Sender');
    const body = JSON.parse(res.body) as { __type: string; message: string };
    expect(body.__type).toMatch(/AccessDenied$/);
    expect(body.message).toContain('attacker.example');
  });

  it('a foreign form post in the Query protocol answers an XML ErrorResponse, and no message is sent', async () => {
    const res = await send(
      'POST',
      '/',
      { host: host(), origin: 'null', 'content-type': 'application/x-www-form-urlencoded' },
      `Action=SendMessage&Version=2012-11-05&QueueUrl=${encodeURIComponent(queueUrl)}&MessageBody=pwned`,
    );
    expect(res.status).toBe(403);
    expect(res.body).toMatch(/<ErrorResponse[^>]*>.*<Code>AccessDenied<\/Code>/s);
    const attrs = await cloud.sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['ApproximateNumberOfMessages'] }),
    );
    expect(attrs.Attributes?.ApproximateNumberOfMessages).toBe('0');
  });

  it('the endpoint`s own pages pass (127.0.0.1 and localhost on its port); another local port does not', async () => {
    for (const origin of [`http://127.0.0.1:${port}`, `http://localhost:${port}`]) {
      const res = await send('GET', `/${BUCKET}/hello.txt`, { host: host(), origin });
      expect([origin, res.status]).toEqual([origin, 200]);
    }
    const other = await send('GET', `/${BUCKET}/hello.txt`, { host: host(), origin: `http://127.0.0.1:${port + 1}` });
    expect(other.status).toBe(403);
  });

  it('extra routes (the Lambda mappings API, the upload API) are guarded too, with a JSON AccessDeniedException', async () => {
    let routed = 0;
    const gateway: Gateway = await startGateway({
      auth: false,
      upstream: `http://127.0.0.1:${port}`,
      routes: [
        {
          method: 'ANY',
          path: '/2015-03-31/event-source-mappings/*',
          handler: (_req, res) => {
            routed += 1;
            res.writeHead(200).end('{}');
          },
        },
      ],
    });
    try {
      const refused = await send(
        'POST',
        '/2015-03-31/event-source-mappings/x',
        { host: 'attacker.example', 'content-type': 'application/json' },
        '{}',
        gateway.port,
      );
      expect([
        refused.status,
        refused.headers['x-amzn-errortype'],
        (JSON.parse(refused.body) as { __type: string }).__type,
      ]).toEqual([403, 'AccessDeniedException', 'AccessDeniedException']);
      const allowed = await send(
        'GET',
        '/2015-03-31/event-source-mappings/',
        { host: `localhost:${gateway.port}` },
        undefined,
        gateway.port,
      );
      expect([allowed.status, routed]).toEqual([200, 1]);
    } finally {
      await gateway.stop();
    }
  });

  it('an origin named in allowedOrigins (up --allow-origin) gets in; others are still refused', async () => {
    // A route stands for what lies behind the guard (the stand-in would see the Origin header, not the guard).
    const gateway = await startGateway({
      auth: false,
      upstream: cloud.gateway.endpoint,
      allowedOrigins: ['http://localhost:3000'],
      routes: [{ method: 'GET', path: '/*', handler: (_req, res) => void res.writeHead(200).end() }],
    });
    try {
      const allowed = await send(
        'GET',
        `/${BUCKET}/hello.txt`,
        { host: `127.0.0.1:${gateway.port}`, origin: 'http://localhost:3000' },
        undefined,
        gateway.port,
      );
      const other = await send(
        'GET',
        `/${BUCKET}/hello.txt`,
        { host: `127.0.0.1:${gateway.port}`, origin: 'http://localhost:3001' },
        undefined,
        gateway.port,
      );
      expect([allowed.status, other.status]).toEqual([200, 403]);
    } finally {
      await gateway.stop();
    }
  });

  testWhen(CLI_MISSING, 'the AWS CLI (no Origin) works through http://localhost:<port>', async () => {
    const out = await runAws(awsCli!.path, `http://localhost:${port}`, ['s3', 'ls', `s3://${BUCKET}/`]);
    expect(out).toContain('hello.txt');
  });
});

describe('the rules themselves', () => {
  it('reads Host and Origin strictly', () => {
    expect(['localhost', 'a.b.localhost:1', '[::1]:4566', 'HOST.DOCKER.INTERNAL:80'].map(isLoopbackHost)).toEqual([
      true,
      true,
      true,
      true,
    ]);
    expect(
      ['localhost.', 'evil.com', '127.0.0.2', '[::2]', 'localhost:99999x', 'a_b.localhost'].map(isLoopbackHost),
    ).toEqual([false, false, false, false, false, false]);
    expect(isEndpointOrigin('http://localhost:4566', 4566)).toBe(true);
    expect(isEndpointOrigin('https://localhost:4566', 4566)).toBe(false);
    expect(isEndpointOrigin('null', 4566)).toBe(false);
    expect(isEndpointOrigin('http://localhost', 80)).toBe(true);
    expect(
      ['http://localhost:3000/', 'https://app.example', 'http://localhost:3000/path', 'ftp://x', 'nope'].map(
        normalizeOrigin,
      ),
    ).toEqual(['http://localhost:3000', 'https://app.example', undefined, undefined, undefined]);
  });
});
