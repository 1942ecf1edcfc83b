// The end-to-end run of `resize-chain start` on 20 images (18 generated in three formats, one EXIF-
// rotated, a key with spaces and unicode, one corrupt file), with its assertions: shared by the
// process run (test/integration/e2e.test.ts), the stream run (e2e-stream.test.ts) and the container
// run (test/containers/).
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { formatFigures, type ChainFigures } from '../../src/tools/metric-figures';
import { DEFAULT_VARIANTS } from '../../src/core/variants';
import { synthesizeImage } from '../../src/tools/samples';
import { corruptImage } from './broken-images';

const CLI = join(__dirname, '..', '..', 'dist', 'cli.js');

/** Extra `start` arguments, read when the run begins (after the caller's own beforeAll). */
export type StartArgs = () => string[];

export interface Report {
  summary: string;
  metrics: ChainFigures;
  queues: Record<string, number>;
  deadLetters: Record<string, number>;
  entries: Array<{
    sourceKey: string;
    status: string;
    error?: { code: string };
    source?: { width: number; height: number; bytes: number };
    variants: Array<{ name: string; width: number; height: number; format: string; bytes: number; file: string }>;
  }>;
}

/**
 * The run's metrics (added up from the functions' EMF lines) are printed and in report.json, and
 * they match what happened: one done per manifest, one rejection per rejected image with its code,
 * the bytes of the sources and variants, a render time and an upload-to-manifest latency per image,
 * and at least one cold start per function but no more than the sandboxes started (logs in `out`).
 */
export function expectMetricsOfRun(stdout: string, report: Report, out: string): void {
  const done = report.entries.filter((e) => e.status === 'done');
  const rejectedByCode: Record<string, number> = {};
  for (const e of report.entries)
    if (e.status === 'rejected') rejectedByCode[e.error?.code ?? '?'] = (rejectedByCode[e.error?.code ?? '?'] ?? 0) + 1;
  const m = report.metrics;
  expect(stdout).toContain(`\n${formatFigures(m)}\n`);
  expect({
    done: m.done,
    rejected: m.rejected,
    rejectedByCode: m.rejectedByCode,
    recordsFailed: m.recordsFailed,
  }).toEqual({
    done: done.length,
    rejected: report.entries.length - done.length,
    rejectedByCode,
    recordsFailed: 0,
  });
  expect(m.bytesIn).toBe(done.reduce((n, e) => n + (e.source?.bytes ?? 0), 0));
  expect(m.bytesOut).toBe(done.flatMap((e) => e.variants).reduce((n, v) => n + v.bytes, 0));
  expect([m.renderMs.count, m.uploadToManifestMs.count]).toEqual([done.length, done.length]);
  expect(m.renderMs.p50).toBeGreaterThan(0);
  expect(m.uploadToManifestMs.p50).toBeGreaterThanOrEqual(m.renderMs.p50);
  const sandboxes = ['resize', 'publish'].reduce(
    (n, fn) => n + (readFileSync(join(out, 'logs', `${fn}.log`), 'utf8').match(/"type":"SANDBOX_START"/g) ?? []).length,
    0,
  );
  expect(m.coldStarts).toBeGreaterThanOrEqual(2);
  expect(m.coldStarts).toBeLessThanOrEqual(sandboxes);
}

/** How the run's images enter the chain. */
export interface StartRunPath {
  /** Where `start` uploads the images. @default 'uploads/' (bucket notifications) */
  keyPrefix?: string;
  /** Queues besides the chain's six that the run creates (all must end empty). @default none */
  extraQueues?: string[];
}

/** Declares the run and its assertions; `title` names the describe block. */
export function describeStartRun(title: string, extraArgs: StartArgs = () => [], path: StartRunPath = {}): void {
  const prefix = path.keyPrefix ?? 'uploads/';
  describe(title, () => {
    const work = mkdtempSync(join(tmpdir(), 'irc-e2e-'));
    const images = join(work, 'images');
    const out = join(work, 'out');
    let exitCode: number | null;
    let stdout = '';
    let stderr = '';
    let report: Report;
    const unicodeKey = `${prefix}mes photos/été 2026 + plage №1.jpg`;

    beforeAll(async () => {
      await mkdir(join(images, 'mes photos'), { recursive: true });
      for (let i = 0; i < 18; i++) {
        const landscape = i % 3 !== 0;
        const format = (['jpeg', 'png', 'webp'] as const)[i % 3];
        const img = await synthesizeImage({
          width: landscape ? 900 + i * 20 : 500,
          height: landscape ? 600 : 700 + i * 10,
          seed: 100 + i,
          format,
          orientation: i === 3 ? 6 : undefined,
        });
        await writeFile(join(images, `img-${String(i).padStart(2, '0')}.${format === 'jpeg' ? 'jpg' : format}`), img);
      }
      await writeFile(
        join(images, 'mes photos', 'été 2026 + plage №1.jpg'),
        await synthesizeImage({ width: 1000, height: 750, seed: 55, format: 'jpeg' }),
      );
      await writeFile(
        join(images, 'broken.jpg'),
        corruptImage(await synthesizeImage({ width: 800, height: 600, seed: 56, format: 'jpeg' })),
      );

      const child = spawn(process.execPath, [CLI, 'start', images, '--out', out, '--timeout', '240', ...extraArgs()], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
      child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
      exitCode = await new Promise((resolve) => child.on('close', (code) => resolve(code)));
      report = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')) as Report;
    }, 300_000);

    afterAll(() => rmSync(work, { recursive: true, force: true }));

    it('exits 0 and prints the table and the summary', () => {
      expect({ exitCode, stderrTail: exitCode === 0 ? '' : stderr.slice(-2000) }).toEqual({
        exitCode: 0,
        stderrTail: '',
      });
      expect(stdout).toMatch(/^source\s+status\s+variant\s+size\s+format\s+bytes\s+time/m);
      expect(stdout).toContain('20 images: 19 done (76 variants), 1 rejected, 0 unfinished; dead letters: 0');
    });

    it('prints the metrics line, and report.json holds the figures of what happened', () => {
      expect(report.metrics).toMatchObject({ done: 19, rejected: 1, rejectedByCode: { CORRUPT: 1 } });
      expectMetricsOfRun(stdout, report, out);
    });

    it('produces every variant and manifest of each good image, the unicode key included', async () => {
      const done = report.entries.filter((e) => e.status === 'done');
      expect(done).toHaveLength(19);
      expect(done.map((e) => e.sourceKey)).toContain(unicodeKey);
      for (const entry of done) {
        expect(entry.variants.map((v) => v.name)).toEqual(DEFAULT_VARIANTS.map((v) => v.name));
        for (const v of entry.variants) {
          const path = join(out, ...v.file.split('/'));
          const meta = await sharp(path).metadata();
          expect({
            key: entry.sourceKey,
            name: v.name,
            width: meta.width,
            height: meta.height,
            format: meta.format,
          }).toEqual({
            key: entry.sourceKey,
            name: v.name,
            width: v.width,
            height: v.height,
            format: v.format === 'jpeg' ? 'jpeg' : 'webp',
          });
          expect(v.width).toBeLessThanOrEqual(Math.max(entry.source?.width ?? 0, 1));
        }
      }
      // Stored 500x730 with EXIF orientation 6: auto-oriented, it is 730 wide and 500 high.
      const rotated = done.find((e) => e.sourceKey === `${prefix}img-03.jpg`);
      expect(rotated?.source).toMatchObject({ width: 730, height: 500 });
      expect(rotated?.variants.find((v) => v.name === 'medium')).toMatchObject({ width: 730, height: 500 });
    });

    it('rejects the corrupt file with its code', () => {
      const rejected = report.entries.filter((e) => e.status === 'rejected');
      expect(rejected.map((e) => [e.sourceKey, e.error?.code])).toEqual([[`${prefix}broken.jpg`, 'CORRUPT']]);
    });

    it('leaves every queue drained and nothing in a DLQ', () => {
      const chainQueues = [
        'image-resize-chain-ingest',
        'image-resize-chain-ingest-dlq',
        'image-resize-chain-rejected',
        'image-resize-chain-rejected-dlq',
        'image-resize-chain-resized',
        'image-resize-chain-resized-dlq',
      ];
      expect(Object.keys(report.queues).sort()).toEqual([...chainQueues, ...(path.extraQueues ?? [])].sort());
      expect(Object.values(report.queues).every((n) => n === 0)).toBe(true);
      expect(report.deadLetters).toMatchObject({
        'image-resize-chain-ingest-dlq': 0,
        'image-resize-chain-resized-dlq': 0,
      });
      expect(Object.entries(report.deadLetters).filter(([, n]) => n !== 0)).toEqual([]);
    });

    it('writes the HTML report with each source beside its variants', () => {
      const html = readFileSync(join(out, 'report.html'), 'utf8');
      expect((html.match(/<section class="card">/g) ?? []).length).toBe(19);
      expect((html.match(/<section class="card rejected">/g) ?? []).length).toBe(1);
      expect(html).toContain('été 2026 + plage №1.jpg');
      const firstImg = /<img src="([^"]+)"/.exec(html)?.[1] ?? '';
      expect(existsSync(join(out, ...decodeURIComponent(firstImg).split('/')))).toBe(true);
    });
  });
}
