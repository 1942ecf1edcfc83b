/**
 * A content hash of everything an image is built from, computed at synth time. It keys the
 * build-and-push step and the image tag, so images are rebuilt exactly when their sources change.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';

/**
 * What the container images are built from, relative to the project root. Missing entries are
 * hashed as absent, so adding one changes the hash too.
 */
export const IMAGE_SOURCES = ['Dockerfile', '.dockerignore', 'containers', 'src', 'package.json', 'package-lock.json', 'tsconfig.json', 'scripts/build.mjs'] as const;

const SKIPPED_DIRS = new Set(['node_modules', '.git', 'dist', 'cdktf.out', '.terraform']);

function listFiles(root: string, entry: string): string[] {
  const full = join(root, entry);
  if (!existsSync(full)) return [];
  if (!statSync(full).isDirectory()) return [entry];
  return readdirSync(full)
    .filter((name) => !SKIPPED_DIRS.has(name))
    .flatMap((name) => listFiles(root, join(entry, name)));
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
