/**
 * Start-up budgets, measured alternately in one run (separate runs differ by noise on these
 * machines: docs/ARCHITECTURE.md, "Facts measured on the build machines"):
 *
 *   tsx bench/start-up.ts processes [--rounds N] [name=dir:handler ...]
 *     handler cold init under aws-lambda-ric on Node 22 (process start -> first /next):
 *     dist/handlers resize and publish against a no-dependency handler (bench/fixtures/noop).
 *   tsx bench/start-up.ts containers [--rounds N] [name=image:handler ...]
 *     container start (`docker run --read-only`) -> first /next of the resize and publish images
 *     against the no-dependency yardstick image on the same base (containers/baseline), built
 *     from the current sources by scripts/images.mjs when missing.
 *
 * Prints one JSON object: per target median, min, max (ms), ratio of medians to the yardstick, samples.
 */
import path from 'node:path';
import { handlerInitEnv, HANDLERS_DIR, measureStartUp, NOOP_DIR, type StartUpTarget } from './system';
import { summarize } from './stats';
import { ensureImages } from '../scripts/ensure-images';

function parseTargets(specs: string[], kind: 'processes' | 'containers'): StartUpTarget[] {
  return specs.map((spec) => {
    const m = /^([^=]+)=(.+):([^:]+)$/.exec(spec);
    if (!m)
      throw new Error(
        `bad target ${JSON.stringify(spec)}: want name=${kind === 'processes' ? 'dir' : 'image'}:handler`,
      );
    const [, name, where, handler] = m as unknown as [string, string, string, string];
    const env = handlerInitEnv();
    return kind === 'processes'
      ? { name, handler, taskRoot: path.resolve(where), env }
      : { name, handler, image: where, env };
  });
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const kind = argv[0];
  if (kind !== 'processes' && kind !== 'containers')
    throw new Error('usage: tsx bench/start-up.ts processes|containers [--rounds N] [name=where:handler ...]');
  const roundsAt = argv.indexOf('--rounds');
  const rounds = roundsAt > 0 ? Number(argv[roundsAt + 1]) : kind === 'processes' ? 15 : 9;
  const specs = argv.slice(1).filter((a, i, all) => a !== '--rounds' && all[i - 1] !== '--rounds');
  const env = handlerInitEnv();
  let targets: StartUpTarget[];
  if (specs.length > 0) targets = parseTargets(specs, kind);
  else if (kind === 'processes') {
    targets = [
      { name: 'noop', handler: 'noop.handler', taskRoot: NOOP_DIR },
      { name: 'resize', handler: 'resize.handler', taskRoot: HANDLERS_DIR, env },
      { name: 'publish', handler: 'publish.handler', taskRoot: HANDLERS_DIR, env },
    ];
  } else {
    const { images } = ensureImages(['baseline', 'resize', 'publish'], { showLog: true });
    targets = [
      { name: 'baseline', handler: 'baseline.handler', image: images.baseline },
      { name: 'resize', handler: 'resize.handler', image: images.resize, env },
      { name: 'publish', handler: 'publish.handler', image: images.publish, env },
    ];
  }
  // One unmeasured start of each first: the first docker run / file read after a build is slower.
  await measureStartUp(targets, 1);
  const samples = await measureStartUp(targets, rounds);
  const yardstick = summarize(samples[targets[0].name]).median;
  const result = Object.fromEntries(
    targets.map((t) => {
      const s = summarize(samples[t.name]);
      return [
        t.name,
        {
          median: s.median,
          min: s.min,
          max: s.max,
          ratio: Number((s.median / yardstick).toFixed(2)),
          samples: samples[t.name],
        },
      ];
    }),
  );
  process.stdout.write(`${JSON.stringify({ kind, rounds, yardstick: targets[0].name, result }, null, 1)}\n`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
