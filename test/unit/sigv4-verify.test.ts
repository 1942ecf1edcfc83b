// SigV4 verification held to AWS's published examples (the S3 "Signature Version 4" example pages:
// header-based GET and ListObjects, the presigned URL, the chunked upload) and to requests signed by
// the real AWS SDK v3 clients, captured before they leave the process; one changed byte is refused.
import { S3Client, GetObjectCommand, PutObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { SQSClient, SendMessageCommand } from '@aws-sdk/client-sqs';
import { SignatureV4 } from '@smithy/signature-v4';
import { verifyChunkSignatures } from '../../src/local/cloud/iam/chunk-signatures';
import {
  chunkSignature,
  NodeSha256,
  verifySigV4,
  type IncomingSignedRequest,
  type KnownCredentials,
  type SigV4Verdict,
  type SigV4Verified,
} from '../../src/local/cloud/iam/sigv4-verify';
import {
  EXAMPLE_ACCESS_KEY_ID,
  lastCharChanged,
  PRESIGNED_URL_EXAMPLE,
  S3_EXAMPLE_SECRET,
} from '../helpers/sigv4-examples';

const EXAMPLE_KEYS = (id: string): KnownCredentials | undefined =>
  id === EXAMPLE_ACCESS_KEY_ID ? { accessKeyId: id, secretAccessKey: S3_EXAMPLE_SECRET } : undefined;
const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
const AT_2013 = new Date('2013-05-24T00:00:00.000Z');

function verified(verdict: SigV4Verdict): SigV4Verified {
  if (!verdict.ok || 'anonymous' in verdict) throw new Error(`not verified: ${JSON.stringify(verdict)}`);
  return verdict;
}

/** The S3 example's header-signed GET /test.txt with a Range (published signature f0e8…). */
const GET_OBJECT_EXAMPLE: IncomingSignedRequest = {
  method: 'GET',
  url: '/test.txt',
  headers: {
    host: 'examplebucket.s3.amazonaws.com',
    range: 'bytes=0-9',
    'x-amz-content-sha256': EMPTY_SHA256,
    'x-amz-date': '20130524T000000Z',
    authorization:
      'AWS4-HMAC-SHA256 ' +
      'Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,SignedHeaders=host;range;' +
      'x-amz-content-sha256;x-amz-date,Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41',
  },
};

describe('SigV4 verification: AWS published examples (Amazon S3 "Signature Calculations for the Authorization Header")', () => {
  it('accepts the GET Object example as published, and names its scope and payload hash', async () => {
    expect(verified(await verifySigV4(GET_OBJECT_EXAMPLE, EXAMPLE_KEYS, AT_2013))).toMatchObject({
      accessKeyId: EXAMPLE_ACCESS_KEY_ID,
      form: 'header',
      scope: { day: '20130524', region: 'us-east-1', service: 's3' },
      payloadHash: EMPTY_SHA256,
    });
  });

  it(
    'refuses it with SignatureDoesNotMatch when a signed header or ' +
      'the signature changes by one byte, with S3 StringToSign details',
    async () => {
      const otherRange = { ...GET_OBJECT_EXAMPLE, headers: { ...GET_OBJECT_EXAMPLE.headers, range: 'bytes=0-8' } };
      const verdict = await verifySigV4(otherRange, EXAMPLE_KEYS, AT_2013);
      expect(verdict).toMatchObject({
        ok: false,
        error: { code: 'SignatureDoesNotMatch', status: 403, details: { AWSAccessKeyId: EXAMPLE_ACCESS_KEY_ID } },
      });
      expect(!verdict.ok && verdict.error.details?.StringToSign).toContain('20130524/us-east-1/s3/aws4_request');
      const otherSignature = {
        ...GET_OBJECT_EXAMPLE,
        headers: {
          ...GET_OBJECT_EXAMPLE.headers,
          authorization: lastCharChanged(String(GET_OBJECT_EXAMPLE.headers.authorization)),
        },
      };
      expect(await verifySigV4(otherSignature, EXAMPLE_KEYS, AT_2013)).toMatchObject({
        ok: false,
        error: { code: 'SignatureDoesNotMatch' },
      });
    },
  );

  it('refuses an unknown key with InvalidAccessKeyId and a replay past 15 minutes with RequestTimeTooSkewed', async () => {
    expect(await verifySigV4(GET_OBJECT_EXAMPLE, () => undefined, AT_2013)).toEqual({
      ok: false,
      error: {
        code: 'InvalidAccessKeyId',
        status: 403,
        message: 'The AWS Access Key Id you provided does not exist in our records.',
        details: { AWSAccessKeyId: EXAMPLE_ACCESS_KEY_ID },
      },
    });
    expect((await verifySigV4(GET_OBJECT_EXAMPLE, EXAMPLE_KEYS, new Date('2013-05-24T00:15:00.000Z'))).ok).toBe(true);
    expect(await verifySigV4(GET_OBJECT_EXAMPLE, EXAMPLE_KEYS, new Date('2013-05-24T00:15:01.000Z'))).toEqual({
      ok: false,
      error: {
        code: 'RequestTimeTooSkewed',
        status: 403,
        message: 'The difference between the request time and the current time is too large.',
        details: {
          RequestTime: '20130524T000000Z',
          ServerTime: '2013-05-24T00:15:01Z',
          MaxAllowedSkewMilliseconds: '900000',
        },
      },
    });
  });

  it('accepts the ListObjects example (GET /?max-keys=2&prefix=J): the query is canonicalized', async () => {
    const list: IncomingSignedRequest = {
      method: 'GET',
      url: '/?max-keys=2&prefix=J',
      headers: {
        host: 'examplebucket.s3.amazonaws.com',
        'x-amz-content-sha256': EMPTY_SHA256,
        'x-amz-date': '20130524T000000Z',
        authorization:
          'AWS4-HMAC-SHA256 ' +
          'Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,SignedHeaders=host;' +
          'x-amz-content-sha256;x-amz-date,' +
          'Signature=34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7',
      },
    };
    expect((await verifySigV4(list, EXAMPLE_KEYS, AT_2013)).ok).toBe(true);
    expect(await verifySigV4({ ...list, url: '/?max-keys=2&prefix=K' }, EXAMPLE_KEYS, AT_2013)).toMatchObject({
      ok: false,
      error: { code: 'SignatureDoesNotMatch' },
    });
  });

  it('accepts the chunked upload example: its seed signature, then each published chunk signature in chain', async () => {
    // "Signature Calculations for the Authorization Header: Transferring Payload in Multiple Chunks"
    const put: IncomingSignedRequest = {
      method: 'PUT',
      url: '/examplebucket/chunkObject.txt',
      headers: {
        host: 's3.amazonaws.com',
        'x-amz-date': '20130524T000000Z',
        'x-amz-storage-class': 'REDUCED_REDUNDANCY',
        'content-encoding': 'aws-chunked',
        'x-amz-decoded-content-length': '66560',
        'content-length': '66824',
        'x-amz-content-sha256': 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD',
        authorization:
          'AWS4-HMAC-SHA256 ' +
          'Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,SignedHeaders=content-encoding;' +
          'content-length;host;x-amz-content-sha256;x-amz-date;x-amz-decoded-content-length;' +
          'x-amz-storage-class,Signature=4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9',
      },
    };
    const seed = verified(await verifySigV4(put, EXAMPLE_KEYS, AT_2013));
    expect(seed.seedSignature).toBe('4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9');
    const first = await chunkSignature(seed, seed.seedSignature!, Buffer.alloc(65536, 'a'));
    expect(first).toBe('ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648');
    const second = await chunkSignature(seed, first, Buffer.alloc(1024, 'a'));
    expect(second).toBe('0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497');
    expect(await chunkSignature(seed, second, new Uint8Array(0))).toBe(
      'b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9',
    );
    expect(await chunkSignature(seed, first, Buffer.alloc(1024, 'b'))).not.toBe(
      '0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497',
    );

    // The example's body, framed as sent: every chunk checked in chain (verifyChunkSignatures).
    const frame = (data: Buffer, signature: string): Buffer =>
      Buffer.concat([
        Buffer.from(`${data.length.toString(16)};chunk-signature=${signature}\r\n`),
        data,
        Buffer.from('\r\n'),
      ]);
    const body = (secondData: Buffer): Buffer =>
      Buffer.concat([
        frame(Buffer.alloc(65536, 'a'), first),
        frame(secondData, second),
        frame(Buffer.alloc(0), 'b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9'),
      ]);
    expect(body(Buffer.alloc(1024, 'a')).length).toBe(66824); // the example's Content-Length
    expect(await verifyChunkSignatures(body(Buffer.alloc(1024, 'a')), seed)).toEqual({ ok: true });
    expect(await verifyChunkSignatures(body(Buffer.alloc(1024, 'b')), seed)).toMatchObject({
      ok: false,
      error: { code: 'SignatureDoesNotMatch', status: 403, details: { SignatureProvided: second } },
    });
    expect(await verifyChunkSignatures(body(Buffer.alloc(1024, 'a')).subarray(0, 66000), seed)).toMatchObject({
      ok: false,
      error: { code: 'IncompleteBody', status: 400 },
    });
  });
});

describe('SigV4 verification: the presigned URL example (Amazon S3 "Authenticating Requests: Using Query Parameters")', () => {
  const presigned: IncomingSignedRequest = {
    method: 'GET',
    url: PRESIGNED_URL_EXAMPLE.url,
    headers: { host: PRESIGNED_URL_EXAMPLE.host },
  };

  it('accepts it as published until its expiry, then answers AccessDenied "Request has expired"', async () => {
    expect(verified(await verifySigV4(presigned, EXAMPLE_KEYS, new Date('2013-05-24T12:00:00.000Z')))).toMatchObject({
      form: 'query',
      payloadHash: 'UNSIGNED-PAYLOAD',
    });
    expect((await verifySigV4(presigned, EXAMPLE_KEYS, new Date('2013-05-25T00:00:00.000Z'))).ok).toBe(true);
    expect(await verifySigV4(presigned, EXAMPLE_KEYS, new Date('2013-05-25T00:00:01.000Z'))).toEqual({
      ok: false,
      error: {
        code: 'AccessDenied',
        status: 403,
        message: 'Request has expired',
        details: { 'X-Amz-Expires': '86400', Expires: '2013-05-25T00:00:00Z', ServerTime: '2013-05-25T00:00:01Z' },
      },
    });
  });

  it('refuses a changed signature, another host, and an expiry beyond 7 days', async () => {
    const at = new Date('2013-05-24T12:00:00.000Z');
    expect(await verifySigV4({ ...presigned, url: lastCharChanged(presigned.url) }, EXAMPLE_KEYS, at)).toMatchObject({
      ok: false,
      error: { code: 'SignatureDoesNotMatch' },
    });
    expect(
      await verifySigV4({ ...presigned, headers: { host: 'otherbucket.s3.amazonaws.com' } }, EXAMPLE_KEYS, at),
    ).toMatchObject({ ok: false, error: { code: 'SignatureDoesNotMatch' } });
    expect(
      await verifySigV4(
        { ...presigned, url: presigned.url.replace('X-Amz-Expires=86400', 'X-Amz-Expires=604801') },
        EXAMPLE_KEYS,
        at,
      ),
    ).toEqual({
      ok: false,
      error: {
        code: 'AuthorizationQueryParametersError',
        status: 400,
        message: 'X-Amz-Expires must be less than a week (in seconds) that is; 604800',
      },
    });
  });
});

// ---- requests signed by the real SDK clients ------------------------------------------------

const LOCAL_KEYS: KnownCredentials = {
  accessKeyId: 'AKIALOCALTEST0000001',
  secretAccessKey: 'local/secret+key/for/tests/0000000000000',
};
const SESSION_KEYS: KnownCredentials = {
  accessKeyId: 'ASIALOCALTEST0000001',
  secretAccessKey: 'session/secret/0000000000000000000000000',
  sessionToken: 'token-of-the-session',
};
const lookupOf =
  (...known: KnownCredentials[]) =>
  (id: string): KnownCredentials | undefined =>
    known.find((k) => k.accessKeyId === id);

/** What a smithy HttpRequest looks like, as far as the wire goes. */
interface CapturedRequest {
  method: string;
  path: string;
  query?: Record<string, string | string[] | null>;
  headers: Record<string, string>;
  body?: unknown;
}

class Captured extends Error {
  constructor(readonly request: CapturedRequest) {
    super('captured');
  }
}

/** RFC 3986 escaping, as the SDK's HTTP handler writes query strings. */
const escape = (s: string): string =>
  encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

/** The captured request as it would arrive at the endpoint. */
function onTheWire(r: CapturedRequest): IncomingSignedRequest {
  const query = Object.entries(r.query ?? {})
    .flatMap(([k, v]) =>
      v === null ? [escape(k)] : (Array.isArray(v) ? v : [v]).map((x) => `${escape(k)}=${escape(x)}`),
    )
    .join('&');
  const body = typeof r.body === 'string' || r.body instanceof Uint8Array ? r.body : undefined;
  return {
    method: r.method,
    url: query ? `${r.path}?${query}` : r.path,
    headers: r.headers,
    ...(body !== undefined ? { body } : {}),
  };
}

/** A handler that captures the signed request instead of sending it. */
const capturing = { handle: (request: CapturedRequest): Promise<never> => Promise.reject(new Captured(request)) };

async function signedBy(send: () => Promise<unknown>): Promise<IncomingSignedRequest> {
  try {
    await send();
  } catch (err) {
    if (err instanceof Captured) return onTheWire(err.request);
    throw err;
  }
  throw new Error('the client sent nothing');
}

function s3Client(credentials: KnownCredentials): S3Client {
  return new S3Client({
    region: 'us-east-1',
    endpoint: 'http://127.0.0.1:4566',
    forcePathStyle: true,
    credentials,
    maxAttempts: 1,
    requestHandler: capturing,
  });
}

/**
 * A presigned URL as the S3 presigner makes it with the SDK signer, on the wire: the payload is
 * UNSIGNED-PAYLOAD, that header itself neither hoisted nor signed.
 */
async function presignedAsS3(
  credentials: KnownCredentials,
  method: string,
  path: string,
  signingDate: Date,
  expiresIn: number,
): Promise<IncomingSignedRequest> {
  const signer = new SignatureV4({
    credentials,
    region: 'us-east-1',
    service: 's3',
    uriEscapePath: false,
    sha256: NodeSha256,
  });
  const presigned = (await signer.presign(
    {
      method,
      protocol: 'http:',
      hostname: '127.0.0.1',
      port: 4566,
      path,
      query: {},
      headers: { host: '127.0.0.1:4566', 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' },
    },
    {
      signingDate,
      expiresIn,
      unhoistableHeaders: new Set(['x-amz-content-sha256']),
      unsignableHeaders: new Set(['x-amz-content-sha256']),
    },
  )) as CapturedRequest;
  return onTheWire({ ...presigned, headers: { host: '127.0.0.1:4566' } });
}

describe('SigV4 verification: requests signed by the AWS SDK v3', () => {
  it(
    'S3 GetObject, ListObjectsV2 and PutObject (keys with spaces, ' +
      'unicode, reserved characters) verify; one changed byte is refused',
    async () => {
      const s3 = s3Client(LOCAL_KEYS);
      const requests = [
        await signedBy(() =>
          s3.send(new GetObjectCommand({ Bucket: 'images-source', Key: 'uploads/a b+c/ü (1)*.jpg' })),
        ),
        await signedBy(() =>
          s3.send(new ListObjectsV2Command({ Bucket: 'images-output', Prefix: 'thumb/ä b', MaxKeys: 5 })),
        ),
        await signedBy(() =>
          s3.send(
            new PutObjectCommand({
              Bucket: 'images-output',
              Key: 'thumb/x=y&z.jpg',
              Body: 'jpeg bytes',
              ContentType: 'image/jpeg',
            }),
          ),
        ),
      ];
      for (const request of requests) {
        expect(verified(await verifySigV4(request, lookupOf(LOCAL_KEYS), new Date())).scope.service).toBe('s3');
        const tampered = { ...request, url: request.url.replace('images-', 'imagez-') };
        expect(await verifySigV4(tampered, lookupOf(LOCAL_KEYS), new Date())).toMatchObject({
          ok: false,
          error: { code: 'SignatureDoesNotMatch', status: 403 },
        });
      }
      expect(
        await verifySigV4(
          requests[0],
          lookupOf({ ...LOCAL_KEYS, secretAccessKey: lastCharChanged(LOCAL_KEYS.secretAccessKey) }),
          new Date(),
        ),
      ).toMatchObject({
        ok: false,
        error: { code: 'SignatureDoesNotMatch' },
      });
    },
  );

  it('S3 PutObject with a hashed body: a changed body is XAmzContentSHA256Mismatch when the header is a hash', async () => {
    const request = await signedBy(() =>
      s3Client(LOCAL_KEYS).send(new PutObjectCommand({ Bucket: 'b', Key: 'k', Body: Buffer.from('exact bytes') })),
    );
    const declared = String(request.headers['x-amz-content-sha256']);
    expect((await verifySigV4(request, lookupOf(LOCAL_KEYS), new Date())).ok).toBe(true);
    if (/^[0-9a-f]{64}$/.test(declared)) {
      expect(await verifySigV4({ ...request, body: 'other bytes' }, lookupOf(LOCAL_KEYS), new Date())).toMatchObject({
        ok: false,
        error: { code: 'XAmzContentSHA256Mismatch', status: 400 },
      });
    } else {
      // The SDK chose a literal payload form (UNSIGNED-PAYLOAD, STREAMING-…): the body is not part of the signature.
      expect(declared).toMatch(/^(UNSIGNED-PAYLOAD|STREAMING-)/);
    }
  });

  it('session credentials: the right token verifies, another token is InvalidToken, an expired session ExpiredToken', async () => {
    const request = await signedBy(() => s3Client(SESSION_KEYS).send(new GetObjectCommand({ Bucket: 'b', Key: 'k' })));
    expect(request.headers['x-amz-security-token']).toBe(SESSION_KEYS.sessionToken);
    expect((await verifySigV4(request, lookupOf(SESSION_KEYS), new Date())).ok).toBe(true);
    expect(await verifySigV4(request, lookupOf({ ...SESSION_KEYS, sessionToken: 'another' }), new Date())).toEqual({
      ok: false,
      error: { code: 'InvalidToken', status: 400, message: 'The provided token is malformed or otherwise invalid.' },
    });
    expect(
      await verifySigV4(request, lookupOf({ ...SESSION_KEYS, expiration: new Date(Date.now() - 1000) }), new Date()),
    ).toEqual({
      ok: false,
      error: { code: 'ExpiredToken', status: 400, message: 'The provided token has expired.' },
    });
  });

  it(
    'SQS SendMessage verifies with its body; ' +
      'a changed body byte or an unknown key is refused in the protocol it was sent in',
    async () => {
      const sqs = new SQSClient({
        region: 'us-east-1',
        endpoint: 'http://127.0.0.1:4566',
        credentials: LOCAL_KEYS,
        maxAttempts: 1,
        requestHandler: capturing,
      });
      const request = await signedBy(() =>
        sqs.send(
          new SendMessageCommand({
            QueueUrl: 'http://127.0.0.1:4566/000000000000/images-ingest',
            MessageBody: '{"key":"uploads/a.jpg"}',
          }),
        ),
      );
      expect(verified(await verifySigV4(request, lookupOf(LOCAL_KEYS), new Date())).scope.service).toBe('sqs');
      const json = request.headers['x-amz-target'] !== undefined;
      const body = Buffer.from(request.body ?? '').toString('utf8');
      expect(
        await verifySigV4({ ...request, body: body.replace('a.jpg', 'b.jpg') }, lookupOf(LOCAL_KEYS), new Date()),
      ).toMatchObject({
        ok: false,
        error: json
          ? { code: 'InvalidSignatureException', status: 400 }
          : { code: 'SignatureDoesNotMatch', status: 403 },
      });
      expect(await verifySigV4(request, () => undefined, new Date())).toMatchObject({
        ok: false,
        error: json
          ? {
              code: 'UnrecognizedClientException',
              status: 400,
              message: 'The security token included in the request is invalid.',
            }
          : { code: 'InvalidClientTokenId', status: 403 },
      });
      const replayed = await verifySigV4(request, lookupOf(LOCAL_KEYS), new Date(Date.now() + 16 * 60 * 1000));
      expect(replayed).toMatchObject({
        ok: false,
        error: { code: json ? 'InvalidSignatureException' : 'SignatureDoesNotMatch' },
      });
      expect(!replayed.ok && replayed.error.message).toMatch(
        /^Signature expired: \d{8}T\d{6}Z is now earlier than \d{8}T\d{6}Z \(\d{8}T\d{6}Z - 15 min\.\)$/,
      );
    },
  );

  it('a presign made by the SDK signer verifies until X-Amz-Expires, then is expired', async () => {
    const signedAt = new Date('2026-12-06T07:00:00.000Z');
    const request = await presignedAsS3(LOCAL_KEYS, 'GET', '/images-output/thumb/a%20b.jpg', signedAt, 900);
    expect(
      verified(await verifySigV4(request, lookupOf(LOCAL_KEYS), new Date(signedAt.getTime() + 900_000))).form,
    ).toBe('query');
    expect(await verifySigV4(request, lookupOf(LOCAL_KEYS), new Date(signedAt.getTime() + 901_000))).toMatchObject({
      ok: false,
      error: { code: 'AccessDenied', message: 'Request has expired' },
    });
  });

  it(
    'a presign with session credentials carries X-Amz-Security-Token: ' +
      'verified with it, ExpiredToken once the session ends',
    async () => {
      const signedAt = new Date('2026-12-06T07:00:00.000Z');
      const request = await presignedAsS3(SESSION_KEYS, 'PUT', '/images-source/uploads/a.jpg', signedAt, 300);
      expect(request.url).toContain('X-Amz-Security-Token=token-of-the-session');
      const at = new Date(signedAt.getTime() + 60_000);
      expect((await verifySigV4(request, lookupOf(SESSION_KEYS), at)).ok).toBe(true);
      expect(await verifySigV4(request, lookupOf({ ...SESSION_KEYS, expiration: signedAt }), at)).toMatchObject({
        ok: false,
        error: { code: 'ExpiredToken', status: 400 },
      });
      expect(
        await verifySigV4(
          { ...request, url: request.url.replace('X-Amz-Security-Token=token-of-the-session&', '') },
          lookupOf(SESSION_KEYS),
          at,
        ),
      ).toMatchObject({
        ok: false,
        error: { code: 'InvalidToken' },
      });
    },
  );

  it(
    'Query protocol (SQS form posts, STS): a request signed by the SDK signer verifies; ' +
      'refusals are InvalidClientTokenId and SignatureDoesNotMatch',
    async () => {
      const body = 'Action=GetCallerIdentity&Version=2011-06-15';
      const signer = new SignatureV4({
        credentials: LOCAL_KEYS,
        region: 'us-east-1',
        service: 'sts',
        sha256: NodeSha256,
      });
      const signed = (await signer.sign({
        method: 'POST',
        protocol: 'http:',
        hostname: '127.0.0.1',
        port: 4566,
        path: '/',
        query: {},
        headers: { host: '127.0.0.1:4566', 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' },
        body,
      })) as CapturedRequest;
      const request = onTheWire(signed);
      expect(verified(await verifySigV4(request, lookupOf(LOCAL_KEYS), new Date())).scope.service).toBe('sts');
      expect(await verifySigV4(request, () => undefined, new Date())).toEqual({
        ok: false,
        error: {
          code: 'InvalidClientTokenId',
          status: 403,
          message: 'The security token included in the request is invalid.',
        },
      });
      expect(
        await verifySigV4({ ...request, body: body.replace('2011', '2012') }, lookupOf(LOCAL_KEYS), new Date()),
      ).toMatchObject({
        ok: false,
        error: { code: 'SignatureDoesNotMatch', status: 403 },
      });
    },
  );

  it('no signature at all: anonymous for S3, MissingAuthenticationToken elsewhere', async () => {
    expect(
      await verifySigV4({ method: 'GET', url: '/b/k', headers: { host: 'h' } }, lookupOf(LOCAL_KEYS), new Date(), {
        service: 's3',
      }),
    ).toEqual({ ok: true, anonymous: true });
    expect(
      await verifySigV4({ method: 'POST', url: '/', headers: { host: 'h' } }, lookupOf(LOCAL_KEYS), new Date(), {
        service: 'sqs',
      }),
    ).toMatchObject({
      ok: false,
      error: { code: 'MissingAuthenticationToken', status: 403 },
    });
  });
});
