// deploy-local's working copy: the example's files, with relative module sources made absolute
// (the copy lives elsewhere), and the repository root found from a folder inside it.
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { EXAMPLES, copyExample, findRepositoryRoot } from '../../src/cli/commands/deploy-local';

const ROOT = resolve(__dirname, '..', '..');

describe('deploy-local working copy', () => {
  let work: string;
  beforeEach(() => {
    work = mkdtempSync(join(tmpdir(), 'irc-copy-'));
  });
  afterEach(() => rmSync(work, { recursive: true, force: true }));

  it('points examples/terraform at the repository module by an absolute path', () => {
    copyExample(ROOT, EXAMPLES.terraform, work);
    expect(readdirSync(work)).toEqual(['main.tf']);
    const text = readFileSync(join(work, 'main.tf'), 'utf8');
    expect(text).toContain(`source = "${join(ROOT, 'modules', 'terraform', 'image-resize-chain')}"`);
    expect(text).not.toContain('source = "../');
    // Everything else is the example as written.
    const original = readFileSync(join(ROOT, 'examples', 'terraform', 'main.tf'), 'utf8');
    expect(text.replace(/source = "[^"]*"/g, '')).toBe(original.replace(/source = "[^"]*"/g, ''));
  });

  it('copies an example without module sources unchanged', () => {
    copyExample(ROOT, EXAMPLES.notifications, work);
    expect(readFileSync(join(work, 'main.tf'), 'utf8')).toBe(
      readFileSync(join(ROOT, 'examples', 'terraform-notifications', 'main.tf'), 'utf8'),
    );
  });

  it('finds the repository root from a folder inside it, and refuses a folder outside any checkout', () => {
    expect(findRepositoryRoot([join(ROOT, 'src', 'cli')])).toBe(ROOT);
    expect(() => findRepositoryRoot([work])).toThrow(/run it from a checkout of image-resize-chain/);
  });
});
