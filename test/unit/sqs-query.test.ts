import { sqsQueryResponse } from '../../src/local/cloud/sqs/sqs-query';

describe('sqsQueryResponse', () => {
  it('answers an empty ReceiveMessage with an empty <ReceiveMessageResult/>, as SQS does', () => {
    const xml = sqsQueryResponse('ReceiveMessage', '{}', 'req-1');
    expect(xml).toContain(
      '<ReceiveMessageResponse ' +
        'xmlns="http://queue.amazonaws.com/doc/2012-11-05/"><ReceiveMessageResult/><ResponseMetadata>',
    );
  });

  it('gives every operation with an output shape its result element, even an empty one', () => {
    for (const action of ['GetQueueAttributes', 'ListQueues', 'ListQueueTags', 'ListDeadLetterSourceQueues']) {
      expect(sqsQueryResponse(action, '', 'r')).toContain(`<${action}Result/>`);
    }
  });

  it('gives operations without an output shape only ResponseMetadata', () => {
    for (const action of [
      'DeleteMessage',
      'ChangeMessageVisibility',
      'SetQueueAttributes',
      'PurgeQueue',
      'DeleteQueue',
      'TagQueue',
      'UntagQueue',
    ]) {
      expect(sqsQueryResponse(action, '', 'r')).toBe(
        `<?xml version="1.0"?><${action}Response ` +
          `xmlns="http://queue.amazonaws.com/doc/2012-11-05/"><ResponseMetadata>` +
          `<RequestId>r</RequestId></ResponseMetadata></${action}Response>`,
      );
    }
  });

  it('keeps the members of a non-empty answer inside the result element', () => {
    const xml = sqsQueryResponse(
      'ReceiveMessage',
      JSON.stringify({ Messages: [{ MessageId: 'm1', Body: 'a<b' }] }),
      'r',
    );
    expect(xml).toContain(
      '<ReceiveMessageResult><Message><MessageId>m1</MessageId><Body>a&lt;b</Body></Message></ReceiveMessageResult>',
    );
  });
});
