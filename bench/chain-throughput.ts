/**
 * Re-measures only the handler and chain figures of a bench run (warm invocation, chain throughput against the core,
 * where the chain's time goes) and renders the report again from the run's other figures.
 *
 *   tsx bench/chain-throughput.ts [--bench bench/results.json]
 *
 * For when the chain changed after a full `npm run bench` (the timing tables of the run stay as they were; the
 * report says when the run was made). Needs the handler bundles (npm run build).
 */
import { promises as fs, readFileSync } from 'node:fs';
import path from 'node:path';
import { BENCH_INPUTS, prepareInputs } from './inputs';
import { renderMarkdown, type BenchResults } from './report';
import { scaleModelSection } from './scale-model';
import { carrySections, withSection } from './sections';
import { measureChain } from './system';

async function main(): Promise<void> {
  const at = process.argv.indexOf('--bench');
  const file = path.resolve(at === -1 ? path.join(__dirname, 'results.json') : process.argv[at + 1]);
  const report = JSON.parse(readFileSync(file, 'utf8')) as BenchResults;
  const jpeg = BENCH_INPUTS.find((i) => i.id === '12mp-jpeg')!;
  const image = readFileSync((await prepareInputs([jpeg], path.join(__dirname, '.cache', 'inputs'))).get(jpeg.id)!);
  process.stderr.write('[chain] warm invocations and local chain throughput\n');
  report.chain = await measureChain(image, report.quick ? 2 : 5, report.quick ? 4 : 12);
  report.chainMeasuredAt = new Date().toISOString();
  await fs.writeFile(file, `${JSON.stringify(report, null, 2)}\n`);
  const mdFile = file.replace(/\.json$/, '') + '.md';
  const previous = await fs.readFile(mdFile, 'utf8').catch(() => '');
  const markdown = withSection(carrySections(previous, renderMarkdown(report)), 'scale-model', scaleModelSection(file));
  await fs.writeFile(mdFile, markdown);
  process.stderr.write(`[chain] wrote ${file} and ${mdFile}\n`);
}

if (require.main === module) {
  main().catch((err: unknown) => {
    process.stderr.write(`[chain] failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  });
}
