// Load: 1,000 small images through the whole local chain with 4 resize sandboxes, first as Node
// processes, then as the handlers' container images (--containers). Each run must end with the
// queues drained, nothing in a DLQ and every image complete; throughput and the peak memory of each
// sandbox (VmHWM of its process, or of the container's process) are written to
// out/reliability/soak-load-*.json and printed.
import { dockerAvailable } from '../../../src/local/cloud/lambda/container-host';
import { DOCKER, ensureImages } from '../../containers/docker';
import { soakRun, type RunFigures } from './chain-run';

const IMAGES = 1000;
const STAGES = { resize: { concurrency: 4, maximumConcurrency: 4 }, publish: { concurrency: 2 } };

function expectClean(figures: RunFigures): void {
  expect({ complete: figures.complete, incomplete: figures.incomplete, outputObjects: figures.outputObjects }).toEqual({
    complete: IMAGES,
    incomplete: [],
    outputObjects: IMAGES * 5,
  });
  expect(Object.values(figures.queueDepths).every((n) => n === 0)).toBe(true);
  expect(figures.outcomes['source rejected'] ?? 0).toBe(0);
  expect(figures.functions.resize.errors + figures.functions.publish.errors).toBe(0);
}

/** The figures a run prints: its time, throughput and peak sandbox memory. */
function headline(figures: RunFigures): Pick<RunFigures, 'seconds' | 'imagesPerSecond' | 'peakMemoryMb'> {
  return { seconds: figures.seconds, imagesPerSecond: figures.imagesPerSecond, peakMemoryMb: figures.peakMemoryMb };
}

describe('1,000 images, resize concurrency 4, processes', () => {
  it('drains every queue with every image complete and no dead letter', async () => {
    const figures = await soakRun({ name: 'load-processes', count: IMAGES, chain: STAGES });
    console.log(`load (processes): ${JSON.stringify(headline(figures))}`);
    expectClean(figures);
  });
});

describe('1,000 images, resize concurrency 4, containers', () => {
  const haveDocker = dockerAvailable(DOCKER);
  if (!haveDocker && process.env.CI === 'true')
    throw new Error(`no Docker engine answers via ${DOCKER}; CI=true requires the container soak`);
  (haveDocker ? it : it.skip)('drains every queue with every image complete and no dead letter', async () => {
    const built = ensureImages(['resize', 'publish']);
    const figures = await soakRun({
      name: 'load-containers',
      count: IMAGES,
      chain: {
        ...STAGES,
        containers: { resizeImage: built.images.resize, publishImage: built.images.publish, docker: DOCKER },
      },
    });
    console.log(`load (containers): ${JSON.stringify(headline(figures))}`);
    expectClean(figures);
  });
});
