// Our SigV4 signer and the local S3's POST policy check held to the answers AWS publishes for its
// example credentials (AKIAIOSFODNN7EXAMPLE), not to a derivation of our own: a signer that agrees
// with itself but not with AWS fails only in production, as an opaque 403.
import { sigV4Signature, sigV4SigningKey } from '../../src/aws/sigv4';
import { presignAt } from '../helpers/presign';
import { verifyPostPolicy, type VerifyPostPolicyOptions } from '../../src/local/cloud/s3/post-policy';
import { presignRefusal } from '../../src/local/cloud/s3/presign-expiry';
import {
  EXAMPLE_ACCESS_KEY_ID as ACCESS_KEY_ID,
  lastCharChanged,
  PRESIGNED_URL_EXAMPLE,
  S3_EXAMPLE_SECRET,
} from '../helpers/sigv4-examples';

/**
 * "Example: Browser-Based Upload using HTTP POST (Using AWS Signature Version 4)":
 * https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-post-example.html
 * The base64 policy (the StringToSign) and its signature as published.
 */
const POST_EXAMPLE = {
  bucket: 'sigv4examplebucket',
  region: 'us-east-1',
  date: '20151229T000000Z',
  policy:
    'eyAiZXhwaXJhdGlvbiI6ICIyMDE1LTEyLTMwVDEyOjAwOjAwLjAwMFoiLA0KICAiY29uZGl0aW9ucyI6IFsNCiAgICB7ImJ1Y2tl' +
    'dCI6ICJzaWd2NGV4YW1wbGVidWNrZXQifSwNCiAgICBbInN0YXJ0cy13aXRoIiwgIiRrZXkiLCAidXNlci91c2VyMS8iXSwNCiAg' +
    'ICB7ImFjbCI6ICJwdWJsaWMtcmVhZCJ9LA0KICAgIHsic3VjY2Vzc19hY3Rpb25fcmVkaXJlY3QiOiAiaHR0cDovL3NpZ3Y0ZXhh' +
    'bXBsZWJ1Y2tldC5zMy5hbWF6b25hd3MuY29tL3N1Y2Nlc3NmdWxfdXBsb2FkLmh0bWwifSwNCiAgICBbInN0YXJ0cy13aXRoIiwg' +
    'IiRDb250ZW50LVR5cGUiLCAiaW1hZ2UvIl0sDQogICAgeyJ4LWFtei1tZXRhLXV1aWQiOiAiMTQzNjUxMjM2NTEyNzQifSwNCiAg' +
    'ICB7IngtYW16LXNlcnZlci1zaWRlLWVuY3J5cHRpb24iOiAiQUVTMjU2In0sDQogICAgWyJzdGFydHMtd2l0aCIsICIkeC1hbXot' +
    'bWV0YS10YWciLCAiIl0sDQoNCiAgICB7IngtYW16LWNyZWRlbnRpYWwiOiAiQUtJQUlPU0ZPRE5ON0VYQU1QTEUvMjAxNTEyMjkv' +
    'dXMtZWFzdC0xL3MzL2F3czRfcmVxdWVzdCJ9LA0KICAgIHsieC1hbXotYWxnb3JpdGhtIjogIkFXUzQtSE1BQy1TSEEyNTYifSwN' +
    'CiAgICB7IngtYW16LWRhdGUiOiAiMjAxNTEyMjlUMDAwMDAwWiIgfQ0KICBdDQp9',
  signature: '8afdbf4008c03f22c2cd3cdb72e4afbb1f6a588f3255ac628749a66d7f09699e',
} as const;

/** The example's form: the fields its policy names, with the values the policy allows. */
const POST_EXAMPLE_FORM: ReadonlyArray<readonly [string, string]> = [
  ['key', 'user/user1/${filename}'],
  ['acl', 'public-read'],
  ['success_action_redirect', 'http://sigv4examplebucket.s3.amazonaws.com/successful_upload.html'],
  ['Content-Type', 'image/jpeg'],
  ['x-amz-meta-uuid', '14365123651274'],
  ['x-amz-server-side-encryption', 'AES256'],
  ['X-Amz-Credential', `${ACCESS_KEY_ID}/20151229/us-east-1/s3/aws4_request`],
  ['X-Amz-Algorithm', 'AWS4-HMAC-SHA256'],
  ['X-Amz-Date', POST_EXAMPLE.date],
  ['x-amz-meta-tag', ''],
  ['Policy', POST_EXAMPLE.policy],
  ['X-Amz-Signature', POST_EXAMPLE.signature],
];

const POST_EXAMPLE_OPTS: VerifyPostPolicyOptions = {
  bucket: POST_EXAMPLE.bucket,
  region: POST_EXAMPLE.region,
  credentials: (id) =>
    id === ACCESS_KEY_ID ? { accessKeyId: ACCESS_KEY_ID, secretAccessKey: S3_EXAMPLE_SECRET } : undefined,
  now: new Date('2015-12-29T00:00:00.000Z'),
};

/** `form` with field `name`'s value passed through `change`. */
function withField(
  form: ReadonlyArray<readonly [string, string]>,
  name: string,
  change: (value: string) => string,
): Array<readonly [string, string]> {
  return form.map(([field, value]) => [field, field === name ? change(value) : value] as const);
}

describe('SigV4 signer: AWS published known answers', () => {
  it('derives the signing key of the SigV4 documentation example (20120215, us-east-1, iam)', async () => {
    // https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv4_signing.html (that example's secret has "+")
    const key = await sigV4SigningKey('wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY', {
      day: '20120215',
      region: 'us-east-1',
      service: 'iam',
    });
    expect(key.toString('hex')).toBe('f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d');
  });

  it('signs the browser-upload example policy with exactly the published signature', async () => {
    expect(
      await sigV4Signature(
        S3_EXAMPLE_SECRET,
        { day: '20151229', region: 'us-east-1', service: 's3' },
        POST_EXAMPLE.policy,
      ),
    ).toBe(POST_EXAMPLE.signature);
  });

  it('signs the presigned-URL example (GET examplebucket/test.txt) StringToSign with exactly the published signature', async () => {
    // https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-query-string-auth.html
    const stringToSign = [
      'AWS4-HMAC-SHA256',
      '20130524T000000Z',
      '20130524/us-east-1/s3/aws4_request',
      '3bfa292879f6447bbcda7001decf97f4a54dc650c8942174ae0a9121cf58ad04',
    ].join('\n');
    expect(
      await sigV4Signature(S3_EXAMPLE_SECRET, { day: '20130524', region: 'us-east-1', service: 's3' }, stringToSign),
    ).toBe('aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404');
  });

  it('presignPost writes the credential scope and date as the published example does for the same key and time', async () => {
    const post = await presignAt(
      POST_EXAMPLE_OPTS.now,
      { region: POST_EXAMPLE.region, credentials: { accessKeyId: ACCESS_KEY_ID, secretAccessKey: S3_EXAMPLE_SECRET } },
      {
        bucket: POST_EXAMPLE.bucket,
        key: 'user/user1/a.jpg',
        contentType: 'image/jpeg',
        minBytes: 1,
        maxBytes: 10,
        expiresSeconds: 60,
      },
    );
    const published = new Map(POST_EXAMPLE_FORM);
    expect(post.fields['X-Amz-Credential']).toBe(published.get('X-Amz-Credential'));
    expect(post.fields['X-Amz-Date']).toBe(published.get('X-Amz-Date'));
    expect(post.fields['X-Amz-Algorithm']).toBe(published.get('X-Amz-Algorithm'));
    // Its signature is the known-answer-checked function over the policy it sends, under that scope.
    expect(post.fields['X-Amz-Signature']).toBe(
      await sigV4Signature(
        S3_EXAMPLE_SECRET,
        { day: '20151229', region: 'us-east-1', service: 's3' },
        post.fields.Policy,
      ),
    );
  });
});

describe('POST policy verifier: the AWS published browser-upload example', () => {
  it('accepts the published form, signature and policy as they are', async () => {
    expect(await verifyPostPolicy(POST_EXAMPLE_FORM, { size: 5, filename: 'MyPhoto.jpg' }, POST_EXAMPLE_OPTS)).toEqual({
      ok: true,
      key: 'user/user1/MyPhoto.jpg',
      accessKeyId: 'AKIAIOSFODNN7EXAMPLE',
    });
  });

  it('refuses it with 403 SignatureDoesNotMatch when one byte of the signature changes', async () => {
    const form = withField(POST_EXAMPLE_FORM, 'X-Amz-Signature', lastCharChanged);
    expect(await verifyPostPolicy(form, { size: 5, filename: 'MyPhoto.jpg' }, POST_EXAMPLE_OPTS)).toMatchObject({
      ok: false,
      error: {
        code: 'SignatureDoesNotMatch',
        status: 403,
        details: { AWSAccessKeyId: ACCESS_KEY_ID, StringToSign: POST_EXAMPLE.policy },
      },
    });
  });

  it('refuses it with 403 SignatureDoesNotMatch when one byte of the policy changes', async () => {
    // "...Ap9" ends the base64; "...Ap8" is still valid base64 of a different document.
    const form = withField(POST_EXAMPLE_FORM, 'Policy', (policy) => `${policy.slice(0, -1)}8`);
    expect(await verifyPostPolicy(form, { size: 5, filename: 'MyPhoto.jpg' }, POST_EXAMPLE_OPTS)).toMatchObject({
      ok: false,
      error: { code: 'SignatureDoesNotMatch', status: 403 },
    });
  });

  it('refuses it when the secret differs by one byte, and after the published expiration', async () => {
    const otherSecret: VerifyPostPolicyOptions = {
      ...POST_EXAMPLE_OPTS,
      credentials: (id) => ({ accessKeyId: id, secretAccessKey: lastCharChanged(S3_EXAMPLE_SECRET) }),
    };
    expect(await verifyPostPolicy(POST_EXAMPLE_FORM, { size: 5 }, otherSecret)).toMatchObject({
      ok: false,
      error: { code: 'SignatureDoesNotMatch' },
    });
    const late = { ...POST_EXAMPLE_OPTS, now: new Date('2015-12-30T12:00:00.001Z') };
    expect(await verifyPostPolicy(POST_EXAMPLE_FORM, { size: 5 }, late)).toMatchObject({
      ok: false,
      error: { code: 'AccessDenied', message: 'Invalid according to Policy: Policy expired.' },
    });
  });
});

describe('presigned URL expiry: the AWS published query-string example', () => {
  const PUBLISHED_URL = PRESIGNED_URL_EXAMPLE.url;

  it('lets the published URL through until X-Amz-Date + X-Amz-Expires, and refuses it a second later', () => {
    expect(presignRefusal(PUBLISHED_URL, new Date('2013-05-25T00:00:00.000Z'))).toBeUndefined();
    expect(presignRefusal(PUBLISHED_URL, new Date('2013-05-25T00:00:01.000Z'))).toEqual({
      code: 'AccessDenied',
      status: 403,
      message: 'Request has expired',
      details: { 'X-Amz-Expires': '86400', Expires: '2013-05-25T00:00:00Z', ServerTime: '2013-05-25T00:00:01Z' },
    });
  });
});
