/**
 * Names the AWS operation of a raw HTTP request, from what arrives before the body: SQS's JSON
 * protocol names it in X-Amz-Target; S3 is derived from method, path and query (path-style or
 * virtual-hosted). Only a form-encoded POST is read first (readAwsRequest): its body may be an SQS
 * request in the older Query protocol. Used by the gateway for counters, fault matching and
 * notifications.
 */
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import { readBody } from '../http-io';
import { parseSqsQuery, type SqsQueryRequest } from '../sqs/sqs-query';

export type AwsService = 's3' | 'sqs' | 'other';

export interface AwsRequestInfo {
  service: AwsService;
  /** e.g. 'PutObject', 'ReceiveMessage'; 'Unknown' when it cannot be told. */
  operation: string;
  /** S3 only. */
  bucket?: string;
  /** S3 only: the decoded object key ('' for bucket-level requests). */
  key?: string;
  /** S3 only: the bucket came from the Host name (`<bucket>.localhost`, `<bucket>.s3.<...>`). */
  virtualHosted?: boolean;
}

/**
 * The bucket of a virtual-hosted-style Host (`<bucket>.localhost[:port]`, `<bucket>.s3.<region>...`),
 * or undefined for path-style hosts: IP addresses, `localhost`, and any other name (a container
 * reaching the host as `host.docker.internal` must not be read as bucket `host`).
 */
export function virtualHostBucket(host: string): string | undefined {
  const hostname = (host.split(':')[0] ?? '').toLowerCase();
  if (/^\d+\.\d+\.\d+\.\d+$/.test(hostname)) return undefined;
  const local = /^(.+)\.localhost$/.exec(hostname);
  if (local) return local[1];
  const aws = /^(.+)\.s3[.-]/.exec(hostname);
  return aws ? aws[1] : undefined;
}

function header(headers: IncomingHttpHeaders, name: string): string {
  const value = headers[name];
  return Array.isArray(value) ? (value[0] ?? '') : (value ?? '');
}

function decodeKey(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}

/** S3 sub-resources a form-encoded POST may address (CreateMultipartUpload, CompleteMultipartUpload, DeleteObjects). */
const S3_POST_SUBRESOURCES = ['uploads', 'uploadId', 'delete'];

/**
 * A form-encoded request is a Query-protocol call (SQS's older protocol, STS) only when it is a
 * POST to no S3 sub-resource: a PUT, GET or HEAD with that Content-Type is an S3 object request
 * whose object happens to have that media type.
 */
function isQueryProtocolPost(method: string, query: URLSearchParams): boolean {
  return method === 'POST' && !S3_POST_SUBRESOURCES.some((name) => query.has(name));
}

/** Classifies a request. Never throws. */
export function classifyRequest(method: string, url: string, headers: IncomingHttpHeaders): AwsRequestInfo {
  const target = header(headers, 'x-amz-target');
  const contentType = header(headers, 'content-type');
  if (target.startsWith('AmazonSQS.')) return { service: 'sqs', operation: target.slice('AmazonSQS.'.length) };
  const queryStart = url.indexOf('?');
  const rawPath = queryStart >= 0 ? url.slice(0, queryStart) : url;
  const query = new URLSearchParams(queryStart >= 0 ? url.slice(queryStart + 1) : '');
  if (
    contentType.includes('x-amz-json') ||
    (contentType.includes('x-www-form-urlencoded') && isQueryProtocolPost(method, query))
  ) {
    return { service: 'other', operation: target || 'Unknown' };
  }

  const hostBucket = virtualHostBucket(header(headers, 'host'));
  let bucket: string;
  let rawKey: string;
  if (hostBucket) {
    bucket = hostBucket;
    rawKey = rawPath.replace(/^\//, '');
  } else {
    const trimmed = rawPath.replace(/^\//, '');
    const slash = trimmed.indexOf('/');
    bucket = slash >= 0 ? trimmed.slice(0, slash) : trimmed;
    rawKey = slash >= 0 ? trimmed.slice(slash + 1) : '';
  }
  if (!bucket) {
    return { service: 's3', operation: method === 'GET' ? 'ListBuckets' : 'Unknown' };
  }
  const virtualHosted = hostBucket !== undefined;
  bucket = decodeKey(bucket);
  const key = decodeKey(rawKey);
  const has = (name: string): boolean => query.has(name);
  const info = (operation: string): AwsRequestInfo =>
    virtualHosted
      ? { service: 's3', operation, bucket, key, virtualHosted }
      : { service: 's3', operation, bucket, key };
  // A browser's CORS preflight, on a bucket or an object (S3 answers it from the bucket's CORS configuration).
  if (method === 'OPTIONS') return info('PreflightRequest');

  if (!key) {
    switch (method) {
      case 'PUT':
        if (has('lifecycle')) return info('PutBucketLifecycleConfiguration');
        if (has('notification')) return info('PutBucketNotificationConfiguration');
        if (has('policy')) return info('PutBucketPolicy');
        if (has('cors')) return info('PutBucketCors');
        return info('CreateBucket');
      case 'HEAD':
        return info('HeadBucket');
      case 'GET':
        if (has('lifecycle')) return info('GetBucketLifecycleConfiguration');
        if (has('notification')) return info('GetBucketNotificationConfiguration');
        if (has('uploads')) return info('ListMultipartUploads');
        if (has('versions')) return info('ListObjectVersions');
        if (has('location')) return info('GetBucketLocation');
        if (has('cors')) return info('GetBucketCors');
        return info(query.get('list-type') === '2' ? 'ListObjectsV2' : 'ListObjects');
      case 'DELETE':
        if (has('cors')) return info('DeleteBucketCors');
        return info(has('lifecycle') ? 'DeleteBucketLifecycle' : 'DeleteBucket');
      case 'POST':
        if (has('delete')) return info('DeleteObjects');
        if (contentType.toLowerCase().startsWith('multipart/form-data')) return info('PostObject');
        return info('Unknown');
      default:
        return info('Unknown');
    }
  }

  const copySource = header(headers, 'x-amz-copy-source');
  switch (method) {
    case 'PUT':
      if (has('uploadId') && has('partNumber')) return info(copySource ? 'UploadPartCopy' : 'UploadPart');
      if (has('tagging')) return info('PutObjectTagging');
      if (has('acl')) return info('PutObjectAcl');
      if (has('renameObject')) return info('RenameObject');
      return info(copySource ? 'CopyObject' : 'PutObject');
    case 'GET':
      if (has('attributes')) return info('GetObjectAttributes');
      if (has('uploadId')) return info('ListParts');
      if (has('tagging')) return info('GetObjectTagging');
      return info('GetObject');
    case 'HEAD':
      return info('HeadObject');
    case 'DELETE':
      return info(has('uploadId') ? 'AbortMultipartUpload' : 'DeleteObject');
    case 'POST':
      if (has('uploads')) return info('CreateMultipartUpload');
      if (has('uploadId')) return info('CompleteMultipartUpload');
      if (has('delete')) return info('DeleteObjects');
      return info('Unknown');
    default:
      return info('Unknown');
  }
}

/** Form-encoded bodies larger than this are not SQS Query requests (SQS caps a request at 1 MiB). */
export const MAX_QUERY_BODY_BYTES = 2 * 1024 * 1024;

/** True for a form-encoded POST: an SQS Query request, or an S3 POST whose body has that media type. */
export function isFormPost(req: { method?: string; headers: IncomingHttpHeaders }): boolean {
  return (
    req.method === 'POST' &&
    header(req.headers, 'content-type').toLowerCase().includes('application/x-www-form-urlencoded')
  );
}

/** A request named: its operation, and for a form-encoded POST the body already read and the Query request it holds. */
export interface AwsRequest {
  info: AwsRequestInfo;
  /** The body, when it had to be read to name the operation (a form-encoded POST). */
  body?: Buffer;
  /** The SQS Query request the body holds, if it is one (then `info` names its action). */
  query?: SqsQueryRequest;
}

/**
 * Names `req`'s operation (classifyRequest), reading the body of a form-encoded POST first: an
 * SQS Query body names its action. Undefined when such a body passes MAX_QUERY_BODY_BYTES.
 */
export async function readAwsRequest(req: IncomingMessage): Promise<AwsRequest | undefined> {
  const info = classifyRequest(req.method ?? 'GET', req.url ?? '/', req.headers);
  if (!isFormPost(req)) return { info };
  const body = await readBody(req, MAX_QUERY_BODY_BYTES);
  if (body === undefined) return undefined;
  const query = parseSqsQuery(body.toString('utf8'));
  return query ? { info: { service: 'sqs', operation: query.action }, body, query } : { info, body };
}
