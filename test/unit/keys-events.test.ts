import { configError, PipelineError, toPipelineError } from '../../src/core/errors';
import { imageRejectedEvent, imageResizedEvent, parseImageResizedEvent } from '../../src/core/events';
import { manifestKey, outputsWouldLoop, stripExtension, variantKey } from '../../src/core/keys';
import { signWebhook, verifyWebhookSignature } from '../../src/core/webhook';
import { asciiJson, chunkBatch } from '../../src/aws/sqs';

describe('output keys', () => {
  it('are deterministic: prefix + source key without extension + variant name and extension', () => {
    expect(variantKey('uploads/cat.photo.jpg', 'resized/', { name: 'thumb', format: 'webp' })).toBe(
      'resized/uploads/cat.photo/thumb.webp',
    );
    expect(variantKey('uploads/a b.png', '', { name: 'fallback', format: 'jpeg' })).toBe('uploads/a b/fallback.jpg');
    expect(manifestKey('uploads/x.jpg', 'out/')).toBe('out/uploads/x/manifest.json');
  });

  it('strip only the last segment extension, and keep dot-files whole', () => {
    expect(stripExtension('a.b/c')).toBe('a.b/c');
    expect(stripExtension('dir/.hidden')).toBe('dir/.hidden');
    expect(stripExtension('dir/x.tar.gz')).toBe('dir/x.tar');
  });

  it('detect configurations whose outputs would re-trigger the chain', () => {
    expect(
      outputsWouldLoop({
        sourceBucket: 'b',
        uploadsPrefix: 'uploads/',
        outputBucket: 'b',
        outputPrefix: 'uploads/resized/',
      }),
    ).toBe(true);
    expect(
      outputsWouldLoop({ sourceBucket: 'b', uploadsPrefix: '', outputBucket: 'b', outputPrefix: 'resized/' }),
    ).toBe(true);
    expect(
      outputsWouldLoop({ sourceBucket: 'b', uploadsPrefix: 'uploads/', outputBucket: 'b', outputPrefix: 'resized/' }),
    ).toBe(false);
    expect(outputsWouldLoop({ sourceBucket: 'a', uploadsPrefix: '', outputBucket: 'b', outputPrefix: '' })).toBe(false);
  });
});

describe('events', () => {
  const source = { bucket: 'src', key: 'uploads/a.jpg', eTag: 'e', size: 10, width: 4, height: 3, format: 'jpeg' };
  const variant = {
    name: 'thumb',
    bucket: 'out',
    key: 'uploads/a/thumb.webp',
    width: 4,
    height: 3,
    format: 'webp' as const,
    bytes: 5,
  };

  it('image.resized round-trips through its parser', () => {
    const ev = imageResizedEvent(source, [variant], new Date('2026-01-01T00:00:00Z'));
    expect(ev).toMatchObject({ type: 'image.resized', version: 1, processedAt: '2026-01-01T00:00:00.000Z' });
    expect(parseImageResizedEvent(JSON.stringify(ev))).toEqual(ev);
  });

  it.each([
    ['wrong type', { type: 'image.rejected', version: 1 }, 'type'],
    ['future version', { ...imageResizedEvent(source, [variant], new Date()), version: 2 }, 'version 2'],
    [
      'variant without bytes',
      { ...imageResizedEvent(source, [{ ...variant, bytes: undefined as unknown as number }], new Date()) },
      'variants[0].bytes',
    ],
  ])('image.resized parser refuses %s naming the field', (_n, doc, fragment) => {
    expect(() => parseImageResizedEvent(JSON.stringify(doc))).toThrow(
      expect.objectContaining({ code: 'INVALID_EVENT', message: expect.stringContaining(fragment) }),
    );
  });

  it('image.rejected carries code and reason', () => {
    const ev = imageRejectedEvent(
      { bucket: 'b', key: 'k', eTag: 'e' },
      { code: 'CORRUPT', message: 'bad' },
      new Date(0),
    );
    expect(ev).toEqual({
      type: 'image.rejected',
      version: 1,
      source: { bucket: 'b', key: 'k', eTag: 'e' },
      code: 'CORRUPT',
      message: 'bad',
      rejectedAt: '1970-01-01T00:00:00.000Z',
    });
  });
});

describe('error taxonomy', () => {
  it.each([
    'NOT_AN_IMAGE',
    'CORRUPT',
    'TRUNCATED',
    'TOO_MANY_PIXELS',
    'TOO_LARGE',
    'UNSUPPORTED_FORMAT',
    'ANIMATED',
    'INVALID_KEY',
    'INVALID_EVENT',
  ] as const)('%s is permanent', (code) => expect(new PipelineError(code, 'x').permanent).toBe(true));
  it.each(['S3_ERROR', 'SQS_ERROR', 'THROTTLED', 'TIMEOUT', 'WEBHOOK_ERROR', 'INTERNAL'] as const)(
    '%s is transient',
    (code) => expect(new PipelineError(code, 'x').permanent).toBe(false),
  );
  it('unknown errors become transient INTERNAL errors keeping their subject', () => {
    const e = toPipelineError(new TypeError('boom'), { key: 'k' });
    expect(e.toJSON()).toEqual({ code: 'INTERNAL', message: 'boom', permanent: false, subject: { key: 'k' } });
  });
  it('config errors name their field', () => {
    expect(configError('VARIANTS', 'bad').message).toBe('VARIANTS: bad');
  });
});

describe('webhook signatures', () => {
  const body = '{"type":"image.resized"}';
  it('verify with the right secret within tolerance', () => {
    expect(verifyWebhookSignature('s3cret', signWebhook('s3cret', body, 1000), body, 1100)).toBe(true);
  });
  it.each([
    ['wrong secret', signWebhook('other', body, 1000), body, 1000],
    ['tampered body', signWebhook('s3cret', body, 1000), body + ' ', 1000],
    ['replayed too late', signWebhook('s3cret', body, 1000), body, 1000 + 301],
    ['garbage header', 'nonsense', body, 1000],
  ])('refuse a %s', (_n, header, b, now) => {
    expect(verifyWebhookSignature('s3cret', header, b, now)).toBe(false);
  });
});

describe('chunkBatch', () => {
  it('splits by 10 entries and by 1 MiB of bodies', () => {
    const small = Array.from({ length: 23 }, (_, i) => ({ id: String(i), body: 'x' }));
    expect(chunkBatch(small).map((c) => c.length)).toEqual([10, 10, 3]);
    const big = Array.from({ length: 3 }, (_, i) => ({ id: String(i), body: 'x'.repeat(600 * 1024) }));
    expect(chunkBatch(big).map((c) => c.length)).toEqual([1, 1, 1]);
  });
});

describe('asciiJson', () => {
  it('escapes every non-ASCII character and parses back to the same value', () => {
    const value = { key: 'uploads/été 📷 日本.jpg', n: 1 };
    const body = asciiJson(value);
    expect(body).toMatch(/^[\x20-\x7e]*$/);
    expect(body).toContain('\\ud83d\\udcf7');
    expect(JSON.parse(body)).toEqual(value);
  });
});
