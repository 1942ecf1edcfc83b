/**
 * What Powertools would cost the handlers at cold init: bundles resize and publish twice with the
 * image's bundle options (containers/bundle.mjs), once as they are (our logger and EMF writer) and
 * once with @aws-lambda-powertools/logger and /metrics in their place (bench/fixtures/powertools),
 * then measures, alternating the two in each round:
 *   - the size of the entry file (what init loads) and of every file of the bundle;
 *   - `import()` of the entry in a fresh Node 22 process (the module's own load and init time);
 *   - cold init under aws-lambda-ric (process start -> first /next), as `npm run bench` measures it,
 *     against the no-dependency handler.
 *
 *   tsx bench/powertools-init.ts [--rounds N]   (default 20)
 *
 * Prints one JSON object (medians, min, max in ms; sizes in bytes).
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Plugin } from 'esbuild';
import { resolveNode22 } from '../src/local/cloud/lambda/node-runtime';
import { summarize } from './stats';
import { handlerInitEnv, measureStartUp, NOOP_DIR } from './system';

const ROOT = path.join(__dirname, '..');
const OUT = path.join(ROOT, 'bench', '.cache', 'powertools-init');
const HANDLERS = ['resize', 'publish'] as const;
const VARIANTS = ['ours', 'powertools'] as const;

/** Resolves the handlers' `../aws/logger` and `../aws/metrics` to the Powertools stand-ins. */
const powertoolsInstead: Plugin = {
  name: 'powertools-instead',
  setup(build) {
    build.onResolve({ filter: /^\.\.\/aws\/(logger|metrics)$/ }, (args) =>
      args.importer.includes(`${path.sep}src${path.sep}handlers${path.sep}`)
        ? { path: path.join(ROOT, 'bench', 'fixtures', 'powertools', `${path.basename(args.path)}.ts`) }
        : undefined,
    );
  },
};

/** Bytes of the entry and of all .mjs files of the bundle in `dir` (chunks are shared by both handlers). */
function sizes(dir: string): Record<string, number> {
  const files = readdirSync(dir).filter((f) => f.endsWith('.mjs'));
  const bytes = (f: string): number => statSync(path.join(dir, f)).size;
  return {
    ...Object.fromEntries(HANDLERS.map((h) => [`${h}Entry`, bytes(`${h}.mjs`)])),
    allFiles: files.reduce((n, f) => n + bytes(f), 0),
  };
}

/** ms for `import()` of `file` in a fresh Node 22 process, with the handlers' init environment. */
function importMs(node: string, file: string): number {
  const script =
    'const t=performance.now();await import(process.argv[1]);process.stdout.write(String(performance.now()-t))';
  const res = spawnSync(node, ['--input-type=module', '-e', script, pathToFileURL(file).href], {
    env: { PATH: process.env.PATH, ...handlerInitEnv() },
    encoding: 'utf8',
  });
  if (res.status !== 0) throw new Error(`import of ${file} failed: ${res.stderr}`);
  return Number(res.stdout);
}

async function main(): Promise<void> {
  const at = process.argv.indexOf('--rounds');
  const rounds = at > 0 ? Number(process.argv[at + 1]) : 20;
  // containers/bundle.mjs is an ES module of the build scripts, with no type declarations.
  const { bundleHandlers } = (await import(pathToFileURL(path.join(ROOT, 'containers', 'bundle.mjs')).href)) as {
    bundleHandlers: (handlers: readonly string[], outDir: string, plugins?: Plugin[]) => Promise<void>;
  };
  for (const variant of VARIANTS)
    await bundleHandlers(HANDLERS, path.join(OUT, variant), variant === 'powertools' ? [powertoolsInstead] : []);

  const node = resolveNode22();
  const imports: Record<string, number[]> = {};
  for (let round = 0; round < rounds; round += 1) {
    const order = round % 2 === 0 ? VARIANTS : [...VARIANTS].reverse();
    for (const variant of order)
      for (const h of HANDLERS)
        (imports[`${h}/${variant}`] ??= []).push(importMs(node, path.join(OUT, variant, `${h}.mjs`)));
  }

  const env = handlerInitEnv();
  const targets = [
    { name: 'noop', handler: 'noop.handler', taskRoot: NOOP_DIR },
    ...VARIANTS.flatMap((variant) =>
      HANDLERS.map((h) => ({
        name: `${h}/${variant}`,
        handler: `${h}.handler`,
        taskRoot: path.join(OUT, variant),
        env,
      })),
    ),
  ];
  await measureStartUp(targets, 1); // unmeasured: the first start after a build reads cold files
  const coldInit = await measureStartUp(targets, rounds);

  const result = {
    rounds,
    node: spawnSync(node, ['--version'], { encoding: 'utf8' }).stdout.trim(),
    sizes: Object.fromEntries(VARIANTS.map((v) => [v, sizes(path.join(OUT, v))])),
    importMs: Object.fromEntries(Object.entries(imports).map(([k, s]) => [k, summarize(s)])),
    coldInitMs: Object.fromEntries(Object.entries(coldInit).map(([k, s]) => [k, summarize(s)])),
  };
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 1;
});
