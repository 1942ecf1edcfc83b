/**
 * The plain module as another project sources it, from fresh directories outside the repository:
 * examples/terraform/main.tf copied into a new root whose `source` is (1) a local path to this
 * checkout's modules/terraform/image-resize-chain, (2) a git source pinned to the release tag, as
 * the module's README shows it (`git::<url>//modules/terraform/image-resize-chain?ref=v<version>`),
 * against a git repository holding what a checkout of this one holds (the tracked files). Each root
 * must `terraform init`, `validate` and `plan` offline and plan the module's resources.
 * These are the commands of the README's "Use it in your own project".
 *
 * Needs terraform with the provider mirror and git; without them the suite skips loudly, under
 * CI=true it fails.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { PLAIN_MODULE_DIR } from '../../scripts/synth-module';
import { describeWhen } from '../helpers/requires';
import { MODULE_IMAGE_VARS, TfJson, countedResourceAddresses, resourceAddresses } from './synth';
import { findOfflineTerraform, runTerraform, writeMockCredentials, offlineWorkDir } from './terraform-cli';

const ROOT = resolve(__dirname, '..', '..');
const MODULE_PATH = relative(ROOT, PLAIN_MODULE_DIR);
const EXAMPLE_SOURCE = `source = "../../${MODULE_PATH}"`;
const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;

const terraform = findOfflineTerraform();
const git = spawnSync('git', ['ls-files', '--error-unmatch', MODULE_PATH], { cwd: ROOT, encoding: 'utf8' });
const missing =
  terraform.missing ??
  (git.status === 0
    ? undefined
    : `git and a git checkout of the repository: ${git.error?.message ?? git.stderr.trim()}`);

/** examples/terraform/main.tf with its module `source` replaced by `source`. */
function exampleWithSource(source: string): string {
  const example = readFileSync(join(ROOT, 'examples', 'terraform', 'main.tf'), 'utf8');
  if (example.split(EXAMPLE_SOURCE).length !== 2)
    throw new Error(`examples/terraform/main.tf has no single line ${EXAMPLE_SOURCE}`);
  return example.replace(EXAMPLE_SOURCE, `source = ${JSON.stringify(source)}`);
}

/**
 * A git repository at `dir` holding what a clone of this one would hold under modules/terraform (the
 * tracked files, as they are in the working tree), tagged `v<version>`.
 */
function gitCheckoutOfModules(dir: string): void {
  const tracked = execFileSync('git', ['ls-files', '-z', 'modules/terraform'], { cwd: ROOT, encoding: 'utf8' })
    .split('\0')
    .filter(Boolean);
  for (const file of tracked) {
    mkdirSync(dirname(join(dir, file)), { recursive: true });
    copyFileSync(join(ROOT, file), join(dir, file));
  }
  const g = (args: string[]): string =>
    execFileSync(
      'git',
      ['-c', 'user.name=test', '-c', 'user.email=test@example.com', '-c', 'commit.gpgsign=false', ...args],
      { cwd: dir, encoding: 'utf8' },
    );
  g(['init', '-q']);
  g(['add', '-A']);
  g(['commit', '-q', '-m', 'release']);
  g(['tag', `v${VERSION}`]);
}

describeWhen(missing, 'the plain module sourced from a fresh Terraform root (by path, and by git tag)', () => {
  let work: string;
  let cli: string;
  const module = JSON.parse(readFileSync(join(PLAIN_MODULE_DIR, 'main.tf.json'), 'utf8')) as TfJson;

  /** init, validate, plan in `root`; returns the planned resource addresses inside the module. */
  function planRoot(root: string): string[] {
    writeMockCredentials(root);
    for (const args of [
      ['init', '-input=false', '-no-color'],
      ['validate', '-no-color'],
      ['plan', '-input=false', '-no-color', '-out=tfplan', ...MODULE_IMAGE_VARS],
    ]) {
      const res = runTerraform(terraform.bin!, cli, root, args);
      if (res.code !== 0)
        throw new Error(`terraform ${args[0]} in ${root} failed (${res.code}):\n${res.stdout}\n${res.stderr}`);
    }
    const plan = JSON.parse(runTerraform(terraform.bin!, cli, root, ['show', '-json', 'tfplan']).stdout) as {
      resource_changes: { address: string }[];
    };
    const prefix = 'module.image_resize_chain.';
    return plan.resource_changes
      .filter((c) => c.address.startsWith(prefix))
      .map((c) => c.address.slice(prefix.length).replace(/\[\d+\]$/, ''));
  }

  /** The module's resources that every plan has: all but those whose `count` the variables choose. */
  function expectModuleResources(planned: string[]): void {
    const counted = new Set(countedResourceAddresses(module));
    const always = resourceAddresses(module).filter((a) => !counted.has(a));
    expect(planned.filter((a) => !a.startsWith('data.')).sort()).toEqual(expect.arrayContaining(always.sort()));
    expect(planned.filter((a) => !a.startsWith('data.') && !always.includes(a) && !counted.has(a))).toEqual([]);
  }

  beforeAll(() => {
    ({ work, cli } = offlineWorkDir('irc-tf-consumer-', terraform.mirror!));
  });

  afterAll(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  test('a root sourcing the module by a local path plans it offline', () => {
    const root = join(work, 'by-path');
    mkdirSync(root);
    writeFileSync(join(root, 'main.tf'), exampleWithSource(relative(root, PLAIN_MODULE_DIR)));
    expectModuleResources(planRoot(root));
  }, 240000);

  test(
    'a root sourcing the module from git at the release tag ' +
      '(git::…//modules/terraform/image-resize-chain?ref=v<version>) plans it offline',
    () => {
      const repo = join(work, 'image-resize-chain');
      gitCheckoutOfModules(repo);
      const root = join(work, 'by-git');
      mkdirSync(root);
      writeFileSync(join(root, 'main.tf'), exampleWithSource(`git::file://${repo}//${MODULE_PATH}?ref=v${VERSION}`));
      expectModuleResources(planRoot(root));
      // Terraform fetched the module with git, at the tag.
      const modules = JSON.parse(readFileSync(join(root, '.terraform', 'modules', 'modules.json'), 'utf8')) as {
        Modules: { Key: string; Source: string }[];
      };
      expect(modules.Modules.find((m) => m.Key === 'image_resize_chain')?.Source).toBe(
        `git::file://${repo}//${MODULE_PATH}?ref=v${VERSION}`,
      );
    },
    240000,
  );
});
