/**
 * Bucket sub-resources the stand-in lacks, kept as S3 keeps them, in front of it: the bucket
 * policy, public access block, default encryption, ownership controls, tags, ACL, versioning and
 * request payment, plus the read-only answers for the ones a bucket has by default (logging,
 * accelerate, website, replication, object lock). What Terraform's aws provider reads after every
 * bucket write, and answers in S3's shapes: a configuration S3 gives every new bucket (since April
 * 2023: SSE-S3 encryption, Block Public Access on, BucketOwnerEnforced) until it is deleted, and
 * S3's own `NoSuch…`/`…NotFoundError` codes for what is unset. Configurations that would change
 * how objects behave and are not emulated (versioning on, website hosting, replication, logging,
 * acceleration, object lock) are refused with S3's NotImplemented rather than stored and ignored.
 *
 * Bodies are kept as sent (their XML checked for being well formed) and answered back verbatim, so
 * a read returns what was written. State is in memory; a bucket's configuration goes with the bucket.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { parseXmlBody, xmlDocument, type XmlElements } from '../xml';
import type { AwsRequestInfo } from '../gateway/aws-request';
import type { S3ErrorShape } from './post-policy';
import { sendS3Error } from './post-upload';
import { bucketExistsUpstream } from './s3-cors';
import { readBody } from '../http-io';
import type { BucketNotifications } from './bucket-notifications';
import { listObjectVersions } from './object-versions';

const XMLNS = 'http://s3.amazonaws.com/doc/2006-03-01/';

/** The owner every bucket answers with (the local account's canonical user id). */
const OWNER_ID = '75aa57f09aa0c8caeab4f8c24e99d10f8e7faeebf76c078efc7c6caea54ba06a';

/** A configuration S3 sets on every new bucket, and what deleting it leaves. */
interface SubResource {
  /** S3's answer to a read when nothing is set: a default document, or its not-found error. */
  readonly unset: string | S3ErrorShape;
  /** What a DELETE leaves: the default again (encryption) or nothing (policy, tags). @default 'unset' */
  readonly afterDelete?: 'default' | 'unset';
  /** What a fresh bucket has: @default the `unset` answer */
  readonly initial?: string;
  /** PUT status. @default 200 */
  readonly putStatus?: number;
  /** PUT/DELETE are refused with NotImplemented (reads answer the unset state). */
  readonly readOnly?: boolean;
  /** The body is JSON (the bucket policy), not XML. */
  readonly json?: boolean;
  /** Refuses a document that would switch on behaviour the local S3 does not emulate. */
  readonly refuse?: (body: string) => string | undefined;
  /**
   * A request header the PUT sets and S3 answers back on the PUT and on every read of a set
   * document, with S3's value when the PUT had none. @default none
   */
  readonly echoedHeader?: { readonly name: string; readonly default: string };
}

const notFound = (code: string, message: string): S3ErrorShape => ({ code, status: 404, message });
const xml = (root: string, elements: XmlElements = {}): string =>
  xmlDocument({ [root]: { '@_xmlns': XMLNS, ...elements } });

const NOT_IMPLEMENTED: S3ErrorShape = {
  code: 'NotImplemented',
  status: 501,
  message: 'A header you provided implies functionality that is not implemented',
};
const MALFORMED_XML: S3ErrorShape = {
  code: 'MalformedXML',
  status: 400,
  message: 'The XML you provided was not well-formed or did not validate against our published schema',
};
const METHOD_NOT_ALLOWED: S3ErrorShape = {
  code: 'MethodNotAllowed',
  status: 405,
  message: 'The specified method is not allowed against this resource.',
};
const ENTITY_TOO_LARGE: S3ErrorShape = {
  code: 'EntityTooLarge',
  status: 400,
  message: 'Your proposed upload exceeds the maximum allowed size',
};
const MALFORMED_POLICY: S3ErrorShape = {
  code: 'MalformedPolicy',
  status: 400,
  message: "Policies must be valid JSON and the first byte must be '{'",
};

/** The sub-resources this file answers, by their query parameter. */
const SUB_RESOURCES: Readonly<Record<string, SubResource>> = {
  policy: { unset: notFound('NoSuchBucketPolicy', 'The bucket policy does not exist'), json: true, putStatus: 204 },
  publicAccessBlock: {
    unset: notFound('NoSuchPublicAccessBlockConfiguration', 'The public access block configuration was not found'),
    initial: xml('PublicAccessBlockConfiguration', {
      BlockPublicAcls: 'true',
      IgnorePublicAcls: 'true',
      BlockPublicPolicy: 'true',
      RestrictPublicBuckets: 'true',
    }),
  },
  encryption: {
    unset: xml('ServerSideEncryptionConfiguration', {
      Rule: { ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' }, BucketKeyEnabled: 'false' },
    }),
    afterDelete: 'default',
  },
  ownershipControls: {
    unset: notFound('OwnershipControlsNotFoundError', 'The bucket ownership controls were not found'),
    initial: xml('OwnershipControls', { Rule: { ObjectOwnership: 'BucketOwnerEnforced' } }),
  },
  tagging: { unset: notFound('NoSuchTagSet', 'The TagSet does not exist'), putStatus: 204 },
  // Kept and read back, not acted on: objects do not expire locally. The provider waits until a read
  // answers the transition size it put.
  lifecycle: {
    unset: notFound('NoSuchLifecycleConfiguration', 'The lifecycle configuration does not exist'),
    putStatus: 200,
    echoedHeader: { name: 'x-amz-transition-default-minimum-object-size', default: 'all_storage_classes_128K' },
  },
  acl: {
    unset: xml('AccessControlPolicy', {
      Owner: { ID: OWNER_ID },
      AccessControlList: {
        Grant: {
          Grantee: {
            '@_xmlns:xsi': 'http://www.w3.org/2001/XMLSchema-instance',
            '@_xsi:type': 'CanonicalUser',
            ID: OWNER_ID,
          },
          Permission: 'FULL_CONTROL',
        },
      },
    }),
    afterDelete: 'default',
    // A canned ACL travels in x-amz-acl with no body; only the owner's full control is modelled.
    refuse: (body) =>
      body && !body.includes('FULL_CONTROL') ? "grants besides the owner's full control are not emulated" : undefined,
  },
  versioning: {
    unset: xml('VersioningConfiguration'),
    afterDelete: 'default',
    refuse: (body) => (/<Status>\s*Enabled\s*<\/Status>/.test(body) ? 'object versioning is not emulated' : undefined),
  },
  requestPayment: { unset: xml('RequestPaymentConfiguration', { Payer: 'BucketOwner' }), afterDelete: 'default' },
  logging: { unset: xml('BucketLoggingStatus'), readOnly: true },
  accelerate: { unset: xml('AccelerateConfiguration'), readOnly: true },
  website: {
    unset: notFound('NoSuchWebsiteConfiguration', 'The specified bucket does not have a website configuration'),
    readOnly: true,
  },
  replication: {
    unset: notFound('ReplicationConfigurationNotFoundError', 'The replication configuration was not found'),
    readOnly: true,
  },
  'object-lock': {
    unset: notFound('ObjectLockConfigurationNotFoundError', 'Object Lock configuration does not exist for this bucket'),
    readOnly: true,
  },
};

/**
 * Bucket sub-resources S3 has and nobody here serves: answered NotImplemented instead of reaching the stand-in (which
 * would take them for a listing or a CreateBucket).
 */
const UNSERVED_SUB_RESOURCES = new Set([
  'analytics',
  'intelligent-tiering',
  'inventory',
  'metrics',
  'policyStatus',
  'metadataTable',
  'metadataConfiguration',
  'metadataInventoryTable',
  'metadataJournalTable',
]);

/** A sub-resource configuration body larger than this is refused (S3's largest, a policy, is 20 KB). */
const MAX_BODY_BYTES = 1024 * 1024;

export interface BucketConfig {
  /**
   * Takes the request when it addresses a bucket sub-resource served here (answering it
   * asynchronously) and returns true; returns false for anything else. A DeleteBucket is left to
   * the stand-in, and the bucket's configuration is dropped once it succeeds.
   */
  route(req: IncomingMessage, res: ServerResponse, info: AwsRequestInfo): boolean;
  /** The bucket's policy document as last put, or undefined when it has none. */
  policyOf(bucket: string): string | undefined;
}

/** The notification configuration: validated and applied by bucket-notifications.ts. */
const NOTIFICATION = 'notification';
/** ListObjectVersions: the objects of an unversioned bucket as their one version (object-versions.ts). */
const VERSIONS = 'versions';

/** The sub-resource a bucket-level request names in its query, if it is one served here or known unserved. */
function subResourceOf(url: string): string | undefined {
  const query = url.split('?')[1];
  if (!query) return undefined;
  const keys = [...new URLSearchParams(query).keys()];
  return keys.find(
    (key) =>
      Object.hasOwn(SUB_RESOURCES, key) || UNSERVED_SUB_RESOURCES.has(key) || key === NOTIFICATION || key === VERSIONS,
  );
}

/**
 * Bucket sub-resources for the gateway. `upstream` is the stand-in, asked whether a bucket exists;
 * `notifications` serves `?notification` (without it, NotImplemented).
 */
export function createBucketConfig(opts: { upstream: string; notifications?: BucketNotifications }): BucketConfig {
  const upstream = new URL(opts.upstream);
  /** bucket -> sub-resource -> its document, or null once deleted (no default any more). */
  const byBucket = new Map<string, Map<string, string | null>>();

  function stored(bucket: string, name: string): string | null | undefined {
    return byBucket.get(bucket)?.get(name);
  }

  function store(bucket: string, name: string, value: string | null): void {
    const entries = byBucket.get(bucket) ?? new Map<string, string | null>();
    entries.set(name, value);
    byBucket.set(bucket, entries);
  }

  function sendDocument(
    res: ServerResponse,
    document: string,
    json: boolean,
    headers: Record<string, string> = {},
  ): void {
    res.writeHead(200, {
      ...headers,
      'content-type': json ? 'application/json' : 'application/xml',
      'content-length': Buffer.byteLength(document),
    });
    res.end(document);
  }

  function sendEmpty(res: ServerResponse, status: number, headers: Record<string, string> = {}): void {
    res.writeHead(status, { ...headers, 'content-length': 0 });
    res.end();
  }

  /** The echoed header of a sub-resource as its last PUT set it (see SubResource.echoedHeader). */
  function echoed(bucket: string, name: string, sub: SubResource): Record<string, string> {
    if (!sub.echoedHeader) return {};
    return { [sub.echoedHeader.name]: stored(bucket, `${name}#${sub.echoedHeader.name}`) ?? sub.echoedHeader.default };
  }

  async function answer(req: IncomingMessage, res: ServerResponse, bucket: string, name: string): Promise<void> {
    const method = req.method ?? 'GET';
    const body = method === 'PUT' ? await readBody(req, MAX_BODY_BYTES) : (req.resume(), Buffer.alloc(0));
    const sub = SUB_RESOURCES[name];
    const notifications = name === NOTIFICATION ? opts.notifications : undefined;
    const versions = name === VERSIONS && method === 'GET';
    if (!sub && !notifications && !versions) return sendS3Error(res, NOT_IMPLEMENTED);
    if (!(await bucketExistsUpstream(upstream, bucket))) {
      return sendS3Error(res, {
        code: 'NoSuchBucket',
        status: 404,
        message: 'The specified bucket does not exist',
        details: { BucketName: bucket },
      });
    }
    if (notifications) return answerNotification(req, res, bucket, notifications, body);
    if (versions)
      return sendDocument(
        res,
        await listObjectVersions(upstream, bucket, new URLSearchParams((req.url ?? '').split('?')[1] ?? '')),
        false,
      );
    if (!sub) return sendS3Error(res, NOT_IMPLEMENTED);
    if (method === 'GET') {
      const value = stored(bucket, name);
      const current = value === undefined ? (sub.initial ?? sub.unset) : value === null ? sub.unset : value;
      return typeof current === 'string'
        ? sendDocument(res, current, sub.json ?? false, echoed(bucket, name, sub))
        : sendS3Error(res, current);
    }
    if (sub.readOnly) return sendS3Error(res, NOT_IMPLEMENTED);
    if (method === 'DELETE') {
      store(bucket, name, sub.afterDelete === 'default' ? (typeof sub.unset === 'string' ? sub.unset : null) : null);
      return sendEmpty(res, 204);
    }
    if (method !== 'PUT') return sendS3Error(res, METHOD_NOT_ALLOWED);
    if (body === undefined) return sendS3Error(res, ENTITY_TOO_LARGE);
    const text = body.toString('utf8');
    if (sub.json) {
      try {
        if (!text.trimStart().startsWith('{')) throw new Error('not an object');
        JSON.parse(text);
      } catch {
        return sendS3Error(res, MALFORMED_POLICY);
      }
    } else if (text !== '' && parseXmlBody(text) === undefined) {
      return sendS3Error(res, MALFORMED_XML);
    }
    const refusal = sub.refuse?.(text);
    if (refusal)
      return sendS3Error(res, { ...NOT_IMPLEMENTED, message: `${NOT_IMPLEMENTED.message} (locally: ${refusal})` });
    // A canned ACL (x-amz-acl, no body) leaves the owner's full control, which is what is answered.
    if (text !== '') store(bucket, name, text);
    if (sub.echoedHeader) {
      const sent = req.headers[sub.echoedHeader.name];
      store(bucket, `${name}#${sub.echoedHeader.name}`, typeof sent === 'string' ? sent : sub.echoedHeader.default);
    }
    return sendEmpty(res, sub.putStatus ?? 200, echoed(bucket, name, sub));
  }

  /** `?notification`: GET answers what is applied, PUT validates and applies (bucket-notifications.ts). */
  async function answerNotification(
    req: IncomingMessage,
    res: ServerResponse,
    bucket: string,
    notifications: BucketNotifications,
    body: Buffer | undefined,
  ): Promise<void> {
    if (req.method === 'GET') return sendDocument(res, notifications.document(bucket), false);
    if (req.method !== 'PUT') return sendS3Error(res, METHOD_NOT_ALLOWED);
    if (body === undefined) return sendS3Error(res, ENTITY_TOO_LARGE);
    const refusal = await notifications.put(bucket, body.toString('utf8'));
    return refusal ? sendS3Error(res, refusal) : sendEmpty(res, 200);
  }

  return {
    policyOf: (bucket) => stored(bucket, 'policy') ?? undefined,
    route(req, res, info) {
      if (info.service !== 's3' || !info.bucket || info.key) return false;
      const bucket = info.bucket;
      const name = subResourceOf(req.url ?? '/');
      if (!name) {
        if (info.operation === 'DeleteBucket') {
          res.once('finish', () => {
            if (res.statusCode < 200 || res.statusCode >= 300) return;
            byBucket.delete(bucket);
            opts.notifications?.drop(bucket);
          });
        }
        return false;
      }
      answer(req, res, bucket, name).catch((err: unknown) => {
        if (!res.headersSent)
          sendS3Error(res, {
            code: 'InternalError',
            status: 500,
            message: `We encountered an internal error. Please try again. (${(err as Error).message})`,
          });
        else res.destroy();
      });
      return true;
    },
  };
}
