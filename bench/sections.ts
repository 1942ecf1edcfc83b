/**
 * Sections of bench/results.md that scripts other than bench/run.ts generate (the worst-case
 * memory table, the scale model). Each lives between `<!-- section:ID -->` and `<!-- /section:ID -->`
 * so it can be regenerated alone, and bench/run.ts carries them over when it rewrites the timing
 * tables.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';

const open = (id: string) => `<!-- section:${id} -->`;
const close = (id: string) => `<!-- /section:${id} -->`;
const SECTION = /<!-- section:([\w-]+) -->[\s\S]*?<!-- \/section:\1 -->/g;

/** `markdown` with section `id` set to `body`: replaced where it is, else appended. */
export function withSection(markdown: string, id: string, body: string): string {
  const block = `${open(id)}\n${body.trim()}\n${close(id)}`;
  const start = markdown.indexOf(open(id));
  const end = markdown.indexOf(close(id));
  if (start !== -1 && end > start) return markdown.slice(0, start) + block + markdown.slice(end + close(id).length);
  return `${markdown.trimEnd()}\n\n${block}\n`;
}

/** Every section of `markdown`, in order, as whole blocks (markers included). */
export function sectionsOf(markdown: string): Array<{ id: string; block: string }> {
  return [...markdown.matchAll(SECTION)].map((m) => ({ id: m[1], block: m[0] }));
}

/** `fresh` (a newly rendered report) with the sections of `previous` it lacks, appended in their order. */
export function carrySections(previous: string, fresh: string): string {
  let out = fresh;
  for (const { id, block } of sectionsOf(previous)) {
    if (!out.includes(open(id))) out = `${out.trimEnd()}\n\n${block}\n`;
  }
  return out;
}

/** Sets section `id` of the markdown file `file` (created when missing). */
export function writeSection(file: string, id: string, body: string): void {
  const current = existsSync(file) ? readFileSync(file, 'utf8') : '';
  writeFileSync(file, withSection(current, id, body));
}
