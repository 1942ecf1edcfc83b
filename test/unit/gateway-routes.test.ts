import type { IncomingMessage, ServerResponse } from 'node:http';
import { S3Client } from '@aws-sdk/client-s3';
import {
  awsTargetOf,
  createGatewayRouter,
  pageOf,
  type GatewayRoute,
  type RouteParams,
} from '../../src/local/cloud/gateway/gateway-routes';
import { uploadApiRoutes } from '../../src/local/cloud/apigateway/http-api';
import { kinesisApiRoute } from '../../src/local/cloud/kinesis/kinesis-api';
import { lambdaMappingsRoutes } from '../../src/local/cloud/lambda/lambda-api';
import type { MappingRegistry } from '../../src/local/cloud/lambda/mapping-registry';

/** A request as the router reads it: method, URL and headers. */
const request = (method: string, url: string, headers: Record<string, string> = {}): IncomingMessage =>
  ({ method, url, headers }) as unknown as IncomingMessage;
/** A response the handlers under test never write to; only headersSent and destroy() are read. */
const response = (headersSent = false): ServerResponse & { destroyed: boolean } => {
  const res = { headersSent, destroyed: false, destroy: () => ((res.destroyed = true), res) };
  return res as unknown as ServerResponse & { destroyed: boolean };
};

/** A route's label in these tests: method, path and constraint values. */
const label = (r: Omit<GatewayRoute, 'handler'>): string =>
  `${[r.method].flat().join(',')} ${r.path}${r.constraints ? ` ${Object.values(r.constraints).join(',')}` : ''}`;

/**
 * The gateway's table as chain.ts declares it (the real routes' methods, paths and constraints),
 * each handler recording the route's label and what the wildcard matched.
 */
function table(taken: string[]): GatewayRoute[] {
  const upload = uploadApiRoutes({
    invoke: () => undefined,
    s3: new S3Client({}),
    outputBucket: 'out',
    outputPrefix: 'resized/',
  });
  // The handlers are replaced below: the registry is never called.
  return [...lambdaMappingsRoutes({} as MappingRegistry), kinesisApiRoute(() => []), ...upload].map((r) => ({
    ...r,
    handler: (_req: IncomingMessage, _res: ServerResponse, params: RouteParams) =>
      void taken.push(params['*'] === undefined ? label(r) : `${label(r)} ${params['*']}`),
  }));
}

async function routeOf(req: IncomingMessage): Promise<string> {
  const taken: string[] = [];
  const router = createGatewayRouter(
    async () => void taken.push('stand-in'),
    () => taken.push('error'),
  );
  router.add(table(taken));
  await router.route(req, response());
  expect(taken).toHaveLength(1);
  return taken[0];
}

describe('the gateway route table', () => {
  it(
    'sends Kinesis JSON requests (X-Amz-Target Kinesis_20131202.*) ' +
      'to the Kinesis route on any path, SQS JSON requests to the stand-in',
    async () => {
      expect(await routeOf(request('POST', '/', { 'x-amz-target': 'Kinesis_20131202.PutRecord' }))).toBe(
        'POST /* Kinesis_20131202 ',
      );
      expect(await routeOf(request('POST', '/some/path', { 'x-amz-target': 'Kinesis_20131202.ListShards' }))).toBe(
        'POST /* Kinesis_20131202 some/path',
      );
      expect(await routeOf(request('POST', '/', { 'x-amz-target': 'AmazonSQS.SendMessage' }))).toBe('stand-in');
      expect(await routeOf(request('GET', '/', { 'x-amz-target': 'Kinesis_20131202.PutRecord' }))).toBe('stand-in');
    },
  );

  it(
    'redirects a browser opening / to the page; ' +
      'an AWS client listing buckets (GET / with Authorization) reaches the stand-in',
    async () => {
      expect(await routeOf(request('GET', '/', { accept: 'text/html,application/xhtml+xml' }))).toBe('GET / html');
      expect(
        await routeOf(request('GET', '/', { accept: 'text/html', authorization: 'AWS4-HMAC-SHA256 Credential=…' })),
      ).toBe('stand-in');
      expect(await routeOf(request('GET', '/'))).toBe('stand-in');
    },
  );

  it(
    'serves the upload API under /_api/ (404 for what it does not serve) ' +
      'and the page under /_ui/; other paths are S3 requests',
    async () => {
      expect(await routeOf(request('POST', '/_api/uploads'))).toBe('POST /_api/uploads');
      expect(await routeOf(request('GET', '/_api/uploads'))).toBe('ANY /_api/* uploads');
      expect(await routeOf(request('POST', '/_api/uploads/'))).toBe('ANY /_api/* uploads/');
      expect(await routeOf(request('GET', '/_ui/status?key=uploads/a.jpg'))).toBe('GET /_ui/status');
      expect(await routeOf(request('GET', '/_ui/'))).toBe('GET /_ui/');
      expect(await routeOf(request('POST', '/_ui/'))).toBe('stand-in');
      expect(await routeOf(request('GET', '/_ui/other'))).toBe('stand-in');
      expect(await routeOf(request('GET', '/_api'))).toBe('stand-in');
    },
  );

  it('serves the mappings API on its list path and under it (the rest of the path decoded), every method', async () => {
    expect(await routeOf(request('GET', '/2015-03-31/event-source-mappings?FunctionName=f'))).toBe(
      'ANY /2015-03-31/event-source-mappings',
    );
    expect(await routeOf(request('GET', '/2015-03-31/event-source-mappings/'))).toBe(
      'ANY /2015-03-31/event-source-mappings/* ',
    );
    expect(await routeOf(request('PUT', '/2015-03-31/event-source-mappings/a%20b'))).toBe(
      'ANY /2015-03-31/event-source-mappings/* a b',
    );
    expect(await routeOf(request('DELETE', '/2015-03-31/event-source-mappings/u/'))).toBe(
      'ANY /2015-03-31/event-source-mappings/* u/',
    );
  });

  it('leaves every S3 path to the stand-in, including keys the router cannot decode and very long ones', async () => {
    for (const url of [
      '/bucket/key.jpg',
      '/bucket/%zz',
      '/bucket/a;b',
      '//bucket//k',
      `/bucket/${'k'.repeat(1100)}`,
      '/bucket?cors',
    ]) {
      expect([url, await routeOf(request('PUT', url))]).toEqual([url, 'stand-in']);
    }
  });

  it('routes added while serving take their requests from then on', async () => {
    const taken: string[] = [];
    const router = createGatewayRouter(
      async () => void taken.push('stand-in'),
      () => taken.push('error'),
    );
    await router.route(request('GET', '/_ui/'), response());
    router.add([{ method: 'GET', path: '/_ui/', handler: () => void taken.push('page') }]);
    await router.route(request('GET', '/_ui/'), response());
    expect(taken).toEqual(['stand-in', 'page']);
  });

  it(
    "answers a handler's error with the route's onError, " +
      "else the router's; after an answer started it cuts the connection",
    async () => {
      const answered: string[] = [];
      const router = createGatewayRouter(
        async () => {},
        (_res, err) => answered.push(`router: ${err.message}`),
      );
      router.add([
        {
          method: 'GET',
          path: '/own',
          handler: () => Promise.reject(new Error('a')),
          onError: (_res, err) => answered.push(`route: ${err.message}`),
        },
        {
          method: 'GET',
          path: '/default',
          handler: () => {
            throw new Error('b');
          },
        },
      ]);
      await router.route(request('GET', '/own'), response());
      await router.route(request('GET', '/default'), response());
      const started = response(true);
      await router.route(request('GET', '/own'), started);
      expect([answered, started.destroyed]).toEqual([['route: a', 'router: b'], true]);
    },
  );

  it('refuses an ANY route with constraints (find-my-way registers ANY without them)', () => {
    const router = createGatewayRouter(
      async () => {},
      () => {},
    );
    expect(() => router.add([{ method: 'ANY', path: '/x', constraints: { page: 'html' }, handler: () => {} }])).toThrow(
      /constraints need a method list/,
    );
  });
});

describe('the header constraints', () => {
  it('awsTarget is X-Amz-Target up to its first dot', () => {
    expect(awsTargetOf({ headers: { 'x-amz-target': 'Kinesis_20131202.PutRecords' } })).toBe('Kinesis_20131202');
    expect(awsTargetOf({ headers: { 'x-amz-target': 'AmazonSQS.ReceiveMessage' } })).toBe('AmazonSQS');
    expect(awsTargetOf({ headers: {} })).toBe('');
  });

  it('page is html only for a browser navigation: Accept with text/html and no Authorization', () => {
    expect(pageOf({ headers: { accept: 'text/html' } })).toBe('html');
    expect(pageOf({ headers: { accept: 'text/html', authorization: 'x' } })).toBe('');
    expect(pageOf({ headers: { accept: '*/*' } })).toBe('');
  });
});
