import { isPipelineError } from '../../src/core/errors';
import { parseS3Notification } from '../../src/core/s3-event';
import { s3ObjectCreatedNotification } from '../../src/local/cloud/s3/object-created-event';
import { parseStreamRecordData, streamDataAsNotificationBody, streamReferenceOf } from '../../src/core/stream-event';

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    if (isPipelineError(err)) return err.code;
    throw err;
  }
  return undefined;
}

describe('parseStreamRecordData', () => {
  test('a plain reference becomes one ObjectCreated record; the key is taken as is (not URL-decoded)', () => {
    const parsed = parseStreamRecordData(
      JSON.stringify({ bucket: 'b', key: 'uploads/a b+c%20.jpg', eTag: '"abc"', size: 12 }),
    );
    expect(parsed).toEqual({
      kind: 'records',
      records: [{ bucket: 'b', key: 'uploads/a b+c%20.jpg', eTag: 'abc', size: 12, eventName: 'ObjectCreated:Put' }],
    });
  });

  test('eTag and size are optional (size 0: enforced while reading); versionId is kept', () => {
    expect(parseStreamRecordData('{"bucket":"b","key":"k.png","versionId":"v1"}')).toEqual({
      kind: 'records',
      records: [{ bucket: 'b', key: 'k.png', eTag: '', size: 0, eventName: 'ObjectCreated:Put', versionId: 'v1' }],
    });
  });

  test('an S3 event notification is parsed exactly as an SQS body is', () => {
    const body = JSON.stringify(
      s3ObjectCreatedNotification({ bucket: 'b', key: 'uploads/x y.jpg', size: 5, eTag: 'e', sequencer: '01' }),
    );
    expect(parseStreamRecordData(body)).toEqual(parseS3Notification(body));
    expect(parseStreamRecordData('{"Event":"s3:TestEvent"}')).toEqual({ kind: 'test' });
  });

  test.each([
    ['not JSON', 'PNG\u0000\u0001binary', 'INVALID_EVENT'],
    ['an array', '[1]', 'INVALID_EVENT'],
    ['no bucket', '{"key":"k"}', 'INVALID_EVENT'],
    ['empty key', '{"bucket":"b","key":""}', 'INVALID_EVENT'],
    ['a typo in a field name', '{"bucket":"b","key":"k","etag":"x"}', 'INVALID_EVENT'],
    ['a negative size', '{"bucket":"b","key":"k","size":-1}', 'INVALID_EVENT'],
    ['a size that is text', '{"bucket":"b","key":"k","size":"12"}', 'INVALID_EVENT'],
    ['a ".." segment', '{"bucket":"b","key":"uploads/../etc/passwd"}', 'INVALID_KEY'],
    ['a control character', '{"bucket":"b","key":"a\\u0007.jpg"}', 'INVALID_KEY'],
    ['a notification without Records', '{"Records":"x"}', 'INVALID_EVENT'],
  ])('refuses %s with a coded error', (_name, data, code) => {
    expect(codeOf(() => parseStreamRecordData(data, '4900'))).toBe(code);
  });

  test('the error names the record and the field', () => {
    try {
      parseStreamRecordData('{"bucket":"b","key":"k","etag":"x"}', '49000001');
      throw new Error('accepted');
    } catch (err) {
      expect(err).toMatchObject({
        code: 'INVALID_EVENT',
        subject: { messageId: '49000001' },
        message: expect.stringContaining('"etag"'),
      });
    }
  });

  test('streamReferenceOf checks shape only', () => {
    expect(streamReferenceOf({ bucket: 'b', key: '../x' })).toEqual({ bucket: 'b', key: '../x' });
  });
});

describe('streamDataAsNotificationBody', () => {
  test('a reference becomes a notification that parses back to the same object (keys with spaces, plus signs, unicode)', () => {
    for (const key of ['uploads/a b+c.jpg', 'uploads/été/😀 1%.png', 'k']) {
      const body = streamDataAsNotificationBody(JSON.stringify({ bucket: 'b', key, eTag: 'e1', size: 3 }));
      expect(parseS3Notification(body)).toEqual({
        kind: 'records',
        records: [expect.objectContaining({ bucket: 'b', key, eTag: 'e1', size: 3 })],
      });
    }
  });

  test('a notification passes through unchanged', () => {
    const body = JSON.stringify(
      s3ObjectCreatedNotification({ bucket: 'b', key: 'k', size: 5, eTag: 'e', sequencer: '01' }),
    );
    expect(streamDataAsNotificationBody(body)).toBe(body);
  });

  test('an unsafe key survives the mapping, so the batch rejects it as INVALID_KEY naming the object', () => {
    const body = streamDataAsNotificationBody('{"bucket":"b","key":"a/../b.jpg"}');
    try {
      parseS3Notification(body);
      throw new Error('accepted');
    } catch (err) {
      expect(err).toMatchObject({ code: 'INVALID_KEY', subject: { bucket: 'b', key: 'a/../b.jpg' } });
    }
  });

  test('data that is no reference stays as it is, and the batch refuses it as INVALID_EVENT', () => {
    for (const data of ['hello', '{"bucket":"b"}', '[]']) {
      expect(streamDataAsNotificationBody(data)).toBe(data);
      expect(codeOf(() => parseS3Notification(streamDataAsNotificationBody(data)))).toBe('INVALID_EVENT');
    }
  });
});
