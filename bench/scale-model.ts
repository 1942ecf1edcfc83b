/**
 * The report's scale model: what the module's defaults sustain on AWS, from the per-image figures
 * in bench/results.json (whatever machine measured them: the section says which), the module's
 * own defaults (STAGE_DEFAULTS) and `resize-chain cost`'s arithmetic and price table.
 *
 *   tsx bench/scale-model.ts [--bench bench/results.json] [--out bench/results.md]
 *
 * Writes the `scale-model` section of the report (bench/sections.ts) and prints it.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { STAGE_DEFAULTS } from '../modules/image-resize-chain';
import {
  buildCostReport,
  COST_DEFAULTS,
  DEFAULT_BENCH_FIGURES,
  DEFAULT_BENCH_INPUT,
  loadBenchFigures,
  loadLambdaShaped,
  resizeDurationFor,
  type BenchFigures,
} from '../src/cli/commands/cost';
import { AWS_QUOTAS, concurrencyFor, scaleModel, type ScaleInputs, type ScaleResult } from '../src/tools/scale';
import { writeSection } from './sections';

const BURST = 100_000;
const FACTOR = 10;

function arg(flag: string, fallback: string): string {
  const at = process.argv.indexOf(flag);
  return at === -1 ? fallback : path.resolve(process.argv[at + 1]);
}

const fmt = (n: number, digits = 1) =>
  n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
const duration = (s: number) => (s >= 3600 ? `${fmt(s / 3600, 2)} h` : s >= 60 ? `${fmt(s / 60)} min` : `${fmt(s)} s`);

function checksTable(result: ScaleResult): string[] {
  return [
    '| quota | needed | documented limit | fits |',
    '|---|---:|---:|---|',
    ...result.checks.map(
      (c) =>
        `| ${c.quota} | ${c.needed.toLocaleString('en-US')} ` +
        `| ${c.limit.toLocaleString('en-US')} | ${c.ok ? 'yes' : '**no**'} |`,
    ),
  ];
}

/**
 * The `scale-model` section of the report, from the figures in `benchFile` (the built-in defaults when it lacks them).
 */
export function scaleModelSection(benchFile: string): string {
  // A quick or partial run lacks the chain figures: the model then uses the cost command's built-in ones (said in the
  // text).
  let figures: BenchFigures;
  try {
    figures = loadBenchFigures(benchFile, DEFAULT_BENCH_INPUT);
  } catch {
    figures = DEFAULT_BENCH_FIGURES;
  }
  const memoryMb = STAGE_DEFAULTS.resize.memorySize;
  // The Lambda-shaped run beside the bench file, when there is one: its measured duration wins over the estimate.
  const shapedFile = path.join(path.dirname(benchFile), 'lambda-shaped.json');
  const shaped = existsSync(shapedFile) ? loadLambdaShaped(shapedFile) : undefined;
  const billed = resizeDurationFor(figures, shaped, DEFAULT_BENCH_INPUT, memoryMb);
  const inputs: ScaleInputs = {
    resizeMsPerImage: billed.msPerImage,
    publishMsPerBatch: COST_DEFAULTS.publishMs,
    resize: {
      maximumConcurrency: STAGE_DEFAULTS.resize.maximumConcurrency,
      batchSize: STAGE_DEFAULTS.resize.batchSize,
    },
    publish: {
      maximumConcurrency: STAGE_DEFAULTS.publish.maximumConcurrency,
      batchSize: STAGE_DEFAULTS.publish.batchSize,
    },
    burst: BURST,
  };
  const now = scaleModel(inputs);
  const tenfold = concurrencyFor(FACTOR, inputs);
  const scaled = scaleModel({
    ...inputs,
    resize: { ...inputs.resize, maximumConcurrency: tenfold.resize },
    publish: { ...inputs.publish, maximumConcurrency: tenfold.publish },
  });
  const perMillion = buildCostReport({
    imagesPerMonth: '1000000',
    bench: figures.provenance.startsWith('DEFAULT') ? undefined : benchFile,
    lambdaShaped: shaped ? shapedFile : undefined,
    memory: String(memoryMb),
  });
  return [
    "## Scale on paper (the module's defaults on AWS)",
    '',
    `Modelled by bench/scale-model.ts (src/tools/scale.ts, unit-tested in test/unit/scale-model.test.ts), ` +
      `not measured on AWS. Resize duration at ${memoryMb} MB, as \`resize-chain cost\` takes it: ` +
      `**${fmt(inputs.resizeMsPerImage)} ms billed per image**, ${billed.provenance}. ` +
      `Publish: ${COST_DEFAULTS.publishMs} ms per batch (assumed, as in \`resize-chain cost\`). ` +
      'Retries, cold starts during the ramp and S3 request rates are not modelled.',
    '',
    `| module default | resize | publish |`,
    '|---|---:|---:|',
    `| memory (MB) | ${STAGE_DEFAULTS.resize.memorySize} | ${STAGE_DEFAULTS.publish.memorySize} |`,
    `| batch size | ${STAGE_DEFAULTS.resize.batchSize} | ${STAGE_DEFAULTS.publish.batchSize} |`,
    `| mapping maximum concurrency | ${STAGE_DEFAULTS.resize.maximumConcurrency} ` +
      `| ${STAGE_DEFAULTS.publish.maximumConcurrency} |`,
    `| images/s at that concurrency | ${fmt(now.resizeImagesPerSecond)} | ${fmt(now.publishImagesPerSecond)} |`,
    '',
    `- **Sustained: ${fmt(now.imagesPerSecond)} images/s** ` +
      `(${fmt(now.imagesPerSecond * 3600, 0)} per hour), bound by ${now.bottleneck}.`,
    `- **Burst of ${BURST.toLocaleString('en-US')} uploads:** the mapping reaches its maximum ` +
      `in ${duration(now.rampSeconds)}; the last upload is taken after **${duration(now.drainSeconds)}** ` +
      `(its queue age then; compare with the module's ` +
      `\`oldestMessageAgeAlarmSeconds\` and \`messageRetentionSeconds\`).`,
    `- **Cost per million images** (\`resize-chain cost --images-per-month 1000000 ` +
      `--memory ${memoryMb}\`, us-east-1, x86_64): **$${fmt(perMillion.report.totalUsd, 2)}** ` +
      `(Lambda $${fmt(perMillion.report.byService.lambda, 2)}, SQS $${fmt(perMillion.report.byService.sqs, 2)}, ` +
      `S3 $${fmt(perMillion.report.byService.s3, 2)}; prices from src/tools/prices.ts).`,
    '',
    ...checksTable(now),
    '',
    `### ${FACTOR}× (${fmt(tenfold.targetImagesPerSecond)} images/s)`,
    '',
    `Set \`resize.maximumConcurrency: ${tenfold.resize}\` and \`publish.maximumConcurrency: ${tenfold.publish}\` ` +
      `(memory and batch size unchanged; more memory buys vCPU, i.e. fewer ms per image, at the same GB-s). ` +
      `The burst then drains in ${duration(scaled.drainSeconds)} (ramp ${duration(scaled.rampSeconds)}). Cost ` +
      `per image is unchanged to first order: the same billed GB-s and requests, spread over more environments.`,
    '',
    ...checksTable(scaled),
    '',
    `Quotas: ${AWS_QUOTAS.lambdaConcurrentExecutions.toLocaleString('en-US')} concurrent executions per region ` +
      `by default, shared with every other function of the account ` +
      `(raise it through Service Quotas before going past a few hundred); ` +
      `an SQS mapping processes at most ${AWS_QUOTAS.sqsMappingMaxConcurrency.toLocaleString('en-US')} batches ` +
      `at once, starting at ${AWS_QUOTAS.sqsMappingInitialConcurrency} ` +
      `and adding up to ${AWS_QUOTAS.sqsMappingRampPerMinute} per minute; ` +
      `Lambda adds at most ${AWS_QUOTAS.lambdaScalingPer10s.toLocaleString('en-US')} environments per function ` +
      `every 10 s; a standard queue holds ` +
      `about ${AWS_QUOTAS.sqsStandardInFlight.toLocaleString('en-US')} messages in flight. ` +
      `Sources: ${AWS_QUOTAS.sources.join(', ')}.`,
  ].join('\n');
}

if (require.main === module) {
  const body = scaleModelSection(arg('--bench', path.join(__dirname, 'results.json')));
  writeSection(arg('--out', path.join(__dirname, 'results.md')), 'scale-model', body);
  process.stdout.write(`${body}\n`);
}
