/**
 * S3 encrypts every new object with SSE-S3 by default (since January 2023) and says so on the
 * answers that concern an object's bytes; the stand-in stores plain objects and says nothing. The
 * gateway adds S3's header to those answers, so clients that check it see what S3 sends.
 */
import type { OutgoingHttpHeaders } from 'node:http';
import type { AwsRequestInfo } from '../gateway/aws-request';

/** S3's header naming an object's server-side encryption, and its default value (SSE-S3). */
export const SSE_HEADER = 'x-amz-server-side-encryption';
export const SSE_S3 = 'AES256';

/** Operations whose successful answers carry the encryption header on S3. */
const ENCRYPTION_REPORTING_OPERATIONS = new Set([
  'PutObject',
  'PostObject',
  'GetObject',
  'HeadObject',
  'CopyObject',
  'CreateMultipartUpload',
  'UploadPart',
  'UploadPartCopy',
  'CompleteMultipartUpload',
]);

/** Adds `x-amz-server-side-encryption: AES256` to a 2xx answer of such an operation, unless the stand-in set one. */
export function addDefaultEncryption(info: AwsRequestInfo, status: number, headers: OutgoingHttpHeaders): void {
  if (info.service !== 's3' || status < 200 || status > 299 || !ENCRYPTION_REPORTING_OPERATIONS.has(info.operation))
    return;
  headers[SSE_HEADER] ??= SSE_S3;
}
