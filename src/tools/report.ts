import { codePointLength } from '../core/checks';
import { FiguresAccumulator, type ChainFigures } from './metric-figures';
import type { LogSink } from '../local/cloud/lambda/invoke-contract';

/**
 * Collects the embedded-metric-format records the functions write, from the output lines the
 * local runtime captures (`{fn, stream, line}`), so a run shows the figures CloudWatch would.
 */
export class MetricsTap {
  private readonly figuresSoFar = new FiguresAccumulator();

  /** A log sink that keeps the EMF records of function output lines, then passes every line on to `next`. */
  sink(next?: LogSink): LogSink {
    return (line) => {
      this.record(line);
      next?.(line);
    };
  }

  /** Adds a log line's EMF record (a function output line's `line`), if it is one. */
  record(line: Record<string, unknown>): void {
    this.figuresSoFar.add(line.line);
  }

  figures(): ChainFigures {
    return this.figuresSoFar.figures();
  }

  /**
   * Waits (at most `ms`) until the figures account for `done` manifests and `rejected`
   * rejections: a function's output reaches us through its stdout pipe, which may lag the
   * invocation's response. Resolves with the figures then, complete or not.
   */
  async settled(done: number, rejected: number, ms = 3000): Promise<ChainFigures> {
    const deadline = Date.now() + ms;
    let figures = this.figures();
    while ((figures.done < done || figures.rejected < rejected) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
      figures = this.figures();
    }
    return figures;
  }
}

/** One source image in a run's report. */
export interface ReportEntry {
  readonly sourceKey: string;
  /** Path of the source copy, relative to the report's folder. */
  readonly sourceFile?: string;
  readonly status: 'done' | 'rejected' | 'pending';
  readonly source?: { width: number; height: number; format: string; bytes: number };
  readonly variants: ReadonlyArray<{
    name: string;
    width: number;
    height: number;
    format: string;
    bytes: number;
    file?: string;
  }>;
  readonly error?: { code: string; message: string };
  /** From upload to manifest (or rejection). */
  readonly ms?: number;
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / 1024 / 1024).toFixed(2)} MiB`;
}

function pad(cells: string[][]): string {
  const widths = cells[0]?.map((_, col) => Math.max(...cells.map((row) => codePointLength(row[col] ?? '')))) ?? [];
  return cells
    .map((row) =>
      row
        .map((cell, col) => cell + ' '.repeat((widths[col] ?? 0) - codePointLength(cell)))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/** A plain-text table: one block per source, one row per variant. */
export function renderTable(entries: readonly ReportEntry[]): string {
  const rows: string[][] = [['source', 'status', 'variant', 'size', 'format', 'bytes', 'time']];
  for (const e of entries) {
    const src = e.source ? `${e.source.width}x${e.source.height}` : '';
    const time = e.ms === undefined ? '' : `${Math.round(e.ms)} ms`;
    if (e.status !== 'done') {
      rows.push([e.sourceKey, e.status, e.error ? `${e.error.code}: ${e.error.message}` : '', src, '', '', time]);
      continue;
    }
    rows.push([
      e.sourceKey,
      'done',
      '(source)',
      src,
      e.source?.format ?? '',
      e.source ? formatBytes(e.source.bytes) : '',
      time,
    ]);
    for (const v of e.variants)
      rows.push(['', '', v.name, `${v.width}x${v.height}`, v.format, formatBytes(v.bytes), '']);
  }
  return pad(rows);
}

function esc(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** Encodes a relative file path for an HTML attribute, segment by segment. */
function href(path: string): string {
  return esc(path.split('/').map(encodeURIComponent).join('/'));
}

/** A self-contained HTML page showing each source beside its variants. */
export function renderHtml(
  entries: readonly ReportEntry[],
  meta: { title: string; generatedAt: Date; summary: string },
): string {
  const cards = entries.map((e) => {
    const head = `<h2>${esc(e.sourceKey)}</h2>`;
    const sourceInfo = e.source
      ? ` · ${e.source.width}×${e.source.height} ${esc(e.source.format)} · ${formatBytes(e.source.bytes)}`
      : '';
    const source = e.sourceFile
      ? `<figure class="source"><img src="${href(e.sourceFile)}" ` +
        `alt="source"><figcaption>source${sourceInfo}</figcaption></figure>`
      : '';
    if (e.status !== 'done') {
      const error = e.error ? `: <code>${esc(e.error.code)}</code> ${esc(e.error.message)}` : '';
      const status = `<p class="error">${esc(e.status)}${error}</p>`;
      return `<section class="card ${e.status}">${head}${source}${status}</section>`;
    }
    const variants = e.variants
      .map(
        (v) =>
          `<figure><img src="${href(v.file ?? '')}" alt="${esc(v.name)}" ` +
          `loading="lazy"><figcaption>${esc(v.name)} · ${v.width}×${v.height} ${esc(v.format)} ` +
          `· ${formatBytes(v.bytes)}</figcaption></figure>`,
      )
      .join('');
    const time = e.ms === undefined ? '' : `<p class="time">${Math.round(e.ms)} ms from upload to manifest</p>`;
    return `<section class="card">${head}<div class="row">${source}${variants}</div>${time}</section>`;
  });
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(meta.title)}</title>
<style>
body{font:14px system-ui,sans-serif;margin:2rem;background:#fafafa;color:#222}
.card{background:#fff;border:1px solid #ddd;border-radius:6px;padding:1rem;margin:1rem 0}
.card.rejected{border-color:#d33}.error{color:#b00}
.row{display:flex;gap:1rem;align-items:flex-end;overflow-x:auto}
figure{margin:0}
figure img{max-height:220px;max-width:360px;display:block;
  background:repeating-conic-gradient(#eee 0 25%,#fff 0 50%) 0 0/16px 16px}
.source img{outline:2px solid #48f}figcaption,.time{color:#666;font-size:12px}
h2{font-size:15px;margin:0 0 .5rem}
</style></head><body>
<h1>${esc(meta.title)}</h1><p>${esc(meta.summary)} · ${esc(meta.generatedAt.toISOString())}</p>
${cards.join('\n')}
</body></html>
`;
}
