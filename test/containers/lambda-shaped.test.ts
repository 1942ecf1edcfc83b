// The Lambda-shaped bench (bench/lambda-shaped.ts) on one source, one round: the resize image under
// Lambda's memory and CPU, invoked through the Runtime API against a local chain with IAM enforced,
// must measure every invocation: a run whose invocations all failed (IAM refused the function's reads of
// sources outside uploads/) once wrote a table of dashes and exited 0; such a run now exits 1 and writes nothing.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { LambdaShapedDoc } from '../../src/tools/lambda-shaped';
import { describeWhen } from '../helpers/requires';
import { ensureImages, missingDocker } from './docker';

const ROOT = resolve(__dirname, '..', '..');
const TSX = join(ROOT, 'node_modules', '.bin', 'tsx');

/** Runs the bench script with `args`; its exit status and output. */
function lambdaShaped(args: string[]): { status: number | null; output: string } {
  const run = spawnSync(TSX, [join(ROOT, 'bench', 'lambda-shaped.ts'), ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 10 * 60_000,
  });
  return { status: run.status, output: `${run.stdout}${run.stderr}` };
}

describeWhen(missingDocker(), 'the Lambda-shaped bench, one source, one round', () => {
  const dir = mkdtempSync(join(tmpdir(), 'irc-lambda-shaped-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it(
    'measures every invocation at both sizes, with no failure',
    () => {
      const image = ensureImages(['resize']).images.resize;
      const json = join(dir, 'lambda-shaped.json');
      const { status, output } = lambdaShaped([
        ...['--image', image, '--inputs', '2mp-png-alpha', '--rounds', '1'],
        ...['--arm64-image', 'image-resize-chain/not-built:none', '--out', join(dir, 'results.md'), '--json', json],
      ]);
      expect({ status, tail: status === 0 ? '' : output.slice(-3000) }).toEqual({ status: 0, tail: '' });
      const doc = JSON.parse(readFileSync(json, 'utf8')) as LambdaShapedDoc;
      expect(doc.rows.map((row) => [row.input, row.memoryMb, row.samples, row.failures])).toEqual([
        ['2mp-png-alpha', 1024, 1, 0],
        ['2mp-png-alpha', 2048, 1, 0],
      ]);
      for (const row of doc.rows) expect(row.p50Ms).toBeGreaterThan(0);
      expect(readFileSync(join(dir, 'results.md'), 'utf8')).toContain('| 2mp-png-alpha | 2048 |');
    },
    15 * 60_000,
  );
});
