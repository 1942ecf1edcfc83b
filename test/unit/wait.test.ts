// The suite's one polling helper: what it returns, and what its timeout says.
import { waitFor } from '../helpers/wait';

test('returns the first value that is neither undefined nor false', async () => {
  const answers = [undefined, false, 0, 1];
  expect(await waitFor('a value', () => answers.shift(), 5000, 1)).toBe(0);
});

test('a predicate works as a probe: false means not yet', async () => {
  let calls = 0;
  expect(await waitFor('the third call', () => ++calls === 3, 5000, 1)).toBe(true);
  expect(calls).toBe(3);
});

test('the timeout names what was awaited and the last value seen', async () => {
  await expect(waitFor('the counter to reach 1000', () => false, 30, 5)).rejects.toThrow(
    /^timed out after 30 ms waiting for the counter to reach 1000: the last value seen was false$/,
  );
});

test('the timeout names the last error a probe threw', async () => {
  await expect(
    waitFor(
      'the manifest',
      async () => {
        throw new Error('NoSuchKey: The specified key does not exist.');
      },
      30,
      5,
    ),
  ).rejects.toThrow(
    'timed out after 30 ms waiting for the manifest: ' +
      'its last attempt failed: NoSuchKey: The specified key does not exist.',
  );
});
