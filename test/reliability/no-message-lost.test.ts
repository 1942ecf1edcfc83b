/**
 * "No message is ever lost" as a property of the whole local cloud, in memory and with --state:
 * uploads race disables and re-enables of the ingest mapping (Lambda's UpdateEventSourceMapping
 * `Enabled`), so the mapping stops while it holds received messages and must give them back to the
 * queue. Every upload must end with its variants and manifest, with every queue and DLQ empty. The
 * visibility timeout is long (300 s): a message the mapping failed to give back would not come back
 * within the test, so its image stays incomplete and the test fails.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { manifestKey, variantKey } from '../../src/core/keys';
import { DEFAULT_VARIANTS } from '../../src/core/variants';
import { startLocalChain, type LocalChain } from '../../src/local/chain';
import { synthesizeImage } from '../../src/tools/samples';
import { exists, HANDLERS_DIR, upload, type TestCloud } from '../helpers/local-cloud';
import { waitFor } from '../helpers/wait';

jest.setTimeout(240_000);

const ROUNDS = 3;
const PER_ROUND = 8;

/** Keys of the uploads whose variants and manifest do not all carry the uploaded ETag. */
async function incomplete(chain: LocalChain, eTags: Map<string, string>): Promise<string[]> {
  const cloud = { s3: chain.s3, resources: chain.resources } as TestCloud;
  const output = chain.resources.buckets.output;
  const missing: string[] = [];
  for (const [key, eTag] of eTags) {
    const keys = [
      manifestKey(key, chain.outputPrefix),
      ...DEFAULT_VARIANTS.map((v) => variantKey(key, chain.outputPrefix, v)),
    ];
    const heads = await Promise.all(keys.map((k) => exists(cloud, output, k)));
    if (!heads.every((h) => h?.metadata['source-etag'] === eTag)) missing.push(key);
  }
  return missing;
}

describe.each([
  ['in memory', false],
  ['with --state', true],
])('the local cloud %s: uploads racing disable/enable of the ingest mapping', (_label, persistent) => {
  const work = mkdtempSync(join(tmpdir(), 'irc-no-loss-'));
  const released: number[] = [];
  let chain: LocalChain | undefined;

  beforeAll(async () => {
    chain = await startLocalChain({
      handlersDir: HANDLERS_DIR,
      stateDir: persistent ? join(work, 'state') : undefined,
      visibilityTimeoutSeconds: 300,
      // Every receive counts towards the redrive, a released one too (as on SQS): a message caught
      // in each of the races is received ROUNDS + 1 times, more than the default 3 allows.
      maxReceiveCount: ROUNDS + 5,
      // A batching window holds received messages in the mapping for up to a second before invoking:
      // a disable in that second makes the mapping give them back.
      resize: { concurrency: 1, batchSize: 10, maximumBatchingWindowSeconds: 1 },
      publish: { concurrency: 1 },
      logSink: (line) => {
        if (line.event === 'esm.released' && typeof line.released === 'number') released.push(line.released);
      },
    });
  });
  afterAll(async () => {
    await chain?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  it(`loses none of ${ROUNDS} x ${PER_ROUND} uploads`, async () => {
    const c = chain!;
    const cloud = { s3: c.s3, resources: c.resources } as TestCloud;
    const bodies = await Promise.all(
      Array.from({ length: PER_ROUND }, (_, i) =>
        synthesizeImage({ width: 200 + i * 8, height: 150, seed: 40 + i, format: 'jpeg' }),
      ),
    );
    const eTags = new Map<string, string>();
    for (let round = 0; round < ROUNDS; round++) {
      const keys = bodies.map((_, i) => `${c.uploadsPrefix}race/r${round}-${i}.jpg`);
      const uploads = Promise.all(keys.map(async (key, i) => eTags.set(key, await upload(cloud, key, bodies[i]))));
      // Disable once the mapping holds received messages (inside its batching window), while uploads may still arrive.
      await waitFor(
        'the ingest mapping holding received messages',
        async () => (c.mappings.ingest.idle() ? undefined : true),
        30_000,
        5,
      );
      await c.mappings.ingest.setEnabled(false);
      await uploads;
      await c.mappings.ingest.setEnabled(true);
    }
    await c.waitForIdle(180_000);
    expect(await incomplete(c, eTags)).toEqual([]);
    expect(Object.entries(await c.queueDepths()).filter(([, depth]) => depth > 0)).toEqual([]);
    // The race was real: the mapping gave messages back when disabled.
    expect(released.reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
  });
});
