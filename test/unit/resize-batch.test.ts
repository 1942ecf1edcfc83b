// The resize stage's batch logic with in-memory ports (pure logic; the S3/SQS wiring is covered
// by the integration tests against the stand-in). Images are real, generated and resized by sharp.
import { PipelineError } from '../../src/core/errors';
import type { ImageRejectedEvent, ImageResizedEvent } from '../../src/core/events';
import { manifestKey } from '../../src/core/keys';
import { DEFAULT_LIMITS } from '../../src/core/limits';
import {
  MAX_FRESHNESS_ROUNDS,
  processResizeBatch,
  type ResizeConfig,
  type ResizePorts,
  type StoredObject,
} from '../../src/core/resize-batch';
import type { S3ObjectRef } from '../../src/core/s3-event';
import { s3ObjectCreatedNotification } from '../../src/local/cloud/s3/object-created-event';
import { parseVariantSpecs } from '../../src/core/variants';
import { synthesizeImage } from '../../src/tools/samples';

const cfg: ResizeConfig = {
  outputBucket: 'out',
  outputPrefix: 'resized/',
  variants: parseVariantSpecs([
    { name: 'small', width: 64, format: 'webp' },
    { name: 'big', width: 128, format: 'jpeg' },
  ]),
  limits: DEFAULT_LIMITS,
  concurrency: 3,
  cacheControl: 'public, max-age=60',
};

class MemoryPorts implements ResizePorts {
  sources = new Map<string, { data: Buffer; eTag: string }>();
  outputs = new Map<string, StoredObject & { contentType: string; cacheControl: string }>();
  puts = 0;
  resized: ImageResizedEvent[] = [];
  rejected: ImageRejectedEvent[] = [];
  failGet = new Set<string>();
  failSendIds = new Set<number>();
  /** Every key HEADed in the output bucket, in order; a HEAD of a key in failHead throws. */
  heads: string[] = [];
  failHead = new Set<string>();
  async getSource(ref: S3ObjectRef) {
    if (this.failGet.has(ref.key)) throw new PipelineError('S3_ERROR', 'S3 InternalError (HTTP 500)', { key: ref.key });
    const s = this.sources.get(ref.key);
    if (!s) throw new PipelineError('NOT_FOUND', 'no such object', { key: ref.key });
    return s;
  }
  async headOutput(key: string) {
    this.heads.push(key);
    if (this.failHead.has(key)) throw new PipelineError('S3_ERROR', 'S3 InternalError (HTTP 500)', { key });
    return this.outputs.get(key);
  }
  async putOutput(
    key: string,
    body: Buffer,
    contentType: string,
    cacheControl: string,
    metadata: Record<string, string>,
  ) {
    this.puts++;
    this.outputs.set(key, { bytes: body.length, metadata, contentType, cacheControl });
  }
  async sendResized(entries: ReadonlyArray<{ id: string; event: ImageResizedEvent }>) {
    const failures = new Map<string, PipelineError>();
    entries.forEach((e, i) =>
      this.failSendIds.has(i)
        ? failures.set(e.id, new PipelineError('SQS_ERROR', 'send failed'))
        : this.resized.push(e.event),
    );
    return failures;
  }
  async sendRejected(entries: ReadonlyArray<{ id: string; event: ImageRejectedEvent }>) {
    this.rejected.push(...entries.map((e) => e.event));
    return new Map<string, PipelineError>();
  }
  log(..._line: Parameters<ResizePorts['log']>) {}
  now() {
    return new Date('2026-11-28T12:00:00Z');
  }
}

/**
 * Ports whose source is overwritten (a new ETag) each time the stage re-checks it after writing its
 * variants, `times` times; records the stage's warnings and the errors it logs.
 */
class OverwritingPorts extends MemoryPorts {
  warnings: Array<Record<string, unknown>> = [];
  failures: Array<{ code: unknown; message: unknown }> = [];
  private overwrites = 0;
  constructor(private readonly times: number) {
    super();
  }
  async headSource(ref: S3ObjectRef) {
    const current = this.sources.get(ref.key)!;
    if (this.overwrites < this.times) {
      this.overwrites++;
      this.sources.set(ref.key, { data: current.data, eTag: `v${this.overwrites}` });
    }
    return { eTag: this.sources.get(ref.key)!.eTag };
  }
  override log(...[level, message, fields]: Parameters<ResizePorts['log']>) {
    if (level === 'warn')
      this.warnings.push({ message, eTag: fields.eTag, newerETag: fields.newerETag, round: fields.round });
    const error = fields.error as { code?: unknown; message?: unknown } | undefined;
    if (level === 'error' && error) this.failures.push({ code: error.code, message: error.message });
  }
}

/** The manifest publish writes once source `key` (uploaded by upload()) went through the chain. */
function storeManifest(ports: MemoryPorts, key: string, eTag = `etag-${key}`) {
  ports.outputs.set(manifestKey(key, cfg.outputPrefix), {
    bytes: 10,
    metadata: { 'source-etag': eTag },
    contentType: 'application/json',
    cacheControl: '',
  });
}

async function upload(ports: MemoryPorts, key: string, data: Buffer, eTag = `etag-${key}`) {
  ports.sources.set(key, { data, eTag });
  return {
    messageId: `m-${key}`,
    body: JSON.stringify(s3ObjectCreatedNotification({ bucket: 'src', key, size: data.length, eTag, sequencer: '01' })),
  };
}

describe('processResizeBatch', () => {
  let jpeg: Buffer;
  beforeAll(async () => {
    jpeg = await synthesizeImage({ width: 300, height: 200, seed: 1, format: 'jpeg' });
  });

  it('resizes good images, rejects bad ones, and fails no message', async () => {
    const ports = new MemoryPorts();
    const messages = [
      await upload(ports, 'uploads/a.jpg', jpeg),
      await upload(ports, 'uploads/b c.jpg', jpeg),
      await upload(ports, 'uploads/notes.jpg', Buffer.from('just some text, not an image')),
      { messageId: 'm-test', body: JSON.stringify({ Service: 'Amazon S3', Event: 's3:TestEvent' }) },
      { messageId: 'm-garbage', body: 'not json' },
    ];
    const result = await processResizeBatch(cfg, ports, messages);
    expect(result.batchItemFailures).toEqual([]);
    expect(result.summary).toMatchObject({ resized: 2, rejected: 2, retry: 0, testEvents: 1 });
    expect(ports.resized.map((e) => e.source.key).sort()).toEqual(['uploads/a.jpg', 'uploads/b c.jpg']);
    expect(ports.rejected.map((e) => [e.source.key || e.source.messageId, e.code]).sort()).toEqual([
      ['m-garbage', 'INVALID_EVENT'],
      ['uploads/notes.jpg', 'NOT_AN_IMAGE'],
    ]);
    const small = ports.outputs.get('resized/uploads/b c/small.webp');
    expect(small).toMatchObject({
      contentType: 'image/webp',
      cacheControl: 'public, max-age=60',
      metadata: expect.objectContaining({ 'source-etag': 'etag-uploads/b c.jpg', width: '64', height: '43' }),
    });
    const event = ports.resized.find((e) => e.source.key === 'uploads/a.jpg');
    expect(event?.variants.map((v) => [v.name, v.key, v.width, v.height, v.format])).toEqual([
      ['small', 'resized/uploads/a/small.webp', 64, 43, 'webp'],
      ['big', 'resized/uploads/a/big.jpg', 128, 85, 'jpeg'],
    ]);
    expect(event?.source).toMatchObject({
      width: 300,
      height: 200,
      format: 'jpeg',
      size: jpeg.length,
      uploadedAt: expect.any(String),
    });
    // The batch's metric figures: what was rendered, and the rejections by code.
    const written = ports.resized.flatMap((e) => e.variants).reduce((n, v) => n + v.bytes, 0);
    expect(result.figures).toEqual({
      bytesIn: 2 * jpeg.length,
      bytesOut: written,
      renderMs: [expect.any(Number), expect.any(Number)],
      rejectedByCode: { INVALID_EVENT: 1, NOT_AN_IMAGE: 1 },
    });
  });

  it('reports only the message with a transient failure', async () => {
    const ports = new MemoryPorts();
    const messages = [await upload(ports, 'uploads/ok.jpg', jpeg), await upload(ports, 'uploads/flaky.jpg', jpeg)];
    ports.failGet.add('uploads/flaky.jpg');
    const result = await processResizeBatch(cfg, ports, messages);
    expect(result.batchItemFailures).toEqual([{ itemIdentifier: 'm-uploads/flaky.jpg' }]);
    expect(ports.resized.map((e) => e.source.key)).toEqual(['uploads/ok.jpg']);
    expect(ports.rejected).toEqual([]);
  });

  it('retries a message whose event could not be sent, and the retry writes nothing new', async () => {
    const ports = new MemoryPorts();
    const messages = [await upload(ports, 'uploads/x.jpg', jpeg)];
    ports.failSendIds.add(0);
    const first = await processResizeBatch(cfg, ports, messages);
    expect(first.batchItemFailures).toEqual([{ itemIdentifier: 'm-uploads/x.jpg' }]);
    const putsAfterFirst = ports.puts;
    ports.failSendIds.clear();
    const second = await processResizeBatch(cfg, ports, messages);
    expect(second.batchItemFailures).toEqual([]);
    expect(second.summary.resent).toBe(1);
    expect(ports.puts).toBe(putsAfterFirst);
    expect(ports.resized[0]?.variants.map((v) => [v.width, v.height])).toEqual([
      [64, 43],
      [128, 85],
    ]);
  });

  it('does nothing for a source whose manifest already names its ETag', async () => {
    const ports = new MemoryPorts();
    const messages = [await upload(ports, 'uploads/done.jpg', jpeg)];
    storeManifest(ports, 'uploads/done.jpg');
    const result = await processResizeBatch(cfg, ports, messages);
    expect(result.summary.duplicate).toBe(1);
    expect(ports.puts).toBe(0);
    expect(ports.resized).toEqual([]);
  });

  it('looks for earlier work with two HEADs when nothing was written yet, and reads every variant only when one is of this version', async () => {
    const ports = new MemoryPorts();
    const messages = [await upload(ports, 'uploads/fresh.jpg', jpeg)];
    const manifest = 'resized/uploads/fresh/manifest.json';
    await processResizeBatch(cfg, ports, messages);
    expect(ports.heads.sort()).toEqual([manifest, 'resized/uploads/fresh/small.webp'].sort());
    // Variants of this version but no manifest: every variant is read, the event is sent again.
    ports.heads = [];
    const again = await processResizeBatch(cfg, ports, messages);
    expect(again.summary.resent).toBe(1);
    expect(ports.heads.sort()).toEqual(
      ['resized/uploads/fresh/big.jpg', manifest, 'resized/uploads/fresh/small.webp'].sort(),
    );
    // The first variant of another version: rendered again, the others not read.
    ports.heads = [];
    ports.sources.set('uploads/fresh.jpg', { data: jpeg, eTag: 'etag-2' });
    const newer = JSON.parse(messages[0].body) as { Records: Array<{ s3: { object: { eTag: string } } }> };
    newer.Records[0].s3.object.eTag = 'etag-2';
    const third = await processResizeBatch(cfg, ports, [{ messageId: 'm-2', body: JSON.stringify(newer) }]);
    expect(third.summary.resized).toBe(1);
    expect(ports.heads.slice(0, 2).sort()).toEqual([manifest, 'resized/uploads/fresh/small.webp']);
    expect(ports.heads).not.toContain('resized/uploads/fresh/big.jpg');
  });

  it('takes a manifest of this version as done even when a variant cannot be read', async () => {
    const ports = new MemoryPorts();
    const messages = [await upload(ports, 'uploads/done2.jpg', jpeg)];
    storeManifest(ports, 'uploads/done2.jpg');
    ports.failHead.add('resized/uploads/done2/small.webp');
    const result = await processResizeBatch(cfg, ports, messages);
    expect(result).toMatchObject({ batchItemFailures: [], summary: { duplicate: 1 } });
    // Without the manifest the same failure is transient: the message is retried.
    ports.outputs.delete(manifestKey('uploads/done2.jpg', cfg.outputPrefix));
    const retried = await processResizeBatch(cfg, ports, messages);
    expect(retried.batchItemFailures).toEqual([{ itemIdentifier: 'm-uploads/done2.jpg' }]);
  });

  it('skips a notification for an object that has since been overwritten', async () => {
    const ports = new MemoryPorts();
    const messages = [await upload(ports, 'uploads/y.jpg', jpeg, 'old-etag')];
    ports.sources.set('uploads/y.jpg', { data: jpeg, eTag: 'new-etag' });
    const result = await processResizeBatch(cfg, ports, messages);
    expect(result).toMatchObject({ batchItemFailures: [], summary: { stale: 1, resized: 0 } });
    expect(ports.puts).toBe(0);
  });

  it('rejects an object above the byte limit from its notification, without reading it', async () => {
    const ports = new MemoryPorts();
    const big = { ...cfg, limits: { ...DEFAULT_LIMITS, maxInputBytes: 100 } };
    const messages = [await upload(ports, 'uploads/huge.jpg', jpeg)];
    ports.failGet.add('uploads/huge.jpg');
    const result = await processResizeBatch(big, ports, messages);
    expect(result.batchItemFailures).toEqual([]);
    expect(ports.rejected.map((r) => r.code)).toEqual(['TOO_LARGE']);
  });

  it('ignores a folder marker (0 bytes, key ending in "/") and rejects such a key that holds bytes as INVALID_KEY', async () => {
    const ports = new MemoryPorts();
    const marker = {
      messageId: 'm-folder',
      body: JSON.stringify(
        s3ObjectCreatedNotification({
          bucket: 'src',
          key: 'uploads/holiday/',
          size: 0,
          eTag: 'd41d8cd98f00b204e9800998ecf8427e',
          sequencer: '01',
        }),
      ),
    };
    const full = {
      messageId: 'm-full',
      body: JSON.stringify(
        s3ObjectCreatedNotification({ bucket: 'src', key: 'uploads/odd/', size: 5, eTag: 'e-odd', sequencer: '02' }),
      ),
    };
    const result = await processResizeBatch(cfg, ports, [marker, full]);
    expect(result).toMatchObject({ batchItemFailures: [], summary: { ignored: 1, rejected: 1, resized: 0 } });
    expect(ports.rejected.map((r) => [r.source.key, r.code, r.message])).toEqual([
      ['uploads/odd/', 'INVALID_KEY', "object key ends in '/' (a folder name) but the object holds 5 bytes"],
    ]);
    expect(ports.puts).toBe(0);
  });

  it(
    'renders a notification delivered twice in one batch once: ' +
      'the copy waits for the first run and counts as a duplicate',
    async () => {
      const ports = new MemoryPorts();
      const message = await upload(ports, 'uploads/twice.jpg', jpeg);
      const result = await processResizeBatch(cfg, ports, [message, { ...message, messageId: 'm-copy' }]);
      expect(result).toMatchObject({ batchItemFailures: [], summary: { resized: 1, duplicate: 1 } });
      expect(ports.puts).toBe(cfg.variants.length);
      expect(ports.resized).toHaveLength(1);
    },
  );

  it('retries both copies of a notification delivered twice when the first run fails transiently', async () => {
    const ports = new MemoryPorts();
    const message = await upload(ports, 'uploads/twice-flaky.jpg', jpeg);
    ports.failGet.add('uploads/twice-flaky.jpg');
    const result = await processResizeBatch(cfg, ports, [message, { ...message, messageId: 'm-copy' }]);
    expect(result.batchItemFailures).toEqual([{ itemIdentifier: message.messageId }, { itemIdentifier: 'm-copy' }]);
    expect(result.summary).toMatchObject({ retry: 2, duplicate: 0 });
  });

  it('renders the newer version when the source is overwritten while its variants are written', async () => {
    const ports = new OverwritingPorts(1);
    const message = await upload(ports, 'uploads/moving.jpg', jpeg, 'v0');
    const result = await processResizeBatch(cfg, ports, [message]);
    expect(result).toMatchObject({ batchItemFailures: [], summary: { resized: 1 } });
    // The event names the version rendered last; the notification's version id and upload time describe another one.
    expect(ports.resized[0]?.source).toMatchObject({ key: 'uploads/moving.jpg', eTag: 'v1' });
    expect(ports.resized[0]?.source).not.toHaveProperty('uploadedAt');
    expect(ports.outputs.get('resized/uploads/moving/small.webp')?.metadata['source-etag']).toBe('v1');
    expect(ports.warnings).toEqual([
      {
        message: 'source overwritten while its variants were written; rendering the newer version',
        eTag: 'v0',
        newerETag: 'v1',
        round: 1,
      },
    ]);
  });

  it(
    `gives up after ${MAX_FRESHNESS_ROUNDS} rounds of a source overwritten during each, ` +
      `and retries the message later (transient)`,
    async () => {
      const ports = new OverwritingPorts(Infinity);
      const message = await upload(ports, 'uploads/busy.jpg', jpeg, 'v0');
      const result = await processResizeBatch(cfg, ports, [message]);
      expect(result).toMatchObject({
        batchItemFailures: [{ itemIdentifier: message.messageId }],
        summary: { retry: 1, resized: 0 },
      });
      expect(ports.warnings.map((w) => w.round)).toEqual([1, 2, 3]);
      expect(ports.failures).toEqual([
        { code: 'S3_ERROR', message: `source changed during each of ${MAX_FRESHNESS_ROUNDS} rounds; retrying later` },
      ]);
      expect(ports.resized).toEqual([]);
      expect(ports.rejected).toEqual([]);
    },
  );

  it.each([
    [
      'deleted after the writes: the event still goes out',
      new PipelineError('NOT_FOUND', 'no such object'),
      { resized: 1 },
      [],
    ],
    [
      'no longer readable as a source: stale, the newer notification decides',
      new PipelineError('NOT_AN_IMAGE', 'not an image'),
      { stale: 1 },
      [],
    ],
    [
      'unreachable: retried',
      new PipelineError('S3_ERROR', 'S3 InternalError (HTTP 500)'),
      { retry: 1 },
      [{ itemIdentifier: 'm-uploads/rechecked.jpg' }],
    ],
  ])('re-checks the source after writing; when it is %s', async (_what, error, summary, failures) => {
    const ports = new MemoryPorts();
    const message = await upload(ports, 'uploads/rechecked.jpg', jpeg);
    const withHead: ResizePorts = Object.assign(Object.create(ports) as MemoryPorts, {
      headSource: async () => Promise.reject(error),
    });
    const result = await processResizeBatch(cfg, withHead, [message]);
    expect(result.summary).toMatchObject(summary);
    expect(result.batchItemFailures).toEqual(failures);
  });
});
