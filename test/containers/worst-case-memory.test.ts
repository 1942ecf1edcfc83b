// Worst cases inside the limits: the resize image, at the module's default memory (docker run
// --memory, no swap), Lambda's CPU share for it and the default CONCURRENCY, resizes a batch of
// CONCURRENCY copies of each input that defeats streaming decode (100 MP Adam7 PNG, 100 MP
// progressive JPEG) without being killed for memory, and writes every variant of every copy.
import { DEFAULT_RESIZE_CONCURRENCY, STAGE_DEFAULTS } from '../../modules/image-resize-chain';
import { DEFAULT_VARIANTS } from '../../src/core/variants';
import { measureWorstCases } from '../../bench/worst-case-memory';
import { describeWhen } from '../helpers/requires';
import { ensureImages, missingDocker } from './docker';

describeWhen(missingDocker(), 'worst cases inside the limits, in the resize container', () => {
  it(
    'a batch of CONCURRENCY 100 MP interlaced PNGs or progressive JPEGs fits the default memory',
    async () => {
      const image = ensureImages(['resize']).images.resize;
      const rows = await measureWorstCases(new Set(['png-100mp-interlaced', 'jpeg-100mp-progressive']), image);
      expect(rows?.map((r) => r.id)).toEqual(['jpeg-100mp-progressive', 'png-100mp-interlaced']);
      for (const row of rows!) {
        expect({
          id: row.id,
          oomKilled: row.oomKilled,
          outcome: row.outcome,
          failures: row.failures,
          written: row.written,
        }).toEqual({
          id: row.id,
          oomKilled: false,
          outcome: 'ok',
          failures: 0,
          written: DEFAULT_RESIZE_CONCURRENCY * DEFAULT_VARIANTS.length,
        });
        // The cgroup's peak is readable on Linux hosts with a memory controller; it must sit under the limit.
        if (row.peakMiB !== undefined) expect(row.peakMiB).toBeLessThan(STAGE_DEFAULTS.resize.memorySize);
      }
    },
    30 * 60_000,
  );
});
