// The --state folder holds every object and message: the real stand-in, started on a new and on a
// loosely made existing folder, leaves it 0700 and its SQLite files 0600 (owner only).
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { chmodSync, existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { localClientConfig } from '../../src/local/client-config';
import { startStandIn } from '../../src/local/cloud/standin/standin';

const mode = (path: string): string => (statSync(path).mode & 0o777).toString(8);
let root: string;

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'state-perms-'));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** Starts the stand-in on `dir`, writes an object (so SQLite writes its WAL), stops it. */
async function runOn(dir: string): Promise<void> {
  const standIn = await startStandIn({ dataDir: dir });
  const s3 = new S3Client(localClientConfig(standIn.endpoint));
  try {
    await s3.send(new CreateBucketCommand({ Bucket: 'private-bucket' }));
    await s3.send(new PutObjectCommand({ Bucket: 'private-bucket', Key: 'secret.txt', Body: 'not for other users' }));
  } finally {
    s3.destroy();
    await standIn.stop();
  }
}

describe('--state folder permissions', () => {
  it('creates a new folder 0700 and its database files 0600, whatever the umask lets through', async () => {
    const dir = join(root, 'new', 'state');
    await runOn(dir);
    expect(mode(dir)).toBe('700');
    expect(mode(join(dir, 'fauxqs.db'))).toBe('600');
    // The stand-in stopped cleanly: SQLite folded its WAL back; any companion left must be private too.
    for (const name of ['fauxqs.db-wal', 'fauxqs.db-shm'].filter((n) => existsSync(join(dir, n))))
      expect([name, mode(join(dir, name))]).toEqual([name, '600']);
  });

  it('tightens an existing folder and database left readable by others', async () => {
    const dir = join(root, 'loose');
    await runOn(dir);
    chmodSync(dir, 0o755);
    chmodSync(join(dir, 'fauxqs.db'), 0o644);
    await runOn(dir);
    expect(mode(dir)).toBe('700');
    expect(mode(join(dir, 'fauxqs.db'))).toBe('600');
  });
});
