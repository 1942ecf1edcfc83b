// bench/quality-per-byte.ts: the bisection that finds the lowest quality setting reaching a target.
import { lowestReaching } from '../../bench/quality-per-byte';

describe('lowestReaching', () => {
  it('finds the lowest integer at which a monotone predicate holds, asking few questions', async () => {
    const asked: number[] = [];
    const q = await lowestReaching(1, 100, async (x) => {
      asked.push(x);
      return x >= 73;
    });
    expect(q).toBe(73);
    expect(asked.length).toBeLessThanOrEqual(8);
  });

  it('returns the lower bound when it already holds, and undefined when even the upper bound does not', async () => {
    expect(await lowestReaching(1, 100, async () => true)).toBe(1);
    expect(await lowestReaching(1, 100, async () => false)).toBeUndefined();
  });
});
