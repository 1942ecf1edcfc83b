import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MAPPING_IDS_FILE, mappingIds } from '../../src/local/cloud/lambda/mapping-ids';

describe('mappingIds', () => {
  const work = mkdtempSync(join(tmpdir(), 'irc-mapping-ids-'));
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it('hands out the same UUID for the same source and function after a reopen, another for another mapping', () => {
    const dir = join(work, 'kept');
    const first = mappingIds(dir);
    const ingest = first('arn:aws:sqs:us-east-1:000000000000:ingest', 'resize');
    const resized = first('arn:aws:sqs:us-east-1:000000000000:resized', 'publish');
    expect(ingest).not.toBe(resized);
    const second = mappingIds(dir);
    expect(second('arn:aws:sqs:us-east-1:000000000000:resized', 'publish')).toBe(resized);
    expect(second('arn:aws:sqs:us-east-1:000000000000:ingest', 'resize')).toBe(ingest);
    expect(second('arn:aws:sqs:us-east-1:000000000000:ingest', 'other')).not.toBe(ingest);
    expect(statSync(join(dir, MAPPING_IDS_FILE)).mode & 0o777).toBe(0o600);
  });

  it('gives fresh UUIDs without a state folder', () => {
    const ids = mappingIds(undefined);
    expect(ids('arn:q', 'f')).not.toBe(ids('arn:q', 'f'));
  });

  it('refuses a damaged file with INVALID_CONFIG naming it, and leaves it alone', () => {
    const dir = join(work, 'damaged');
    mappingIds(dir)('arn:q', 'f');
    writeFileSync(join(dir, MAPPING_IDS_FILE), '{"arn:q f": "not-a-uuid"}');
    expect(() => mappingIds(dir)).toThrow(
      expect.objectContaining({ code: 'INVALID_CONFIG', message: expect.stringContaining(MAPPING_IDS_FILE) }),
    );
    expect(readFileSync(join(dir, MAPPING_IDS_FILE), 'utf8')).toBe('{"arn:q f": "not-a-uuid"}');
  });
});
