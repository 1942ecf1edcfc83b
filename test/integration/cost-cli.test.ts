/** `resize-chain cost` as users run it: the built CLI (jest's globalSetup builds dist/). */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..');
const CLI = join(ROOT, 'dist', 'cli.js');

function run(args: string[]): { code: number | null; stdout: string; stderr: string } {
  const res = spawnSync(process.execPath, [CLI, ...args], { cwd: ROOT, encoding: 'utf8', timeout: 30000 });
  return { code: res.status, stdout: res.stdout, stderr: res.stderr };
}

interface Item {
  id: string;
  service: 'lambda' | 'sqs' | 's3';
  label: string;
  quantity: number;
  unit: string;
  unitUsd: number;
  usd: number;
  basis: string;
}

test('cost --images-per-month 1000000 --json: itemised Lambda, SQS and S3 costs whose sum is the total', () => {
  const res = run(['cost', '--images-per-month', '1000000', '--json']);
  expect({ code: res.code, stderr: res.stderr }).toEqual({ code: 0, stderr: '' });
  const doc = JSON.parse(res.stdout) as {
    items: Item[];
    totalUsd: number;
    byService: Record<string, number>;
    perImageUsd: number;
    assumptions: string[];
    prices: { file: string };
  };
  expect(doc.items.length).toBeGreaterThan(10);
  for (const item of doc.items) {
    expect(Object.keys(item).sort()).toEqual(['basis', 'id', 'label', 'quantity', 'service', 'unit', 'unitUsd', 'usd']);
    expect(['lambda', 'sqs', 's3']).toContain(item.service);
    expect(item.usd).toBeCloseTo(item.quantity * item.unitUsd, 9);
  }
  const ids = doc.items.map((i) => i.id);
  for (const id of [
    'lambda.requests',
    'lambda.resize.duration',
    'lambda.resize.init',
    'lambda.publish.duration',
    'sqs.ingest.send',
    'sqs.resized.send',
    's3.put.variants',
    's3.head.resize',
    's3.storage.sources',
  ]) {
    expect(ids).toContain(id);
  }
  const sum = doc.items.reduce((s, i) => s + i.usd, 0);
  expect(doc.totalUsd).toBeGreaterThan(0);
  expect(doc.totalUsd).toBeCloseTo(sum, 9);
  expect(doc.byService.lambda + doc.byService.sqs + doc.byService.s3).toBeCloseTo(doc.totalUsd, 9);
  expect(doc.perImageUsd).toBeCloseTo(doc.totalUsd / 1e6, 15);
  expect(doc.prices.file).toBe('src/tools/prices.ts');
  expect(doc.assumptions.some((a) => a.includes('bench/results.json') || a.includes('DEFAULT'))).toBe(true);
});

test('arm64 costs less than x86_64 for the same images, only through Lambda duration', () => {
  const parse = (arch: string) =>
    JSON.parse(
      run(['cost', '--images-per-month', '1000000', '--memory', '1024', '--architecture', arch, '--json']).stdout,
    ) as { byService: Record<string, number>; totalUsd: number };
  const x86 = parse('x86_64');
  const arm = parse('arm64');
  expect(arm.totalUsd).toBeLessThan(x86.totalUsd);
  expect(arm.byService.s3).toBe(x86.byService.s3);
  expect(arm.byService.sqs).toBe(x86.byService.sqs);
});

test('text output names the total; bad usage exits 2 with a JSON error line', () => {
  const text = run(['cost', '--images-per-month', '1000']);
  expect(text.code).toBe(0);
  expect(text.stdout).toMatch(/^TOTAL \$/m);
  const missing = run(['cost']);
  expect(missing.code).toBe(2);
  expect(JSON.parse(missing.stderr.split('\n')[0])).toMatchObject({ code: 'USAGE' });
  const bad = run(['cost', '--images-per-month', '1000', '--architecture', 'sparc']);
  expect(bad.code).toBe(2);
  expect(bad.stderr).toContain('--architecture');
});
