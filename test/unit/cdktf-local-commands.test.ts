/**
 * The cdktf commands the README shows for deploying main.ts to the local cloud are the ones
 * deploy-local and test/integration/deploy-cdktf.test.ts run (src/local/cdktf-cli.ts), less the
 * flags that only place files (--output, --outputs-file) or strip colours (--no-color).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { cdktfDeployArgs, cdktfDestroyArgs, cdktfDiffArgs, cdktfLocalEnv } from '../../src/local/cdktf-cli';

const README = readFileSync(join(__dirname, '..', '..', 'README.md'), 'utf8');

/** `npx cdktf …` as a user types it: the arguments without the ones placing files or colours. */
function asTyped(args: string[]): string {
  const shown: string[] = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--output' || args[i] === '--outputs-file') i++;
    else if (args[i] !== '--no-color') shown.push(args[i]);
  }
  return `npx cdktf ${shown.join(' ')}`;
}

test.each([
  ['deploy', cdktfDeployArgs('out', 'outputs.json')],
  ['diff', cdktfDiffArgs('out')],
  ['destroy', cdktfDestroyArgs('out')],
])('the README shows cdktf %s exactly as it is run', (_verb, args) => {
  expect(README.split('\n').filter((line) => line.startsWith(asTyped(args)))).toHaveLength(1);
});

test('the README exports every variable main.ts is given', () => {
  const env = cdktfLocalEnv({ endpoint: 'http://127.0.0.1:4566', resizeImage: 'r', publishImage: 'p' });
  for (const name of Object.keys(env).filter((n) => n !== 'CI'))
    expect(README).toMatch(new RegExp(`export .*${name}=`));
  expect(README).toContain('export TF_CLI_CONFIG_FILE=');
});
