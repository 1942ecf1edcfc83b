// Kill and restart: `resize-chain up --state DIR` takes 200 uploads (190 images, 10 files that are
// not images) and is killed with SIGKILL twice while it works, each time restarted on the same
// state. No drain, no release: whatever was in flight at the kill waits out its visibility timeout
// in the kept queues, as it would on AWS after a poller died. In the end every upload has its
// variants and manifest (carrying its ETag) or a coded rejection, never both; the output bucket
// holds nothing else; every DLQ is empty; no process of a killed `up` is left. Figures (images,
// kills, lost, duplicated, seconds) go to out/reliability/soak-kill-restart.json.
import { HeadObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import {
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SetQueueAttributesCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { manifestKey, variantKey } from '../../../src/core/keys';
import { DEFAULT_VARIANTS } from '../../../src/core/variants';
import { synthesizeImage } from '../../../src/tools/samples';
import { localClientConfig } from '../../../src/local/client-config';
import { killUp, startUp, type UpProcess } from '../../helpers/up-process';
import { waitFor } from '../../helpers/wait';

const IMAGES = 190;
const NOT_IMAGES = 10;
/** Kill once this process of `up` has published this many images (each run gets work left). */
const KILL_AFTER_PUBLISHED = [50, 50];
/**
 * Visibility timeout of the ingest and resized queues, set by the test with SetQueueAttributes as a
 * user may: messages in flight at a kill come back after it (the default, 6 x 30 s, only lengthens
 * the wait). Far above the slowest batch here (a few seconds), so no batch is redelivered while running.
 */
const VISIBILITY_SECONDS = 30;
const SOURCE = 'image-resize-chain-src-local';
const OUTPUT = 'image-resize-chain-out-local';
const PIPELINE_QUEUES = ['ingest', 'resized', 'ingest-dlq', 'resized-dlq', 'rejected-dlq'];

jest.setTimeout(900_000);

const queueUrl = (endpoint: string, name: string): string => `${endpoint}/000000000000/image-resize-chain-${name}`;
const published = (up: UpProcess): number =>
  up.invocations
    .filter((i) => i.function === 'image-resize-chain-publish' && i.outcome === 'ok')
    .reduce((n, i) => n + i.records, 0);

/** Every process below `pid` (children, their children, ...). */
function descendants(pid: number): number[] {
  let out: string;
  try {
    out = execFileSync('ps', ['-o', 'pid=', '--ppid', String(pid)], { encoding: 'utf8' });
  } catch {
    return []; // ps exits 1 when there are none
  }
  const children = out
    .split('\n')
    .map((s) => Number(s.trim()))
    .filter((n) => n > 0);
  return children.flatMap((child) => [child, ...descendants(child)]);
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

async function shortenVisibility(sqs: SQSClient, endpoint: string): Promise<void> {
  for (const name of ['ingest', 'resized']) {
    await sqs.send(
      new SetQueueAttributesCommand({
        QueueUrl: queueUrl(endpoint, name),
        Attributes: { VisibilityTimeout: String(VISIBILITY_SECONDS) },
      }),
    );
  }
}

async function outputKeys(s3: S3Client): Promise<string[]> {
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const res = await s3.send(new ListObjectsV2Command({ Bucket: OUTPUT, ContinuationToken: token }));
    keys.push(...(res.Contents ?? []).map((o) => o.Key!));
    token = res.NextContinuationToken;
  } while (token);
  return keys;
}

async function depth(sqs: SQSClient, url: string): Promise<number> {
  const a =
    (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['All'] }))).Attributes ?? {};
  return (
    Number(a.ApproximateNumberOfMessages) +
    Number(a.ApproximateNumberOfMessagesNotVisible) +
    Number(a.ApproximateNumberOfMessagesDelayed)
  );
}

describe('resize-chain up --state killed (SIGKILL) twice mid-load and restarted', () => {
  const work = mkdtempSync(join(tmpdir(), 'irc-kill-restart-'));
  const state = join(work, 'state');
  const runs: UpProcess[] = [];
  const clients: Array<{ destroy(): void }> = [];

  afterAll(async () => {
    for (const client of clients) client.destroy();
    for (const up of runs) await killUp(up);
    rmSync(work, { recursive: true, force: true });
  });

  it('ends every upload in variants + manifest or a coded rejection, none lost, none twice', async () => {
    const started = performance.now();
    const bodies = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        synthesizeImage({
          width: 480 + i * 16,
          height: 360,
          seed: 700 + i,
          format: (['jpeg', 'png', 'webp'] as const)[i % 3],
        }),
      ),
    );
    const uploads = [
      ...Array.from({ length: IMAGES }, (_, i) => ({
        key: `uploads/kill/img-${String(i).padStart(3, '0')}.${['jpg', 'png', 'webp'][(i % 8) % 3]}`,
        body: bodies[i % 8],
      })),
      ...Array.from({ length: NOT_IMAGES }, (_, i) => ({
        key: `uploads/kill/notes-${i}.jpg`,
        body: Buffer.from(`meeting notes ${i}, not a photo\n`),
      })),
    ];
    const eTags = new Map<string, string>();

    let up = await startUp(['--state', state]);
    runs.push(up);
    let s3 = new S3Client(localClientConfig(up.endpoint));
    let sqs = new SQSClient(localClientConfig(up.endpoint));
    clients.push(s3, sqs);
    await shortenVisibility(sqs, up.endpoint);
    let next = 0;
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (next < uploads.length) {
          const { key, body } = uploads[next++];
          const res = await s3.send(new PutObjectCommand({ Bucket: SOURCE, Key: key, Body: body }));
          eTags.set(key, (res.ETag ?? '').replace(/"/g, ''));
        }
      }),
    );

    const orphans: number[] = [];
    for (const [kill, after] of KILL_AFTER_PUBLISHED.entries()) {
      const current = up;
      await waitFor(
        `run ${kill + 1} publishing ${after} images`,
        async () => (published(current) >= after ? true : undefined),
        300_000,
      );
      const below = descendants(current.child.pid!);
      current.child.kill('SIGKILL');
      expect(await current.exited).toBe(137);
      // Its stand-in and sandboxes end with it (their stdin or Runtime API is gone).
      await waitFor(
        `the processes of killed run ${kill + 1} ending`,
        async () => (below.some(alive) ? undefined : true),
        30_000,
      ).catch(() => orphans.push(...below.filter(alive)));
      s3.destroy();
      sqs.destroy();
      up = await startUp(['--state', state]);
      runs.push(up);
      s3 = new S3Client(localClientConfig(up.endpoint));
      sqs = new SQSClient(localClientConfig(up.endpoint));
      clients.push(s3, sqs);
      await shortenVisibility(sqs, up.endpoint);
    }

    // Wait for the outputs of every image and the pipeline queues to drain.
    const goodKeys = uploads.slice(0, IMAGES).map((u) => u.key);
    const expectedOutputs = new Set(
      goodKeys.flatMap((key) => [manifestKey(key, ''), ...DEFAULT_VARIANTS.map((v) => variantKey(key, '', v))]),
    );
    await waitFor(
      'every manifest and drained pipeline queues',
      async () => {
        const keys = await outputKeys(s3);
        if (keys.filter((k) => k.endsWith('/manifest.json')).length < IMAGES) return undefined;
        const depths = await Promise.all(PIPELINE_QUEUES.map((q) => depth(sqs, queueUrl(up.endpoint, q))));
        return depths.every((d) => d === 0) ? true : undefined;
      },
      VISIBILITY_SECONDS * 1000 * 4 + 300_000,
      1000,
    );

    // Rejections: read them all (the rejected queue has no consumer; these reads do not delete).
    const rejections = new Map<string, { code: string; count: number }>();
    const rejectedUrl = queueUrl(up.endpoint, 'rejected');
    for (;;) {
      const res = await sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: rejectedUrl,
          MaxNumberOfMessages: 10,
          WaitTimeSeconds: 1,
          VisibilityTimeout: 600,
        }),
      );
      if (!res.Messages?.length) break;
      for (const m of res.Messages) {
        const body = JSON.parse(m.Body!) as { source: { key: string }; code: string };
        const seen = rejections.get(body.source.key);
        rejections.set(body.source.key, { code: body.code, count: (seen?.count ?? 0) + 1 });
      }
    }

    const outputs = await outputKeys(s3);
    const complete = new Set<string>();
    for (const key of goodKeys) {
      const heads = [manifestKey(key, ''), ...DEFAULT_VARIANTS.map((v) => variantKey(key, '', v))];
      if (heads.every((k) => outputs.includes(k))) complete.add(key);
    }
    const lost = uploads.filter((u) => !complete.has(u.key) && !rejections.has(u.key)).map((u) => u.key);
    const both = uploads.filter((u) => complete.has(u.key) && rejections.has(u.key)).map((u) => u.key);
    const unexpected = outputs.filter((k) => !expectedOutputs.has(k));
    const figures = {
      images: uploads.length,
      kills: KILL_AFTER_PUBLISHED.length,
      lost: lost.length,
      duplicated: both.length + unexpected.length,
      complete: complete.size,
      rejected: rejections.size,
      rejectionMessages: [...rejections.values()].reduce((n, r) => n + r.count, 0),
      outputObjects: outputs.length,
      orphanProcesses: orphans.length,
      /** Images each run of `up` published (the killed ones, then the last). */
      publishedPerRun: runs.map(published),
      seconds: Math.round((performance.now() - started) / 100) / 10,
    };
    const dir = join(__dirname, '..', '..', '..', 'out', 'reliability');
    mkdirSync(dir, { recursive: true });
    const report = { ...figures, lostKeys: lost.slice(0, 20), both, unexpected: unexpected.slice(0, 20) };
    writeFileSync(join(dir, 'soak-kill-restart.json'), `${JSON.stringify(report, null, 2)}\n`);
    console.log(`kill-restart: ${JSON.stringify(figures)}`);

    expect({ lost, both, unexpected, orphans }).toEqual({ lost: [], both: [], unexpected: [], orphans: [] });
    // Each kill came mid-load: the run after it still had images to publish.
    expect(runs.slice(1).every((run) => published(run) > 0)).toBe(true);
    expect(complete.size).toBe(IMAGES);
    expect(outputs.length).toBe(IMAGES * (DEFAULT_VARIANTS.length + 1));
    expect([...rejections.entries()].filter(([, r]) => r.code !== 'NOT_AN_IMAGE')).toEqual([]);
    expect([...rejections.keys()].sort()).toEqual(
      uploads
        .slice(IMAGES)
        .map((u) => u.key)
        .sort(),
    );
    // Every manifest carries its upload's ETag: no image was published from a stale or missing source.
    const staleManifests: string[] = [];
    for (const key of goodKeys) {
      const head = await s3.send(new HeadObjectCommand({ Bucket: OUTPUT, Key: manifestKey(key, '') }));
      if (head.Metadata?.['source-etag'] !== eTags.get(key)) staleManifests.push(key);
    }
    expect(staleManifests).toEqual([]);

    const last = up;
    last.child.kill('SIGTERM');
    expect(await last.exited).toBe(0);
  });
});
