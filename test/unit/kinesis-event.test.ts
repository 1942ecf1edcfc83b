import { isKinesisEvent, kinesisRecordsOf } from '../../src/core/kinesis-event';
import { parseS3Notification } from '../../src/core/s3-event';

const b64 = (text: string): string => Buffer.from(text, 'utf8').toString('base64');

function kinesisRecord(sequenceNumber: string, data: string) {
  return {
    kinesis: {
      kinesisSchemaVersion: '1.0',
      partitionKey: 'p',
      sequenceNumber,
      data: b64(data),
      approximateArrivalTimestamp: 1700000000.123,
    },
    eventSource: 'aws:kinesis',
    eventVersion: '1.0',
    eventID: `shardId-000000000000:${sequenceNumber}`,
    eventName: 'aws:kinesis:record',
    invokeIdentityArn: 'arn:aws:iam::000000000000:role/r',
    awsRegion: 'us-east-1',
    eventSourceARN: 'arn:aws:kinesis:us-east-1:000000000000:stream/s',
  };
}

describe('isKinesisEvent', () => {
  test('judges by eventSource', () => {
    expect(isKinesisEvent({ Records: [kinesisRecord('1', '{}')] })).toBe(true);
    expect(isKinesisEvent({ Records: [{ eventSource: 'aws:sqs', messageId: 'm', body: '' }] })).toBe(false);
    expect(isKinesisEvent({ Records: [] })).toBe(false);
    expect(isKinesisEvent(null)).toBe(false);
  });
});

describe('kinesisRecordsOf', () => {
  test('maps records in order to messages whose id is the sequence number and whose body is a notification', () => {
    const messages = kinesisRecordsOf({
      Records: [
        kinesisRecord('49000000000000000001', '{"bucket":"b","key":"a b.jpg","eTag":"e"}'),
        kinesisRecord('49000000000000000002', 'not json'),
      ],
    });
    expect(messages.map((m) => m.messageId)).toEqual(['49000000000000000001', '49000000000000000002']);
    expect(parseS3Notification(messages[0].body)).toEqual({
      kind: 'records',
      records: [expect.objectContaining({ bucket: 'b', key: 'a b.jpg', eTag: 'e' })],
    });
    expect(messages[1].body).toBe('not json');
  });

  test("gives a plain reference the record's arrival in the stream as its event time (the start of upload-to-manifest)", () => {
    const record = kinesisRecord('49000000000000000001', '{"bucket":"b","key":"k.jpg","eTag":"e"}');
    const [message] = kinesisRecordsOf({
      Records: [{ ...record, kinesis: { ...record.kinesis, approximateArrivalTimestamp: 1796530831.25 } }],
    });
    expect(parseS3Notification(message.body)).toEqual({
      kind: 'records',
      records: [expect.objectContaining({ key: 'k.jpg', eventTime: '2026-12-06T04:20:31.250Z' })],
    });
  });

  test('refuses a whole event it cannot report against, with INVALID_EVENT', () => {
    const bad = [
      { Records: 'x' },
      { Records: [kinesisRecord('1', '{}'), { eventSource: 'aws:sqs', messageId: 'm', body: '' }] },
      { Records: [{ ...kinesisRecord('1', '{}'), kinesis: { sequenceNumber: '', data: '' } }] },
      { Records: [{ ...kinesisRecord('1', '{}'), kinesis: { sequenceNumber: '1' } }] },
    ];
    for (const event of bad)
      expect(() => kinesisRecordsOf(event)).toThrow(expect.objectContaining({ code: 'INVALID_EVENT' }));
  });
});
