/**
 * The Condition element of an IAM policy statement, decided against a request context, the way
 * IAM decides it ("IAM JSON policy elements: Condition operators"; "Conditions with multiple
 * context keys or values"):
 * - operators in one block are ANDed, keys under one operator are ANDed, the values of one key are
 *   ORed (NORed for a negated operator such as StringNotEquals);
 * - a key absent from the request makes a positive operator false and a negated one true, except
 *   `…IfExists` (true when absent) and `Null` (tests presence itself);
 * - `ForAnyValue:` / `ForAllValues:` qualify multivalued keys; ForAllValues is true for an absent or
 *   empty key, ForAnyValue false.
 * String operators are case-sensitive unless `…IgnoreCase`; condition key names are not.
 */
import { BlockList, isIPv4, isIPv6 } from 'node:net';
import { globMatch, arnMatch } from './policy-match';

/** A request's value for one condition key: one value or several (multivalued keys such as aws:TagKeys). */
export type ContextValue = string | readonly string[];

/** Condition keys of one request, keyed by name (looked up case-insensitively). */
export type ConditionContext = Readonly<Record<string, ContextValue>>;

/** A statement's Condition element: operator → key → one value or several. */
export type ConditionBlock = Readonly<Record<string, Readonly<Record<string, unknown>>>>;

/** A policy that uses an operator this evaluator does not know: refused loudly rather than guessed. */
export class UnsupportedConditionError extends Error {
  override readonly name = 'UnsupportedConditionError';
  readonly code = 'UnsupportedCondition';
  constructor(readonly operator: string) {
    super(`condition operator ${operator} is not supported by the local policy evaluator`);
  }
}

/** One comparison of a request value with one policy value. */
type Compare = (requestValue: string, policyValue: string) => boolean;

interface OperatorSpec {
  readonly compare: Compare;
  /** A negated operator (StringNotEquals…): true when the request value matches none of the policy values. */
  readonly negated: boolean;
}

const numeric =
  (test: (a: number, b: number) => boolean): Compare =>
  (a, b) => {
    const x = Number(a);
    const y = Number(b);
    return a.trim() !== '' && b.trim() !== '' && Number.isFinite(x) && Number.isFinite(y) && test(x, y);
  };

/** A date condition value: ISO 8601 or seconds since the epoch. */
function dateMillis(value: string): number {
  return /^\d+$/.test(value) ? Number(value) * 1000 : Date.parse(value);
}

const date =
  (test: (a: number, b: number) => boolean): Compare =>
  (a, b) => {
    const x = dateMillis(a);
    const y = dateMillis(b);
    return Number.isFinite(x) && Number.isFinite(y) && test(x, y);
  };

/** The request address `a` is in the CIDR block (or address) `b`. */
function inCidr(a: string, b: string): boolean {
  const [net, bits] = b.split('/');
  if (net === undefined) return false;
  const family = isIPv4(net) ? 'ipv4' : isIPv6(net) ? 'ipv6' : undefined;
  if (!family || !(family === 'ipv4' ? isIPv4(a) : isIPv6(a))) return false;
  const prefix = bits === undefined ? (family === 'ipv4' ? 32 : 128) : Number(bits);
  if (!Number.isInteger(prefix)) return false;
  const list = new BlockList();
  list.addSubnet(net, prefix, family);
  return list.check(a, family);
}

const equals: Compare = (a, b) => a === b;
const equalsIgnoreCase: Compare = (a, b) => a.toLowerCase() === b.toLowerCase();
const like: Compare = (a, b) => globMatch(b, a, false);
const arnLike: Compare = (a, b) => arnMatch(b, a);
const bool: Compare = (a, b) => a.toLowerCase() === b.toLowerCase();

/** The operators IAM documents, by name without qualifier or IfExists. */
const OPERATORS: Readonly<Record<string, OperatorSpec>> = {
  StringEquals: { compare: equals, negated: false },
  StringNotEquals: { compare: equals, negated: true },
  StringEqualsIgnoreCase: { compare: equalsIgnoreCase, negated: false },
  StringNotEqualsIgnoreCase: { compare: equalsIgnoreCase, negated: true },
  StringLike: { compare: like, negated: false },
  StringNotLike: { compare: like, negated: true },
  NumericEquals: { compare: numeric((a, b) => a === b), negated: false },
  NumericNotEquals: { compare: numeric((a, b) => a === b), negated: true },
  NumericLessThan: { compare: numeric((a, b) => a < b), negated: false },
  NumericLessThanEquals: { compare: numeric((a, b) => a <= b), negated: false },
  NumericGreaterThan: { compare: numeric((a, b) => a > b), negated: false },
  NumericGreaterThanEquals: { compare: numeric((a, b) => a >= b), negated: false },
  DateEquals: { compare: date((a, b) => a === b), negated: false },
  DateNotEquals: { compare: date((a, b) => a === b), negated: true },
  DateLessThan: { compare: date((a, b) => a < b), negated: false },
  DateLessThanEquals: { compare: date((a, b) => a <= b), negated: false },
  DateGreaterThan: { compare: date((a, b) => a > b), negated: false },
  DateGreaterThanEquals: { compare: date((a, b) => a >= b), negated: false },
  Bool: { compare: bool, negated: false },
  BinaryEquals: { compare: equals, negated: false },
  IpAddress: { compare: inCidr, negated: false },
  NotIpAddress: { compare: inCidr, negated: true },
  ArnEquals: { compare: arnLike, negated: false },
  ArnLike: { compare: arnLike, negated: false },
  ArnNotEquals: { compare: arnLike, negated: true },
  ArnNotLike: { compare: arnLike, negated: true },
};

/** An operator name taken apart: `ForAllValues:StringLikeIfExists` → set ForAllValues, base StringLike, ifExists. */
interface ParsedOperator {
  readonly set?: 'ForAnyValue' | 'ForAllValues';
  readonly base: string;
  readonly ifExists: boolean;
}

function parseOperator(name: string): ParsedOperator {
  const m = /^(?:(ForAnyValue|ForAllValues):)?(.+?)(IfExists)?$/.exec(name);
  if (!m) throw new UnsupportedConditionError(name);
  const set = m[1] as ParsedOperator['set'];
  return { ...(set ? { set } : {}), base: m[2], ifExists: m[3] !== undefined };
}

/** The policy's values for a key as strings (JSON booleans and numbers are written as strings in IAM). */
function policyValues(raw: unknown): string[] {
  const list = Array.isArray(raw) ? raw : [raw];
  return list.map((v) => (typeof v === 'string' ? v : JSON.stringify(v)));
}

/** The request's values for `key` (case-insensitive name), or undefined when absent. */
export function lookupKey(context: ConditionContext, key: string): readonly string[] | undefined {
  const direct = context[key];
  const value = direct ?? Object.entries(context).find(([name]) => name.toLowerCase() === key.toLowerCase())?.[1];
  if (value === undefined) return undefined;
  return typeof value === 'string' ? [value] : value;
}

/** One request value against the policy values: OR, or NOR for a negated operator. */
function valueMatches(
  spec: OperatorSpec,
  requestValue: string,
  values: readonly string[],
  substitute: (v: string) => string | undefined,
): boolean {
  const any = values.some((v) => {
    const resolved = substitute(v);
    return resolved !== undefined && spec.compare(requestValue, resolved);
  });
  return spec.negated ? !any : any;
}

/** One operator/key pair of the block. */
function keyHolds(
  operatorName: string,
  key: string,
  raw: unknown,
  context: ConditionContext,
  substitute: (v: string) => string | undefined,
): boolean {
  const values = policyValues(raw);
  const present = lookupKey(context, key);
  if (operatorName === 'Null') {
    const absent = present === undefined || present.length === 0;
    return values.some((v) => (v.toLowerCase() === 'true' ? absent : !absent));
  }
  const op = parseOperator(operatorName);
  const spec = OPERATORS[op.base];
  if (!spec) throw new UnsupportedConditionError(operatorName);
  if (op.set === 'ForAllValues') {
    if (present === undefined || present.length === 0) return true;
    return present.every((r) => valueMatches(spec, r, values, substitute));
  }
  if (present === undefined || present.length === 0) return op.ifExists ? true : spec.negated;
  if (op.set === 'ForAnyValue') return present.some((r) => valueMatches(spec, r, values, substitute));
  // A single-valued operator on a request value: a multivalued key given here counts if any value matches.
  return spec.negated
    ? present.every((r) => valueMatches(spec, r, values, substitute))
    : present.some((r) => valueMatches(spec, r, values, substitute));
}

/**
 * Whether a statement's Condition block holds for the request. `substitute` resolves policy
 * variables (`${aws:SourceAccount}`) in condition values; a value naming an absent key matches nothing.
 * Throws UnsupportedConditionError for an operator IAM does not define (or this evaluator does not know).
 */
export function conditionHolds(
  block: ConditionBlock | undefined,
  context: ConditionContext,
  substitute: (v: string) => string | undefined = (v) => v,
): boolean {
  if (!block) return true;
  return Object.entries(block).every(([operator, keys]) =>
    Object.entries(keys).every(([key, raw]) => keyHolds(operator, key, raw, context, substitute)),
  );
}
