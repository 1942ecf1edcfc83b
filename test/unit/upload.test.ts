import type { PresignedPost } from '../../src/aws/presign';
import { sigV4Signature } from '../../src/aws/sigv4';
import { presignAt } from '../helpers/presign';
import { PipelineError } from '../../src/core/errors';
import {
  DEFAULT_ALLOWED_CONTENT_TYPES,
  isKeepWarmPing,
  KEEP_WARM_PING,
  planUpload,
  sanitiseFileName,
  uploadConfigFromEnv,
} from '../../src/core/upload';

const config = uploadConfigFromEnv({ SOURCE_BUCKET: 'src', UPLOADS_PREFIX: 'uploads/' });

function refusal(fn: () => unknown): { code: string; field?: string } {
  try {
    fn();
  } catch (err) {
    if (err instanceof PipelineError) return { code: err.code, field: err.subject.field };
    throw err;
  }
  throw new Error('expected a refusal');
}

describe('uploadConfigFromEnv', () => {
  it('has the documented defaults', () => {
    expect(config).toEqual({
      sourceBucket: 'src',
      uploadsPrefix: 'uploads/',
      allowedContentTypes: DEFAULT_ALLOWED_CONTENT_TYPES,
      maxUploadBytes: 50 * 1024 * 1024,
      expiresSeconds: 300,
    });
  });
  it('reads the list, size and expiry', () => {
    const c = uploadConfigFromEnv({
      SOURCE_BUCKET: 'b',
      ALLOWED_CONTENT_TYPES: ' image/PNG , image/jpeg',
      MAX_UPLOAD_BYTES: '1000',
      UPLOAD_EXPIRES_SECONDS: '60',
    });
    expect(c.allowedContentTypes).toEqual(['image/png', 'image/jpeg']);
    expect(c.maxUploadBytes).toBe(1000);
    expect(c.expiresSeconds).toBe(60);
  });
  it.each([
    [{ UPLOADS_PREFIX: 'uploads' }, 'UPLOADS_PREFIX'],
    [{ UPLOAD_EXPIRES_SECONDS: '59' }, 'UPLOAD_EXPIRES_SECONDS'],
    [{ UPLOAD_EXPIRES_SECONDS: '3601' }, 'UPLOAD_EXPIRES_SECONDS'],
    [{ ALLOWED_CONTENT_TYPES: 'jpeg' }, 'ALLOWED_CONTENT_TYPES'],
    [{ MAX_UPLOAD_BYTES: '10MB' }, 'MAX_UPLOAD_BYTES'],
  ])('refuses %j', (env, field) => {
    expect(refusal(() => uploadConfigFromEnv({ SOURCE_BUCKET: 'b', ...env }))).toEqual({
      code: 'INVALID_CONFIG',
      field,
    });
  });
  it('requires SOURCE_BUCKET', () => {
    expect(refusal(() => uploadConfigFromEnv({}))).toEqual({ code: 'INVALID_CONFIG', field: 'SOURCE_BUCKET' });
  });
});

describe('sanitiseFileName', () => {
  it.each([
    ['photo.jpg', 'photo.jpg'],
    ['../../etc/passwd', 'passwd'],
    ['C:\\Users\\me\\My Photo (1).JPG', 'My-Photo-1-.JPG'],
    ['.hidden.png', 'hidden.png'],
    ['Crème brûlée.webp', 'Creme-brulee.webp'],
    ['a  b??c.png', 'a-b-c.png'],
  ])('%j -> %j', (name, safe) => {
    expect(sanitiseFileName(name)).toBe(safe);
  });
  it('cuts long names and keeps the extension', () => {
    const safe = sanitiseFileName(`${'x'.repeat(300)}.jpeg`);
    expect(safe).toHaveLength(100);
    expect(safe.endsWith('.jpeg')).toBe(true);
  });
  it.each(['..', '/', '???', '...-'])('refuses %j', (name) => {
    expect(refusal(() => sanitiseFileName(name))).toEqual({ code: 'INVALID_KEY', field: 'filename' });
  });
});

describe('planUpload', () => {
  it('names a key under the prefix, one folder per request', () => {
    expect(planUpload({ filename: 'cat pic.PNG', contentType: 'Image/PNG', size: 1234 }, config, 'id-1')).toEqual({
      key: 'uploads/id-1/cat-pic.PNG',
      contentType: 'image/png',
      minBytes: 1,
      maxBytes: 1234,
    });
  });
  it.each([
    [undefined, 'INVALID_EVENT', 'body'],
    [[], 'INVALID_EVENT', 'body'],
    [{ contentType: 'image/png', size: 1 }, 'INVALID_EVENT', 'filename'],
    [{ filename: 'a.png', size: 1 }, 'INVALID_EVENT', 'contentType'],
    [{ filename: 'a.svg', contentType: 'image/svg+xml', size: 1 }, 'UNSUPPORTED_FORMAT', 'contentType'],
    [{ filename: 'a.png', contentType: 'image/png', size: '1' }, 'INVALID_EVENT', 'size'],
    [{ filename: 'a.png', contentType: 'image/png', size: 1.5 }, 'INVALID_EVENT', 'size'],
    [{ filename: 'a.png', contentType: 'image/png', size: 0 }, 'EMPTY', 'size'],
    [{ filename: 'a.png', contentType: 'image/png', size: 50 * 1024 * 1024 + 1 }, 'TOO_LARGE', 'size'],
    [{ filename: '../', contentType: 'image/png', size: 10 }, 'INVALID_KEY', 'filename'],
  ])('refuses %j with %s on %s', (body, code, field) => {
    expect(refusal(() => planUpload(body, config, 'id'))).toEqual({ code, field });
  });
});

describe('presignPost', () => {
  const now = new Date('2026-11-28T12:00:00.000Z');
  const credentials = { accessKeyId: 'AKID', secretAccessKey: 'SECRET', sessionToken: 'TOKEN' };
  const form = {
    bucket: 'src',
    key: 'uploads/id/a.png',
    contentType: 'image/png',
    minBytes: 1,
    maxBytes: 99,
    expiresSeconds: 300,
  };
  let post: PresignedPost;
  beforeAll(async () => {
    post = await presignAt(now, { region: 'eu-west-1', credentials }, form);
  });

  it('signs a policy pinning bucket, key, type, size range and expiry', () => {
    expect(post.url).toBe('https://src.s3.eu-west-1.amazonaws.com/');
    expect(post.expiresAt).toBe('2026-11-28T12:05:00Z');
    expect(post.fields).toMatchObject({
      bucket: 'src',
      key: 'uploads/id/a.png',
      'Content-Type': 'image/png',
      'X-Amz-Algorithm': 'AWS4-HMAC-SHA256',
      'X-Amz-Credential': 'AKID/20261128/eu-west-1/s3/aws4_request',
      'X-Amz-Date': '20261128T120000Z',
      'X-Amz-Security-Token': 'TOKEN',
    });
    const policy = JSON.parse(Buffer.from(post.fields.Policy, 'base64').toString('utf8')) as {
      expiration: string;
      conditions: unknown[];
    };
    expect(policy.expiration).toBe(post.expiresAt);
    expect(policy.conditions).toEqual(
      expect.arrayContaining([
        { bucket: 'src' },
        { key: 'uploads/id/a.png' },
        { 'Content-Type': 'image/png' },
        ['content-length-range', 1, 99],
        { 'X-Amz-Security-Token': 'TOKEN' },
      ]),
    );
  });

  it('signs the policy as sent, with the SigV4 key of that day, region and service', async () => {
    // sigV4Signature itself is held to AWS's published answers in sigv4-known-answers.test.ts.
    expect(post.fields['X-Amz-Signature']).toBe(
      await sigV4Signature('SECRET', { day: '20261128', region: 'eu-west-1', service: 's3' }, post.fields.Policy),
    );
  });

  it("posts to the China partition's domain, scoped to its region", async () => {
    const china = await presignAt(now, { region: 'cn-north-1', credentials }, form);
    expect(china.url).toBe('https://src.s3.cn-north-1.amazonaws.com.cn/');
    expect(china.fields['X-Amz-Credential']).toBe('AKID/20261128/cn-north-1/s3/aws4_request');
  });

  it('posts path-style for a bucket name with dots, which no virtual-hosted TLS certificate covers', async () => {
    const dotted = await presignAt(now, { region: 'eu-west-1', credentials }, { ...form, bucket: 'my.dotted.bucket' });
    expect(dotted.url).toBe('https://s3.eu-west-1.amazonaws.com/my.dotted.bucket');
    expect(dotted.fields.bucket).toBe('my.dotted.bucket');
    const dottedChina = await presignAt(
      now,
      { region: 'cn-north-1', credentials },
      { ...form, bucket: 'my.dotted.bucket' },
    );
    expect(dottedChina.url).toBe('https://s3.cn-north-1.amazonaws.com.cn/my.dotted.bucket');
  });

  it('posts path-style to a local endpoint', async () => {
    const local = await presignAt(
      now,
      { region: 'us-east-1', credentials, endpoint: 'http://127.0.0.1:4566/', forcePathStyle: true },
      form,
    );
    expect(local.url).toBe('http://127.0.0.1:4566/src');
  });
});

describe('isKeepWarmPing', () => {
  it('recognises the fixed input of the keep-warm rule', () => {
    expect(isKeepWarmPing({ source: 'resize-chain.keep-warm' })).toBe(true);
    expect(isKeepWarmPing(JSON.parse(JSON.stringify(KEEP_WARM_PING)))).toBe(true);
  });
  it.each([
    [
      'an API Gateway request',
      { version: '2.0', routeKey: 'POST /uploads', requestContext: { http: { method: 'POST' } }, body: '{}' },
    ],
    ['a request carrying the ping source', { source: 'resize-chain.keep-warm', requestContext: {} }],
    ['an EventBridge scheduled event', { source: 'aws.events', 'detail-type': 'Scheduled Event', detail: {} }],
    ['another source', { source: 'resize-chain.keep-warm ' }],
    ['an array', [{ source: 'resize-chain.keep-warm' }]],
    ['null', null],
    ['a string', 'resize-chain.keep-warm'],
    ['undefined', undefined],
  ])('refuses %s', (_what, event) => {
    expect(isKeepWarmPing(event)).toBe(false);
  });
});
