// Writes the package.json (and a copy of the root lockfile) for one install step of the Dockerfile's
// build stage: `node npm-manifest.mjs runtime|bundle <dir>`. Only the packages that step needs are
// listed, at the root package.json's versions; npm then takes every transitive version from the
// lockfile, so images get the same dependency tree as the repository without its 900 MB of tooling.
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const [kind, outDir] = process.argv.slice(2);
if (!['runtime', 'bundle'].includes(kind) || !outDir) {
  console.error('usage: node containers/npm-manifest.mjs runtime|bundle <dir>');
  process.exit(2);
}

const rootManifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const build = JSON.parse(readFileSync(join(here, 'build.json'), 'utf8'));
const wanted = kind === 'runtime' ? build.runtimeDependencies : build.bundleDependencies;
const versions = {
  ...rootManifest.devDependencies,
  ...rootManifest.optionalDependencies,
  ...rootManifest.dependencies,
};

const dependencies = {};
for (const name of wanted) {
  if (!versions[name]) {
    console.error(
      `npm-manifest: ${name} (containers/build.json ${kind}Dependencies) is not a dependency in package.json`,
    );
    process.exit(2);
  }
  dependencies[name] = versions[name];
}

mkdirSync(outDir, { recursive: true });
const manifest = { name: `${rootManifest.name}-${kind}`, version: rootManifest.version, private: true, dependencies };
// npm 11 runs install scripts only for approved packages; keep the repository's approvals.
if (rootManifest.allowScripts) manifest.allowScripts = rootManifest.allowScripts;
writeFileSync(join(outDir, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
copyFileSync(join(root, 'package-lock.json'), join(outDir, 'package-lock.json'));
