/**
 * The plain module's resource addresses are its users' state: a refactor of the constructs that
 * renames one (a construct id, an overrideLogicalId) makes `terraform apply` destroy that resource
 * and create a new one, a bucket with its objects included. The synthesized modules are held to the
 * committed list test/module/resource-addresses.txt; a rename passes only with a `moved` block.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PLAIN_MODULE_FILES, renderPlainModules } from '../../scripts/synth-module';
import { TfJson, resourceAddresses } from './synth';

const LIST = join(__dirname, 'resource-addresses.txt');

/** The committed list: `<file> <type>.<name>` lines (comments start with '#'). */
function committedAddresses(): string[] {
  return readFileSync(LIST, 'utf8')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
}

type ModuleDocs = Readonly<Record<string, TfJson>>;

/** `<file> <type>.<name>` of every managed resource of `docs`. */
function declaredAddresses(docs: ModuleDocs): string[] {
  return Object.entries(docs).flatMap(([file, doc]) => resourceAddresses(doc).map((address) => `${file} ${address}`));
}

/** Where each file's `moved` blocks send an old address. */
function movedTargets(docs: ModuleDocs): Map<string, string> {
  const moves = new Map<string, string>();
  for (const [file, doc] of Object.entries(docs)) {
    for (const m of (doc.moved as { from: string; to: string }[] | undefined) ?? [])
      moves.set(`${file} ${m.from}`, `${file} ${m.to}`);
  }
  return moves;
}

/**
 * Listed addresses that are gone without a `moved` block to a declared one (Terraform would replace
 * them), and declared addresses the list does not have yet.
 */
function addressChanges(listed: readonly string[], docs: ModuleDocs): { replaced: string[]; unlisted: string[] } {
  const declared = new Set(declaredAddresses(docs));
  const moves = movedTargets(docs);
  const replaced = listed.filter((a) => !declared.has(a) && !declared.has(moves.get(a) ?? ''));
  const known = new Set([...listed, ...listed.map((a) => moves.get(a)).filter((a): a is string => a !== undefined)]);
  const unlisted = [...declared].filter((a) => !known.has(a));
  return { replaced, unlisted };
}

const rendered = renderPlainModules();
const docs: ModuleDocs = Object.fromEntries(
  Object.keys(PLAIN_MODULE_FILES).map((file) => [file, JSON.parse(rendered[file]) as TfJson]),
);

test(
  'every committed resource address of the plain module is ' +
    'still declared (no resource would be destroyed and recreated)',
  () => {
    const { replaced } = addressChanges(committedAddresses(), docs);
    if (replaced.length) {
      throw new Error(
        `Terraform would destroy and recreate:\n  ${replaced.join('\n  ')}\nKeep the address (construct id / ` +
          `overrideLogicalId) or add a moved block; a replacement on purpose is a breaking change: ` +
          `remove the line from ${LIST} and say it in CHANGELOG.md.`,
      );
    }
  },
);

test('every declared resource is on the committed list, so a later rename of it is caught', () => {
  const { unlisted } = addressChanges(committedAddresses(), docs);
  if (unlisted.length) throw new Error(`new resources: add these lines to ${LIST}:\n${unlisted.join('\n')}`);
});

describe('addressChanges', () => {
  const bucket = (name: string): TfJson => ({ resource: { aws_s3_bucket: { [name]: {} } } });

  test('a renamed resource is reported as replaced, and its new name as unlisted', () => {
    expect(
      addressChanges(['main.tf.json aws_s3_bucket.chain_source_bucket'], {
        'main.tf.json': bucket('chain_source_bucket_2'),
      }),
    ).toEqual({
      replaced: ['main.tf.json aws_s3_bucket.chain_source_bucket'],
      unlisted: ['main.tf.json aws_s3_bucket.chain_source_bucket_2'],
    });
  });

  test('a rename with a moved block is neither', () => {
    const doc = {
      ...bucket('chain_source_bucket_2'),
      moved: [{ from: 'aws_s3_bucket.chain_source_bucket', to: 'aws_s3_bucket.chain_source_bucket_2' }],
    };
    expect(addressChanges(['main.tf.json aws_s3_bucket.chain_source_bucket'], { 'main.tf.json': doc })).toEqual({
      replaced: [],
      unlisted: [],
    });
  });
});
