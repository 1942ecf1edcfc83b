// 500 images through the local chain (processes) while ~10 % of the chain's S3 and SQS requests fail:
// 500, 503, throttling, a slow answer or a dropped connection, drawn from a seeded generator; one
// resize sandbox is also killed (SIGKILL) mid-run. Every image must end processed exactly once in
// the outputs (one complete set of variants and a manifest carrying its ETag, nothing else), none
// lost, nothing in a DLQ, and the counters must show the faults really happened.
import type { FaultEffect } from '../../../src/local/cloud/gateway/gateway';
import { soakRun, type RunFigures } from './chain-run';

const IMAGES = 500;
/** Five effects at 2 % each per matching request: 1 - 0.98^5 = 9.6 % of those requests fail. */
const EFFECTS: FaultEffect[] = [
  { status: 500 },
  { status: 503 },
  { status: 429, code: 'ThrottlingException' },
  { delayMs: 400 },
  { drop: true },
];

let figures: RunFigures;

beforeAll(async () => {
  figures = await soakRun({
    name: 'faults',
    count: IMAGES,
    chain: {
      resize: { concurrency: 4, timeoutSeconds: 10 },
      publish: { concurrency: 2, timeoutSeconds: 10 },
      // Short, so messages whose delete was dropped come back soon; above the slowest batch here.
      visibilityTimeoutSeconds: 12,
      maxReceiveCount: 5,
    },
    beforeUpload: (chain) => {
      const targets = [
        { service: 's3' as const, operation: 'GetObject', bucket: chain.resources.buckets.source },
        { service: 's3' as const, operation: 'HeadObject', bucket: chain.resources.buckets.output },
        { service: 's3' as const, operation: 'PutObject', bucket: chain.resources.buckets.output },
        { service: 'sqs' as const, operation: 'ReceiveMessage' },
        { service: 'sqs' as const, operation: 'DeleteMessageBatch' },
        { service: 'sqs' as const, operation: 'SendMessageBatch' },
      ];
      for (const target of targets)
        for (const effect of EFFECTS) chain.gateway.faults.add({ ...target, rate: 0.02, effect });
    },
    during: {
      after: 150,
      act: (_chain, pids) => {
        const pid = pids.at(-1);
        if (pid) process.kill(pid, 'SIGKILL');
      },
    },
  });
  console.log(`faults soak: ${JSON.stringify(figures, null, 2)}`);
}, 600_000);

it('processes every image exactly once in the outputs: one full set of variants and a manifest each, nothing else', () => {
  expect({ complete: figures.complete, incomplete: figures.incomplete }).toEqual({ complete: IMAGES, incomplete: [] });
  expect(figures.outputObjects).toBe(IMAGES * 5);
});

it('loses nothing: every queue drained, no dead letter, no rejection', () => {
  expect(Object.values(figures.queueDepths).every((n) => n === 0)).toBe(true);
  expect(figures.outcomes['source rejected'] ?? 0).toBe(0);
});

it('really injected faults of every kind, and the chain retried through them', () => {
  // ~9.6 % of thousands of requests; far above 100 unless injection silently stopped working.
  expect(figures.gateway.faultsInjected).toBeGreaterThan(100);
  expect(figures.functions.resize.restarts).toBeGreaterThanOrEqual(1);
  expect(
    figures.mappings.ingest.failedItems + figures.mappings.ingest.invokeErrors + figures.mappings.ingest.deleteErrors,
  ).toBeGreaterThan(0);
});
