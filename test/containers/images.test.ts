// The handler images built on a real Docker engine and run as Lambda runs them: containers of the
// image polling our Runtime API (success, handler error, init error), as a non-root user, on a
// read-only root file system, with no compiler and no build CA inside.
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startContainerFunction } from '../../src/local/cloud/lambda/container-host';
import type { LocalFunction } from '../../src/local/cloud/lambda/function-host';
import { describeWhen } from '../helpers/requires';
import { docker, DOCKER, ensureImages, missingDocker, ROOT, type BuiltImages } from './docker';

/** Every path in the image's file system (docker export of a created, never started container). */
function imageFiles(image: string): string[] {
  const id = docker(['create', image]).stdout.trim();
  try {
    const res = spawnSync('sh', ['-c', `"${DOCKER}" export ${id} | tar -t`], {
      encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024,
    });
    if (res.status !== 0) throw new Error(res.stderr);
    return res.stdout.split('\n').filter(Boolean);
  } finally {
    docker(['rm', id], { allowFail: true });
  }
}

/** Which of `needles` occur anywhere in the bytes of the image's file system. */
async function imageContains(image: string, needles: string[]): Promise<string[]> {
  const id = docker(['create', image]).stdout.trim();
  try {
    const found = new Set<string>();
    const keep = Math.max(0, ...needles.map((n) => n.length));
    let carry = '';
    const child = spawn(DOCKER, ['export', id], { stdio: ['ignore', 'pipe', 'inherit'] });
    for await (const chunk of child.stdout) {
      const text = carry + (chunk as Buffer).toString('latin1');
      for (const n of needles) if (text.includes(n)) found.add(n);
      carry = text.slice(-keep);
    }
    return [...found];
  } finally {
    docker(['rm', id], { allowFail: true });
  }
}

/**
 * CA certificates of the build's CA file (BUILD_CA or NODE_EXTRA_CA_CERTS, as scripts/images.mjs
 * passes it) that the image's own Node does not ship: what only the build secret could have added.
 */
function addedCaLines(image: string): string[] {
  const file = process.env.BUILD_CA || process.env.NODE_EXTRA_CA_CERTS;
  if (!file) return [];
  const pems = readFileSync(file, 'utf8').match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  const digest = (pem: string) => createHash('sha256').update(pem.replace(/\s+/g, '')).digest('hex').slice(0, 16);
  // Digests, not the certificates: short output (docker drops the tail of a large one at exit).
  const listRoots =
    "const c=require('crypto');" +
    "console.log(require('tls').rootCertificates.map(p=>c.createHash('sha256')" +
    ".update(p.replace(/\\s+/g,'')).digest('hex').slice(0,16)).join(' '))";
  const shipped = new Set(
    docker(['run', '--rm', '--entrypoint', '/usr/local/bin/node', image, '-e', listRoots]).stdout.trim().split(' '),
  );
  expect(shipped.size).toBeGreaterThan(100);
  // A full base64 line from the signature at the end identifies a certificate; lines near the
  // start encode issuer names, which related certificates share.
  return pems
    .filter((p) => !shipped.has(digest(p)))
    .map(
      (p) =>
        p
          .trim()
          .split('\n')
          .map((l) => l.trim())
          .filter((l) => l.length === 64)
          .pop() ?? '',
    )
    .filter((l) => l !== '');
}

describeWhen(missingDocker(), 'handler images', () => {
  let built: BuiltImages;
  const fns: LocalFunction[] = [];

  beforeAll(() => {
    built = ensureImages(['resize', 'publish']);
  }, 20 * 60_000);

  afterAll(async () => {
    await Promise.all(fns.map((f) => f.stop()));
  });

  async function start(
    handler: 'resize' | 'publish',
    env: Record<string, string>,
    opts: { image?: string; command?: string[] } = {},
  ): Promise<LocalFunction> {
    const fn = await startContainerFunction({
      name: `image-${handler}`,
      image: opts.image ?? built.images[handler],
      command: opts.command,
      env: { AWS_REGION: 'us-east-1', ...env },
      initTimeoutMs: 20_000,
      logSink: () => undefined,
    });
    fns.push(fn);
    return fn;
  }

  it('runs the publish image against our Runtime API: a success, then a handler error', async () => {
    const fn = await start('publish', { OUTPUT_BUCKET: 'variants' });
    await expect(fn.invoke({ Records: [] })).resolves.toMatchObject({ ok: true, payload: { batchItemFailures: [] } });
    const failed = await fn.invoke({ Records: 'not a list' });
    expect(failed).toMatchObject({ ok: false, kind: 'handled', error: { errorType: 'PipelineError' } });
    expect(fn.stats()).toMatchObject({ invocations: 2, errors: 1, coldStarts: 1 });
  });

  it('runs the resize image (sharp loads in the container) and reports an init error for a bad variant spec', async () => {
    const ok = await start('resize', {
      OUTPUT_BUCKET: 'variants',
      RESIZED_QUEUE_URL: 'http://127.0.0.1:1/q/r',
      REJECTED_QUEUE_URL: 'http://127.0.0.1:1/q/j',
    });
    await expect(ok.invoke({ Records: [] })).resolves.toMatchObject({ ok: true, payload: { batchItemFailures: [] } });

    const broken = await start('resize', {
      OUTPUT_BUCKET: 'variants',
      RESIZED_QUEUE_URL: 'http://127.0.0.1:1/q/r',
      REJECTED_QUEUE_URL: 'http://127.0.0.1:1/q/j',
      VARIANTS: '[{"name":"x"}]',
    });
    const res = await broken.invoke({ Records: [] });
    expect(res).toMatchObject({ ok: false, kind: 'init' });
    expect(JSON.stringify(res)).toMatch(/VARIANTS/);
  });

  it('runs as the non-root user sbx_user1051 (993:990)', () => {
    for (const image of Object.values(built.images)) {
      expect(docker(['image', 'inspect', '--format', '{{.Config.User}}', image]).stdout.trim()).toBe('993:990');
      const view = docker([
        'run',
        '--rm',
        '--read-only',
        '--entrypoint',
        '/usr/local/bin/node',
        image,
        '-e',
        'console.log(process.getuid(), process.getgid(), ' +
          "require('fs').readFileSync('/proc/1/status','utf8').match(/^Uid:.*$/m)[0])",
      ]);
      expect(view.stdout.trim()).toMatch(/^993 990 Uid:\s+993\s+993\s+993\s+993$/);
    }
  });

  it('holds no compiler, no package manager, no build CA, and publish carries no sharp', async () => {
    const tools =
      /(^|\/)(gcc|g\+\+|cc|c\+\+|cpp|make|cmake|cc1|cc1plus|ld|as|npm|npx|apt|apt-get|dpkg|python3?)(-[0-9.]+)?$/;
    for (const [handler, image] of Object.entries(built.images)) {
      const caLines = addedCaLines(image);
      const files = imageFiles(image);
      expect(files.length).toBeGreaterThan(50);
      expect({ handler, tools: files.filter((f) => tools.test(f.replace(/\/$/, ''))) }).toEqual({ handler, tools: [] });
      expect(files.filter((f) => f.startsWith('run/secrets'))).toEqual([]);
      expect(files.some((f) => f.includes('node_modules/@img/sharp-'))).toBe(handler === 'resize');
      expect(files.filter((f) => /node_modules\/(node-gyp|node-addon-api|esbuild|@aws-sdk)\//.test(f))).toEqual([]);
      const env = docker(['image', 'inspect', '--format', '{{json .Config.Env}}', image]).stdout;
      expect(env).not.toMatch(/NODE_EXTRA_CA_CERTS|npm_config_cafile|build_ca/);
      if (caLines.length > 0)
        expect({ handler, found: await imageContains(image, caLines) }).toEqual({ handler, found: [] });
    }
  }, 120_000);

  it('each image names its handler in CMD, with no _HANDLER in its environment', () => {
    for (const [handler, image] of Object.entries(built.images)) {
      const config = JSON.parse(docker(['image', 'inspect', '--format', '{{json .Config}}', image]).stdout) as {
        Cmd: string[];
        Env: string[];
        Entrypoint: string[];
      };
      expect({ handler, cmd: config.Cmd, entrypoint: config.Entrypoint }).toEqual({
        handler,
        cmd: [`${handler}.handler`],
        entrypoint: ['/var/runtime/entrypoint.sh'],
      });
      expect(config.Env.filter((e) => e.startsWith('_HANDLER='))).toEqual([]);
    }
  });

  it('starts an image as Lambda does: without CMD and without a command it fails its init; a command runs it', async () => {
    // The publish image with its CMD removed: what a regression of the Dockerfile would ship.
    const noCmd = `image-resize-chain/publish:no-cmd-${process.pid}`;
    docker(['build', '-t', noCmd, '-'], { input: `FROM ${built.images.publish}\nCMD []\n` });
    try {
      const broken = await start('publish', { OUTPUT_BUCKET: 'variants' }, { image: noCmd });
      const res = await broken.invoke({ Records: [] });
      expect(res).toMatchObject({ ok: false, kind: 'init', error: { errorType: 'Runtime.ExitError' } });
      expect(JSON.stringify(res)).toContain('exit status 142');
      const configured = await start(
        'publish',
        { OUTPUT_BUCKET: 'variants' },
        { image: noCmd, command: ['publish.handler'] },
      );
      await expect(configured.invoke({ Records: [] })).resolves.toMatchObject({
        ok: true,
        payload: { batchItemFailures: [] },
      });
    } finally {
      await Promise.all(fns.splice(0).map((f) => f.stop()));
      docker(['rmi', noCmd], { allowFail: true });
    }
  });

  it('entrypoint: without AWS_LAMBDA_RUNTIME_API a mounted RIE takes precedence over the built-in emulator', () => {
    const dir = mkdtempSync(join(tmpdir(), 'irc-rie-'));
    chmodSync(dir, 0o755); // the container's user must reach the mount, as with a real RIE download
    try {
      // A stand-in for the RIE binary that only reports how it was started (the real one cannot be downloaded here).
      writeFileSync(
        join(dir, 'aws-lambda-rie'),
        '#!/bin/sh\necho "rie $*"\necho "handler=$_HANDLER root=$LAMBDA_TASK_ROOT fn=$AWS_LAMBDA_FUNCTION_NAME"\n',
        { mode: 0o755 },
      );
      const image = built.images.publish;
      const withRie = docker(['run', '--rm', '--read-only', '-v', `${dir}:/aws-lambda:ro`, image]);
      expect(withRie.stdout.trim().split('\n')).toEqual([
        'rie /usr/local/bin/node /var/task/node_modules/aws-lambda-ric/index.mjs publish.handler',
        'handler=publish.handler root=/var/task fn=publish',
      ]);
      const overridden = docker(['run', '--rm', '-v', `${dir}:/aws-lambda:ro`, image, 'other.handler']);
      expect(overridden.stdout).toContain('index.mjs other.handler');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('resize-chain invoke: prints the response, exits 1 with the error document on a function error', () => {
    const dir = mkdtempSync(join(tmpdir(), 'irc-invoke-'));
    try {
      writeFileSync(join(dir, 'ok.json'), '{"Records":[]}');
      writeFileSync(join(dir, 'bad.json'), '{"Records":"x"}');
      const cli = join(ROOT, 'dist', 'cli.js');
      const common = ['--image', built.images.publish, '--env', 'OUTPUT_BUCKET=variants'];
      const ok = spawnSync(process.execPath, [cli, 'invoke', 'publish', '--event', join(dir, 'ok.json'), ...common], {
        encoding: 'utf8',
        env: { ...process.env, DOCKER },
      });
      expect({ status: ok.status, stdout: ok.stdout.trim() }).toEqual({
        status: 0,
        stdout: '{"batchItemFailures":[]}',
      });
      const bad = spawnSync(process.execPath, [cli, 'invoke', 'publish', '--event', join(dir, 'bad.json'), ...common], {
        encoding: 'utf8',
        env: { ...process.env, DOCKER },
      });
      expect(bad.status).toBe(1);
      expect(JSON.parse(bad.stdout)).toMatchObject({ errorType: 'PipelineError' });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
