import { inspect } from 'node:util';
import { configError } from './errors';

/** Renders a rejected value for an error message: JSON where possible, so strings show their quotes. */
export function show(value: unknown): string {
  if (value === undefined) return 'undefined';
  if (typeof value === 'number' && !Number.isFinite(value)) return String(value);
  try {
    const text = JSON.stringify(value);
    return text.length > 80 ? `${text.slice(0, 77)}...` : text;
  } catch {
    // A cycle or a bigint: Node's own rendering, one level deep.
    return inspect(value, { depth: 1, breakLength: Infinity });
  }
}

/**
 * Returns `value` when it is an integer in [min, max]; otherwise throws `INVALID_CONFIG` as
 * `<field>: <value> is not an integer in <min>..<max>`. `shown` replaces the rendered value
 * (for text that was parsed into the number).
 */
export function checkInt(field: string, value: unknown, min: number, max: number, shown: string = show(value)): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) {
    throw configError(field, `${shown} is not an integer in ${min}..${max}`);
  }
  return value;
}

/** Length of `text` in Unicode code points (what AWS calls characters), not UTF-16 units as `text.length` counts. */
export function codePointLength(text: string): number {
  let count = 0;
  for (const _ of text) count++;
  return count;
}
