import { readFileSync } from 'node:fs';
import { configError } from '../core/errors';
import { parseVariantSpecs, type VariantSpec } from '../core/variants';

/**
 * Reads and validates a variant spec file given on the command line (`--variants`). A file that
 * cannot be read is an INVALID_CONFIG error naming it, like a spec that does not validate.
 */
export function readVariantsFile(path: string): VariantSpec[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw configError(
      path,
      `cannot read the variant spec file (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`,
    );
  }
  return parseVariantSpecs(text, path);
}
