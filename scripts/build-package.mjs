// Builds the installable construct package in packages/image-resize-chain/ (its `prepack`, so
// `npm pack ./packages/image-resize-chain` runs it):
//   lib/            the constructs (modules/index.ts and what it imports, src/core included) compiled
//                   to CommonJS with .d.ts (tsconfig.package.json)
//   image-context/  what the deploy's build-and-push step builds the handler images from: the files
//                   the image source hash covers (IMAGE_SOURCES), copied as they are, so the package
//                   builds the same images, under the same tags, as this repository
//   LICENSE, NOTICE, CHANGELOG.md
// The package has no dependencies: cdktf, constructs and @cdktf/provider-aws are peers, and the
// handlers' runtime packages (sharp, aws-lambda-ric) are installed inside the image, never beside the
// constructs.
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const packageDir = join(root, 'packages', 'image-resize-chain');
const require = createRequire(import.meta.url);

function compileConstructs() {
  rmSync(join(packageDir, 'lib'), { recursive: true, force: true });
  execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', join(root, 'tsconfig.package.json')], {
    stdio: 'inherit',
  });
}

/** Relative specifiers a compiled file loads: require("./x") in .js, from './x' and import("./x") in .d.ts. */
function relativeImports(file) {
  const text = readFileSync(file, 'utf8');
  const found = [...text.matchAll(/(?:require\(|from |import\()["'](\.{1,2}\/[^"']+)["']/g)].map((m) => m[1]);
  const ext = file.endsWith('.d.ts') ? '.d.ts' : '.js';
  return found.map((spec) => join(dirname(file), `${spec}${ext}`)).filter((f) => existsSync(f));
}

/**
 * Removes compiled files neither the entry's JavaScript nor its declarations reach. tsc emits every
 * file of the program, and a type-only import pulls in handler code (src/core/pipeline.ts, which
 * loads sharp) that the constructs never run.
 */
function pruneUnreachable(lib) {
  const reached = new Set();
  const visit = (file) => {
    if (reached.has(file)) return;
    reached.add(file);
    relativeImports(file).forEach(visit);
  };
  visit(join(lib, 'modules', 'index.js'));
  visit(join(lib, 'modules', 'index.d.ts'));
  for (const entry of readdirSync(lib, { recursive: true, withFileTypes: true })) {
    const file = join(entry.parentPath, entry.name);
    if (entry.isFile() && !reached.has(file)) rmSync(file);
  }
}

/** Copies the image sources into image-context/ and checks they hash as the repository's do. */
function copyImageContext() {
  const { IMAGE_SOURCES, PACKAGED_IMAGE_CONTEXT, hashImageSources, imageSourceFiles } = require(
    join(packageDir, 'lib', 'modules', 'source-hash.js'),
  );
  const context = join(packageDir, PACKAGED_IMAGE_CONTEXT);
  rmSync(context, { recursive: true, force: true });
  for (const file of imageSourceFiles(root, IMAGE_SOURCES)) {
    mkdirSync(dirname(join(context, file)), { recursive: true });
    copyFileSync(join(root, file), join(context, file));
  }
  if (hashImageSources(context) !== hashImageSources(root)) {
    throw new Error(`build-package: ${context} does not hash as the repository's image sources do`);
  }
}

compileConstructs();
copyImageContext();
pruneUnreachable(join(packageDir, 'lib'));
for (const file of ['LICENSE', 'NOTICE', 'CHANGELOG.md']) copyFileSync(join(root, file), join(packageDir, file));
