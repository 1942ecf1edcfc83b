// Presigned POST forms signed at a chosen time, for unit tests of what the SDK's presigner writes.
import { S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import { presignPost, type PresignedPost, type PresignPostInput } from '../../src/aws/presign';

/**
 * presignPost with a fresh client of `config`, signed as of `at`: the SDK's presigner takes its time
 * from Date.now (plus the client's clock offset), so Date.now is held at `at` while it signs.
 */
export async function presignAt(
  at: Date,
  config: S3ClientConfig,
  input: Omit<PresignPostInput, 'client'>,
): Promise<PresignedPost> {
  const client = new S3Client(config);
  const clock = jest.spyOn(Date, 'now').mockReturnValue(at.getTime());
  try {
    return await presignPost({ client, ...input });
  } finally {
    clock.mockRestore();
    client.destroy();
  }
}
