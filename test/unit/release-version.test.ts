/**
 * One semantic version for the repository, the construct package and the plain module's git tag:
 * package.json, packages/image-resize-chain/package.json and the latest release in CHANGELOG.md
 * (the modules' READMEs pin `?ref=v<version>` from package.json, and their staleness test follows it).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..');
const versionOf = (file: string): string =>
  (JSON.parse(readFileSync(join(ROOT, file), 'utf8')) as { version: string }).version;

test('the version is a semantic version', () => {
  expect(versionOf('package.json')).toMatch(/^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$/);
});

test('the construct package has the repository version', () => {
  expect(versionOf('packages/image-resize-chain/package.json')).toBe(versionOf('package.json'));
});

test('CHANGELOG.md has an entry for the version, as its latest release', () => {
  const releases = [...readFileSync(join(ROOT, 'CHANGELOG.md'), 'utf8').matchAll(/^## \[([^\]]+)\]/gm)]
    .map((m) => m[1])
    .filter((v) => v !== 'Unreleased');
  expect(releases[0]).toBe(versionOf('package.json'));
});
