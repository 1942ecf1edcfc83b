import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Testing } from 'cdktf';
import { ImageResizeChainStack } from '../../modules/example-stacks';
import { PACKAGED_IMAGE_CONTEXT, findImageBuildContext, hashImageSources } from '../../modules/source-hash';
import { isPipelineError } from '../../src/core/errors';
import { TfJson } from './synth';

const ROOT = resolve(__dirname, '..', '..');

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

describe('findImageBuildContext', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'irc-context-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  test("in a checkout: the repository root (the Dockerfile beside package-lock.json), from the constructs' folder", () => {
    expect(findImageBuildContext(join(ROOT, 'modules'))).toBe(ROOT);
  });

  test('in an installed package: its image-context/, from lib/modules', () => {
    const pkg = join(dir, 'node_modules', 'image-resize-chain');
    mkdirSync(join(pkg, 'lib', 'modules'), { recursive: true });
    mkdirSync(join(pkg, PACKAGED_IMAGE_CONTEXT), { recursive: true });
    writeFileSync(join(pkg, PACKAGED_IMAGE_CONTEXT, 'Dockerfile'), 'FROM node:22\n');
    writeFileSync(join(pkg, PACKAGED_IMAGE_CONTEXT, 'package-lock.json'), '{}');
    expect(findImageBuildContext(join(pkg, 'lib', 'modules'))).toBe(join(pkg, PACKAGED_IMAGE_CONTEXT));
  });

  test('nowhere: a coded error naming the prop to set', () => {
    let caught: unknown;
    try {
      findImageBuildContext(dir);
    } catch (err) {
      caught = err;
    }
    expect(
      isPipelineError(caught) && caught.code === 'INVALID_CONFIG' && caught.message.includes('imageBuild.projectRoot'),
    ).toBe(true);
  });
});

test(
  'the build step runs in the build context, ' +
    "relative to the stack's own Terraform working directory wherever the app's outdir is",
  () => {
    const app = Testing.app();
    const stack = new ImageResizeChainStack(app, 'ctx', {});
    const doc = JSON.parse(Testing.synth(stack)) as TfJson;
    const steps = Object.values(doc.resource?.terraform_data ?? {}) as {
      provisioner: { 'local-exec': { working_dir: string } }[];
    }[];
    expect(steps).toHaveLength(2);
    for (const step of steps) {
      const workingDir = step.provisioner[0]['local-exec'].working_dir.replace('${path.module}/', '');
      expect(resolve(app.outdir, 'stacks', 'ctx', workingDir)).toBe(ROOT);
    }
  },
);
