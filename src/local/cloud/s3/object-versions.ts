/**
 * ListObjectVersions (`GET /<bucket>?versions`) for the buckets the local S3 keeps, which are never
 * versioned (versioning is refused, bucket-config.ts): S3 then lists every object as its one version,
 * `VersionId` "null", latest, with no delete markers. The stand-in answers the call with an empty
 * list, which leaves clients that empty a bucket by its versions (Terraform's `force_destroy`)
 * retrying a DeleteBucket that keeps failing with BucketNotEmpty; here the objects are listed from
 * the stand-in's ListObjectsV2 and answered in S3's ListVersionsResult shape.
 */
import http from 'node:http';
import { parseXmlBody, xmlDocument, type XmlElements } from '../xml';

const XMLNS = 'http://s3.amazonaws.com/doc/2006-03-01/';

/** S3's page size, and its largest. */
const MAX_KEYS = 1000;

/** The query of a ListObjectVersions request that this answers. */
export interface ListVersionsQuery {
  readonly prefix: string;
  /** The last key of the previous page ('' for the first). */
  readonly keyMarker: string;
  readonly maxKeys: number;
}

/** Reads prefix, key-marker and max-keys (1-1000, default 1000) from a request's query string. */
export function listVersionsQuery(search: URLSearchParams): ListVersionsQuery {
  const asked = Number(search.get('max-keys') ?? MAX_KEYS);
  const maxKeys = Number.isInteger(asked) && asked >= 0 ? Math.min(asked, MAX_KEYS) : MAX_KEYS;
  return { prefix: search.get('prefix') ?? '', keyMarker: search.get('key-marker') ?? '', maxKeys };
}

/** One object as the stand-in's ListObjectsV2 lists it. */
interface ListedObject {
  Key: string;
  LastModified: string;
  ETag: string;
  Size: string;
  StorageClass?: string;
}

/** A page of the stand-in's ListObjectsV2 after `startAfter`. */
function listObjectsUpstream(
  upstream: URL,
  bucket: string,
  query: ListVersionsQuery,
): Promise<{ objects: ListedObject[]; truncated: boolean }> {
  const params = new URLSearchParams({ 'list-type': '2', 'max-keys': String(query.maxKeys) });
  if (query.prefix) params.set('prefix', query.prefix);
  if (query.keyMarker) params.set('start-after', query.keyMarker);
  const path = `/${encodeURIComponent(bucket)}?${params.toString()}`;
  return new Promise((resolve, reject) => {
    const req = http.request({ host: upstream.hostname, port: upstream.port, method: 'GET', path }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        const doc = parseXmlBody(body)?.ListBucketResult as Record<string, unknown> | undefined;
        if ((res.statusCode ?? 500) >= 300 || !doc) {
          reject(new Error(`stand-in ListObjectsV2 of ${bucket} answered ${res.statusCode}: ${body.slice(0, 300)}`));
          return;
        }
        const contents = doc.Contents === undefined ? [] : [doc.Contents].flat();
        resolve({ objects: contents as ListedObject[], truncated: doc.IsTruncated === 'true' });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

/** The ListVersionsResult document for a page of objects. */
export function listVersionsDocument(
  bucket: string,
  query: ListVersionsQuery,
  page: { objects: readonly ListedObject[]; truncated: boolean },
): string {
  const last = page.objects[page.objects.length - 1];
  const versions = page.objects.map((o): XmlElements => ({
    Key: o.Key,
    VersionId: 'null',
    IsLatest: 'true',
    LastModified: o.LastModified,
    ETag: o.ETag,
    Size: o.Size,
    StorageClass: o.StorageClass ?? 'STANDARD',
  }));
  return xmlDocument({
    ListVersionsResult: {
      '@_xmlns': XMLNS,
      Name: bucket,
      Prefix: query.prefix,
      KeyMarker: query.keyMarker,
      VersionIdMarker: '',
      MaxKeys: String(query.maxKeys),
      IsTruncated: page.truncated ? 'true' : 'false',
      ...(page.truncated && last ? { NextKeyMarker: last.Key, NextVersionIdMarker: 'null' } : {}),
      Version: versions,
    },
  });
}

/** ListObjectVersions of an unversioned bucket, from the stand-in's objects. */
export async function listObjectVersions(upstream: URL, bucket: string, search: URLSearchParams): Promise<string> {
  const query = listVersionsQuery(search);
  return listVersionsDocument(bucket, query, await listObjectsUpstream(upstream, bucket, query));
}
