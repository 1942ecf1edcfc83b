// scripts/images.mjs's build command and image hash, read through --print-tags (no build). A stand-in
// client decides whether the build flags of buildx are offered; nothing is built.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { ROOT } from './docker';

interface PrintedTags {
  hash: string;
  buildArgs: string[];
  hashedFiles: string[];
}

/** --print-tags with a `docker` whose `build --help` lists --provenance only when `buildx`. */
function printTags(buildx: boolean): PrintedTags {
  const dir = mkdtempSync(join(tmpdir(), 'irc-client-'));
  try {
    const client = join(dir, 'docker');
    writeFileSync(
      client,
      `#!/bin/sh\n[ "$1 $2" = "build --help" ] || exit 1\necho "  --platform ` +
        `string"\n${buildx ? 'echo "  --provenance string"\n' : ''}`,
      { mode: 0o755 },
    );
    const res = spawnSync(
      process.execPath,
      [join(ROOT, 'scripts', 'images.mjs'), 'resize', '--print-tags', '--base', 'example/base:1'],
      { encoding: 'utf8', env: { ...process.env, DOCKER: client } },
    );
    if (res.status !== 0) throw new Error(res.stderr);
    return JSON.parse(res.stdout) as PrintedTags;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('scripts/images.mjs', () => {
  test('builds without provenance and SBOM attestations when the client offers them, and the flags change the hash', () => {
    const buildx = printTags(true);
    const classic = printTags(false);
    expect(buildx.buildArgs).toEqual(['--provenance=false', '--sbom=false']);
    expect(classic.buildArgs).toEqual([]);
    expect(buildx.hash).not.toBe(classic.hash);
  });

  test(
    'the hash covers this script, tsconfig.json and the local-cloud files the image bundles, ' +
      'not the rest of src/local, src/cli or src/tools',
    () => {
      const { hashedFiles } = printTags(false);
      expect(hashedFiles).toEqual(
        expect.arrayContaining([
          'scripts/images.mjs',
          'tsconfig.json',
          'Dockerfile',
          '.dockerignore',
          'containers/entrypoint.sh',
          'src/handlers/resize.ts',
          'src/local/cloud/lambda/runtime-api.ts',
        ]),
      );
      expect(hashedFiles).not.toContain('src/local/chain.ts');
      expect(hashedFiles).not.toContain('src/cli/cli.ts');
      expect(hashedFiles.filter((f) => f.endsWith('.test.ts'))).toEqual([]);
    },
  );

  test('every src/ file the image`s own emulator bundles is let through .dockerignore (else the image build fails)', async () => {
    const { hashedFiles } = printTags(false);
    const bundled = await build({
      absWorkingDir: ROOT,
      entryPoints: ['containers/emulator/main.ts'],
      bundle: true,
      platform: 'node',
      write: false,
      metafile: true,
      logLevel: 'silent',
      packages: 'external',
    });
    const sources = Object.keys(bundled.metafile.inputs).filter((file) => file.startsWith('src/'));
    expect(sources).toContain('src/local/cloud/lambda/runtime-api.ts');
    expect(sources.filter((file) => !hashedFiles.includes(file))).toEqual([]);
  });
});
