/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  globalSetup: '<rootDir>/test/global-setup.js',
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json', diagnostics: false }] },
  // Integration tests start real servers and processes; the machines have 2 cores.
  maxWorkers: 2,
  testTimeout: 60000,
  // `--coverage` counts every source file, loaded by a test or not, so an untested file shows as 0 %.
  // The bundled handlers and CLI also run in child processes (aws-lambda-ric, `node dist/cli.js`),
  // whose lines no in-process counter sees: test/unit/handlers.test.ts runs the handlers in-process.
  collectCoverageFrom: [
    'src/**/*.ts',
    // The CLI's entry runs the command line of the process that loads it and sets its exit code:
    // it only ever runs as its own process (test/integration/cli-usage.test.ts and the other CLI tests).
    '!src/cli/cli.ts',
  ],
};
