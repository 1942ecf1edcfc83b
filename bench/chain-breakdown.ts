/**
 * Where the local chain's time goes, from its own log lines (the local cloud's `notification.sent`, the mappings'
 * `esm.batch`, the Runtime API's START/REPORT, the handlers' `source resized` / `manifest published` lines and their
 * RenderTime metric) and the driver's own clock around each upload. Pure: no I/O.
 *
 * Per image (median over the images of a run):
 *   upload          PUT sent → PUT answered (S3 transfer through the gateway and the S3 stand-in)
 *   notification    PUT answered → the notification sent to the ingest queue (routing)
 *   ingest wait     notification sent → START of the resize invocation that took it (mapping poll, batching, waiting
 *                   for a free sandbox)
 *   resize          START → REPORT of that invocation (S3 GET, render, PUTs, SendMessageBatch; a batch's images share
 *                   it)
 *   render          the handler's RenderTime of that source (read-to-written: the core plus its own S3 writes)
 *   resized wait    resize REPORT → START of the publish invocation that wrote its manifest
 *   publish         START → REPORT of that publish invocation
 * And for the run as a whole (the throughput view): the window from the first upload sent to the last manifest, how
 * much of it the resize sandboxes were busy, and the head (first upload → first resize START) and tail (last resize
 * REPORT → last manifest) that no resize work overlaps.
 */
import { summarize } from './stats';

/** A log line of the chain with the driver's receipt time (ms since the epoch). */
export interface TimedLine {
  readonly at: number;
  readonly line: Record<string, unknown>;
}

/** The driver's clock around one upload. */
export interface UploadTiming {
  readonly key: string;
  readonly sentAt: number;
  readonly answeredAt: number;
}

export interface ChainBreakdown {
  readonly images: number;
  /** Per-image medians, ms; undefined where the lines did not give the figure for any image. */
  readonly perImage: Readonly<Record<PerImageSegment, number | undefined>>;
  readonly windowMs: number;
  readonly headMs: number;
  readonly tailMs: number;
  /** Sum of the resize invocations' durations over (sandboxes × the span from first START to last REPORT). */
  readonly resizeBusyShare: number;
  readonly resizeInvocations: number;
  /** Images per resize invocation: mean. */
  readonly meanBatchSize: number;
  readonly publishInvocations: number;
}

export const PER_IMAGE_SEGMENTS = [
  'upload',
  'notification',
  'ingestWait',
  'resize',
  'render',
  'resizedWait',
  'publish',
] as const;
export type PerImageSegment = (typeof PER_IMAGE_SEGMENTS)[number];

interface Invocation {
  start?: number;
  end?: number;
  fn: 'resize' | 'publish';
  keys: string[];
  renderMs: number[];
}

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

/**
 * The source key a manifest belongs to: publish writes
 * `<output prefix><source key without its extension>/manifest.json` (src/core/keys.ts).
 */
const sourceOfManifest = (manifestKey: string, sources: readonly string[]): string | undefined =>
  sources.find((s) => manifestKey.endsWith(`${s.replace(/\.[^./]+$/, '')}/manifest.json`));

/** Breaks one run down; `sandboxes` is the resize function's concurrency. */
export function chainBreakdown(
  lines: readonly TimedLine[],
  uploads: readonly UploadTiming[],
  lastManifestAt: number,
  sandboxes: number,
): ChainBreakdown {
  const keys = uploads.map((u) => u.key);
  const notified = new Map<string, number>();
  const invocations = new Map<string, Invocation>();
  const invocation = (id: string, fn: 'resize' | 'publish') => {
    let inv = invocations.get(id);
    if (!inv) invocations.set(id, (inv = { fn, keys: [], renderMs: [] }));
    return inv;
  };
  for (const { at, line } of lines) {
    const source = str(line.source);
    if (source === 'cloud' && line.event === 'notification.sent') {
      const key = str(line.key);
      if (key && !notified.has(key)) notified.set(key, at);
      continue;
    }
    if (source !== 'resize' && source !== 'publish') continue;
    const id = str(line.requestId);
    if (id && line.type === 'START') invocation(id, source).start = at;
    else if (id && line.type === 'REPORT') invocation(id, source).end = at;
    const inner = typeof line.line === 'object' && line.line !== null ? (line.line as Record<string, unknown>) : {};
    const innerId = str(inner.function_request_id);
    if (!innerId) continue;
    if (inner.message === 'source resized' && str(inner.key)) invocation(innerId, 'resize').keys.push(str(inner.key)!);
    if (inner.message === 'manifest published' && str(inner.key)) {
      const src = sourceOfManifest(str(inner.key)!, keys);
      if (src) invocation(innerId, 'publish').keys.push(src);
    }
    if (Array.isArray(inner.RenderTime)) invocation(innerId, 'resize').renderMs.push(...(inner.RenderTime as number[]));
    else if (typeof inner.RenderTime === 'number') invocation(innerId, 'resize').renderMs.push(inner.RenderTime);
  }
  const all = [...invocations.values()];
  const resize = all.filter((i) => i.fn === 'resize' && i.keys.length > 0 && i.start && i.end);
  const publish = all.filter((i) => i.fn === 'publish' && i.keys.length > 0 && i.start && i.end);
  const resizeOf = (key: string) => resize.find((i) => i.keys.includes(key));
  const publishOf = (key: string) => publish.find((i) => i.keys.includes(key));

  const samples: Record<PerImageSegment, number[]> = {
    upload: [],
    notification: [],
    ingestWait: [],
    resize: [],
    render: [],
    resizedWait: [],
    publish: [],
  };
  for (const u of uploads) {
    samples.upload.push(u.answeredAt - u.sentAt);
    const sent = notified.get(u.key);
    if (sent !== undefined) samples.notification.push(Math.max(0, sent - u.answeredAt));
    const r = resizeOf(u.key);
    if (r && sent !== undefined) samples.ingestWait.push(r.start! - sent);
    if (r) samples.resize.push(r.end! - r.start!);
    const p = publishOf(u.key);
    if (r && p) samples.resizedWait.push(p.start! - r.end!);
    if (p) samples.publish.push(p.end! - p.start!);
  }
  for (const r of resize) samples.render.push(...r.renderMs);
  const median = (v: number[]) => (v.length > 0 ? summarize(v).median : undefined);

  const firstSent = Math.min(...uploads.map((u) => u.sentAt));
  const firstStart = Math.min(...resize.map((r) => r.start!));
  const lastEnd = Math.max(...resize.map((r) => r.end!));
  const busy = resize.reduce((sum, r) => sum + (r.end! - r.start!), 0);
  return {
    images: uploads.length,
    perImage: Object.fromEntries(PER_IMAGE_SEGMENTS.map((s) => [s, median(samples[s])])) as Record<
      PerImageSegment,
      number | undefined
    >,
    windowMs: lastManifestAt - firstSent,
    headMs: firstStart - firstSent,
    tailMs: lastManifestAt - lastEnd,
    resizeBusyShare: busy / (sandboxes * Math.max(1, lastEnd - firstStart)),
    resizeInvocations: resize.length,
    meanBatchSize: resize.length > 0 ? resize.reduce((n, r) => n + r.keys.length, 0) / resize.length : 0,
    publishInvocations: publish.length,
  };
}

const LABELS: Record<PerImageSegment, string> = {
  upload: 'upload: PUT through the gateway into the S3 stand-in',
  notification: 'S3 notification routing (PUT answered → message sent)',
  ingestWait: 'ingest queue → resize START (mapping poll, batching, free sandbox)',
  resize: 'resize invocation (Runtime API START → REPORT; S3 GET, render, PUTs, send)',
  render: "of which the handler's RenderTime per source",
  resizedWait: 'resized queue → publish START (mapping poll)',
  publish: 'publish invocation (HEADs, manifest PUT)',
};

const f0 = (n: number | undefined) => (n === undefined ? '—' : n.toFixed(0));

/** Markdown rows for one or more labelled breakdowns side by side (e.g. before / after). */
export function renderChainBreakdown(columns: ReadonlyArray<{ label: string; breakdown: ChainBreakdown }>): string[] {
  const head = `| segment | ${columns.map((c) => c.label).join(' | ')} |`;
  const rule = `|---|${columns.map(() => '---:').join('|')}|`;
  const rows = PER_IMAGE_SEGMENTS.map(
    (s) => `| ${LABELS[s]}, median ms per image | ${columns.map((c) => f0(c.breakdown.perImage[s])).join(' | ')} |`,
  );
  const whole = (label: string, get: (b: ChainBreakdown) => string) =>
    `| ${label} | ${columns.map((c) => get(c.breakdown)).join(' | ')} |`;
  return [
    head,
    rule,
    ...rows,
    whole('window: first upload sent → last manifest, ms', (b) => f0(b.windowMs)),
    whole('head: first upload sent → first resize START, ms', (b) => f0(b.headMs)),
    whole('tail: last resize REPORT → last manifest, ms', (b) => f0(b.tailMs)),
    whole('resize sandboxes busy, share of their span', (b) => `${(b.resizeBusyShare * 100).toFixed(0)} %`),
    whole('resize invocations (mean images each)', (b) => `${b.resizeInvocations} (${b.meanBatchSize.toFixed(1)})`),
    whole('publish invocations', (b) => String(b.publishInvocations)),
  ];
}
