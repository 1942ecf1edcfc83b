// The handlers' images as an attacker who pulls them, or gets code running in one, would see them:
// every layer of `docker save` scanned for secrets and for the build's extra CA (a layer keeps a
// file even when a later layer deletes it), and a running sandbox, started the way `--containers`
// starts it, checked for a non-root user and a read-only root file system with only /tmp writable.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { rootCertificates } from 'node:tls';
import { gunzipSync } from 'node:zlib';
import { containerLauncher } from '../../src/local/cloud/lambda/container-host';
import { startLocalFunction, type LocalFunction } from '../../src/local/cloud/lambda/function-host';
import { docker, ensureImages, missingDocker, type BuiltImages } from '../containers/docker';
import { describeWhen } from '../helpers/requires';

const DOCKER_MISSING = missingDocker();

const HANDLERS = ['resize', 'publish'];

/** Patterns that must not occur in any byte of any layer. */
const SECRET_PATTERNS: Array<[string, RegExp]> = [
  ['private key', /-----BEGIN (RSA |EC |OPENSSH |ENCRYPTED )?PRIVATE KEY-----/],
  ['AWS access key id', /\b(AKIA|ASIA)[0-9A-Z]{16}\b/],
  ['npm auth token', /_authToken\s*=/],
  ['build CA variable', /NODE_EXTRA_CA_CERTS=\/|npm_config_cafile=\//],
];

/**
 * Fingerprints (a 64-character base64 line from each) of the certificates in the build's CA file
 * that are not public roots Node already ships: those are the proxy CA the build may use.
 */
function extraCaFingerprints(): string[] {
  const file = process.env.BUILD_CA || process.env.NODE_EXTRA_CA_CERTS;
  if (!file) return [];
  const publicRoots = new Set(rootCertificates.map((c) => c.replace(/\s+/g, '')));
  const pems = readFileSync(file, 'utf8').match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  return pems
    .filter((p) => !publicRoots.has(p.replace(/\s+/g, '')))
    .map(
      (p) =>
        p
          .split('\n')
          .map((l) => l.trim())
          .filter((l) => l.length === 64)[2] ?? '',
    )
    .filter(Boolean);
}

/** Every layer of `image` as bytes, from `docker save` (legacy layer.tar or OCI blobs, gzip or not). */
function layersOf(image: string): Array<{ name: string; data: Buffer }> {
  const dir = mkdtempSync(join(tmpdir(), 'irc-layers-'));
  try {
    const tarFile = join(dir, 'image.tar');
    docker(['save', '-o', tarFile, image]);
    const untar = spawnSync('tar', ['-xf', tarFile, '-C', dir], { encoding: 'utf8' });
    if (untar.status !== 0) throw new Error(`tar failed: ${untar.stderr}`);
    const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as Array<{ Layers: string[] }>;
    return (manifest[0]?.Layers ?? []).map((layer) => {
      const raw = readFileSync(join(dir, layer));
      return { name: layer, data: raw[0] === 0x1f && raw[1] === 0x8b ? gunzipSync(raw) : raw };
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Paths of the files in one uncompressed layer tar. */
function filesOf(layer: Buffer): string[] {
  const res = spawnSync('tar', ['-t'], { input: layer, encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  return res.stdout.split('\n').filter(Boolean);
}

describeWhen(DOCKER_MISSING, 'image layers hold no secret and no build CA', () => {
  let built: BuiltImages;
  beforeAll(() => {
    built = ensureImages(HANDLERS);
  }, 600_000);

  it.each(HANDLERS)(
    '%s: no private key, access key, npm token, CA variable, or extra CA certificate in any layer',
    (handler) => {
      const layers = layersOf(built.images[handler]);
      expect(layers.length).toBeGreaterThan(0);
      const fingerprints = extraCaFingerprints();
      const findings: string[] = [];
      for (const layer of layers) {
        const text = layer.data.toString('latin1');
        for (const [what, pattern] of SECRET_PATTERNS) if (pattern.test(text)) findings.push(`${layer.name}: ${what}`);
        for (const fp of fingerprints)
          if (text.includes(fp)) findings.push(`${layer.name}: extra CA certificate ${fp.slice(0, 16)}…`);
        const files = filesOf(layer.data).filter((f) =>
          /(^|\/)(\.npmrc|\.netrc|\.git-credentials|\.aws\/credentials|\.docker\/config\.json|build_ca[^/]*|run\/secrets\/.+)$/.test(
            f,
          ),
        );
        findings.push(...files.map((f) => `${layer.name}: file ${f}`));
      }
      expect(findings).toEqual([]);
    },
  );
});

describeWhen(DOCKER_MISSING, 'a running sandbox, started as --containers starts it', () => {
  let fn: LocalFunction;
  const containers: string[] = [];

  beforeAll(async () => {
    const built = ensureImages(['publish']);
    fn = await startLocalFunction({
      name: 'publish-security',
      handler: 'publish.handler',
      launcher: containerLauncher({ image: built.images.publish }),
      env: { OUTPUT_BUCKET: 'b', AWS_REGION: 'us-east-1' },
      logSink: (line) => {
        if (line.type === 'SANDBOX_START' && typeof line.container === 'string') containers.push(line.container);
      },
    });
    // The sandbox is up once it polls /next; an invoke with no records proves it.
    expect(await fn.invoke({ Records: [] })).toMatchObject({ ok: true });
  }, 120_000);

  afterAll(async () => {
    await fn?.stop();
  });

  const inspect = () =>
    (
      JSON.parse(docker(['inspect', containers[0]]).stdout) as Array<{
        Config: { User: string };
        HostConfig: { ReadonlyRootfs: boolean; Tmpfs: Record<string, string>; Privileged: boolean };
      }>
    )[0];
  const exec = (script: string) =>
    docker(['exec', containers[0], '/usr/local/bin/node', '-e', script], { allowFail: true });

  it('runs as a non-root user, unprivileged, with a read-only root and a /tmp tmpfs', () => {
    const info = inspect();
    expect(info.Config.User).not.toMatch(/^(|0|root)(:|$)/);
    expect([
      info.HostConfig.ReadonlyRootfs,
      info.HostConfig.Privileged,
      Object.keys(info.HostConfig.Tmpfs ?? {}),
    ]).toEqual([true, false, ['/tmp']]);
    expect(exec('process.stdout.write(String(process.getuid()))').stdout).not.toBe('0');
  });

  it('cannot write anywhere but /tmp', () => {
    const tryWrite = (path: string) =>
      exec(
        `try { require('fs').writeFileSync(${JSON.stringify(path)}, 'x'); ` +
          `process.stdout.write('written') } catch (e) { process.stdout.write(e.code) }`,
      ).stdout;
    expect({
      root: tryWrite('/pwned'),
      task: tryWrite('/var/task/pwned.js'),
      etc: tryWrite('/etc/pwned'),
      tmp: tryWrite('/tmp/ok'),
    }).toEqual({
      root: expect.stringMatching(/EROFS|EACCES/),
      task: expect.stringMatching(/EROFS|EACCES/),
      etc: expect.stringMatching(/EROFS|EACCES/),
      tmp: 'written',
    });
  });
});
