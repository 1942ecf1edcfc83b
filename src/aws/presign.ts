/**
 * S3 presigned POST (browser-based upload with a POST policy, Signature Version 4), by
 * @aws-sdk/s3-presigned-post: the SDK resolves the form's URL from the client (the partition's
 * domain, e.g. amazonaws.com.cn in China; path-style for bucket names with dots, whose
 * virtual-hosted names TLS certificates do not cover; path-style under a custom endpoint when the
 * client forces it) and signs the policy with the client's credentials and region.
 * https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-HTTPPOSTConstructPolicy.html
 */
import type { S3Client } from '@aws-sdk/client-s3';
import { createPresignedPost } from '@aws-sdk/s3-presigned-post';

export interface PresignPostInput {
  /**
   * Signs and addresses the form: its region, credentials (a session token becomes a signed field),
   * endpoint and `forcePathStyle`; its `systemClockOffset` shifts the signing time.
   */
  readonly client: S3Client;
  readonly bucket: string;
  readonly key: string;
  readonly contentType: string;
  readonly minBytes: number;
  readonly maxBytes: number;
  readonly expiresSeconds: number;
}

export interface PresignedPost {
  readonly url: string;
  /** Form fields to send, in this order, before the `file` field. */
  readonly fields: Record<string, string>;
  /** ISO 8601 (whole seconds): S3 refuses the form after it. */
  readonly expiresAt: string;
}

/**
 * Signs a POST policy that allows exactly one key, one Content-Type and a body of
 * [minBytes, maxBytes] bytes into `bucket`, for expiresSeconds from now.
 */
export async function presignPost(input: PresignPostInput): Promise<PresignedPost> {
  const { url, fields } = await createPresignedPost(input.client, {
    Bucket: input.bucket,
    Key: input.key,
    // Every field sent is also a condition (the SDK adds them): bucket, key, Content-Type, credential fields.
    Fields: { 'Content-Type': input.contentType },
    Conditions: [['content-length-range', input.minBytes, input.maxBytes]],
    Expires: input.expiresSeconds,
  });
  return { url, fields, expiresAt: policyExpiration(fields.Policy ?? '') };
}

/** The `expiration` a base64 POST policy was signed with. */
function policyExpiration(policy: string): string {
  const document = JSON.parse(Buffer.from(policy, 'base64').toString('utf8')) as { expiration: string };
  return document.expiration;
}
