/**
 * One soak run of the whole local chain: uploads `count` small generated images, waits until the
 * queues are drained, then checks the outputs object by object and returns the run's figures
 * (throughput, per-handler peak memory, gateway, mapping and function counters, handler outcomes).
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { manifestKey, variantKey } from '../../../src/core/keys';
import { DEFAULT_VARIANTS } from '../../../src/core/variants';
import { startLocalChain, type LocalChain, type LocalChainOptions } from '../../../src/local/chain';
import { synthesizeImage } from '../../../src/tools/samples';
import { exists, HANDLERS_DIR, listKeys, upload, type TestCloud } from '../../helpers/local-cloud';
import { procMemory } from '../../../bench/peak-memory';

export interface RunFigures {
  images: number;
  seconds: number;
  imagesPerSecond: number;
  /** Peak RSS (VmHWM) per sandbox, MiB, by function name. */
  peakMemoryMb: Record<string, number[]>;
  gateway: ReturnType<LocalChain['gateway']['counters']>;
  mappings: Record<string, ReturnType<LocalChain['mappings']['ingest']['stats']>>;
  functions: Record<string, ReturnType<LocalChain['functions']['resize']['stats']>>;
  /** How many times the resize handler logged each outcome ('source resized', 'source duplicate', ...). */
  outcomes: Record<string, number>;
  queueDepths: Record<string, number>;
  /** Images whose 4 variants and manifest all exist and carry the uploaded ETag. */
  complete: number;
  /** Objects in the output bucket (expected: images x (variants + 1)). */
  outputObjects: number;
  /** Keys of images that are not complete. */
  incomplete: string[];
}

export interface RunOptions {
  name: string;
  count: number;
  chain: Omit<LocalChainOptions, 'handlersDir' | 'logSink'>;
  /** Called once the chain is up, before uploading (add faults here). */
  beforeUpload?: (chain: LocalChain) => void;
  /**
   * Called while the run is in progress, with the pids of the resize sandboxes, once `after` images have been uploaded.
   */
  during?: { after: number; act: (chain: LocalChain, resizePids: number[]) => void };
  timeoutMs?: number;
}

/** The process whose memory a sandbox uses: the node process, or the container's init when in Docker. */
function memoryPid(sandbox: { pid: number; container?: string }): number | undefined {
  if (!sandbox.container) return sandbox.pid;
  const res = spawnSync(process.env.DOCKER ?? 'docker', ['inspect', '-f', '{{.State.Pid}}', sandbox.container], {
    encoding: 'utf8',
  });
  const pid = Number(res.stdout.trim());
  return pid > 0 ? pid : undefined;
}

/** Runs the chain on `count` images and gathers the figures; always stops the chain. */
export async function soakRun(opts: RunOptions): Promise<RunFigures> {
  const sandboxes: Array<{ fn: string; pid: number; container?: string; memPid?: number; hwmMb: number }> = [];
  const outcomes: Record<string, number> = {};
  const chain = await startLocalChain({
    ...opts.chain,
    handlersDir: HANDLERS_DIR,
    logSink: (line) => {
      if (line.type === 'SANDBOX_START' && typeof line.pid === 'number') {
        sandboxes.push({
          fn: String(line.fn),
          pid: line.pid,
          container: typeof line.container === 'string' ? line.container : undefined,
          hwmMb: 0,
        });
      }
      const inner = line.line as Record<string, unknown> | undefined;
      if (inner && typeof inner.message === 'string' && inner.message.startsWith('source '))
        outcomes[inner.message] = (outcomes[inner.message] ?? 0) + 1;
    },
  });
  // VmHWM dies with the process: sample every sandbox while it lives.
  const sampler = setInterval(() => {
    for (const s of sandboxes) {
      s.memPid ??= memoryPid(s);
      const m = s.memPid ? procMemory(s.memPid) : undefined;
      if (m && m.hwmMb > s.hwmMb) s.hwmMb = m.hwmMb;
    }
  }, 250);
  try {
    opts.beforeUpload?.(chain);
    const bodies = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        synthesizeImage({
          width: 160 + i * 8,
          height: 120,
          seed: 1000 + i,
          format: (['jpeg', 'png', 'webp'] as const)[i % 3],
        }),
      ),
    );
    const extensions = ['jpg', 'png', 'webp'];
    const keys = Array.from(
      { length: opts.count },
      (_, i) => `${chain.uploadsPrefix}soak/${opts.name}/img-${String(i).padStart(4, '0')}.${extensions[(i % 8) % 3]}`,
    );
    const eTags = new Map<string, string>();
    const started = performance.now();
    const cloud = { s3: chain.s3, resources: chain.resources } as TestCloud;
    let next = 0;
    let during = opts.during;
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (next < keys.length) {
          const i = next++;
          const body = bodies[i % 8];
          eTags.set(keys[i], await upload(cloud, keys[i], body));
          if (during && i >= during.after) {
            const act = during;
            during = undefined;
            act.act(
              chain,
              sandboxes.filter((s) => s.fn === chain.functions.resize.name).map((s) => s.pid),
            );
          }
        }
      }),
    );
    await chain.waitForIdle(opts.timeoutMs ?? 480_000);
    const seconds = (performance.now() - started) / 1000;
    // The checks below read through the same gateway: no injected faults for them.
    chain.gateway.faults.clear();

    const output = chain.resources.buckets.output;
    const listed = await listKeys(chain.s3, output);
    const incomplete: string[] = [];
    for (let i = 0; i < keys.length; i += 16) {
      await Promise.all(
        keys.slice(i, i + 16).map(async (key) => {
          const eTag = eTags.get(key);
          const heads = await Promise.all(
            [
              manifestKey(key, chain.outputPrefix),
              ...DEFAULT_VARIANTS.map((v) => variantKey(key, chain.outputPrefix, v)),
            ].map((k) => exists(cloud, output, k)),
          );
          if (!heads.every((h) => h?.metadata['source-etag'] === eTag)) incomplete.push(key);
        }),
      );
    }
    for (const s of sandboxes) {
      s.memPid ??= memoryPid(s);
      const m = s.memPid ? procMemory(s.memPid) : undefined;
      if (m && m.hwmMb > s.hwmMb) s.hwmMb = m.hwmMb;
    }
    const peakMemoryMb: Record<string, number[]> = {};
    for (const s of sandboxes) (peakMemoryMb[s.fn] ??= []).push(Math.round(s.hwmMb));
    const figures: RunFigures = {
      images: keys.length,
      seconds: Math.round(seconds * 10) / 10,
      imagesPerSecond: Math.round((keys.length / seconds) * 10) / 10,
      peakMemoryMb,
      gateway: chain.gateway.counters(),
      mappings: { ingest: chain.mappings.ingest.stats(), resized: chain.mappings.resized.stats() },
      functions: { resize: chain.functions.resize.stats(), publish: chain.functions.publish.stats() },
      outcomes,
      queueDepths: await chain.queueDepths(),
      complete: keys.length - incomplete.length,
      outputObjects: listed.length,
      incomplete: incomplete.slice(0, 20),
    };
    const dir = join(__dirname, '..', '..', '..', 'out', 'reliability');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, `soak-${opts.name}.json`), `${JSON.stringify(figures, null, 2)}\n`);
    return figures;
  } finally {
    clearInterval(sampler);
    await chain.stop();
  }
}
