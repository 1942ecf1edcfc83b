/**
 * The wildcard matching of IAM policies: `*` matches any run of characters (none included), `?`
 * exactly one. Actions compare case-insensitively, resources and ARN conditions case-sensitively
 * ("IAM JSON policy elements: Action", "…: Resource"); an ARN pattern is matched component by
 * component (partition, service, region, account), and the resource part as a whole, so a
 * wildcard in the region never swallows the account.
 */

/** `pattern` (with `*` and `?`) matches all of `value`. */
export function globMatch(pattern: string, value: string, ignoreCase: boolean): boolean {
  const p = ignoreCase ? pattern.toLowerCase() : pattern;
  const v = ignoreCase ? value.toLowerCase() : value;
  // Iterative glob with backtracking to the last `*`: linear in practice, no regular expression built from input.
  let pi = 0;
  let vi = 0;
  let star = -1;
  let mark = 0;
  while (vi < v.length) {
    if (pi < p.length && (p[pi] === '?' || p[pi] === v[vi])) {
      pi++;
      vi++;
    } else if (pi < p.length && p[pi] === '*') {
      star = pi++;
      mark = vi;
    } else if (star >= 0) {
      pi = star + 1;
      vi = ++mark;
    } else {
      return false;
    }
  }
  while (pi < p.length && p[pi] === '*') pi++;
  return pi === p.length;
}

/** `arn:partition:service:region:account:resource` split into its six components (the resource keeps its colons). */
function arnParts(arn: string): string[] | undefined {
  const parts = arn.split(':');
  if (parts.length < 6 || parts[0] !== 'arn') return undefined;
  return [...parts.slice(0, 5), parts.slice(5).join(':')];
}

/**
 * `pattern` matches the ARN `arn`: `*` alone matches anything; otherwise each of the six components
 * is matched on its own, case-sensitively. A pattern of fewer components never matches an ARN; when
 * neither is an ARN (a condition on some other string), they are compared as a plain glob.
 */
export function arnMatch(pattern: string, arn: string): boolean {
  if (pattern === '*') return true;
  const p = arnParts(pattern);
  const a = arnParts(arn);
  if (!p || !a) return !p && !a && globMatch(pattern, arn, false);
  return p.every((part, i) => globMatch(part, a[i], false));
}

/** An IAM action pattern (`s3:Get*`) matches the action (`s3:GetObject`), case-insensitively. */
export function actionMatch(pattern: string, action: string): boolean {
  return globMatch(pattern, action, true);
}
