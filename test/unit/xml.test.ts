// The local cloud's one XML builder and parser (fast-xml-parser): what every S3/SQS body relies on.
import { PLAIN_DECLARATION, parseXmlBody, xmlDocument } from '../../src/local/cloud/xml';
import { sqsQueryError, sqsQueryResponse } from '../../src/local/cloud/sqs/sqs-query';

describe('xmlDocument', () => {
  it('escapes & < > in text, keeps quotes, and writes carriage returns as &#xD; so clients read them back', () => {
    expect(xmlDocument({ Error: { Message: `a < b & c > "d" 'e'\r\nf` } })).toBe(
      `<?xml version="1.0" encoding="UTF-8"?><Error><Message>a &lt; b &amp; c &gt; "d" 'e'&#xD;\nf</Message></Error>`,
    );
  });

  it('repeats a list, writes <Name/> for empty text, leaves out undefined members and escapes attribute values', () => {
    expect(
      xmlDocument({ R: { '@_xmlns': 'urn:"x"', A: ['1', '2'], E: '', U: undefined, L: [] } }, PLAIN_DECLARATION),
    ).toBe('<?xml version="1.0"?><R xmlns="urn:&quot;x&quot;"><A>1</A><A>2</A><E/></R>');
  });

  it('round-trips through the parser: a text with every special character comes back as it went in', () => {
    const text = `<&>"'\r\n\tx`;
    expect(parseXmlBody(xmlDocument({ R: { T: text } }))?.R).toEqual({ T: text });
  });
});

describe('parseXmlBody', () => {
  it('reads text as text (no number conversion) and a repeated element as a list', () => {
    expect(parseXmlBody('<C xmlns="x"><M>GET</M><M>PUT</M><Age>0030</Age></C>')).toEqual({
      C: { M: ['GET', 'PUT'], Age: '0030' },
    });
  });

  it('refuses XML that is not well-formed', () => {
    expect(parseXmlBody('<a><b></a>')).toBeUndefined();
    expect(parseXmlBody('not xml')).toBeUndefined();
  });
});

describe('SQS Query bodies through the builder', () => {
  it('keeps a message body with CR LF intact for Query clients', () => {
    const xml = sqsQueryResponse(
      'ReceiveMessage',
      JSON.stringify({ Messages: [{ MessageId: 'm', Body: 'a\r\nb', Attributes: { SenderId: 's' } }] }),
      'r',
    );
    expect(xml).toContain(
      '<Message><MessageId>m</MessageId><Body>a&#xD;\nb</Body><Attribute>' +
        '<Name>SenderId</Name><Value>s</Value></Attribute></Message>',
    );
    const body = (
      parseXmlBody(xml) as { ReceiveMessageResponse: { ReceiveMessageResult: { Message: { Body: string } } } }
    ).ReceiveMessageResponse.ReceiveMessageResult.Message.Body;
    expect(body).toBe('a\r\nb');
  });

  it('writes an error with Type, Code, Message and an empty Detail', () => {
    expect(
      sqsQueryError(
        '{"__type":"com.amazonaws.sqs#QueueDoesNotExist","message":"no <queue>"}',
        'AWS.SimpleQueueService.NonExistentQueue;Sender',
        400,
        'r',
      ),
    ).toBe(
      '<?xml version="1.0"?><ErrorResponse ' +
        'xmlns="http://queue.amazonaws.com/doc/2012-11-05/"><Error>' +
        '<Type>Sender</Type><Code>AWS.SimpleQueueService.NonExistentQueue</Code>' +
        '<Message>no &lt;queue&gt;</Message><Detail/></Error><RequestId>r</RequestId></ErrorResponse>',
    );
  });
});
