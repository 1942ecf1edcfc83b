// Copies what one handler needs at run time out of the build stage's node_modules:
// `node runtime-closure.mjs <handler> <from node_modules> <to node_modules>`.
// Starting from the handler's runtimeDependencies (containers/<handler>/image.json) it follows
// `dependencies` and the installed `optionalDependencies` (sharp's platform binaries) the way Node
// resolves them, skipping what is only needed to compile (BUILD_ONLY) and build leftovers (PRUNE).
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Dependencies a package declares but only uses while installing. */
const BUILD_ONLY = {
  // node-gyp and the N-API headers compile rapid-client.node; the runtime loads only the .node file.
  'aws-lambda-ric': ['node-gyp', 'node-addon-api'],
};
/** Paths inside a package that only served its build (sources, archives, scripts). */
const PRUNE = {
  'aws-lambda-ric': ['deps', 'src', 'scripts', 'node-addon-api', 'build'],
  sharp: ['src', 'install'],
};

const here = dirname(fileURLToPath(import.meta.url));
const [handler, from, to] = process.argv.slice(2);
if (!handler || !from || !to) {
  console.error('usage: node containers/runtime-closure.mjs <handler> <from node_modules> <to node_modules>');
  process.exit(2);
}
const definition = JSON.parse(readFileSync(join(here, handler, 'image.json'), 'utf8'));

/** Node's lookup: <dir>/node_modules/<name>, then each parent's, up to `from`. */
function resolvePackage(name, requesterDir) {
  let dir = requesterDir;
  for (;;) {
    const candidate = join(dir, 'node_modules', name);
    if (existsSync(join(candidate, 'package.json'))) return candidate;
    if (relative(join(from, '..'), dir) === '') return undefined;
    dir = dirname(dir);
    // Step over scope folders and node_modules folders themselves.
    while (dir.endsWith('/node_modules') || /\/node_modules\/@[^/]+$/.test(dir)) dir = dirname(dir);
  }
}

const copied = new Set();
function visit(name, requesterDir, optional) {
  const pkgDir = resolvePackage(name, requesterDir);
  if (!pkgDir) {
    if (optional) return; // another platform's binary
    throw new Error(`runtime-closure: ${name} (needed from ${relative(from, requesterDir) || '.'}) is not installed`);
  }
  if (copied.has(pkgDir)) return;
  copied.add(pkgDir);
  const manifest = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8'));
  const target = join(to, relative(from, pkgDir));
  mkdirSync(target, { recursive: true });
  cpSync(pkgDir, target, {
    recursive: true,
    // Nested node_modules are copied package by package, only if reached.
    filter: (src) => relative(pkgDir, src).split('/')[0] !== 'node_modules',
  });
  for (const path of PRUNE[manifest.name] ?? []) rmSync(join(target, path), { recursive: true, force: true });
  const skip = new Set(BUILD_ONLY[manifest.name] ?? []);
  for (const dep of Object.keys(manifest.dependencies ?? {})) if (!skip.has(dep)) visit(dep, pkgDir, false);
  for (const dep of Object.keys(manifest.optionalDependencies ?? {})) if (!skip.has(dep)) visit(dep, pkgDir, true);
}

if (!statSync(from).isDirectory()) throw new Error(`runtime-closure: ${from} is not a folder`);
for (const name of definition.runtimeDependencies) visit(name, join(from, '..'), false);
console.log(`runtime-closure: ${handler}: ${copied.size} packages -> ${to}`);
