// `resize-chain start` on the generated samples, as in the README's quick start: the summary ends
// with the line of figures an operator watches on the CloudWatch dashboard (added up from the
// functions' embedded-metric-format log lines), and report.json holds them.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expectMetricsOfRun, type Report } from '../helpers/start-run';

const CLI = join(__dirname, '..', '..', 'dist', 'cli.js');

describe('resize-chain start on the samples', () => {
  const work = mkdtempSync(join(tmpdir(), 'irc-metrics-'));
  const out = join(work, 'out');
  let exitCode: number | null;
  let stdout = '';
  let stderr = '';

  beforeAll(async () => {
    // No folder given: `start` generates its samples under ./samples of the working directory.
    const child = spawn(process.execPath, [CLI, 'start', '--out', out, '--timeout', '240'], {
      cwd: work,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    exitCode = await new Promise((resolve) => child.on('close', (code) => resolve(code)));
  }, 300_000);

  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it('prints a metrics line whose figures report.json holds, and they match what happened', () => {
    expect({ exitCode, stderrTail: exitCode === 0 ? '' : stderr.slice(-2000) }).toEqual({
      exitCode: 0,
      stderrTail: '',
    });
    const report = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')) as Report;
    expect(report.metrics.done).toBe(report.entries.length);
    expect(report.metrics.done).toBeGreaterThanOrEqual(8);
    expect(stdout).toMatch(
      /^metrics: \d+ done, 0 rejected, [\d.]+ MB in, [\d.]+ MB out, render p50 \d+ ms, upload-to-manifest p50 \d+ ms, \d+ cold starts?$/m,
    );
    expectMetricsOfRun(stdout, report, out);
  });
});
