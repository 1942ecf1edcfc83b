// S3's POST policy evaluation (pure), and the multipart reader/writer the gateway runs it behind.
import { PassThrough } from 'node:stream';
import { sigV4Signature } from '../../src/aws/sigv4';
import { presignAt } from '../helpers/presign';
import {
  encodePostForm,
  MAX_FIELDS_BYTES,
  multipartBoundary,
  readPostForm,
  type ReadFormResult,
} from '../../src/local/cloud/s3/multipart-form';
import {
  s3ErrorXml,
  verifyPostPolicy,
  verifyPostPolicyFields,
  type PostPolicyVerdict,
  type VerifyPostPolicyOptions,
} from '../../src/local/cloud/s3/post-policy';

const NOW = new Date('2026-11-28T12:00:00.000Z');
const CREDS = { accessKeyId: 'AKID', secretAccessKey: 'SECRET' };
const OPTS: VerifyPostPolicyOptions = {
  bucket: 'src',
  region: 'eu-west-1',
  credentials: (id) => (id === CREDS.accessKeyId ? CREDS : undefined),
  now: new Date(NOW.getTime() + 60_000),
};

/**
 * Signs any policy document the way S3 expects (SigV4 over the base64 string; the signer is held to AWS's published
 * answers in sigv4-known-answers.test.ts).
 */
async function signed(
  conditions: unknown[],
  extraFields: Record<string, string>,
  opts: { expiration?: string; secret?: string; region?: string } = {},
): Promise<Record<string, string>> {
  const region = opts.region ?? 'eu-west-1';
  const credential = `AKID/20261128/${region}/s3/aws4_request`;
  const fields: Record<string, string> = {
    'X-Amz-Algorithm': 'AWS4-HMAC-SHA256',
    'X-Amz-Credential': credential,
    'X-Amz-Date': '20261128T120000Z',
    ...extraFields,
  };
  const policy = Buffer.from(
    JSON.stringify({
      expiration: opts.expiration ?? '2026-11-28T12:05:00.000Z',
      conditions: [
        { 'x-amz-algorithm': 'AWS4-HMAC-SHA256' },
        { 'x-amz-credential': credential },
        { 'x-amz-date': '20261128T120000Z' },
        ...conditions,
      ],
    }),
  ).toString('base64');
  return {
    ...fields,
    Policy: policy,
    'X-Amz-Signature': await sigV4Signature(
      opts.secret ?? 'SECRET',
      { day: '20261128', region, service: 's3' },
      policy,
    ),
  };
}

/** The upload handler's own form: exact bucket, key and type, size range [1, 100]. */
let handlerForm: Record<string, string>;
beforeAll(async () => {
  const form = {
    bucket: 'src',
    key: 'uploads/id/a.png',
    contentType: 'image/png',
    minBytes: 1,
    maxBytes: 100,
    expiresSeconds: 300,
  };
  handlerForm = (await presignAt(NOW, { region: 'eu-west-1', credentials: CREDS }, form)).fields;
});

function errorOf(verdict: PostPolicyVerdict): { code: string; status: number; message: string } | undefined {
  return verdict.ok
    ? undefined
    : { code: verdict.error.code, status: verdict.error.status, message: verdict.error.message };
}

describe('verifyPostPolicy: the handler-signed form', () => {
  it('accepts the form as signed, with a file inside the size range', async () => {
    expect(await verifyPostPolicy(handlerForm, { size: 50 }, OPTS)).toEqual({
      ok: true,
      key: 'uploads/id/a.png',
      accessKeyId: 'AKID',
      contentLengthRange: { min: 1, max: 100 },
    });
  });

  it('refuses a file above content-length-range with 400 EntityTooLarge', async () => {
    const verdict = await verifyPostPolicy(handlerForm, { size: 101 }, OPTS);
    expect(verdict).toEqual({
      ok: false,
      error: {
        code: 'EntityTooLarge',
        status: 400,
        message: 'Your proposed upload exceeds the maximum allowed size',
        details: { ProposedSize: '101', MaxSizeAllowed: '100' },
      },
    });
  });

  it('refuses a file below content-length-range with 400 EntityTooSmall', async () => {
    expect(await verifyPostPolicy(handlerForm, { size: 0 }, OPTS)).toMatchObject({
      ok: false,
      error: { code: 'EntityTooSmall', status: 400, details: { MinSizeAllowed: '1' } },
    });
  });

  it('refuses another Content-Type, naming the exact-match condition in the ["eq", ...] form', async () => {
    expect(errorOf(await verifyPostPolicy({ ...handlerForm, 'Content-Type': 'text/html' }, { size: 5 }, OPTS))).toEqual(
      {
        code: 'AccessDenied',
        status: 403,
        message: 'Invalid according to Policy: Policy Condition failed: ["eq", "$Content-Type", "image/png"]',
      },
    );
  });

  it('refuses another key, and another bucket than the one signed for', async () => {
    expect(
      errorOf(await verifyPostPolicy({ ...handlerForm, key: 'elsewhere/a.png' }, { size: 5 }, OPTS))?.message,
    ).toBe('Invalid according to Policy: Policy Condition failed: ["eq", "$key", "uploads/id/a.png"]');
    expect(errorOf(await verifyPostPolicy(handlerForm, { size: 5 }, { ...OPTS, bucket: 'other' }))?.message).toBe(
      'Invalid according to Policy: Policy Condition failed: ["eq", "$bucket", "src"]',
    );
  });

  it('refuses the form after its expiration', async () => {
    expect(
      errorOf(await verifyPostPolicy(handlerForm, { size: 5 }, { ...OPTS, now: new Date('2026-11-28T12:05:00.001Z') })),
    ).toEqual({
      code: 'AccessDenied',
      status: 403,
      message: 'Invalid according to Policy: Policy expired.',
    });
    expect(
      (await verifyPostPolicy(handlerForm, { size: 5 }, { ...OPTS, now: new Date('2026-11-28T12:05:00.000Z') })).ok,
    ).toBe(true);
  });

  it('refuses a policy changed after signing with 403 SignatureDoesNotMatch', async () => {
    const policy = JSON.parse(Buffer.from(handlerForm.Policy, 'base64').toString('utf8')) as { conditions: unknown[] };
    policy.conditions = policy.conditions.map((c) =>
      Array.isArray(c) && c[0] === 'content-length-range' ? ['content-length-range', 1, 10_000_000] : c,
    );
    const tampered = { ...handlerForm, Policy: Buffer.from(JSON.stringify(policy)).toString('base64') };
    const verdict = await verifyPostPolicy(tampered, { size: 5000 }, OPTS);
    expect(verdict).toMatchObject({
      ok: false,
      error: {
        code: 'SignatureDoesNotMatch',
        status: 403,
        details: { AWSAccessKeyId: 'AKID', StringToSign: tampered.Policy },
      },
    });
  });

  it('refuses a signature made with another secret, and an unknown access key', async () => {
    expect(
      errorOf(
        await verifyPostPolicy(
          await signed([{ bucket: 'src' }, { key: 'k' }], { key: 'k' }, { secret: 'WRONG' }),
          { size: 1 },
          OPTS,
        ),
      )?.code,
    ).toBe('SignatureDoesNotMatch');
    expect(await verifyPostPolicy(handlerForm, { size: 1 }, { ...OPTS, credentials: () => undefined })).toMatchObject({
      ok: false,
      error: { code: 'InvalidAccessKeyId', status: 403 },
    });
  });

  it('refuses a credential scoped to another region', async () => {
    const verdict = await verifyPostPolicy(
      await signed([{ bucket: 'src' }, { key: 'k' }], { key: 'k' }, { region: 'us-west-2' }),
      { size: 1 },
      OPTS,
    );
    expect(verdict).toMatchObject({
      ok: false,
      error: {
        code: 'AuthorizationQueryParametersError',
        status: 400,
        message: expect.stringContaining("the region 'us-west-2' is wrong; expecting 'eu-west-1'"),
      },
    });
  });

  it('names a missing required field with 400 InvalidArgument', async () => {
    const withoutKey = Object.fromEntries(Object.entries(handlerForm).filter(([name]) => name !== 'key'));
    expect(await verifyPostPolicy(withoutKey, { size: 1 }, OPTS)).toMatchObject({
      ok: false,
      error: { code: 'InvalidArgument', status: 400, details: { ArgumentName: 'key' } },
    });
    const withoutSignature = Object.fromEntries(
      Object.entries(handlerForm).filter(([name]) => name !== 'X-Amz-Signature'),
    );
    expect(await verifyPostPolicy(withoutSignature, { size: 1 }, OPTS)).toMatchObject({
      ok: false,
      error: { code: 'InvalidArgument', details: { ArgumentName: 'x-amz-signature' } },
    });
  });
});

describe('verifyPostPolicy: conditions', () => {
  const base = [{ bucket: 'src' }];

  it('["eq", "$field", v] passes on the exact value only (values are case-sensitive)', async () => {
    const form = await signed([...base, ['eq', '$key', 'uploads/a.png']], { key: 'uploads/a.png' });
    expect((await verifyPostPolicy(form, { size: 1 }, OPTS)).ok).toBe(true);
    expect(errorOf(await verifyPostPolicy({ ...form, key: 'uploads/A.png' }, { size: 1 }, OPTS))?.message).toBe(
      'Invalid according to Policy: Policy Condition failed: ["eq", "$key", "uploads/a.png"]',
    );
  });

  it('["starts-with", "$key", prefix] passes inside the prefix and fails outside it', async () => {
    const form = await signed([...base, ['starts-with', '$key', 'user/eric/']], { key: 'user/eric/photo.jpg' });
    expect((await verifyPostPolicy(form, { size: 1 }, OPTS)).ok).toBe(true);
    expect(errorOf(await verifyPostPolicy({ ...form, key: 'user/mallory/photo.jpg' }, { size: 1 }, OPTS))).toEqual({
      code: 'AccessDenied',
      status: 403,
      message: 'Invalid according to Policy: Policy Condition failed: ["starts-with", "$key", "user/eric/"]',
    });
  });

  it('checks the key after ${filename} is replaced by the file name (folders dropped)', async () => {
    const form = await signed([...base, ['starts-with', '$key', 'user/eric/']], { key: 'user/eric/${filename}' });
    expect(await verifyPostPolicy(form, { size: 1, filename: 'C:\\photos\\cat.png' }, OPTS)).toMatchObject({
      ok: true,
      key: 'user/eric/cat.png',
    });
    const escape = await signed([...base, ['eq', '$key', 'user/eric/cat.png']], { key: '${filename}' });
    expect(errorOf(await verifyPostPolicy(escape, { size: 1, filename: 'cat.png' }, OPTS))?.code).toBe('AccessDenied');
  });

  it('["starts-with", "$field", ""] allows any value, but the field must be sent', async () => {
    const form = await signed([...base, { key: 'k' }, ['starts-with', '$x-amz-meta-tag', '']], {
      key: 'k',
      'x-amz-meta-tag': 'anything at all',
    });
    expect((await verifyPostPolicy(form, { size: 1 }, OPTS)).ok).toBe(true);
    const { 'x-amz-meta-tag': _dropped, ...withoutTag } = form;
    expect(errorOf(await verifyPostPolicy(withoutTag, { size: 1 }, OPTS))?.message).toBe(
      'Invalid according to Policy: Policy Condition failed: ["starts-with", "$x-amz-meta-tag", ""]',
    );
  });

  it('a starts-with on Content-Type holds only when every entry of a comma-separated list matches', async () => {
    const form = await signed([...base, { key: 'k' }, ['starts-with', '$Content-Type', 'image/']], {
      key: 'k',
      'Content-Type': 'image/jpeg,image/png',
    });
    expect((await verifyPostPolicy(form, { size: 1 }, OPTS)).ok).toBe(true);
    expect(
      errorOf(await verifyPostPolicy({ ...form, 'Content-Type': 'image/png,text/html' }, { size: 1 }, OPTS))?.code,
    ).toBe('AccessDenied');
    expect(errorOf(await verifyPostPolicy({ ...form, 'Content-Type': 'text/html' }, { size: 1 }, OPTS))?.code).toBe(
      'AccessDenied',
    );
  });

  it('a Content-Type condition reads the form field, not the file part type', async () => {
    const form = await signed([...base, { key: 'k' }, { 'Content-Type': 'image/png' }], { key: 'k' });
    expect(errorOf(await verifyPostPolicy(form, { size: 1, contentType: 'image/png' }, OPTS))?.message).toBe(
      'Invalid according to Policy: Policy Condition failed: ["eq", "$Content-Type", "image/png"]',
    );
  });

  it('["content-length-range", min, max] includes both ends', async () => {
    const form = await signed([...base, { key: 'k' }, ['content-length-range', 10, 20]], { key: 'k' });
    expect((await verifyPostPolicy(form, { size: 10 }, OPTS)).ok).toBe(true);
    expect((await verifyPostPolicy(form, { size: 20 }, OPTS)).ok).toBe(true);
    expect(errorOf(await verifyPostPolicy(form, { size: 9 }, OPTS))?.code).toBe('EntityTooSmall');
    expect(errorOf(await verifyPostPolicy(form, { size: 21 }, OPTS))?.code).toBe('EntityTooLarge');
  });

  it('verifyPostPolicyFields checks all but the size and hands back the range', async () => {
    const form = await signed([...base, { key: 'k' }, ['content-length-range', 10, 20]], { key: 'k' });
    expect(await verifyPostPolicyFields(form, {}, OPTS)).toEqual({
      ok: true,
      key: 'k',
      accessKeyId: 'AKID',
      contentLengthRange: { min: 10, max: 20 },
    });
    expect(errorOf(await verifyPostPolicyFields({ ...form, key: 'x' }, {}, OPTS))?.code).toBe('AccessDenied');
  });
});

describe('verifyPostPolicy: field coverage and names', () => {
  it('refuses a field no condition names ("Extra input fields", lower-cased)', async () => {
    const form = await signed([{ bucket: 'src' }, { key: 'k' }], { key: 'k', 'X-Amz-Meta-Owner': 'eve' });
    expect(errorOf(await verifyPostPolicy(form, { size: 1 }, OPTS))).toEqual({
      code: 'AccessDenied',
      status: 403,
      message: 'Invalid according to Policy: Extra input fields: x-amz-meta-owner',
    });
  });

  it('needs no condition for x-amz-signature, policy, file and x-ignore-* fields', async () => {
    const form = await signed([{ bucket: 'src' }, { key: 'k' }], {
      key: 'k',
      'x-ignore-flash-filename': 'a.png',
      file: 'inline',
    });
    expect((await verifyPostPolicy(form, { size: 1 }, OPTS)).ok).toBe(true);
  });

  it('matches field names in any case, as S3 does (X-Amz-Credential against x-amz-credential)', async () => {
    const form = await signed([{ bucket: 'src' }, ['eq', '$KEY', 'k'], { 'content-type': 'image/png' }], {
      kEy: 'k',
      'CONTENT-TYPE': 'image/png',
    });
    const lowerCased = Object.fromEntries(Object.entries(form).map(([name, value]) => [name.toLowerCase(), value]));
    expect((await verifyPostPolicy(form, { size: 1 }, OPTS)).ok).toBe(true);
    expect((await verifyPostPolicy(lowerCased, { size: 1 }, OPTS)).ok).toBe(true);
  });

  it('refuses a field sent twice under two spellings', async () => {
    const form = await signed([{ bucket: 'src' }, ['starts-with', '$key', 'uploads/']], { key: 'uploads/a' });
    const pairs = [...Object.entries(form), ['Key', 'elsewhere/a'] as [string, string]];
    expect(await verifyPostPolicy(pairs, { size: 1 }, OPTS)).toMatchObject({
      ok: false,
      error: { code: 'InvalidArgument', details: { ArgumentName: 'key' } },
    });
  });
});

describe('verifyPostPolicy: malformed policies', () => {
  async function withPolicy(document: string): Promise<Record<string, string>> {
    const policy = Buffer.from(document).toString('base64');
    return {
      key: 'k',
      'X-Amz-Algorithm': 'AWS4-HMAC-SHA256',
      'X-Amz-Credential': 'AKID/20261128/eu-west-1/s3/aws4_request',
      'X-Amz-Date': '20261128T120000Z',
      Policy: policy,
      'X-Amz-Signature': await sigV4Signature(
        'SECRET',
        { day: '20261128', region: 'eu-west-1', service: 's3' },
        policy,
      ),
    };
  }

  it.each([
    ['{not json', 'Invalid Policy: Invalid JSON.'],
    ['{"conditions":[]}', 'Invalid Policy: Policy missing expiration.'],
    ['{"expiration":"tomorrow","conditions":[]}', "Invalid Policy: Invalid 'expiration' value: 'tomorrow'"],
    ['{"expiration":"2026-11-28T12:05:00Z"}', 'Invalid Policy: Policy missing conditions.'],
    [
      '{"expiration":"2026-11-28T12:05:00Z","conditions":[{"a":"1","b":"2"}]}',
      'Invalid Policy: Invalid Simple-Condition: Simple-Conditions must have exactly one property specified.',
    ],
    [
      '{"expiration":"2026-11-28T12:05:00Z","conditions":[["ends-with","$key","x"]]}',
      'Invalid Policy: Invalid Condition: unknown operation "ends-with"',
    ],
    [
      '{"expiration":"2026-11-28T12:05:00Z","conditions":[["content-length-range",20,10]]}',
      'Invalid Policy: Invalid content-length-range condition: ["content-length-range",20,10]',
    ],
  ])('refuses %s with 400 InvalidPolicyDocument', async (document, message) => {
    expect(errorOf(await verifyPostPolicy(await withPolicy(document), { size: 1 }, OPTS))).toEqual({
      code: 'InvalidPolicyDocument',
      status: 400,
      message,
    });
  });
});

describe('s3ErrorXml', () => {
  it('writes Code, Message, the details, then the ids, escaped', () => {
    expect(
      s3ErrorXml(
        { code: 'AccessDenied', status: 403, message: 'a < b & "c"', details: { ProposedSize: '5' } },
        { requestId: 'R', hostId: 'H' },
      ),
    ).toBe(
      '<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code><Message>a &lt; b &amp; ' +
        '"c"</Message><ProposedSize>5</ProposedSize><RequestId>R</RequestId><HostId>H</HostId></Error>',
    );
  });
});

describe('multipart form reading and writing', () => {
  const boundary = 'XyZ123';
  const contentType = `multipart/form-data; boundary=${boundary}`;
  function body(parts: string[], file?: { name?: string; bytes: Buffer }): Buffer {
    const pieces: Buffer[] = parts.map((p) =>
      Buffer.from(
        `--${boundary}\r\nContent-Disposition: form-data; ` +
          `name="${p.split('=')[0]}"\r\n\r\n${p.split('=').slice(1).join('=')}\r\n`,
      ),
    );
    if (file)
      pieces.push(
        Buffer.from(
          `--${boundary}\r\nContent-Disposition: form-data; name="file"; ` +
            `filename="${file.name ?? 'a.png'}"\r\nContent-Type: image/png\r\n\r\n`,
        ),
        file.bytes,
        Buffer.from('\r\n'),
      );
    pieces.push(Buffer.from(`--${boundary}--\r\n`));
    return Buffer.concat(pieces);
  }
  /** Streams `bytes` in small chunks, as a socket would. */
  function read(
    bytes: Buffer,
    onFileStart: (fields: ReadonlyArray<{ name: string }>) => number | false | Promise<number | false> = () => 1 << 20,
  ): Promise<ReadFormResult> {
    const stream = new PassThrough();
    const result = readPostForm(stream, { contentType, contentLength: bytes.length, onFileStart });
    for (let i = 0; i < bytes.length; i += 7) stream.write(bytes.subarray(i, i + 7));
    stream.end();
    return result;
  }

  it('reads the fields before the file and the file, ignoring fields after it', async () => {
    const withoutClose: Buffer = body(['key=uploads/a', 'Content-Type=image/png'], {
      bytes: Buffer.from('\r\n--XyZ12 not a boundary'),
    }).subarray(0, -`--${boundary}--\r\n`.length);
    const lateField = Buffer.from(
      `--${boundary}\r\nContent-Disposition: form-data; name="key"\r\n\r\nlate\r\n--${boundary}--\r\n`,
    );
    const bytes = Buffer.concat([withoutClose, lateField]);
    const result = await read(bytes);
    expect(result.kind).toBe('form');
    if (result.kind !== 'form') return;
    expect(result.form.fields).toEqual([
      { name: 'key', value: 'uploads/a' },
      { name: 'Content-Type', value: 'image/png' },
    ]);
    expect(result.form.file).toMatchObject({ fieldName: 'file', filename: 'a.png', contentType: 'image/png' });
    expect(result.form.file?.data.toString()).toBe('\r\n--XyZ12 not a boundary');
  });

  it('takes a part named file without a filename as the file, byte for byte, and reads UTF-8 names and values', async () => {
    const bytes = Buffer.concat([
      body(['key=uploads/ä'], undefined).subarray(0, -`--${boundary}--\r\n`.length),
      Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"\r\n\r\n`),
      Buffer.from([0xff, 0xfe, 0x00, 0xc3]),
      Buffer.from(`\r\n--${boundary}--\r\n`),
    ]);
    const result = await read(bytes);
    expect(result.kind).toBe('form');
    if (result.kind !== 'form') return;
    expect(result.form.fields).toEqual([{ name: 'key', value: 'uploads/ä' }]);
    expect(result.form.file?.fieldName).toBe('file');
    expect(result.form.file?.data.equals(Buffer.from([0xff, 0xfe, 0x00, 0xc3]))).toBe(true);
    const named = await read(body(['key=k'], { name: 'fötö/ü.png', bytes: Buffer.from('x') }));
    expect(named.kind === 'form' && named.form.file?.filename).toBe('fötö/ü.png');
  });

  it('stops at the limit the callback gives, with the size told by Content-Length', async () => {
    const bytes = body(['key=k'], { bytes: Buffer.alloc(100_000, 1) });
    const result = await read(bytes, () => 1000);
    expect(result).toMatchObject({
      kind: 'file-too-large',
      proposedSize: 100_000,
      fields: [{ name: 'key', value: 'k' }],
    });
  });

  it('waits for an asynchronous callback, and rejects with its error when it fails', async () => {
    const later = await read(
      body(['key=k'], { bytes: Buffer.alloc(10, 1) }),
      () => new Promise((done) => setImmediate(() => done(5))),
    );
    expect(later).toMatchObject({ kind: 'file-too-large', proposedSize: 10 });
    await expect(
      read(body(['key=k'], { bytes: Buffer.alloc(10) }), () => Promise.reject(new Error('verifier broke'))),
    ).rejects.toThrow('verifier broke');
  });

  it('stops when the callback declines the file', async () => {
    expect(await read(body(['key=k'], { bytes: Buffer.alloc(10) }), () => false)).toEqual({
      kind: 'declined',
      fields: [{ name: 'key', value: 'k' }],
    });
  });

  it('refuses more than 20 KiB of fields before the file', async () => {
    expect(await read(body([`big=${'x'.repeat(MAX_FIELDS_BYTES)}`], { bytes: Buffer.alloc(1) }))).toEqual({
      kind: 'fields-too-large',
    });
    // Many small fields add up; so do fields with no file part ever coming.
    const many = Array.from({ length: 200 }, (_, i) => `f${i}=${'y'.repeat(100)}`);
    expect(await read(body(many, { bytes: Buffer.alloc(1) }))).toEqual({ kind: 'fields-too-large' });
    expect(await read(body(many))).toEqual({ kind: 'fields-too-large' });
    // Just under the limit passes: the count is S3's (boundaries and part headers included).
    const head = `--${boundary}\r\nContent-Disposition: form-data; name="big"\r\n\r\n`.length + 2;
    const fileHead = (
      `--${boundary}\r\nContent-Disposition: form-data; name="file"; ` +
      `filename="a.png"\r\nContent-Type: image/png\r\n\r\n`
    ).length;
    const fits = await read(
      body([`big=${'x'.repeat(MAX_FIELDS_BYTES - head - fileHead)}`], { bytes: Buffer.alloc(1) }),
    );
    expect(fits.kind).toBe('form');
    const over = await read(
      body([`big=${'x'.repeat(MAX_FIELDS_BYTES - head - fileHead + 1)}`], { bytes: Buffer.alloc(1) }),
    );
    expect(over).toEqual({ kind: 'fields-too-large' });
  });

  it('calls a body malformed when it is not multipart or a part is broken', async () => {
    expect((await read(Buffer.from(`--${boundary}\r\nBroken-Header\r\n\r\nv\r\n--${boundary}--\r\n`))).kind).toBe(
      'malformed',
    );
    expect(
      (await read(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data\r\n\r\nv\r\n--${boundary}--\r\n`))).kind,
    ).toBe('malformed');
    // A part that is not form-data is read past (busboy's choice): it reaches nothing downstream.
    expect(await read(Buffer.from(`--${boundary}\r\nX-Nothing: 1\r\n\r\nv\r\n--${boundary}--\r\n`))).toEqual({
      kind: 'form',
      form: { fields: [] },
    });
    expect(
      (
        await read(
          Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="a"\r\n\r\nno end`),
        )
      ).kind,
    ).toBe('malformed');
    expect(multipartBoundary('multipart/form-data; boundary="q u"')).toBe('q u');
    expect(multipartBoundary('application/x-www-form-urlencoded')).toBeUndefined();
  });

  it('writes a form that reads back the same, under a boundary found in no part', async () => {
    const form = {
      fields: [
        { name: 'key', value: 'a"b' },
        { name: 'x', value: '--LocalS3Form' },
      ],
      file: {
        fieldName: 'file',
        filename: 'we"ird\r\n.png',
        contentType: 'image/png',
        data: Buffer.from([0, 13, 10, 45, 45, 255]),
      },
    };
    const encoded = encodePostForm(form);
    const stream = new PassThrough();
    const result = readPostForm(stream, { contentType: encoded.contentType, onFileStart: () => 100 });
    stream.end(encoded.body);
    const read = await result;
    expect(read.kind).toBe('form');
    if (read.kind !== 'form') return;
    expect(read.form.fields).toEqual(form.fields);
    expect(read.form.file?.data.equals(form.file.data)).toBe(true);
    expect(read.form.file?.filename).toBe('we%22ird%0D%0A.png');
  });
});
