/**
 * What one S3 request costs the local cloud: CPU ms of the SDK client, the gateway (TLS, SigV4, IAM, the proxy) and
 * the S3 stand-in together, for the requests the chain makes per image (HEADs of outputs, a variant's PUT, the
 * source's PUT and GET). Beside the chain's requests per image (ChainResult.requestsByOperation) it says where the
 * CPU outside the core goes; on AWS the S3 side of it is not the function's.
 */
import { GetObjectCommand, HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import type { LocalChain } from '../src/local/chain';

/** CPU ms of one request of each kind, client, gateway and stand-in together. */
export interface RequestCosts {
  /** Requests timed per kind (after a few untimed), four at a time. */
  readonly requests: Readonly<Record<RequestKind, number>>;
  readonly cpuMsPerRequest: Readonly<Record<RequestKind, number>>;
  /** Size of the variant-sized PUT, and of the source (the chain's image), bytes. */
  readonly variantBytes: number;
  readonly sourceBytes: number;
}

export const REQUEST_KINDS = ['headFound', 'headMissing', 'putVariant', 'putSource', 'getSource'] as const;
export type RequestKind = (typeof REQUEST_KINDS)[number];

/** Reads the CPU ms spent so far by the processes that serve a request (this driver and the stand-in). */
export type CpuClock = () => number;

const VARIANT_BYTES = 100_000;
const WARM_UP = 8;
const AT_ONCE = 4;

/**
 * Times each kind of request against `chain`'s output bucket under `prefix`, sent by the driver's own client (so the
 * client's CPU is counted with the gateway's; in the chain it is the functions'). `cpu` must count the driver and the
 * stand-in.
 */
export async function measureRequestCosts(
  chain: LocalChain,
  image: Buffer,
  prefix: string,
  cpu: CpuClock,
): Promise<RequestCosts> {
  const Bucket = chain.resources.buckets.output;
  const variant = Buffer.alloc(VARIANT_BYTES, 7);
  const sourceKey = `${prefix}source.jpg`;
  await chain.s3.send(new PutObjectCommand({ Bucket, Key: `${prefix}variant.webp`, Body: variant }));
  await chain.s3.send(new PutObjectCommand({ Bucket, Key: sourceKey, Body: image, ContentType: 'image/jpeg' }));
  const send: Record<RequestKind, () => Promise<unknown>> = {
    headFound: () => chain.s3.send(new HeadObjectCommand({ Bucket, Key: `${prefix}variant.webp` })),
    headMissing: async () => {
      const status = await chain.s3.send(new HeadObjectCommand({ Bucket, Key: `${prefix}missing` })).then(
        () => 200,
        (err: unknown) => (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode,
      );
      if (status !== 404) throw new Error(`request cost: a HEAD of a missing key answered ${status}`);
    },
    putVariant: () =>
      chain.s3.send(
        new PutObjectCommand({ Bucket, Key: `${prefix}put.webp`, Body: variant, ContentType: 'image/webp' }),
      ),
    putSource: () =>
      chain.s3.send(new PutObjectCommand({ Bucket, Key: `${prefix}put.jpg`, Body: image, ContentType: 'image/jpeg' })),
    getSource: async () => {
      const answer = await chain.s3.send(new GetObjectCommand({ Bucket, Key: sourceKey }));
      const bytes = await answer.Body?.transformToByteArray();
      if (bytes?.length !== image.length) throw new Error(`request cost: GET read ${bytes?.length} bytes`);
    },
  };
  const requests = {} as Record<RequestKind, number>;
  const cpuMsPerRequest = {} as Record<RequestKind, number>;
  for (const kind of REQUEST_KINDS) {
    const count = kind === 'putSource' || kind === 'getSource' ? 40 : 160;
    for (let i = 0; i < WARM_UP; i += 1) await send[kind]();
    const before = cpu();
    for (let i = 0; i < count; i += AT_ONCE) await Promise.all(Array.from({ length: AT_ONCE }, () => send[kind]()));
    requests[kind] = count;
    cpuMsPerRequest[kind] = (cpu() - before) / count;
  }
  return { requests, cpuMsPerRequest, variantBytes: VARIANT_BYTES, sourceBytes: image.length };
}
