/**
 * Event filtering of an event source mapping (FilterCriteria): each record is matched against the
 * filters' event patterns, as Lambda does, before the function is invoked. An SQS message's `body`
 * is matched as JSON when it parses (else as a string); a Kinesis record's `data` is matched as
 * the decoded JSON. Records that match no filter are not passed to the function: for SQS Lambda
 * deletes them, for Kinesis it moves past them; both are what answering them as processed does.
 * Pattern syntax: exact values, `prefix`, `suffix`, `equals-ignore-case`, `exists`, `anything-but`
 * and `numeric` (the comparison operators of event patterns).
 */
import type { InvokeFn } from './invoke-contract';
import type { MappingFilter } from './mapping-settings';

type Json = string | number | boolean | null | Json[] | { [key: string]: Json };

const NUMERIC: Record<string, (a: number, b: number) => boolean> = {
  '=': (a, b) => a === b,
  '<': (a, b) => a < b,
  '<=': (a, b) => a <= b,
  '>': (a, b) => a > b,
  '>=': (a, b) => a >= b,
};

/** Whether one matcher of a pattern's list accepts `value` (undefined: the field is absent). */
function matcherAccepts(matcher: Json, value: Json | undefined): boolean {
  if (matcher === null || typeof matcher !== 'object' || Array.isArray(matcher)) return value === matcher;
  const [op, arg] = Object.entries(matcher)[0] ?? [];
  if (op === 'exists') return (value !== undefined) === arg;
  if (value === undefined) return false;
  if (op === 'prefix') return typeof value === 'string' && typeof arg === 'string' && value.startsWith(arg);
  if (op === 'suffix') return typeof value === 'string' && typeof arg === 'string' && value.endsWith(arg);
  if (op === 'equals-ignore-case')
    return typeof value === 'string' && typeof arg === 'string' && value.toLowerCase() === arg.toLowerCase();
  if (op === 'anything-but') return !(Array.isArray(arg) ? arg : [arg ?? null]).some((v) => matcherAccepts(v, value));
  if (op === 'numeric' && Array.isArray(arg) && typeof value === 'number') {
    for (let i = 0; i + 1 < arg.length; i += 2) {
      const op = arg[i];
      const compare = typeof op === 'string' ? NUMERIC[op] : undefined;
      if (!compare || !compare(value, Number(arg[i + 1]))) return false;
    }
    return true;
  }
  return false;
}

/** Whether `event` matches the event pattern `pattern` (every key of the pattern must match). */
export function patternMatches(pattern: { [key: string]: Json }, event: Json | undefined): boolean {
  return Object.entries(pattern).every(([key, expected]) => {
    const value =
      event !== null && typeof event === 'object' && !Array.isArray(event)
        ? (event as Record<string, Json>)[key]
        : undefined;
    if (Array.isArray(expected)) {
      const values = Array.isArray(value) ? value : [value];
      return expected.some((matcher) => values.some((v) => matcherAccepts(matcher, v)));
    }
    if (expected !== null && typeof expected === 'object') return patternMatches(expected, value);
    return false;
  });
}

function parsedOrText(text: string): Json {
  try {
    return JSON.parse(text) as Json;
  } catch {
    return text;
  }
}

/** The record as the filters see it: SQS with its body parsed, Kinesis's `data` decoded. */
function filterView(record: Record<string, unknown>, kind: 'sqs' | 'kinesis'): Json {
  if (kind === 'sqs')
    return {
      ...(record as Record<string, Json>),
      body: parsedOrText(typeof record.body === 'string' ? record.body : ''),
    };
  const kinesis = (record.kinesis ?? {}) as Record<string, Json>;
  return {
    ...(record as Record<string, Json>),
    data: parsedOrText(Buffer.from(typeof kinesis.data === 'string' ? kinesis.data : '', 'base64').toString('utf8')),
  };
}

/**
 * `invoke` with the filters applied to each event's Records: unchanged without filters; answers a
 * batch with no matching record as processed without invoking.
 */
export function filteredInvoke(
  invoke: InvokeFn,
  criteria: { Filters: MappingFilter[] } | undefined,
  kind: 'sqs' | 'kinesis',
): InvokeFn {
  const patterns = (criteria?.Filters ?? [])
    .map((f) => (f.Pattern ? (JSON.parse(f.Pattern) as { [key: string]: Json }) : undefined))
    .filter((p): p is { [key: string]: Json } => p !== undefined);
  if (patterns.length === 0) return invoke;
  return async (event) => {
    const records = ((event as { Records?: Record<string, unknown>[] }).Records ?? []).filter((record) =>
      patterns.some((p) => patternMatches(p, filterView(record, kind))),
    );
    if (records.length === 0) return { ok: true, requestId: 'filtered-out', payload: null, durationMs: 0 };
    return invoke({ ...(event as object), Records: records });
  };
}
