import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hashImageSources } from '../../modules/source-hash';

describe('hashImageSources', () => {
  let root: string;
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'irc-hash-'));
    mkdirSync(join(root, 'src', 'core'), { recursive: true });
    writeFileSync(join(root, 'Dockerfile'), 'FROM node:22\n');
    writeFileSync(join(root, 'src', 'core', 'a.ts'), 'export const a = 1;\n');
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  test('is stable, and changes when a source file changes, appears or is renamed', () => {
    const first = hashImageSources(root);
    expect(hashImageSources(root)).toBe(first);
    writeFileSync(join(root, 'src', 'core', 'a.ts'), 'export const a = 2;\n');
    const edited = hashImageSources(root);
    expect(edited).not.toBe(first);
    writeFileSync(join(root, 'package-lock.json'), '{}');
    expect(hashImageSources(root)).not.toBe(edited);
  });

  test('covers tsconfig.json (the bundle stage compiles with it)', () => {
    const before = hashImageSources(root);
    writeFileSync(join(root, 'tsconfig.json'), '{"compilerOptions":{"target":"es2023"}}');
    expect(hashImageSources(root)).not.toBe(before);
  });

  test('ignores node_modules and files outside the image sources', () => {
    const before = hashImageSources(root);
    mkdirSync(join(root, 'src', 'node_modules'), { recursive: true });
    writeFileSync(join(root, 'src', 'node_modules', 'x.js'), 'x');
    writeFileSync(join(root, 'README.md'), 'docs');
    expect(hashImageSources(root)).toBe(before);
  });
});
