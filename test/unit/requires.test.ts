// describeWhen/testWhen as jest counts them: run, skipped (never passed) with the reason printed
// once, or failed under CI=true naming what is missing. Runs the fixture in a child jest.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

jest.setTimeout(120_000);

const ROOT = join(__dirname, '..', '..');
const CONFIG = JSON.stringify({
  rootDir: ROOT,
  testEnvironment: 'node',
  testMatch: ['<rootDir>/test/fixtures/requires/needs-something.ts'],
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json', diagnostics: false }] },
});

interface Counts {
  passed: number;
  pending: number;
  failed: number;
  failures: string[];
  skipNotices: number;
}

const REASON = 'no frobnicator (apt-get install frob)';

/**
 * Runs the fixture with `env` added (CI and the reason unset unless given); jest's counts and how often the reason was
 * printed.
 */
function runFixture(env: Record<string, string>): Counts {
  const childEnv: NodeJS.ProcessEnv = { ...process.env };
  delete childEnv.CI;
  delete childEnv.IRC_FIXTURE_MISSING;
  const res = spawnSync(
    process.execPath,
    [require.resolve('jest/bin/jest'), '--config', CONFIG, '--json', '--runInBand'],
    {
      cwd: ROOT,
      env: { ...childEnv, ...env },
      encoding: 'utf8',
    },
  );
  const report = JSON.parse(res.stdout) as {
    numPassedTests: number;
    numPendingTests: number;
    numFailedTests: number;
    testResults: Array<{ assertionResults: Array<{ failureMessages: string[] }> }>;
  };
  return {
    passed: report.numPassedTests,
    pending: report.numPendingTests,
    failed: report.numFailedTests,
    failures: report.testResults.flatMap((r) =>
      r.assertionResults.flatMap((a) => a.failureMessages.map((m) => m.split('\n')[0] ?? '')),
    ),
    skipNotices:
      res.stderr.split(`SKIPPED a suite needing it (and whatever else in this file needs it): ${REASON}`).length - 1,
  };
}

test('with nothing missing, every test runs', () => {
  expect(runFixture({})).toEqual({ passed: 3, pending: 0, failed: 0, failures: [], skipNotices: 0 });
});

test('with something missing, every test counts as skipped, and the reason is printed once', () => {
  expect(runFixture({ IRC_FIXTURE_MISSING: REASON })).toEqual({
    passed: 0,
    pending: 3,
    failed: 0,
    failures: [],
    skipNotices: 1,
  });
});

test('under CI=true, something missing fails the suite and the test, naming what is missing', () => {
  const counts = runFixture({ CI: 'true', IRC_FIXTURE_MISSING: REASON });
  expect(counts).toMatchObject({ passed: 0, pending: 0, failed: 2 });
  expect(counts.failures).toEqual([
    `Error: a suite needing it cannot run: ${REASON}; CI=true does not allow skipping`,
    `Error: a test needing it cannot run: ${REASON}; CI=true does not allow skipping`,
  ]);
});
