// The operation → IAM action table, held to the mappings of "Required permissions for Amazon S3 API
// operations" and the service authorization references of SQS, Kinesis and Lambda.
import {
  eventSourceMappingPermissions,
  kinesisPermission,
  lambdaInvokePermission,
  missingObjectAnswer,
  s3NotificationPermission,
  s3Permissions,
  sqsPermission,
  UnmappedOperationError,
} from '../../src/local/cloud/iam/operation-actions';

const QUEUE = 'arn:aws:sqs:us-east-1:111122223333:images-ingest';
const STREAM = 'arn:aws:kinesis:us-east-1:111122223333:stream/uploads';

describe('S3 operations (Required permissions for Amazon S3 API operations)', () => {
  it('HeadObject and GetObject need s3:GetObject on the object; with a versionId, s3:GetObjectVersion', () => {
    expect(s3Permissions({ operation: 'HeadObject', bucket: 'src', key: 'uploads/a b.jpg' })).toEqual([
      { action: 's3:GetObject', resource: 'arn:aws:s3:::src/uploads/a b.jpg' },
    ]);
    expect(s3Permissions({ operation: 'GetObject', bucket: 'src', key: 'k', versionId: 'v1' })).toEqual([
      { action: 's3:GetObjectVersion', resource: 'arn:aws:s3:::src/k' },
    ]);
  });

  it(
    'ListObjectsV2 needs s3:ListBucket on the bucket, ' +
      'carrying s3:prefix, s3:delimiter and s3:max-keys only when set',
    () => {
      expect(
        s3Permissions({ operation: 'ListObjectsV2', bucket: 'out', prefix: 'a/', delimiter: '/', maxKeys: 10 }),
      ).toEqual([
        {
          action: 's3:ListBucket',
          resource: 'arn:aws:s3:::out',
          context: { 's3:prefix': 'a/', 's3:delimiter': '/', 's3:max-keys': '10' },
        },
      ]);
      expect(s3Permissions({ operation: 'ListObjects', bucket: 'out' })).toEqual([
        { action: 's3:ListBucket', resource: 'arn:aws:s3:::out', context: {} },
      ]);
      expect(s3Permissions({ operation: 'HeadBucket', bucket: 'out' })).toEqual([
        { action: 's3:ListBucket', resource: 'arn:aws:s3:::out' },
      ]);
    },
  );

  it('PutObject and the multipart steps need s3:PutObject on the object; Abort and ListParts their own actions', () => {
    for (const operation of [
      'PutObject',
      'PostObject',
      'CreateMultipartUpload',
      'UploadPart',
      'CompleteMultipartUpload',
    ]) {
      expect(s3Permissions({ operation, bucket: 'out', key: 'k' })).toEqual([
        { action: 's3:PutObject', resource: 'arn:aws:s3:::out/k' },
      ]);
    }
    expect(s3Permissions({ operation: 'AbortMultipartUpload', bucket: 'out', key: 'k' })[0].action).toBe(
      's3:AbortMultipartUpload',
    );
    expect(s3Permissions({ operation: 'ListParts', bucket: 'out', key: 'k' })[0].action).toBe(
      's3:ListMultipartUploadParts',
    );
    expect(s3Permissions({ operation: 'ListMultipartUploads', bucket: 'out' })).toEqual([
      { action: 's3:ListBucketMultipartUploads', resource: 'arn:aws:s3:::out' },
    ]);
  });

  it('CopyObject and UploadPartCopy read the source and write the target', () => {
    const copy = { bucket: 'out', key: 'b', copySource: { bucket: 'src', key: 'a' } };
    const expected = [
      { action: 's3:GetObject', resource: 'arn:aws:s3:::src/a' },
      { action: 's3:PutObject', resource: 'arn:aws:s3:::out/b' },
    ];
    expect(s3Permissions({ operation: 'CopyObject', ...copy })).toEqual(expected);
    expect(s3Permissions({ operation: 'UploadPartCopy', ...copy })).toEqual(expected);
    expect(
      s3Permissions({ operation: 'CopyObject', ...copy, copySource: { bucket: 'src', key: 'a', versionId: 'v' } })[0]
        .action,
    ).toBe('s3:GetObjectVersion');
  });

  it('DeleteObjects needs s3:DeleteObject on every key of its body', () => {
    expect(s3Permissions({ operation: 'DeleteObjects', bucket: 'out', keys: ['a', 'b/c'] })).toEqual([
      { action: 's3:DeleteObject', resource: 'arn:aws:s3:::out/a' },
      { action: 's3:DeleteObject', resource: 'arn:aws:s3:::out/b/c' },
    ]);
  });

  it('bucket sub-resources map to their own actions, some spelled differently from the operation', () => {
    const action = (operation: string): string => s3Permissions({ operation, bucket: 'b' })[0].action;
    expect(action('GetBucketLocation')).toBe('s3:GetBucketLocation');
    expect(action('PutBucketCors')).toBe('s3:PutBucketCORS');
    expect(action('DeleteBucketCors')).toBe('s3:PutBucketCORS');
    expect(action('PutBucketNotificationConfiguration')).toBe('s3:PutBucketNotification');
    expect(action('GetBucketEncryption')).toBe('s3:GetEncryptionConfiguration');
    expect(action('DeleteBucketLifecycle')).toBe('s3:PutLifecycleConfiguration');
    expect(action('GetPublicAccessBlock')).toBe('s3:GetBucketPublicAccessBlock');
    expect(s3Permissions({ operation: 'ListBuckets' })).toEqual([{ action: 's3:ListAllMyBuckets', resource: '*' }]);
  });

  it('refuses with UnmappedOperation an unknown operation or one missing what it acts on', () => {
    expect(() => s3Permissions({ operation: 'SelectObjectContent', bucket: 'b', key: 'k' })).toThrow(
      UnmappedOperationError,
    );
    expect(() => s3Permissions({ operation: 'GetObject', bucket: 'b' })).toThrow(/GetObject without a key/);
    expect(() => s3Permissions({ operation: 'CopyObject', bucket: 'b', key: 'k' })).toThrow(/without a copy source/);
    expect(() => s3Permissions({ operation: 'DeleteObjects', bucket: 'b' })).toThrow(/without the keys/);
  });

  it('a missing key is 404 NoSuchKey with s3:ListBucket and 403 AccessDenied without it', () => {
    expect(missingObjectAnswer(true)).toEqual({
      status: 404,
      code: 'NoSuchKey',
      message: 'The specified key does not exist.',
    });
    expect(missingObjectAnswer(false)).toEqual({ status: 403, code: 'AccessDenied', message: 'Access Denied' });
  });
});

describe('SQS, Kinesis and Lambda operations', () => {
  it(
    'SQS: the Query Action and the JSON target name the same sqs:<Action> on the queue; ' +
      'batches need the single action',
    () => {
      expect(sqsPermission('SendMessage', QUEUE)).toEqual({ action: 'sqs:SendMessage', resource: QUEUE });
      expect(sqsPermission('AmazonSQS.SendMessageBatch', QUEUE)).toEqual({
        action: 'sqs:SendMessage',
        resource: QUEUE,
      });
      expect(sqsPermission('DeleteMessageBatch', QUEUE).action).toBe('sqs:DeleteMessage');
      expect(sqsPermission('AmazonSQS.ChangeMessageVisibilityBatch', QUEUE).action).toBe('sqs:ChangeMessageVisibility');
      expect(() => sqsPermission('AmazonSQS.Teleport', QUEUE)).toThrow(UnmappedOperationError);
    },
  );

  it('Kinesis: kinesis:<Operation> on the stream, ListStreams on *', () => {
    expect(kinesisPermission('Kinesis_20131202.GetRecords', STREAM)).toEqual({
      action: 'kinesis:GetRecords',
      resource: STREAM,
    });
    expect(kinesisPermission('PutRecords', STREAM)).toEqual({ action: 'kinesis:PutRecords', resource: STREAM });
    expect(kinesisPermission('ListStreams', STREAM)).toEqual({ action: 'kinesis:ListStreams', resource: '*' });
    expect(() => kinesisPermission('Kinesis_20131202.Teleport', STREAM)).toThrow(UnmappedOperationError);
  });

  it('Lambda: Invoke needs lambda:InvokeFunction on the function ARN, qualified when a version or alias is named', () => {
    const fn = 'arn:aws:lambda:us-east-1:111122223333:function:resize';
    expect(lambdaInvokePermission('Invoke', fn)).toEqual({ action: 'lambda:InvokeFunction', resource: fn });
    expect(lambdaInvokePermission('Invoke', fn, 'live')).toEqual({
      action: 'lambda:InvokeFunction',
      resource: `${fn}:live`,
    });
    expect(lambdaInvokePermission('InvokeAsync', fn, '$LATEST')).toEqual({
      action: 'lambda:InvokeFunction',
      resource: fn,
    });
  });

  it(
    'an event source mapping reads with the role: ' +
      'receive/delete/attributes on a queue, the read actions on a stream',
    () => {
      expect(eventSourceMappingPermissions('sqs', QUEUE).map((p) => p.action)).toEqual([
        'sqs:ReceiveMessage',
        'sqs:DeleteMessage',
        'sqs:GetQueueAttributes',
      ]);
      expect(
        eventSourceMappingPermissions('kinesis', STREAM).every(
          (p) => p.resource === STREAM && p.action.startsWith('kinesis:'),
        ),
      ).toBe(true);
    },
  );

  it(
    'an S3 notification sends as s3.amazonaws.com with the ' +
      'bucket as aws:SourceArn and its owner as aws:SourceAccount',
    () => {
      expect(s3NotificationPermission('src', '111122223333', QUEUE)).toEqual({
        action: 'sqs:SendMessage',
        resource: QUEUE,
        context: { 'aws:SourceArn': 'arn:aws:s3:::src', 'aws:SourceAccount': '111122223333' },
      });
    },
  );
});
