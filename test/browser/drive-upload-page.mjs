// Drives headless Chromium over the DevTools protocol (Node 22's global WebSocket, no library):
// opens the upload page, sets a file on its input, waits for the variants to show, screenshots.
//   node drive-upload-page.mjs <chromium> <page url> <image file> <screenshot.png> <timeout ms> [<spki sha256>]
// The optional last argument is the base64 SHA-256 of the local endpoint's certificate key (its
// https side, where the presigned POST goes): Chromium accepts that one certificate, as a user who
// trusted the local CA would.
// Prints one JSON line: {ok, variants, text} (ok false with `error` on failure).
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const [chromium, pageUrl, imageFile, screenshotFile, timeoutArg, trustedSpki] = process.argv.slice(2);
const deadline = Date.now() + Number(timeoutArg || 90000);
const profile = mkdtempSync(join(tmpdir(), 'chromium-profile-'));
const browser = spawn(
  chromium,
  [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    `--user-data-dir=${profile}`,
    ...(trustedSpki ? [`--ignore-certificate-errors-spki-list=${trustedSpki}`] : []),
    '--remote-debugging-address=127.0.0.1',
    '--remote-debugging-port=0',
    '--window-size=1100,900',
    pageUrl,
  ],
  { stdio: ['ignore', 'ignore', 'pipe'] },
);
let stderr = '';

function finish(result) {
  process.stdout.write(`${JSON.stringify(result)}\n`);
  const done = () => {
    // Chromium's helper processes may still be writing into the profile after the main one is
    // killed: removing it is best effort and must not turn a finished run into a failure.
    try {
      rmSync(profile, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 });
    } catch {
      /* left in the temp folder */
    }
    process.exit(result.ok ? 0 : 1);
  };
  if (browser.exitCode !== null || browser.signalCode !== null) return done();
  browser.once('exit', done);
  browser.kill('SIGKILL');
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function devtoolsPort() {
  while (Date.now() < deadline) {
    const m = /DevTools listening on ws:\/\/127\.0\.0\.1:(\d+)\//.exec(stderr);
    if (m) return Number(m[1]);
    if (browser.exitCode !== null) throw new Error(`chromium exited ${browser.exitCode}: ${stderr.slice(-500)}`);
    await sleep(50);
  }
  throw new Error('chromium did not open its DevTools port');
}

async function pageTarget(port) {
  while (Date.now() < deadline) {
    const targets = await (await fetch(`http://127.0.0.1:${port}/json/list`)).json();
    const page = targets.find((t) => t.type === 'page' && t.url.startsWith(pageUrl.split('#')[0].replace(/\/$/, '')));
    if (page) return page.webSocketDebuggerUrl;
    await sleep(100);
  }
  throw new Error('no page target for the upload page');
}

function connect(wsUrl) {
  const ws = new WebSocket(wsUrl);
  let nextId = 1;
  const pending = new Map();
  ws.addEventListener('message', (ev) => {
    const msg = JSON.parse(ev.data);
    const waiter = msg.id !== undefined && pending.get(msg.id);
    if (!waiter) return;
    pending.delete(msg.id);
    if (msg.error) waiter.reject(new Error(`${waiter.method}: ${msg.error.message}`));
    else waiter.resolve(msg.result);
  });
  const send = (method, params = {}) =>
    new Promise((resolve, reject) => {
      const id = nextId++;
      pending.set(id, { resolve, reject, method });
      ws.send(JSON.stringify({ id, method, params }));
    });
  return new Promise((resolve, reject) => {
    ws.addEventListener('open', () => resolve({ send, close: () => ws.close() }));
    ws.addEventListener('error', () => reject(new Error('DevTools WebSocket failed')));
  });
}

async function evaluate(cdp, expression) {
  const { result, exceptionDetails } = await cdp.send('Runtime.evaluate', {
    expression,
    returnByValue: true,
    awaitPromise: true,
  });
  if (exceptionDetails) throw new Error(`page script failed: ${exceptionDetails.text}`);
  return result.value;
}

browser.stderr.on('data', (chunk) => {
  stderr += chunk.toString();
});

try {
  const cdp = await connect(await pageTarget(await devtoolsPort()));
  await cdp.send('Page.enable');
  await cdp.send('Runtime.enable');
  while (!(await evaluate(cdp, "document.readyState === 'complete' && !!document.getElementById('files')"))) {
    if (Date.now() > deadline) throw new Error('the page did not load');
    await sleep(100);
  }
  const { root } = await cdp.send('DOM.getDocument');
  const { nodeId } = await cdp.send('DOM.querySelector', { nodeId: root.nodeId, selector: '#files' });
  await cdp.send('DOM.setFileInputFiles', { nodeId, files: [imageFile] });
  // Done = a finished row whose every variant image has loaded (the bytes came back from S3).
  const probe = `(() => {
    const failed = document.querySelector('.upload.failed');
    if (failed) return { failed: failed.textContent };
    const imgs = [...document.querySelectorAll('.upload.done figure img')];
    const ready = imgs.length > 0 && imgs.every((i) => i.complete && i.naturalWidth > 0);
    const variants = imgs.map((i) => ({ alt: i.alt, width: i.naturalWidth, height: i.naturalHeight }));
    return { ready, variants, text: document.getElementById('uploads').innerText };
  })()`;
  let state;
  for (;;) {
    state = await evaluate(cdp, probe);
    if (state.failed) throw new Error(`the page reports a failed upload: ${state.failed}`);
    if (state.ready) break;
    if (Date.now() > deadline) throw new Error(`no variants on the page in time; page says: ${state.text}`);
    await sleep(250);
  }
  const shot = await cdp.send('Page.captureScreenshot', { format: 'png', captureBeyondViewport: true });
  writeFileSync(screenshotFile, Buffer.from(shot.data, 'base64'));
  cdp.close();
  finish({ ok: true, variants: state.variants, text: state.text });
} catch (err) {
  finish({ ok: false, error: err instanceof Error ? err.message : String(err), chromiumStderr: stderr.slice(-1000) });
}
