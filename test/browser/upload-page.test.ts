// The upload page in headless Chromium, against the local cloud with its upload API (what
// `resize-chain start --ui` serves): a real file set on the page's input goes through
// POST /uploads, a presigned POST to the local S3 and the chain, until its variants show.
// The browser is driven over the DevTools protocol by a Node 22 child (global WebSocket).
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startLocalChain, type LocalChain } from '../../src/local/chain';
import { resolveNode22 } from '../../src/local/node-runtime';
import { synthesizeImage } from '../../src/local/samples';
import { HANDLERS_DIR } from '../helpers/local-cloud';

const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const haveChromium = existsSync(CHROMIUM);
const ci = process.env.CI === 'true';
const OUT = join(__dirname, '..', '..', 'out');
const SCREENSHOT = join(OUT, 'upload-page.png');

if (!haveChromium && !ci) {
  // Loud, not silent: outside CI a missing browser skips this file.
  console.warn(`SKIPPED test/browser/upload-page.test.ts: no Chromium at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM); under CI=true this fails`);
}
const describeBrowser = haveChromium || ci ? describe : describe.skip;

describeBrowser('upload page in headless Chromium', () => {
  let chain: LocalChain | undefined;
  let dir: string;

  beforeAll(async () => {
    if (!haveChromium) throw new Error(`CI=true and no Chromium at ${CHROMIUM}: install Debian's chromium package`);
    dir = mkdtempSync(join(tmpdir(), 'upload-page-'));
    chain = await startLocalChain({ handlersDir: HANDLERS_DIR, uploadApi: {}, resize: { concurrency: 1 }, publish: { concurrency: 1 } });
  });

  afterAll(async () => {
    await chain?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('uploads a dropped image and shows its variants', async () => {
    const image = join(dir, 'sunset photo.jpg');
    writeFileSync(image, await synthesizeImage({ width: 1200, height: 800, seed: 11, format: 'jpeg' }));
    mkdirSync(OUT, { recursive: true });
    rmSync(SCREENSHOT, { force: true });
    const driver = join(__dirname, 'drive-upload-page.mjs');
    let stdout: string;
    try {
      ({ stdout } = await promisify(execFile)(resolveNode22(), [driver, CHROMIUM, chain!.uploadApi!.pageUrl, image, SCREENSHOT, '90000'], { timeout: 120_000 }));
    } catch (err) {
      throw new Error(`browser driver failed: ${(err as { stdout?: string }).stdout ?? String(err)}`);
    }
    const result = JSON.parse(stdout.trim().split('\n').pop() ?? '{}') as { ok: boolean; variants: Array<{ alt: string; width: number }>; text: string };
    expect(result.ok).toBe(true);
    expect(result.variants.map((v) => v.alt).sort()).toEqual(['fallback', 'large', 'medium', 'thumb']);
    expect(result.variants.find((v) => v.alt === 'thumb')?.width).toBe(320);
    expect(result.text).toMatch(/uploads\/[0-9a-f-]{36}\/sunset-photo\.jpg/);
    expect(existsSync(SCREENSHOT)).toBe(true);
  }, 150_000);
});
