// `resize-chain up` as a long-running endpoint, driven by real clients: the AWS CLI (uploads,
// multipart, SQS reads, the Lambda mappings API), the JS SDK with only `endpoint` set, and a
// presigned URL used over https; then graceful shutdown under load and --state restarts.
import { S3Client, PutObjectCommand, GetObjectCommand } from '@aws-sdk/client-s3';
import { SignatureV4 } from '@smithy/signature-v4';
import { createHash, createHmac } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { Agent, request } from 'node:https';
import { mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { DEFAULT_VARIANTS } from '../../src/core/variants';
import { localCaPath } from '../../src/local/local-tls';
import { synthesizeImage } from '../../src/tools/samples';
import { corruptImage } from '../helpers/broken-images';
import { describeWhen } from '../helpers/requires';
import { AWS_CLI_MISSING, findAwsCli, killUp, runAws, startUp, type UpProcess } from '../helpers/up-process';
import { waitFor } from '../helpers/wait';

const SOURCE = 'image-resize-chain-src-local';
const OUTPUT = 'image-resize-chain-out-local';
const queueUrl = (endpoint: string, name: string): string => `${endpoint}/000000000000/image-resize-chain-${name}`;

const awsCli = findAwsCli();
const CLI_MISSING = awsCli ? undefined : AWS_CLI_MISSING;

jest.setTimeout(240_000);

/** A deterministic noise image: incompressible, so a PNG of it is as large as its pixels. */
async function noisePng(width: number, height: number, seed: number): Promise<Buffer> {
  const raw = Buffer.alloc(width * height * 3);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < raw.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    raw[i] = x & 0xff;
  }
  return sharp(raw, { raw: { width, height, channels: 3 } })
    .png({ compressionLevel: 1 })
    .toBuffer();
}

interface ListedObject {
  Key: string;
  Size: number;
}

async function listKeys(cli: string, endpoint: string, bucket: string, prefix = ''): Promise<ListedObject[]> {
  const out = await runAws(cli, endpoint, [
    's3api',
    'list-objects-v2',
    '--bucket',
    bucket,
    '--prefix',
    prefix,
    '--output',
    'json',
  ]);
  return out.trim() ? ((JSON.parse(out) as { Contents?: ListedObject[] }).Contents ?? []) : [];
}

async function readObject(cli: string, endpoint: string, bucket: string, key: string): Promise<string> {
  return runAws(cli, endpoint, ['s3', 'cp', `s3://${bucket}/${key}`, '-']);
}

interface ReceivedMessage {
  MessageId: string;
  Body: string;
}

/** Reads messages with `aws sqs receive-message` until `count` distinct ones were seen. */
async function receiveDistinct(
  cli: string,
  endpoint: string,
  url: string,
  count: number,
  extra: string[] = [],
): Promise<ReceivedMessage[]> {
  const seen = new Map<string, ReceivedMessage>();
  await waitFor(`${count} messages on ${url}`, async () => {
    const out = await runAws(cli, endpoint, [
      'sqs',
      'receive-message',
      '--queue-url',
      url,
      '--max-number-of-messages',
      '10',
      '--wait-time-seconds',
      '1',
      '--output',
      'json',
      ...extra,
    ]);
    for (const m of out.trim() ? ((JSON.parse(out) as { Messages?: ReceivedMessage[] }).Messages ?? []) : [])
      seen.set(m.MessageId, m);
    return seen.size >= count ? true : undefined;
  });
  return [...seen.values()];
}

/**
 * Uploads a folder with the ingest mapping disabled, then enables it: every notification waits in
 * the ingest queue first, so the mapping starts with full batches (10 records) at once. With one
 * resize sandbox (--concurrency 1) and two batches, the second is still in flight when the first
 * one's line appears: a signal then lands mid-load, whatever the machine's speed.
 */
async function uploadThenRelease(cli: string, up: UpProcess, dir: string, prefix: string): Promise<void> {
  const ingest = up.mappings['image-resize-chain-ingest'];
  await runAws(cli, up.endpoint, ['lambda', 'update-event-source-mapping', '--uuid', ingest, '--no-enabled']);
  await runAws(cli, up.endpoint, ['s3', 'cp', dir, `s3://${SOURCE}/${prefix}`, '--recursive']);
  await runAws(cli, up.endpoint, ['lambda', 'update-event-source-mapping', '--uuid', ingest, '--enabled']);
}

/** Records the resize function has finished so far, per the invocation lines. */
const resizedRecords = (up: UpProcess): number =>
  up.invocations.filter((i) => i.function === 'image-resize-chain-resize').reduce((n, i) => n + i.records, 0);

async function queueDepth(cli: string, endpoint: string, url: string): Promise<number> {
  const out = await runAws(cli, endpoint, [
    'sqs',
    'get-queue-attributes',
    '--queue-url',
    url,
    '--attribute-names',
    'All',
    '--output',
    'json',
  ]);
  const a = (JSON.parse(out) as { Attributes: Record<string, string> }).Attributes;
  return (
    Number(a.ApproximateNumberOfMessages) +
    Number(a.ApproximateNumberOfMessagesNotVisible) +
    Number(a.ApproximateNumberOfMessagesDelayed)
  );
}

/** A presigned PUT URL made with the SDK's own SigV4 signer (what @aws-sdk/s3-request-presigner wraps). */
async function presignPut(endpoint: string, bucket: string, key: string): Promise<string> {
  const bytes = (data: string | ArrayBuffer | ArrayBufferView): string | Uint8Array =>
    typeof data === 'string'
      ? data
      : ArrayBuffer.isView(data)
        ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength)
        : new Uint8Array(data);
  class Sha256 {
    private readonly hash: ReturnType<typeof createHash> | ReturnType<typeof createHmac>;
    constructor(secret?: string | ArrayBuffer | ArrayBufferView) {
      this.hash = secret ? createHmac('sha256', bytes(secret)) : createHash('sha256');
    }
    update(data: string | ArrayBuffer | ArrayBufferView): void {
      this.hash.update(bytes(data));
    }
    async digest(): Promise<Uint8Array> {
      return new Uint8Array(this.hash.digest());
    }
  }
  const signer = new SignatureV4({
    service: 's3',
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    sha256: Sha256,
    uriEscapePath: false,
    applyChecksum: false,
  });
  const url = new URL(endpoint);
  const path = `/${bucket}/${key.split('/').map(encodeURIComponent).join('/')}`;
  const signed = await signer.presign(
    {
      method: 'PUT',
      protocol: url.protocol,
      hostname: url.hostname,
      port: Number(url.port),
      path,
      query: {},
      // S3 presigns sign UNSIGNED-PAYLOAD (the SDK's presigner says so the same way); S3 checks it.
      headers: { host: url.host, 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' },
    },
    { expiresIn: 300, unsignableHeaders: new Set(['content-type']) },
  );
  const query = new URLSearchParams(signed.query as Record<string, string>).toString();
  return `${url.origin}${path}?${query}`;
}

describeWhen(CLI_MISSING, 'resize-chain up with the AWS CLI, the SDK and presigned URLs', () => {
  const cli = awsCli?.path ?? 'aws';
  const work = mkdtempSync(join(tmpdir(), 'irc-up-'));
  let up: UpProcess | undefined;
  let endpoint = '';
  const images = ['one.jpg', 'two.png', 'three.webp'];

  beforeAll(async () => {
    console.info(`AWS CLI under test: ${awsCli?.path} (${awsCli?.version})`);
    await mkdir(join(work, 'files'), { recursive: true });
    await writeFile(
      join(work, 'files', 'one.jpg'),
      await synthesizeImage({ width: 1600, height: 1000, seed: 1, format: 'jpeg' }),
    );
    await writeFile(
      join(work, 'files', 'two.png'),
      await synthesizeImage({ width: 900, height: 1200, seed: 2, format: 'png' }),
    );
    await writeFile(
      join(work, 'files', 'three.webp'),
      await synthesizeImage({ width: 1200, height: 800, seed: 3, format: 'webp' }),
    );
    await writeFile(
      join(work, 'files', 'broken.jpg'),
      corruptImage(await synthesizeImage({ width: 800, height: 600, seed: 4, format: 'jpeg' })),
    );
    up = await startUp();
    endpoint = up.endpoint;
  });

  afterAll(async () => {
    await killUp(up);
    rmSync(work, { recursive: true, force: true });
  });

  it('prints the endpoint, the module names and the environment to paste', () => {
    const banner = up!.stdout.join('\n');
    expect(endpoint).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    for (const name of [
      SOURCE,
      OUTPUT,
      'image-resize-chain-ingest',
      'image-resize-chain-resized',
      'image-resize-chain-rejected',
      'image-resize-chain-ingest-dlq',
      'image-resize-chain-resize',
      'image-resize-chain-publish',
    ]) {
      expect(banner).toContain(name);
    }
    expect(banner).toContain(`export AWS_ENDPOINT_URL=${endpoint}`);
    expect(banner).toContain(`export AWS_CA_BUNDLE=${localCaPath()}`);
    expect(banner).toContain('export AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1');
    expect(banner).toMatch(/export AWS_ACCESS_KEY_ID=\S+ AWS_SECRET_ACCESS_KEY=\S+/);
    expect(Object.keys(up!.mappings).sort()).toEqual(['image-resize-chain-ingest', 'image-resize-chain-resized']);
  });

  it('processes CLI uploads: variants and manifests, image.resized events read with the CLI, the rejection', async () => {
    // Pause the publish stage as on AWS, so the image.resized events wait in their queue for the CLI.
    const resizedMapping = up!.mappings['image-resize-chain-resized'];
    const paused = JSON.parse(
      await runAws(cli, endpoint, [
        'lambda',
        'update-event-source-mapping',
        '--uuid',
        resizedMapping,
        '--no-enabled',
        '--output',
        'json',
      ]),
    ) as { State: string };
    expect(paused.State).toBe('Disabled');

    await runAws(cli, endpoint, ['s3', 'cp', join(work, 'files'), `s3://${SOURCE}/uploads/cli/`, '--recursive']);

    const events = await receiveDistinct(cli, endpoint, queueUrl(endpoint, 'resized'), 3, [
      '--visibility-timeout',
      '0',
    ]);
    const resized = events.map(
      (m) =>
        JSON.parse(m.Body) as {
          type: string;
          version: number;
          source: { key: string };
          variants: Array<{ name: string; key: string }>;
        },
    );
    expect(resized.map((e) => e.type)).toEqual(['image.resized', 'image.resized', 'image.resized']);
    expect(resized.map((e) => e.source.key).sort()).toEqual(images.map((f) => `uploads/cli/${f}`).sort());
    for (const e of resized)
      expect(e.variants.map((v) => v.name).sort()).toEqual(DEFAULT_VARIANTS.map((v) => v.name).sort());

    const [rejection] = await receiveDistinct(cli, endpoint, queueUrl(endpoint, 'rejected'), 1);
    expect(JSON.parse(rejection.Body)).toMatchObject({
      type: 'image.rejected',
      version: 1,
      source: { bucket: SOURCE, key: 'uploads/cli/broken.jpg' },
      code: 'CORRUPT',
    });

    const resumed = JSON.parse(
      await runAws(cli, endpoint, [
        'lambda',
        'update-event-source-mapping',
        '--uuid',
        resizedMapping,
        '--enabled',
        '--output',
        'json',
      ]),
    ) as { State: string };
    expect(resumed.State).toBe('Enabled');
    for (const file of images) {
      const stem = `uploads/cli/${file.replace(/\.[^.]+$/, '')}`;
      const manifest = JSON.parse(
        await waitFor(`manifest of ${file}`, () => readObject(cli, endpoint, OUTPUT, `${stem}/manifest.json`)),
      ) as { source: { key: string }; variants: Array<{ key: string }> };
      expect(manifest.source.key).toBe(`uploads/cli/${file}`);
      const listed = (await listKeys(cli, endpoint, OUTPUT, `${stem}/`)).map((o) => o.Key);
      for (const v of manifest.variants) expect(listed).toContain(v.key);
      expect(listed).toHaveLength(DEFAULT_VARIANTS.length + 1);
    }
    expect(await listKeys(cli, endpoint, OUTPUT, 'uploads/cli/broken/')).toEqual([]);
    // Every invocation so far succeeded, and the terminal showed both functions.
    expect(up!.invocations.every((i) => i.outcome === 'ok')).toBe(true);
    expect(new Set(up!.invocations.map((i) => i.function))).toEqual(
      new Set(['image-resize-chain-resize', 'image-resize-chain-publish']),
    );
  });

  it('processes a multipart upload of a file over 8 MB (the CLI threshold)', async () => {
    const big = await noisePng(2000, 1500, 42);
    expect(big.length).toBeGreaterThan(8 * 1024 * 1024);
    await writeFile(join(work, 'big.png'), big);
    await runAws(cli, endpoint, ['s3', 'cp', join(work, 'big.png'), `s3://${SOURCE}/uploads/big/noise.png`]);
    const head = JSON.parse(
      await runAws(cli, endpoint, [
        's3api',
        'head-object',
        '--bucket',
        SOURCE,
        '--key',
        'uploads/big/noise.png',
        '--output',
        'json',
      ]),
    ) as { ETag: string; ContentLength: number };
    expect(head.ContentLength).toBe(big.length);
    expect(head.ETag).toMatch(/-\d+"?$/); // a multipart ETag: "<md5 of part md5s>-<parts>"
    const manifest = JSON.parse(
      await waitFor('manifest of the multipart upload', () =>
        readObject(cli, endpoint, OUTPUT, 'uploads/big/noise/manifest.json'),
      ),
    ) as { source: { width: number; height: number; size: number } };
    expect(manifest.source).toMatchObject({ width: 2000, height: 1500, size: big.length });
  });

  it(
    'serves the JS SDK configured with only `endpoint` and the local CA (path-style on an IP endpoint) ' +
      'and presigned URLs over https',
    async () => {
      const ca = readFileSync(localCaPath());
      const s3 = new S3Client({
        endpoint,
        region: 'us-east-1',
        credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
        requestHandler: { httpsAgent: new Agent({ ca }) },
      });
      try {
        await s3.send(
          new PutObjectCommand({
            Bucket: SOURCE,
            Key: 'uploads/sdk/plain.jpg',
            Body: await synthesizeImage({ width: 640, height: 480, seed: 5, format: 'jpeg' }),
          }),
        );
        const url = await presignPut(endpoint, SOURCE, 'uploads/sdk/presigned photo.jpg');
        const body = await synthesizeImage({ width: 700, height: 500, seed: 6, format: 'jpeg' });
        const status = await new Promise<number | undefined>((resolve, reject) => {
          const put = request(url, { method: 'PUT', ca }, (res) => resolve(res.resume().statusCode));
          put.once('error', reject).end(body);
        });
        expect(status).toBe(200);
        for (const stem of ['uploads/sdk/plain', 'uploads/sdk/presigned photo']) {
          await waitFor(`manifest of ${stem}`, async () => {
            const res = await s3.send(new GetObjectCommand({ Bucket: OUTPUT, Key: `${stem}/manifest.json` }));
            return JSON.parse(await res.Body!.transformToString()) as unknown;
          });
        }
      } finally {
        s3.destroy();
      }
    },
  );

  it('stops on SIGTERM with exit code 0, every batch finished', async () => {
    up!.child.kill('SIGTERM');
    expect(await up!.exited).toBe(0);
    expect(up!.stderr.join('\n')).toMatch(/stopped \(every batch finished\)/);
    // The figures of the functions' EMF lines: the images done above and the broken one rejected.
    expect(up!.stderr.join('\n')).toMatch(
      /^metrics: [1-9]\d* done, [1-9]\d* rejected \([A-Z_]+ [1-9]\d*(, [A-Z_]+ [1-9]\d*)*\), [\d.]+ MB in, [\d.]+ MB out, render p50 \d+ ms, upload-to-manifest p50 \d+ ms, [1-9]\d* cold starts?$/m,
    );
  });
});

describeWhen(CLI_MISSING, 'resize-chain up: graceful shutdown under load, then a restart on --state', () => {
  const cli = awsCli?.path ?? 'aws';
  const work = mkdtempSync(join(tmpdir(), 'irc-up-state-'));
  const state = join(work, 'state');
  const COUNT = 20;
  let first: UpProcess | undefined;
  let second: UpProcess | undefined;

  beforeAll(async () => {
    await mkdir(join(work, 'load'), { recursive: true });
    for (let i = 0; i < COUNT; i++) {
      await writeFile(
        join(work, 'load', `img-${String(i).padStart(2, '0')}.jpg`),
        await synthesizeImage({ width: 2400, height: 1600, seed: 100 + i, format: 'jpeg' }),
      );
    }
  });

  afterAll(async () => {
    await killUp(first);
    await killUp(second);
    rmSync(work, { recursive: true, force: true });
  });

  it('processes every upload exactly once across a SIGTERM mid-load and a restart, none lost', async () => {
    first = await startUp(['--state', state, '--concurrency', '1']);
    await uploadThenRelease(cli, first, join(work, 'load'), 'uploads/load/');
    // Signal once the first batch of uploads is resized (the s3:TestEvent may be a batch of its own).
    await waitFor('the first resized batch', async () => (resizedRecords(first!) >= 5 ? true : undefined));
    first.child.kill('SIGTERM');
    expect(await first.exited).toBe(0);
    const stderr = first.stderr.join('\n');
    // the signal really came mid-load
    expect(stderr).toMatch(/^SIGTERM: taking no new work; waiting for [1-9]\d* batch/m);
    expect(stderr).toMatch(/stopped \(every batch finished\)/);
    const publishedFirst = first.invocations
      .filter((i) => i.function === 'image-resize-chain-publish')
      .reduce((n, i) => n + i.records, 0);
    expect(publishedFirst).toBeLessThan(COUNT); // the restart has work left

    second = await startUp(['--state', state]);
    const endpoint = second.endpoint;
    // A UUID saved from the first run still names its mapping: the restart kept every UUID.
    expect(Object.keys(first.mappings).sort()).toEqual(['image-resize-chain-ingest', 'image-resize-chain-resized']);
    expect(second.mappings).toEqual(first.mappings);
    const savedIngest = first.mappings['image-resize-chain-ingest'];
    const kept = JSON.parse(
      await runAws(cli, endpoint, ['lambda', 'get-event-source-mapping', '--uuid', savedIngest, '--output', 'json']),
    ) as Record<string, unknown>;
    expect(kept).toMatchObject({
      UUID: savedIngest,
      EventSourceArn: 'arn:aws:sqs:us-east-1:000000000000:image-resize-chain-ingest',
      State: 'Enabled',
    });
    const manifests = await waitFor(
      `${COUNT} manifests`,
      async () => {
        const keys = (await listKeys(cli, endpoint, OUTPUT, 'uploads/load/'))
          .map((o) => o.Key)
          .filter((k) => k.endsWith('/manifest.json'));
        return keys.length === COUNT ? keys : undefined;
      },
      180_000,
    );
    expect(manifests.sort()).toEqual(
      Array.from({ length: COUNT }, (_, i) => `uploads/load/img-${String(i).padStart(2, '0')}/manifest.json`),
    );
    await waitFor('drained queues', async () => {
      const depths = await Promise.all(
        ['ingest', 'resized', 'ingest-dlq', 'resized-dlq', 'rejected'].map((q) =>
          queueDepth(cli, endpoint, queueUrl(endpoint, q)),
        ),
      );
      return depths.every((d) => d === 0) ? depths : undefined;
    });
    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);

    // Exactly once: across both runs every invocation succeeded, and the records handed to each
    // function add up to one per upload (plus the single s3:TestEvent of the first start: the
    // restart on existing state sends none). A batch done twice (cut off, redelivered) would add
    // records; one lost would leave a manifest missing above.
    const all = [...first.invocations, ...second.invocations];
    expect(all.filter((i) => i.outcome !== 'ok')).toEqual([]);
    const records = (fn: string) => all.filter((i) => i.function === fn).reduce((n, i) => n + i.records, 0);
    expect(records('image-resize-chain-resize')).toBe(COUNT + 1);
    expect(records('image-resize-chain-publish')).toBe(COUNT);
  });
});

describeWhen(CLI_MISSING, 'resize-chain up: a second signal', () => {
  const cli = awsCli?.path ?? 'aws';
  const work = mkdtempSync(join(tmpdir(), 'irc-up-twice-'));
  let up: UpProcess | undefined;

  afterAll(async () => {
    await killUp(up);
    rmSync(work, { recursive: true, force: true });
  });

  it('exits at once with 143 while batches are still in flight', async () => {
    await mkdir(join(work, 'files'), { recursive: true });
    for (let i = 0; i < 12; i++)
      await writeFile(
        join(work, 'files', `p${i}.jpg`),
        await synthesizeImage({ width: 1600, height: 1000, seed: 200 + i, format: 'jpeg' }),
      );
    up = await startUp(['--drain', '120', '--concurrency', '1']);
    await uploadThenRelease(cli, up, join(work, 'files'), 'uploads/twice/');
    await waitFor('the first resized batch', async () => (resizedRecords(up!) >= 3 ? true : undefined));
    up.child.kill('SIGTERM');
    await up.waitForLine(/^SIGTERM: taking no new work; waiting for [1-9]/);
    up.child.kill('SIGTERM');
    expect(await up.exited).toBe(143);
    expect(up.stderr.join('\n')).toMatch(/SIGTERM again: exiting now/);
  });
});
