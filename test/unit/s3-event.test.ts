import { PipelineError } from '../../src/core/errors';
import { decodeS3Key, encodeS3Key, parseS3Notification } from '../../src/core/s3-event';
import { s3ObjectCreatedNotification } from '../../src/local/cloud/s3/object-created-event';

function record(key: string, extra: Record<string, unknown> = {}) {
  return {
    eventName: 'ObjectCreated:Put',
    eventTime: '2026-11-28T10:00:00.000Z',
    s3: { bucket: { name: 'src' }, object: { key, size: 123, eTag: '"abc"', sequencer: '00A1', ...extra } },
  };
}

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return err instanceof PipelineError ? err.code : 'NOT_A_PIPELINE_ERROR';
  }
  return undefined;
}

describe('parseS3Notification', () => {
  it('decodes keys: "+" is a space, percent escapes are UTF-8', () => {
    const n = parseS3Notification(JSON.stringify({ Records: [record('uploads/my+photo+%C3%BC%2B1.jpg')] }));
    expect(n).toEqual({
      kind: 'records',
      records: [
        expect.objectContaining({
          bucket: 'src',
          key: 'uploads/my photo ü+1.jpg',
          size: 123,
          eTag: 'abc',
          sequencer: '00A1',
        }),
      ],
    });
  });

  it('returns every ObjectCreated record of a message and skips other events', () => {
    const removed = { ...record('uploads/gone.jpg'), eventName: 'ObjectRemoved:Delete' };
    const n = parseS3Notification(
      JSON.stringify({ Records: [record('uploads/a.jpg'), removed, record('uploads/b.png', { versionId: 'v2' })] }),
    );
    expect(n.kind).toBe('records');
    if (n.kind !== 'records') return;
    expect(n.records.map((r) => r.key)).toEqual(['uploads/a.jpg', 'uploads/b.png']);
    expect(n.records[1]?.versionId).toBe('v2');
  });

  it('recognises the s3:TestEvent sent when a notification is configured', () => {
    expect(parseS3Notification(JSON.stringify({ Service: 'Amazon S3', Event: 's3:TestEvent', Bucket: 'src' }))).toEqual(
      { kind: 'test' },
    );
  });

  it('unwraps an SNS envelope', () => {
    const inner = JSON.stringify({ Records: [record('uploads/x.jpg')] });
    const n = parseS3Notification(JSON.stringify({ Type: 'Notification', Message: inner }));
    expect(n.kind === 'records' && n.records[0]?.key).toBe('uploads/x.jpg');
  });

  it.each([
    ['not JSON', 'hello', 'INVALID_EVENT'],
    ['no Records', '{"foo":1}', 'INVALID_EVENT'],
    [
      'missing key',
      JSON.stringify({
        Records: [{ eventName: 'ObjectCreated:Put', s3: { bucket: { name: 'b' }, object: { size: 1 } } }],
      }),
      'INVALID_EVENT',
    ],
    ['bad escape', JSON.stringify({ Records: [record('uploads/%E0%A4%A.jpg')] }), 'INVALID_KEY'],
    ['dot-dot segment', JSON.stringify({ Records: [record('uploads/../../etc/passwd.jpg')] }), 'INVALID_KEY'],
    ['control character', JSON.stringify({ Records: [record('uploads/a%00b.jpg')] }), 'INVALID_KEY'],
  ])('refuses %s with a permanent coded error', (_name, body, code) => {
    expect(codeOf(() => parseS3Notification(body, 'm-1'))).toBe(code);
  });
});

describe('S3 key encoding', () => {
  it.each([
    'uploads/plain.jpg',
    'uploads/my photo.jpg',
    'uploads/ü+1 (2)!.jpg',
    'uploads/100%.png',
    'uploads/日本語/写真.webp',
  ])('round-trips %s', (key) => {
    expect(decodeS3Key(encodeS3Key(key))).toBe(key);
  });

  it('encodes like S3: spaces as "+", "+" as %2B', () => {
    expect(encodeS3Key('uploads/a b+c.jpg')).toBe('uploads/a+b%2Bc.jpg');
  });

  it('builds a notification that parses back to the same object', () => {
    const body = JSON.stringify(
      s3ObjectCreatedNotification({ bucket: 'src', key: 'uploads/é t.jpg', size: 9, eTag: '"e1"', sequencer: '0001' }),
    );
    const n = parseS3Notification(body);
    expect(n.kind === 'records' && n.records[0]).toEqual(
      expect.objectContaining({
        bucket: 'src',
        key: 'uploads/é t.jpg',
        size: 9,
        eTag: 'e1',
        eventName: 'ObjectCreated:Put',
      }),
    );
  });
});
