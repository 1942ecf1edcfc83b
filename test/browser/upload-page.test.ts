// The upload page in headless Chromium, against the local cloud with its upload API (what
// `resize-chain start --ui` serves): a real file set on the page's input goes through
// POST /uploads, a presigned POST to the local S3 and the chain, until its variants show.
// The page is opened as http://localhost:<port> while the form is signed for https://127.0.0.1:<port>,
// so the POST is cross-origin as on AWS (page on the app's domain, form to S3's): the browser's
// preflight must be allowed by the source bucket's CORS rule, and without it the upload fails.
// The browser is driven over the DevTools protocol by a Node 22 child (global WebSocket).
import { execFile } from 'node:child_process';
import { createHash, X509Certificate } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { DeleteBucketCorsCommand, S3Client } from '@aws-sdk/client-s3';
import { startLocalChain, type LocalChain } from '../../src/local/chain';
import { localClientConfig } from '../../src/local/client-config';
import { ensureLocalTls } from '../../src/local/local-tls';
import { resolveNode22 } from '../../src/local/cloud/lambda/node-runtime';
import { synthesizeImage } from '../../src/tools/samples';
import { HANDLERS_DIR } from '../helpers/local-cloud';
import { describeWhen } from '../helpers/requires';

const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const CHROMIUM_MISSING = existsSync(CHROMIUM)
  ? undefined
  : `no Chromium at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM)`;
const OUT = join(__dirname, '..', '..', 'out');
const SCREENSHOT = join(OUT, 'upload-page.png');

/** The base64 SHA-256 of the local endpoint certificate's public key (Chromium's SPKI pin). */
function localCertificateSpki(): string {
  const key = new X509Certificate(ensureLocalTls().cert).publicKey.export({ type: 'spki', format: 'der' });
  return createHash('sha256').update(key).digest('base64');
}

describeWhen(CHROMIUM_MISSING, 'upload page in headless Chromium', () => {
  let chain: LocalChain | undefined;
  let dir: string;
  let pageUrl: string;

  /** Runs the page driver on one image; its last line of output, parsed. */
  async function drive(
    image: string,
    timeoutMs: number,
  ): Promise<{ ok: boolean; error?: string; variants: Array<{ alt: string; width: number }>; text: string }> {
    const driver = join(__dirname, 'drive-upload-page.mjs');
    let stdout: string;
    try {
      ({ stdout } = await promisify(execFile)(
        resolveNode22(),
        [driver, CHROMIUM, pageUrl, image, SCREENSHOT, String(timeoutMs), localCertificateSpki()],
        { timeout: timeoutMs + 30_000 },
      ));
    } catch (err) {
      // The driver exits 1 with its JSON line when the page fails.
      stdout = (err as { stdout?: string }).stdout ?? '';
      if (!stdout.trim()) throw new Error(`browser driver failed: ${String(err)}`, { cause: err });
    }
    return JSON.parse(stdout.trim().split('\n').pop() ?? '{}') as Awaited<ReturnType<typeof drive>>;
  }

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'upload-page-'));
    chain = await startLocalChain({
      handlersDir: HANDLERS_DIR,
      uploadApi: {},
      resize: { concurrency: 1 },
      publish: { concurrency: 1 },
    });
    // Another origin than the endpoint the form is signed for (same server).
    pageUrl = chain.uploadApi!.pageUrl.replace('//127.0.0.1:', '//localhost:');
  });

  afterAll(async () => {
    await chain?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('uploads a dropped image across origins and shows its variants', async () => {
    const image = join(dir, 'sunset photo.jpg');
    writeFileSync(image, await synthesizeImage({ width: 1200, height: 800, seed: 11, format: 'jpeg' }));
    mkdirSync(OUT, { recursive: true });
    rmSync(SCREENSHOT, { force: true });
    const result = await drive(image, 90_000);
    if (!result.ok) throw new Error(`the page failed: ${result.error}`);
    expect(result.variants.map((v) => v.alt).sort()).toEqual(['fallback', 'large', 'medium', 'thumb']);
    expect(result.variants.find((v) => v.alt === 'thumb')?.width).toBe(320);
    expect(result.text).toMatch(/uploads\/[0-9a-f-]{36}\/sunset-photo\.jpg/);
    expect(existsSync(SCREENSHOT)).toBe(true);
  }, 150_000);

  it('shows the variants of a PNG with alpha: Chromium decodes the WebP the core writes from two encodes', async () => {
    // The WebP variants of a source with alpha are assembled by src/core/webp-alpha.ts (VP8X, ALPH, VP8).
    const image = join(dir, 'cut-out.png');
    writeFileSync(image, await synthesizeImage({ width: 900, height: 600, seed: 13, format: 'png', alpha: true }));
    const result = await drive(image, 90_000);
    if (!result.ok) throw new Error(`the page failed: ${result.error}`);
    // The driver waits until every <img> is complete with a natural width: decoded, not just fetched.
    expect(result.variants.map((v) => [v.alt, v.width]).sort()).toEqual([
      ['fallback', 900],
      ['large', 900],
      ['medium', 800],
      ['thumb', 320],
    ]);
  }, 150_000);

  it('fails the upload when the source bucket has no CORS rule (S3 refuses the preflight)', async () => {
    const s3 = new S3Client(localClientConfig(chain!.gateway.tlsEndpoint));
    try {
      await s3.send(new DeleteBucketCorsCommand({ Bucket: chain!.resources.buckets.source }));
    } finally {
      s3.destroy();
    }
    const image = join(dir, 'second.jpg');
    writeFileSync(image, await synthesizeImage({ width: 400, height: 300, seed: 12, format: 'jpeg' }));
    const result = await drive(image, 30_000);
    expect(result.ok).toBe(false);
    expect(result.error).toMatch(/failed upload.*network error/);
  }, 90_000);
});
