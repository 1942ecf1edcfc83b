// Bundles handlers as Lambda loads them: one CommonJS file per handler exporting `handler`, with a
// linked source map. The one place the bundle options live: scripts/build.mjs (local runs and
// tests) and the Dockerfile's bundle stage (images) both call `bundleHandlers`, so the bundles in
// dist/ and in the images are built the same way. Native packages (build.json
// runtimeDependencies) stay external and are installed beside the bundle.
//
//   node containers/bundle.mjs <handler> <out dir>
import { build } from 'esbuild';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');

/** Bundles `handlers` (names of folders in containers/ with an image.json) into `outDir`. */
export async function bundleHandlers(handlers, outDir) {
  const { runtimeDependencies } = JSON.parse(readFileSync(join(here, 'build.json'), 'utf8'));
  const entryPoints = Object.fromEntries(
    handlers.map((handler) => [handler, JSON.parse(readFileSync(join(here, handler, 'image.json'), 'utf8')).entry]),
  );
  await build({
    absWorkingDir: root,
    entryPoints,
    outdir: outDir,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node22',
    sourcemap: 'linked',
    logLevel: 'warning',
    external: runtimeDependencies,
    // Smaller bundles parse faster at cold start; keepNames keeps the class and function names
    // that error types and logs show. The resize handler loads sharp and the AWS SDK lazily.
    minify: true,
    keepNames: true,
  });
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const [handler, outDir] = process.argv.slice(2);
  if (!handler || !outDir) {
    console.error('usage: node containers/bundle.mjs <handler> <out dir>');
    process.exit(2);
  }
  await bundleHandlers([handler], outDir);
}
