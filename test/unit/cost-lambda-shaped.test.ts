/**
 * `resize-chain cost` takes the resize duration bench/lambda-shaped.ts measured under Lambda's memory and CPU share
 * when the run has it, says which run and machine it comes from, and falls back to the labelled estimate otherwise.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import {
  buildCostReport,
  DEFAULT_BENCH_FIGURES,
  loadLambdaShaped,
  resizeDurationFor,
} from '../../src/cli/commands/cost';
import { resizeMsAt } from '../../src/tools/cost';
import { asLambdaShapedDoc, measuredDuration, type LambdaShapedDoc } from '../../src/tools/lambda-shaped';

const row = (memoryMb: number, p50Ms: number | undefined, extra: Partial<LambdaShapedDoc['rows'][number]> = {}) => ({
  input: '12mp-jpeg',
  description: '12 MP JPEG q90, 4000x3000',
  megapixels: 12,
  memoryMb,
  cpus: Number((memoryMb / 1769).toFixed(2)),
  samples: p50Ms === undefined ? 0 : 5,
  p50Ms,
  minMs: p50Ms,
  maxMs: p50Ms,
  billedGbSecondsPerImage: p50Ms === undefined ? undefined : (Math.ceil(p50Ms) / 1000) * (memoryMb / 1024),
  peakMiB: 300,
  oomKilled: false,
  failures: 0,
  ...extra,
});

const DOC: LambdaShapedDoc = {
  runId: '20261206T0930-abc123',
  generatedAt: '2026-12-06T09:30:00.000Z',
  machine: {
    host: 'bench-host-7',
    cpu: 'AMD EPYC',
    cores: 2,
    memoryGiB: 24,
    os: 'Linux 6.18',
    loadAverageAtStart: [3.1, 2.5, 2],
  },
  image: 'image-resize-chain/resize:latest',
  concurrency: 4,
  variants: 4,
  rounds: 5,
  rows: [row(2048, 612.4)],
};

describe('measured figures from bench/lambda-shaped.json', () => {
  test('the measured p50 at the requested memory is the billed ms per image, named by run and machine', () => {
    const d = resizeDurationFor(DEFAULT_BENCH_FIGURES, DOC, '12mp-jpeg', 2048);
    expect(d.measured).toBe(true);
    expect(d.msPerImage).toBe(613); // rounded up to the ms, as Lambda bills
    expect(d.provenance).toMatch(/^MEASURED/);
    expect(d.provenance).toContain('run 20261206T0930-abc123');
    expect(d.provenance).toContain('bench-host-7');
    expect(d.provenance).toContain('--memory 2048m --cpus 1.16');
  });

  test('a memory size the run did not measure falls back to the estimate, labelled with the reason', () => {
    const d = resizeDurationFor(DEFAULT_BENCH_FIGURES, DOC, '12mp-jpeg', 1024);
    expect(d.measured).toBe(false);
    expect(d.msPerImage).toBe(resizeMsAt(1024, DEFAULT_BENCH_FIGURES));
    expect(d.provenance).toMatch(/^ESTIMATE/);
    expect(d.provenance).toContain('has no figure for 12mp-jpeg at 1024 MB (measured: 2048 MB)');
  });

  test('without a run the estimate says the file is missing', () => {
    const d = resizeDurationFor(DEFAULT_BENCH_FIGURES, undefined, '12mp-jpeg', 2048);
    expect(d.measured).toBe(false);
    expect(d.provenance).toMatch(/^ESTIMATE \(no bench\/lambda-shaped\.json\)/);
  });

  test('rows without samples or killed for memory are not used', () => {
    const empty = { ...DOC, rows: [row(2048, undefined)] };
    const killed = { ...DOC, rows: [row(2048, 700, { oomKilled: true })] };
    expect(measuredDuration(empty, '12mp-jpeg', 2048)).toBeUndefined();
    expect(measuredDuration(killed, '12mp-jpeg', 2048)).toBeUndefined();
  });

  test('a document of another shape is refused', () => {
    expect(asLambdaShapedDoc({ runId: 'x', rows: [] })).toBeUndefined();
    expect(asLambdaShapedDoc({ ...DOC, rows: [{ input: 1 }] })).toBeUndefined();
    expect(asLambdaShapedDoc(JSON.parse(JSON.stringify(DOC)))).toBeDefined();
  });

  describe('buildCostReport with --lambda-shaped', () => {
    let dir: string;
    beforeAll(() => {
      dir = mkdtempSync(join(os.tmpdir(), 'cost-shaped-'));
      writeFileSync(join(dir, 'lambda-shaped.json'), JSON.stringify(DOC));
      writeFileSync(join(dir, 'other.json'), JSON.stringify({ hello: 'world' }));
    });
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    test('bills the measured duration and says so in the assumptions and the JSON document', () => {
      const { inputs, document, text } = buildCostReport({
        imagesPerMonth: '1000000',
        memory: '2048',
        lambdaShaped: join(dir, 'lambda-shaped.json'),
      });
      expect(inputs.resize.msPerImage).toBe(613);
      expect(text).toContain('resize billed ms per image at 2048 MB: 613 ms, MEASURED');
      expect(text).toContain('run 20261206T0930-abc123');
      expect(document.figures).toMatchObject({ resizeMsPerImage: 613, resizeMsMeasured: true });
    });

    test('at a size the file lacks, the estimate is billed and labelled', () => {
      const { inputs, text } = buildCostReport({
        imagesPerMonth: '1000000',
        memory: '1536',
        lambdaShaped: join(dir, 'lambda-shaped.json'),
      });
      expect(inputs.resize.msPerImage).not.toBe(613);
      expect(text).toMatch(/resize billed ms per image at 1536 MB: [\d.]+ ms, ESTIMATE/);
    });

    test('an explicit file that is missing or of another shape is a coded config error', () => {
      expect(() => loadLambdaShaped(join(dir, 'absent.json'))).toThrow(/--lambda-shaped.*does not exist/);
      expect(() => loadLambdaShaped(join(dir, 'other.json'))).toThrow(/not a bench\/lambda-shaped\.ts document/);
    });
  });
});
