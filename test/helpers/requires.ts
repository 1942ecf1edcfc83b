/**
 * One way for a suite to need something the machine may lack (Docker, Terraform, a client, a browser):
 * pass the reason it is missing, or undefined when it is there. Without it the suite is skipped
 * (jest counts it as skipped, never as passed) and the reason is printed once; under CI=true the
 * suite becomes one failing test naming what is missing, because CI must run everything.
 */

/** True when the environment says this is CI (CI=true), where nothing may be skipped. */
export const IN_CI = process.env.CI === 'true';

const announced = new Set<string>();

/** Prints the skip reason once per test file and reason, loudly (a warning with its stack). */
function announceSkip(missing: string, what: string): void {
  if (announced.has(missing)) return;
  announced.add(missing);
  console.warn(
    `SKIPPED ${what} (and whatever else in this file needs it): ${missing}. Under CI=true this fails instead.`,
  );
}

/** The error a suite needing `missing` fails with under CI=true. */
function missingInCi(missing: string, what: string): Error {
  return new Error(`${what} cannot run: ${missing}; CI=true does not allow skipping`);
}

/**
 * `describe(name, fn)` when `missing` is undefined; otherwise `describe.skip` with a loud reason,
 * or under CI=true a suite of one failing test naming what is missing.
 * @param missing why the suite cannot run here (what is missing and how to get it), or undefined
 */
export function describeWhen(missing: string | undefined, name: string, fn: () => void): void {
  if (missing === undefined) return describe(name, fn);
  if (IN_CI) {
    return describe(name, () => {
      test(`needs what it runs against: ${missing}`, () => {
        throw missingInCi(missing, name);
      });
    });
  }
  announceSkip(missing, name);
  describe.skip(name, fn);
}

/**
 * `test(name, fn, timeout)` when `missing` is undefined; otherwise `test.skip` with a loud reason,
 * or under CI=true a failing test naming what is missing.
 * @param missing why the test cannot run here, or undefined
 * @param timeout jest's per-test timeout (default: the file's)
 */
export function testWhen(missing: string | undefined, name: string, fn: jest.ProvidesCallback, timeout?: number): void {
  if (missing === undefined) return test(name, fn, timeout);
  if (IN_CI) {
    return test(name, () => {
      throw missingInCi(missing, name);
    });
  }
  announceSkip(missing, name);
  test.skip(name, fn, timeout);
}
