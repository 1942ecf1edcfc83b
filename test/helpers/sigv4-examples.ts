/**
 * AWS's published SigV4 examples (credentials, times, URLs and signatures as the documentation
 * prints them), shared by the signer's and the verifier's known-answer tests.
 */

/** The access key id of AWS's examples. */
export const EXAMPLE_ACCESS_KEY_ID = 'AKIAIOSFODNN7EXAMPLE';
/** The secret of AWS's S3 examples (POST form, presigned URL, header-based and chunked uploads). */
export const S3_EXAMPLE_SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';

/**
 * "Authenticating Requests: Using Query Parameters (AWS Signature Version 4)": GET
 * examplebucket/test.txt signed at 20130524T000000Z for 86400 s, as published (path and query).
 * https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-query-string-auth.html
 */
export const PRESIGNED_URL_EXAMPLE = {
  host: 'examplebucket.s3.amazonaws.com',
  signedAt: new Date('2013-05-24T00:00:00.000Z'),
  url:
    '/test.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256' +
    '&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request' +
    '&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host' +
    '&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404',
} as const;

/** `text` with its last character replaced by another of the same alphabet (one byte changed). */
export function lastCharChanged(text: string): string {
  const last = text.slice(-1);
  return text.slice(0, -1) + (last === 'a' ? 'b' : 'a');
}
