// The publish stage's batch logic with in-memory ports (pure logic).
import { PipelineError } from '../../src/core/errors';
import { imageResizedEvent } from '../../src/core/events';
import { eventIdOf, processPublishBatch, type PublishPorts } from '../../src/core/publish-batch';
import type { StoredObject } from '../../src/core/resize-batch';

const cfg = { outputBucket: 'out', outputPrefix: 'resized/', concurrency: 4 };
const event = (key: string, eTag = 'e1') =>
  imageResizedEvent(
    { bucket: 'src', key, eTag, size: 10, width: 20, height: 10, format: 'jpeg' },
    [
      {
        name: 'thumb',
        bucket: 'out',
        key: `resized/${key}/thumb.webp`,
        width: 20,
        height: 10,
        format: 'webp',
        bytes: 5,
      },
    ],
    new Date('2026-11-28T00:00:00Z'),
  );

function ports(opts: { webhookFails?: boolean; withWebhook?: boolean } = {}) {
  const manifests = new Map<string, { body: string; metadata: Record<string, string> }>();
  const deliveries: Array<{ body: string; eventId: string }> = [];
  const order: string[] = [];
  const p: PublishPorts = {
    async headOutput(key): Promise<StoredObject | undefined> {
      const m = manifests.get(key);
      return m ? { bytes: m.body.length, metadata: m.metadata } : undefined;
    },
    async putManifest(key, body, metadata) {
      order.push(`manifest:${key}`);
      manifests.set(key, { body, metadata });
    },
    deliverWebhook: opts.withWebhook
      ? async (body, eventId) => {
          order.push('webhook');
          if (opts.webhookFails) throw new PipelineError('WEBHOOK_ERROR', 'HTTP 502');
          deliveries.push({ body, eventId });
        }
      : undefined,
    log() {},
    now: () => new Date('2026-11-28T00:00:01Z'),
  };
  return { p, manifests, deliveries, order };
}

describe('processPublishBatch', () => {
  it('measures upload-to-manifest from the S3 event time the event carries, for manifests written only', async () => {
    const { p } = ports();
    const timed = (key: string) => {
      const e = event(key);
      return JSON.stringify({ ...e, source: { ...e.source, uploadedAt: '2026-11-28T00:00:00.250Z' } });
    };
    const first = await processPublishBatch(cfg, p, [
      { messageId: 'm1', body: timed('uploads/a.jpg') },
      { messageId: 'm2', body: JSON.stringify(event('uploads/b.jpg')) },
    ]);
    expect(first.figures).toEqual({ uploadToManifestMs: [750] });
    const again = await processPublishBatch(cfg, p, [{ messageId: 'm3', body: timed('uploads/a.jpg') }]);
    expect(again).toMatchObject({ summary: { published: 0, duplicate: 1 }, figures: { uploadToManifestMs: [] } });
  });

  it('writes a manifest beside the variants for each event', async () => {
    const { p, manifests } = ports();
    const res = await processPublishBatch(cfg, p, [{ messageId: 'm1', body: JSON.stringify(event('uploads/a.jpg')) }]);
    expect(res).toEqual({
      batchItemFailures: [],
      summary: { published: 1, duplicate: 0, failed: 0 },
      figures: { uploadToManifestMs: [] },
    });
    const m = manifests.get('resized/uploads/a/manifest.json');
    expect(m?.metadata).toEqual({ 'source-etag': 'e1' });
    expect(JSON.parse(m?.body ?? '{}')).toMatchObject({
      version: 1,
      source: { key: 'uploads/a.jpg' },
      publishedAt: '2026-11-28T00:00:01.000Z',
    });
  });

  it('writes the manifest before notifying the webhook, and retries the message when the delivery fails', async () => {
    const ok = ports({ withWebhook: true });
    await processPublishBatch(cfg, ok.p, [{ messageId: 'm1', body: JSON.stringify(event('uploads/a.jpg')) }]);
    expect(ok.order).toEqual(['manifest:resized/uploads/a/manifest.json', 'webhook']);
    expect(ok.deliveries[0]?.eventId).toBe(eventIdOf(event('uploads/a.jpg')));

    const bad = ports({ withWebhook: true, webhookFails: true });
    const res = await processPublishBatch(cfg, bad.p, [
      { messageId: 'm1', body: JSON.stringify(event('uploads/a.jpg')) },
      { messageId: 'm2', body: JSON.stringify(event('uploads/b.jpg')) },
    ]);
    expect(res.batchItemFailures).toEqual([{ itemIdentifier: 'm1' }, { itemIdentifier: 'm2' }]);
    expect(bad.manifests.size).toBe(2);
  });

  it('delivers the webhook again for a redelivered event whose manifest exists (the first delivery may have failed)', async () => {
    const { p, order, deliveries } = ports({ withWebhook: true });
    const msg = { messageId: 'm1', body: JSON.stringify(event('uploads/a.jpg')) };
    await processPublishBatch(cfg, p, [msg]);
    const again = await processPublishBatch(cfg, p, [msg]);
    expect(again.summary).toEqual({ published: 0, duplicate: 1, failed: 0 });
    expect(order).toEqual(['manifest:resized/uploads/a/manifest.json', 'webhook', 'webhook']);
    expect(deliveries.map((d) => d.eventId)).toEqual([
      eventIdOf(event('uploads/a.jpg')),
      eventIdOf(event('uploads/a.jpg')),
    ]);
  });

  it('treats a redelivered event as a no-op, and a new ETag as new work', async () => {
    const { p, manifests } = ports();
    const msg = { messageId: 'm1', body: JSON.stringify(event('uploads/a.jpg')) };
    await processPublishBatch(cfg, p, [msg]);
    const again = await processPublishBatch(cfg, p, [msg]);
    expect(again.summary).toEqual({ published: 0, duplicate: 1, failed: 0 });
    const newer = await processPublishBatch(cfg, p, [
      { messageId: 'm2', body: JSON.stringify(event('uploads/a.jpg', 'e2')) },
    ]);
    expect(newer.summary.published).toBe(1);
    expect(manifests.get('resized/uploads/a/manifest.json')?.metadata['source-etag']).toBe('e2');
  });

  it('reports a malformed event as a failure so it reaches the DLQ, without failing its neighbours', async () => {
    const { p } = ports();
    const res = await processPublishBatch(cfg, p, [
      { messageId: 'bad', body: '{"type":"something.else"}' },
      { messageId: 'good', body: JSON.stringify(event('uploads/a.jpg')) },
    ]);
    expect(res.batchItemFailures).toEqual([{ itemIdentifier: 'bad' }]);
    expect(res.summary).toEqual({ published: 1, duplicate: 0, failed: 1 });
  });

  it(
    "writes no manifest for a stale event (its variants now carry another version's ETag), " +
      'and no webhook; a missing variant decides nothing',
    async () => {
      const { p, manifests, deliveries } = ports({ withWebhook: true });
      const variantsOf: Record<string, StoredObject> = {
        'resized/uploads/old.jpg/thumb.webp': { bytes: 5, metadata: { 'source-etag': 'e2' } },
      };
      const headManifest = p.headOutput.bind(p);
      p.headOutput = async (key) => variantsOf[key] ?? headManifest(key);
      const res = await processPublishBatch(cfg, p, [
        { messageId: 'late', body: JSON.stringify(event('uploads/old.jpg', 'e1')) },
        { messageId: 'unknown-variants', body: JSON.stringify(event('uploads/new.jpg', 'e1')) },
      ]);
      expect(res).toMatchObject({ batchItemFailures: [], summary: { published: 1, duplicate: 1, failed: 0 } });
      expect([...manifests.keys()]).toEqual(['resized/uploads/new/manifest.json']);
      expect(deliveries.map((d) => (JSON.parse(d.body) as { source: { key: string } }).source.key)).toEqual([
        'uploads/new.jpg',
      ]);
    },
  );
});
