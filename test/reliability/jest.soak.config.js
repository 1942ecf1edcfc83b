// The long reliability runs (`npm run test:soak`): 500 images under 10 % injected faults, 1,000
// images through processes and through containers, 200 uploads through `up --state` killed with
// SIGKILL twice and restarted. Kept out of `npm test` (its testMatch is
// *.test.ts); these files are *.soak.ts. Budget: under ~10 min on the 2-core CI machine.
const base = require('../../jest.config.js');

/** @type {import('jest').Config} */
module.exports = {
  ...base,
  rootDir: '../..',
  roots: ['<rootDir>/test/reliability/soak'],
  testMatch: ['**/*.soak.ts'],
  globalSetup: '<rootDir>/test/global-setup.js',
  // One run at a time: each one saturates the machine on its own.
  maxWorkers: 1,
  testTimeout: 600000,
};
