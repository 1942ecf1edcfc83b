/**
 * Which IAM permissions each data-plane operation of S3, SQS, Kinesis and Lambda needs, as AWS maps
 * them ("Actions, resources, and condition keys for Amazon S3 / Amazon SQS / Amazon Kinesis /
 * AWS Lambda"; "Required permissions for Amazon S3 API operations"): the action, the resource ARN it
 * is authorized on, and the condition keys the request carries. One operation may need several
 * permissions (CopyObject reads its source and writes its target). An operation not in these tables
 * is refused with a code rather than authorized by a guess.
 */
import type { ConditionContext } from './policy-conditions';

/** One permission a request needs: an action on a resource, with the request's condition keys. */
export interface RequiredPermission {
  readonly action: string;
  readonly resource: string;
  /** Service-specific condition keys of the request (s3:prefix…). @default {} */
  readonly context?: ConditionContext;
}

/** An operation no table here maps: enforcement must say so rather than allow or deny by chance. */
export class UnmappedOperationError extends Error {
  override readonly name = 'UnmappedOperationError';
  readonly code = 'UnmappedOperation';
  constructor(
    readonly service: string,
    readonly operation: string,
  ) {
    super(`${service} operation ${operation} has no IAM action mapping in the local cloud`);
  }
}

/** `arn:aws:s3:::bucket` */
export const s3BucketArn = (bucket: string): string => `arn:aws:s3:::${bucket}`;
/** `arn:aws:s3:::bucket/key` (the key as stored: not URL-encoded). */
export const s3ObjectArn = (bucket: string, key: string): string => `arn:aws:s3:::${bucket}/${key}`;

/** An S3 request, named by its API operation (as the SDKs name it). */
export interface S3Request {
  readonly operation: string;
  readonly bucket?: string;
  readonly key?: string;
  /** A request on one version (`versionId` query parameter) needs the …Version action. */
  readonly versionId?: string;
  /** ListObjects(V2) and ListObjectVersions parameters, which become s3:prefix, s3:delimiter and s3:max-keys. */
  readonly prefix?: string;
  readonly delimiter?: string;
  readonly maxKeys?: number;
  /** CopyObject and UploadPartCopy: the `x-amz-copy-source` object. */
  readonly copySource?: { readonly bucket: string; readonly key: string; readonly versionId?: string };
  /** DeleteObjects: the keys of its body. */
  readonly keys?: readonly string[];
}

/** Object operations: operation → action (the version action when a versionId is given). */
const S3_OBJECT_ACTIONS: Readonly<Record<string, readonly [string, string?]>> = {
  GetObject: ['s3:GetObject', 's3:GetObjectVersion'],
  HeadObject: ['s3:GetObject', 's3:GetObjectVersion'],
  GetObjectAttributes: ['s3:GetObjectAttributes', 's3:GetObjectVersionAttributes'],
  PutObject: ['s3:PutObject'],
  PostObject: ['s3:PutObject'],
  DeleteObject: ['s3:DeleteObject', 's3:DeleteObjectVersion'],
  CreateMultipartUpload: ['s3:PutObject'],
  UploadPart: ['s3:PutObject'],
  CompleteMultipartUpload: ['s3:PutObject'],
  AbortMultipartUpload: ['s3:AbortMultipartUpload'],
  ListParts: ['s3:ListMultipartUploadParts'],
  GetObjectTagging: ['s3:GetObjectTagging', 's3:GetObjectVersionTagging'],
  PutObjectTagging: ['s3:PutObjectTagging', 's3:PutObjectVersionTagging'],
  DeleteObjectTagging: ['s3:DeleteObjectTagging', 's3:DeleteObjectVersionTagging'],
  GetObjectAcl: ['s3:GetObjectAcl', 's3:GetObjectVersionAcl'],
  PutObjectAcl: ['s3:PutObjectAcl', 's3:PutObjectVersionAcl'],
};

/** Bucket operations: operation → action on the bucket ARN. */
const S3_BUCKET_ACTIONS: Readonly<Record<string, string>> = {
  ListObjects: 's3:ListBucket',
  ListObjectsV2: 's3:ListBucket',
  HeadBucket: 's3:ListBucket',
  ListObjectVersions: 's3:ListBucketVersions',
  ListMultipartUploads: 's3:ListBucketMultipartUploads',
  GetBucketLocation: 's3:GetBucketLocation',
  CreateBucket: 's3:CreateBucket',
  DeleteBucket: 's3:DeleteBucket',
  GetBucketPolicy: 's3:GetBucketPolicy',
  PutBucketPolicy: 's3:PutBucketPolicy',
  DeleteBucketPolicy: 's3:DeleteBucketPolicy',
  GetBucketCors: 's3:GetBucketCORS',
  PutBucketCors: 's3:PutBucketCORS',
  DeleteBucketCors: 's3:PutBucketCORS',
  GetBucketNotificationConfiguration: 's3:GetBucketNotification',
  PutBucketNotificationConfiguration: 's3:PutBucketNotification',
  GetBucketEncryption: 's3:GetEncryptionConfiguration',
  PutBucketEncryption: 's3:PutEncryptionConfiguration',
  DeleteBucketEncryption: 's3:PutEncryptionConfiguration',
  GetBucketLifecycleConfiguration: 's3:GetLifecycleConfiguration',
  PutBucketLifecycleConfiguration: 's3:PutLifecycleConfiguration',
  DeleteBucketLifecycle: 's3:PutLifecycleConfiguration',
  GetPublicAccessBlock: 's3:GetBucketPublicAccessBlock',
  PutPublicAccessBlock: 's3:PutBucketPublicAccessBlock',
  DeletePublicAccessBlock: 's3:PutBucketPublicAccessBlock',
  GetBucketOwnershipControls: 's3:GetBucketOwnershipControls',
  PutBucketOwnershipControls: 's3:PutBucketOwnershipControls',
  DeleteBucketOwnershipControls: 's3:PutBucketOwnershipControls',
  GetBucketVersioning: 's3:GetBucketVersioning',
  PutBucketVersioning: 's3:PutBucketVersioning',
  GetBucketTagging: 's3:GetBucketTagging',
  PutBucketTagging: 's3:PutBucketTagging',
  DeleteBucketTagging: 's3:PutBucketTagging',
  GetBucketAcl: 's3:GetBucketAcl',
  PutBucketAcl: 's3:PutBucketAcl',
};

function required<T>(value: T | undefined, service: string, operation: string, what: string): T {
  if (value === undefined) throw new UnmappedOperationError(service, `${operation} without ${what}`);
  return value;
}

/** The condition keys a list request carries (only those it sets: an absent key is absent in IAM too). */
function listContext(request: S3Request): ConditionContext {
  return {
    ...(request.prefix !== undefined ? { 's3:prefix': request.prefix } : {}),
    ...(request.delimiter !== undefined ? { 's3:delimiter': request.delimiter } : {}),
    ...(request.maxKeys !== undefined ? { 's3:max-keys': String(request.maxKeys) } : {}),
  };
}

/** The source read of CopyObject / UploadPartCopy. */
function copySourceRead(request: S3Request): RequiredPermission {
  const source = required(request.copySource, 's3', request.operation, 'a copy source');
  return {
    action: source.versionId !== undefined ? 's3:GetObjectVersion' : 's3:GetObject',
    resource: s3ObjectArn(source.bucket, source.key),
  };
}

/**
 * The permissions an S3 request needs. HeadObject is authorized as s3:GetObject, ListObjectsV2 as
 * s3:ListBucket on the bucket with s3:prefix, CopyObject as GetObject on the source plus PutObject
 * on the target, DeleteObjects as s3:DeleteObject on every key of its body, the multipart steps as
 * PutObject except AbortMultipartUpload and ListParts. ListBuckets needs s3:ListAllMyBuckets on `*`.
 */
export function s3Permissions(request: S3Request): RequiredPermission[] {
  const { operation } = request;
  if (operation === 'ListBuckets') return [{ action: 's3:ListAllMyBuckets', resource: '*' }];
  const bucket = required(request.bucket, 's3', operation, 'a bucket');
  const bucketAction = S3_BUCKET_ACTIONS[operation];
  if (bucketAction) {
    const listing = operation === 'ListObjects' || operation === 'ListObjectsV2' || operation === 'ListObjectVersions';
    return [
      { action: bucketAction, resource: s3BucketArn(bucket), ...(listing ? { context: listContext(request) } : {}) },
    ];
  }
  if (operation === 'DeleteObjects') {
    return required(request.keys, 's3', operation, 'the keys of its body').map((key) => ({
      action: 's3:DeleteObject',
      resource: s3ObjectArn(bucket, key),
    }));
  }
  const key = required(request.key, 's3', operation, 'a key');
  if (operation === 'CopyObject' || operation === 'UploadPartCopy')
    return [copySourceRead(request), { action: 's3:PutObject', resource: s3ObjectArn(bucket, key) }];
  const objectActions = S3_OBJECT_ACTIONS[operation];
  if (!objectActions) throw new UnmappedOperationError('s3', operation);
  const [action, versionAction] = objectActions;
  return [
    {
      action: request.versionId !== undefined && versionAction ? versionAction : action,
      resource: s3ObjectArn(bucket, key),
    },
  ];
}

/** What S3 answers for a key that does not exist (GetObject, HeadObject: HEAD carries no body). */
export interface MissingObjectAnswer {
  readonly status: 403 | 404;
  readonly code: 'AccessDenied' | 'NoSuchKey';
  readonly message: string;
}

/**
 * S3 hides whether a key exists from a caller who may not list the bucket: a missing key is
 * 404 NoSuchKey when the caller has s3:ListBucket on the bucket, 403 AccessDenied when not.
 * (`listBucketAllowed` is the policy decision for s3:ListBucket on the bucket's ARN.)
 */
export function missingObjectAnswer(listBucketAllowed: boolean): MissingObjectAnswer {
  return listBucketAllowed
    ? { status: 404, code: 'NoSuchKey', message: 'The specified key does not exist.' }
    : { status: 403, code: 'AccessDenied', message: 'Access Denied' };
}

/** The SQS actions, by API name (the same name in the Query `Action` and the JSON `X-Amz-Target`). */
const SQS_ACTIONS: Readonly<Record<string, string>> = {
  SendMessage: 'sqs:SendMessage',
  SendMessageBatch: 'sqs:SendMessage',
  ReceiveMessage: 'sqs:ReceiveMessage',
  DeleteMessage: 'sqs:DeleteMessage',
  DeleteMessageBatch: 'sqs:DeleteMessage',
  ChangeMessageVisibility: 'sqs:ChangeMessageVisibility',
  ChangeMessageVisibilityBatch: 'sqs:ChangeMessageVisibility',
  GetQueueAttributes: 'sqs:GetQueueAttributes',
  SetQueueAttributes: 'sqs:SetQueueAttributes',
  GetQueueUrl: 'sqs:GetQueueUrl',
  CreateQueue: 'sqs:CreateQueue',
  DeleteQueue: 'sqs:DeleteQueue',
  PurgeQueue: 'sqs:PurgeQueue',
  ListQueues: 'sqs:ListQueues',
  ListDeadLetterSourceQueues: 'sqs:ListDeadLetterSourceQueues',
  TagQueue: 'sqs:TagQueue',
  UntagQueue: 'sqs:UntagQueue',
  ListQueueTags: 'sqs:ListQueueTags',
  AddPermission: 'sqs:AddPermission',
  RemovePermission: 'sqs:RemovePermission',
  StartMessageMoveTask: 'sqs:StartMessageMoveTask',
  CancelMessageMoveTask: 'sqs:CancelMessageMoveTask',
  ListMessageMoveTasks: 'sqs:ListMessageMoveTasks',
};

/** An SQS request's operation name from either protocol: `SendMessage` or `AmazonSQS.SendMessage`. */
export function sqsOperationName(queryActionOrTarget: string): string {
  return queryActionOrTarget.startsWith('AmazonSQS.')
    ? queryActionOrTarget.slice('AmazonSQS.'.length)
    : queryActionOrTarget;
}

/**
 * The permission an SQS request needs: `sqs:<Action>` on the queue's ARN (batch calls need the
 * single-message action). ListQueues is authorized on the account's queue ARN pattern
 * `arn:aws:sqs:<region>:<account>:*`, which the caller passes as `queueArn`.
 */
export function sqsPermission(operation: string, queueArn: string): RequiredPermission {
  const action = SQS_ACTIONS[sqsOperationName(operation)];
  if (!action) throw new UnmappedOperationError('sqs', operation);
  return { action, resource: queueArn };
}

/** The Kinesis data-plane and read operations the chain and its users call, all `kinesis:<Operation>`. */
const KINESIS_STREAM_OPERATIONS = new Set([
  'PutRecord',
  'PutRecords',
  'GetRecords',
  'GetShardIterator',
  'DescribeStream',
  'DescribeStreamSummary',
  'ListShards',
  'SubscribeToShard',
  'CreateStream',
  'DeleteStream',
  'AddTagsToStream',
  'RemoveTagsFromStream',
  'ListTagsForStream',
  'IncreaseStreamRetentionPeriod',
  'DecreaseStreamRetentionPeriod',
  'StartStreamEncryption',
  'StopStreamEncryption',
  'UpdateShardCount',
  'MergeShards',
  'SplitShard',
]);

/**
 * The permission a Kinesis request (`Kinesis_20131202.<Operation>` target or bare name) needs:
 * `kinesis:<Operation>` on the stream's ARN; ListStreams on `*` (it concerns no stream).
 */
export function kinesisPermission(operationOrTarget: string, streamArn: string): RequiredPermission {
  const operation = operationOrTarget.replace(/^Kinesis_20131202\./, '');
  if (operation === 'ListStreams') return { action: 'kinesis:ListStreams', resource: '*' };
  if (!KINESIS_STREAM_OPERATIONS.has(operation)) throw new UnmappedOperationError('kinesis', operationOrTarget);
  return { action: `kinesis:${operation}`, resource: streamArn };
}

/**
 * The permission a Lambda invocation needs: lambda:InvokeFunction on the function's ARN, with the
 * qualifier appended when one is given (a policy naming only the unqualified ARN then does not
 * match, as on AWS: grants for versions and aliases name `…:function:f:*`).
 */
export function lambdaInvokePermission(
  operation: 'Invoke' | 'InvokeAsync' | 'InvokeWithResponseStream',
  functionArn: string,
  qualifier?: string,
): RequiredPermission {
  // All three are authorized as InvokeFunction; the operation is taken to keep callers explicit.
  void operation;
  return {
    action: 'lambda:InvokeFunction',
    resource: qualifier !== undefined && qualifier !== '$LATEST' ? `${functionArn}:${qualifier}` : functionArn,
  };
}

/**
 * What an event source mapping does with the function's execution role: for SQS it receives,
 * deletes and reads attributes of the queue; for Kinesis it reads the stream (the actions Lambda's
 * execution role needs, "Lambda execution role permissions" for each source).
 */
export function eventSourceMappingPermissions(source: 'sqs' | 'kinesis', sourceArn: string): RequiredPermission[] {
  const actions =
    source === 'sqs'
      ? ['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes']
      : [
          'kinesis:GetRecords',
          'kinesis:GetShardIterator',
          'kinesis:DescribeStream',
          'kinesis:DescribeStreamSummary',
          'kinesis:ListShards',
        ];
  return actions.map((action) => ({ action, resource: sourceArn }));
}

/**
 * The request an S3 event notification makes to its destination queue: sqs:SendMessage by the
 * service principal s3.amazonaws.com, with the bucket as aws:SourceArn and its owner as
 * aws:SourceAccount (what the queue policy's conditions test).
 */
export function s3NotificationPermission(bucket: string, bucketOwner: string, queueArn: string): RequiredPermission {
  return {
    action: 'sqs:SendMessage',
    resource: queueArn,
    context: { 'aws:SourceArn': s3BucketArn(bucket), 'aws:SourceAccount': bucketOwner },
  };
}
