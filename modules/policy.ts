/**
 * IAM policy plumbing shared by the constructs: one statement type, one renderer, and the
 * `IGrantable` seam that `grant*` helpers use, so no call site writes policy JSON by hand.
 */

/** One IAM policy statement. `Effect` is always Allow: the module never needs Deny for principals. */
export interface PolicyStatement {
  /** A statement id, unique within its policy (letters and digits). */
  readonly sid: string;
  readonly actions: string[];
  readonly resources: string[];
  /** IAM conditions, e.g. `{ StringLike: { 's3:prefix': ['uploads/*'] } }`. */
  readonly conditions?: Record<string, Record<string, string | string[]>>;
}

/** Anything that holds an identity policy statements can be added to (a function role, a role in another stack). */
export interface IGrantable {
  /** Adds a statement to this principal's identity policy. Statements with the same `sid` are merged. */
  addToPrincipalPolicy(statement: PolicyStatement): void;
}

/** A resource-policy statement: the principal is a service or an AWS account. */
export interface ResourcePolicyStatement extends PolicyStatement {
  readonly effect?: 'Allow' | 'Deny';
  readonly principal: '*' | { Service: string } | { AWS: string | string[] };
}

/**
 * Renders an identity policy document. Resource ARNs may be cdktf tokens: they are rendered as
 * Terraform interpolations inside the JSON string, which Terraform resolves at apply.
 */
export function identityPolicyJson(statements: readonly PolicyStatement[]): string {
  return JSON.stringify({
    Version: '2012-10-17',
    Statement: statements.map((s) => ({
      Sid: s.sid,
      Effect: 'Allow',
      Action: s.actions.length === 1 ? s.actions[0] : s.actions,
      Resource: s.resources.length === 1 ? s.resources[0] : s.resources,
      ...(s.conditions ? { Condition: s.conditions } : {}),
    })),
  });
}

/** Renders a resource policy document (bucket policy, queue policy). */
export function resourcePolicyJson(statements: readonly ResourcePolicyStatement[]): string {
  return JSON.stringify({
    Version: '2012-10-17',
    Statement: statements.map((s) => ({
      Sid: s.sid,
      Effect: s.effect ?? 'Allow',
      Principal: s.principal,
      Action: s.actions.length === 1 ? s.actions[0] : s.actions,
      Resource: s.resources.length === 1 ? s.resources[0] : s.resources,
      ...(s.conditions ? { Condition: s.conditions } : {}),
    })),
  });
}

/** The trust policy that lets Lambda assume a function's execution role. */
export function lambdaTrustPolicyJson(): string {
  return JSON.stringify({
    Version: '2012-10-17',
    Statement: [{ Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' }],
  });
}

/**
 * Collects statements for one principal, merging statements with the same sid (their
 * resources are unioned) so repeated grants do not grow the policy.
 */
export class StatementCollector implements IGrantable {
  private readonly bySid = new Map<string, PolicyStatement>();

  addToPrincipalPolicy(statement: PolicyStatement): void {
    const existing = this.bySid.get(statement.sid);
    if (!existing) {
      this.bySid.set(statement.sid, {
        ...statement,
        actions: [...statement.actions],
        resources: [...statement.resources],
      });
      return;
    }
    const union = (a: string[], b: string[]): string[] => [...a, ...b.filter((x) => !a.includes(x))];
    this.bySid.set(statement.sid, {
      ...existing,
      actions: union(existing.actions, statement.actions),
      resources: union(existing.resources, statement.resources),
    });
  }

  get statements(): PolicyStatement[] {
    return [...this.bySid.values()];
  }

  get isEmpty(): boolean {
    return this.bySid.size === 0;
  }
}

/** Turns a construct-ish name into a statement id fragment: `ingest-dlq` -> `IngestDlq`. */
export function sidFragment(name: string): string {
  return name
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean)
    .map((p) => p[0].toUpperCase() + p.slice(1))
    .join('');
}
