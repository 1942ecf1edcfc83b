// Bundles handlers as Lambda loads them: per handler an ES module `<handler>.mjs` exporting `handler`
// (aws-lambda-ric resolves `resize.handler` to resize.mjs), plus `chunk-<hash>.mjs` files for what the
// handler loads with `import()` on its first event (the AWS SDK clients, sharp's pipeline), with
// linked source maps. The one place the bundle options live: scripts/build.mjs (local runs and
// tests) and the Dockerfile's bundle stage (images) both call `bundleHandlers`, one esbuild run per
// handler, so a handler's files in dist/handlers are byte for byte the files in its image. Native
// packages (build.json runtimeDependencies) stay external and are installed beside the bundle.
//
// Why ES modules with code splitting (README, Performance): aws-lambda-ric loads the handler with
// `import()`; a CommonJS file loaded that way is first scanned whole for its export names
// (~100 ms for a 740 KB bundle), and one file holds every lazily loaded dependency. As an ES module
// the entry is ~5 KB and the chunks are read only when the first event imports them.
//
//   node containers/bundle.mjs <handler> <out dir>
//   node containers/bundle.mjs --emulator <out dir>   the image's own RIE (emulator.mjs, one file)
import { build } from 'esbuild';
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');

/**
 * Whether `name` is a file an earlier build of `handlers` may have left: chunks, `<handler>.mjs`, a CommonJS
 * `<handler>.js`.
 */
function bundlerFile(name, handlers) {
  const m = /^(.+)\.(mjs|c?js)(\.map)?$/.exec(name);
  return m !== null && (/^chunk-[A-Z0-9]+$/.test(m[1]) || handlers.includes(m[1]));
}

/**
 * Bundles `handlers` (names of folders in containers/ with an image.json) into `outDir`. Bundler
 * files in `outDir` that this run did not write (an older build's chunks, a CommonJS `<handler>.js`
 * that aws-lambda-ric would pick before `<handler>.mjs`) are removed, so pass every handler whose
 * bundle should stay there. `plugins` (esbuild plugins, default none) lets a benchmark swap a module
 * (bench/powertools-init.ts builds the handlers with Powertools in place of our logger and metrics).
 */
export async function bundleHandlers(handlers, outDir, plugins = []) {
  const { runtimeDependencies } = JSON.parse(readFileSync(join(here, 'build.json'), 'utf8'));
  const written = new Set();
  for (const handler of handlers) {
    const { entry } = JSON.parse(readFileSync(join(here, handler, 'image.json'), 'utf8'));
    const result = await build({
      absWorkingDir: root,
      entryPoints: { [handler]: entry },
      outdir: outDir,
      bundle: true,
      platform: 'node',
      format: 'esm',
      splitting: true,
      outExtension: { '.js': '.mjs' },
      chunkNames: 'chunk-[hash]',
      target: 'node22',
      sourcemap: 'linked',
      logLevel: 'warning',
      external: runtimeDependencies,
      // Bundled CommonJS packages (the AWS SDK's dist-cjs) call require() for Node's built-ins;
      // an ES module has no require of its own.
      banner: {
        js: "import{createRequire as __createRequire}from'node:module';const require=__createRequire(import.meta.url);",
      },
      // Smaller files parse faster; keepNames keeps the class and function names that error types
      // and logs show.
      minify: true,
      keepNames: true,
      metafile: true,
      plugins,
    });
    for (const file of Object.keys(result.metafile.outputs)) written.add(file.split('/').pop());
  }
  for (const name of readdirSync(outDir)) {
    if (bundlerFile(name, handlers) && !written.has(name)) rmSync(join(outDir, name), { force: true });
  }
}

/**
 * Bundles the image's Runtime Interface Emulator (containers/emulator/main.ts: our Runtime API, its
 * function host and the RIE endpoint) into `<outDir>/emulator.mjs`, one file with no dependency.
 * Returns its size in bytes.
 */
export async function bundleEmulator(outDir) {
  const outfile = join(outDir, 'emulator.mjs');
  const result = await build({
    absWorkingDir: root,
    entryPoints: ['containers/emulator/main.ts'],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node22',
    logLevel: 'warning',
    banner: {
      js: "import{createRequire as __createRequire}from'node:module';const require=__createRequire(import.meta.url);",
    },
    minify: true,
    keepNames: true,
    metafile: true,
  });
  return result.metafile.outputs[Object.keys(result.metafile.outputs)[0]].bytes;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const [handler, outDir] = process.argv.slice(2);
  if (!handler || !outDir) {
    console.error('usage: node containers/bundle.mjs <handler>|--emulator <out dir>');
    process.exit(2);
  }
  if (handler === '--emulator') await bundleEmulator(outDir);
  else await bundleHandlers([handler], outDir);
}
