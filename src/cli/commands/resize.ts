import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { toPipelineError } from '../../core/errors';
import { extensionFor, DEFAULT_VARIANTS } from '../../core/variants';
import { readVariantsFile } from '../variants-file';
import { stripExtension } from '../../core/keys';
import { DEFAULT_LIMITS } from '../../core/limits';
import { resizeImage } from '../../core/pipeline';
import { renderTable, type ReportEntry } from '../../tools/report';
import type { CommandUsage } from '../usage';

/** `resize-chain resize`: the options it reads and the help shown for them. */
export const RESIZE_USAGE = {
  name: 'resize',
  allowPositionals: true,
  options: {
    out: { type: 'string', shown: '<dir>', required: true },
    variants: { type: 'string', shown: 'file.json' },
  },
  forms: [
    {
      positionals: '<file...>',
      shows: ['out', 'variants'],
      description: 'Resize files with the same core the resize Lambda runs.',
    },
  ],
} satisfies CommandUsage;

export interface ResizeFilesOptions {
  files: string[];
  outDir: string;
  variantsFile?: string;
}

/**
 * `resize-chain resize <file…> --out <dir>`: the same core the resize Lambda runs, on local
 * files. Each bad file prints a structured error line on stderr and makes the exit code 1;
 * good files in the same run are still written.
 */
export async function resizeFiles(opts: ResizeFilesOptions): Promise<number> {
  const specs = opts.variantsFile ? readVariantsFile(opts.variantsFile) : [...DEFAULT_VARIANTS];
  const entries: ReportEntry[] = [];
  let failures = 0;
  for (const file of opts.files) {
    const started = performance.now();
    const subject = { key: file };
    try {
      const input = await readFile(file).catch((err: unknown) => {
        const { code, message } = err as NodeJS.ErrnoException; // readFile rejects with a system error
        throw Object.assign(new Error(`cannot read ${file}: ${code ?? message}`), { code });
      });
      const result = await resizeImage(input, specs, DEFAULT_LIMITS, subject);
      const dir = join(opts.outDir, stripExtension(basename(file)));
      await mkdir(dir, { recursive: true });
      const variants = await Promise.all(
        result.variants.map(async (v) => {
          const path = join(dir, `${v.name}.${extensionFor(v.format)}`);
          await writeFile(path, v.data);
          return {
            name: v.name,
            width: v.width,
            height: v.height,
            format: v.format,
            bytes: v.data.length,
            file: resolve(path),
          };
        }),
      );
      entries.push({
        sourceKey: file,
        status: 'done',
        source: { ...result.source, bytes: input.length },
        variants,
        ms: performance.now() - started,
      });
    } catch (err) {
      failures++;
      const error = toPipelineError(err, subject);
      process.stderr.write(`${JSON.stringify({ level: 'error', file, error: error.toJSON() })}\n`);
      entries.push({
        sourceKey: file,
        status: 'rejected',
        variants: [],
        error: { code: error.code, message: error.message },
      });
    }
  }
  process.stdout.write(`${renderTable(entries)}\n`);
  return failures === 0 ? 0 : 1;
}
