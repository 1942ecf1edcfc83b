// Bucket CORS in the local cloud, as S3 does it: the configuration goes through the real SDK
// (PutBucketCors / GetBucketCors / DeleteBucketCors), and preflights (OPTIONS with Origin and
// Access-Control-Request-Method, as a browser sends them) are answered from it, with S3's 403
// refusals when the bucket has no configuration or no rule matches. The chain's upload rule is the
// one the module sets (uploadCorsRule), put by allowBrowserUploads.
import { DeleteBucketCorsCommand, GetBucketCorsCommand, PutBucketCorsCommand } from '@aws-sdk/client-s3';
import { uploadCorsRule } from '../../src/core/upload';
import { allowBrowserUploads } from '../../src/local/resources';
import { CORS_NOT_ALLOWED_MESSAGE } from '../../src/local/cloud/s3/s3-cors';
import { startTestCloud, type TestCloud } from '../helpers/local-cloud';

let cloud: TestCloud;
let bucket: string;

const ORIGIN = 'https://app.example.com';
const FOREIGN_ORIGIN = 'https://evil.example.net';

beforeAll(async () => {
  // The endpoint guard lets these pages in (as `up --allow-origin` does), so what answers them is the bucket's CORS.
  // Browsers' unsigned requests probe CORS here; signatures and policies are iam-enforcement.test.ts's.
  cloud = await startTestCloud({ allowedOrigins: [ORIGIN, FOREIGN_ORIGIN], auth: false });
  bucket = cloud.resources.buckets.source;
});

afterAll(async () => {
  await cloud?.stop();
});

afterEach(async () => {
  await cloud.s3.send(new DeleteBucketCorsCommand({ Bucket: bucket }));
});

/** A browser's preflight for a cross-origin request to `path`. */
async function preflight(
  path: string,
  headers: Record<string, string>,
): Promise<{ status: number; headers: Headers; code?: string; message?: string; body: string }> {
  const res = await fetch(`${cloud.gateway.endpoint}${path}`, { method: 'OPTIONS', headers });
  const body = await res.text();
  return {
    status: res.status,
    headers: res.headers,
    body,
    code: /<Code>([^<]*)<\/Code>/.exec(body)?.[1],
    message: /<Message>([^<]*)<\/Message>/.exec(body)?.[1],
  };
}

const POST_PREFLIGHT = { origin: ORIGIN, 'access-control-request-method': 'POST' };

test(
  'without a CORS configuration: GetBucketCors says ' +
    'NoSuchCORSConfiguration and a preflight is refused (403 AccessForbidden)',
  async () => {
    await expect(cloud.s3.send(new GetBucketCorsCommand({ Bucket: bucket }))).rejects.toMatchObject({
      name: 'NoSuchCORSConfiguration',
      message: 'The CORS configuration does not exist',
    });
    const answer = await preflight(`/${bucket}`, POST_PREFLIGHT);
    expect(answer).toMatchObject({
      status: 403,
      code: 'AccessForbidden',
      message: 'CORSResponse: CORS is not enabled for this bucket.',
    });
    expect(answer.body).toContain('<Method>POST</Method><ResourceType>BUCKET</ResourceType>');
    expect(answer.headers.get('access-control-allow-origin')).toBeNull();
  },
);

test("the chain's upload rule round-trips through the SDK and answers a browser's POST preflight as S3 does", async () => {
  await allowBrowserUploads(cloud.s3, bucket, [ORIGIN]);
  const got = await cloud.s3.send(new GetBucketCorsCommand({ Bucket: bucket }));
  expect(got.CORSRules).toEqual([uploadCorsRule([ORIGIN])]);

  const ok = await preflight(`/${bucket}`, POST_PREFLIGHT);
  expect(ok.status).toBe(200);
  expect(ok.body).toBe('');
  expect(Object.fromEntries([...ok.headers].filter(([name]) => name.startsWith('access-control-')))).toEqual({
    'access-control-allow-origin': ORIGIN,
    'access-control-allow-credentials': 'true',
    'access-control-allow-methods': 'POST',
    'access-control-expose-headers': 'ETag',
    'access-control-max-age': '3000',
  });
  expect(ok.headers.get('vary')).toBe('Origin, Access-Control-Request-Headers, Access-Control-Request-Method');
});

test.each([
  ['another origin', { origin: FOREIGN_ORIGIN, 'access-control-request-method': 'POST' }],
  ['another method', { origin: ORIGIN, 'access-control-request-method': 'PUT' }],
  ['a request header no rule allows', { ...POST_PREFLIGHT, 'access-control-request-headers': 'x-custom' }],
])("a preflight with %s is refused with S3's CORSResponse 403", async (_name, headers) => {
  await allowBrowserUploads(cloud.s3, bucket, [ORIGIN]);
  const answer = await preflight(`/${bucket}/uploads/a.jpg`, headers);
  expect(answer).toMatchObject({ status: 403, code: 'AccessForbidden', message: CORS_NOT_ALLOWED_MESSAGE });
  expect(answer.body).toContain('<ResourceType>OBJECT</ResourceType>');
});

test('a preflight without Origin is a 400; one for a missing bucket a 403 "Bucket not found"', async () => {
  expect(await preflight(`/${bucket}`, { 'access-control-request-method': 'POST' })).toMatchObject({
    status: 400,
    code: 'BadRequest',
    message: 'Insufficient information. Origin request header needed.',
  });
  expect(await preflight('/no-such-bucket-here', POST_PREFLIGHT)).toMatchObject({
    status: 403,
    code: 'AccessForbidden',
    message: 'CORSResponse: Bucket not found',
  });
});

test(
  "wildcards: '*' origin answers '*' without credentials; " +
    'headers match case-insensitively; a matched GET carries the headers',
  async () => {
    await cloud.s3.send(
      new PutBucketCorsCommand({
        Bucket: bucket,
        CORSConfiguration: {
          CORSRules: [
            { AllowedMethods: ['GET', 'POST'], AllowedOrigins: ['*'], AllowedHeaders: ['X-Amz-*', 'content-type'] },
          ],
        },
      }),
    );
    const ok = await preflight(`/${bucket}/k`, {
      ...POST_PREFLIGHT,
      'access-control-request-headers': 'x-amz-date, Content-Type',
    });
    expect(ok.status).toBe(200);
    expect(ok.headers.get('access-control-allow-origin')).toBe('*');
    expect(ok.headers.get('access-control-allow-credentials')).toBeNull();
    expect(ok.headers.get('access-control-allow-headers')).toBe('x-amz-date, content-type');
    // An actual cross-origin request gets the headers on the stand-in's own answer.
    const list = await fetch(`${cloud.gateway.endpoint}/${bucket}?list-type=2`, { headers: { origin: ORIGIN } });
    await list.text();
    expect(list.headers.get('access-control-allow-origin')).toBe('*');
  },
);

test('PutBucketCors refuses an unsupported method and malformed XML, as S3 does', async () => {
  await expect(
    cloud.s3.send(
      new PutBucketCorsCommand({
        Bucket: bucket,
        CORSConfiguration: { CORSRules: [{ AllowedMethods: ['PATCH'], AllowedOrigins: ['*'] }] },
      }),
    ),
  ).rejects.toMatchObject({
    name: 'InvalidRequest',
    message: 'Found unsupported HTTP method in CORS config. Unsupported method is PATCH',
  });
  const res = await fetch(`${cloud.gateway.endpoint}/${bucket}?cors`, {
    method: 'PUT',
    body: '<CORSConfiguration><CORSRule>',
  });
  expect(/<Code>([^<]*)<\/Code>/.exec(await res.text())?.[1]).toBe('MalformedXML');
  expect(res.status).toBe(400);
});
