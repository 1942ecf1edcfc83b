/**
 * A content hash of everything an image is built from, computed at synth time. It keys the
 * build-and-push step and the image tag, so images are rebuilt exactly when their sources change.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';
import { configError } from '../src/core/errors';

/**
 * What the container images are built from, relative to the project root. Missing entries are
 * hashed as absent, so adding one changes the hash too.
 */
export const IMAGE_SOURCES = [
  'Dockerfile',
  '.dockerignore',
  'containers',
  'src',
  'package.json',
  'package-lock.json',
  'tsconfig.json',
  'scripts/build.mjs',
] as const;

const SKIPPED_DIRS = new Set(['node_modules', '.git', 'dist', 'cdktf.out', '.terraform']);

function listFiles(root: string, entry: string): string[] {
  const full = join(root, entry);
  if (!existsSync(full)) return [];
  if (!statSync(full).isDirectory()) return [entry];
  return readdirSync(full)
    .filter((name) => !SKIPPED_DIRS.has(name))
    .flatMap((name) => listFiles(root, join(entry, name)));
}

/** Every file under `root` that the images are built from (`sources`), relative with '/' separators, sorted. */
export function imageSourceFiles(root: string, sources: readonly string[] = IMAGE_SOURCES): string[] {
  return sources.flatMap((entry) => listFiles(root, entry).map((file) => file.split(sep).join('/'))).sort();
}

/**
 * The folder of the installed construct package that holds the image build context: npm leaves a
 * package's root `package-lock.json` out of the tarball, and the Dockerfile installs from it.
 */
export const PACKAGED_IMAGE_CONTEXT = 'image-context';

/** Whether `dir` holds what the Dockerfile builds from (the Dockerfile and the lockfile it installs from). */
function isImageContext(dir: string): boolean {
  return existsSync(join(dir, 'Dockerfile')) && existsSync(join(dir, 'package-lock.json'));
}

/**
 * The folder the handler images are built from, found from where this code lives, so it is right
 * wherever the constructs are installed: in a checkout of the repository its root; in the installed
 * construct package (node_modules/image-resize-chain) its `image-context/`.
 * @param from where the search starts, walking up @default this file's folder
 */
export function findImageBuildContext(from: string = __dirname): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (isImageContext(dir)) return dir;
    if (isImageContext(join(dir, PACKAGED_IMAGE_CONTEXT))) return join(dir, PACKAGED_IMAGE_CONTEXT);
    if (dirname(dir) === dir) {
      throw configError(
        'imageBuild.projectRoot',
        `no image build context (a Dockerfile beside package-lock.json, ` +
          `or ${PACKAGED_IMAGE_CONTEXT}/) above ${from}; pass imageBuild.projectRoot, or images`,
      );
    }
  }
}

/**
 * SHA-256 (hex) over the relative path and bytes of every file under `sources`, in sorted order,
 * so the hash is the same on every machine and checkout location.
 * @param root the project root (holds the Dockerfile)
 * @param sources @default IMAGE_SOURCES
 */
export function hashImageSources(root: string, sources: readonly string[] = IMAGE_SOURCES): string {
  const hash = createHash('sha256');
  for (const entry of [...sources].sort()) {
    const files = listFiles(root, entry);
    if (files.length === 0) hash.update(`absent:${entry}\0`);
    for (const file of files.sort()) {
      hash.update(`file:${relative(root, join(root, file)).split(sep).join('/')}\0`);
      hash.update(readFileSync(join(root, file)));
      hash.update('\0');
    }
  }
  return hash.digest('hex');
}
