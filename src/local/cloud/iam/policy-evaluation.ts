/**
 * IAM's policy evaluation for one request, for the policies the local cloud holds: the principal's
 * identity policies (inline and attached) and the resource's policy (bucket policy, queue policy).
 * Written here rather than taken from npm: the one maintained evaluator (@cloud-copilot/iam-simulate)
 * is AGPL, which an Apache-2.0 project cannot ship.
 *
 * The logic ("Policy evaluation logic", "Determining whether a request is allowed or denied within
 * an account", "Cross-account policy evaluation logic"):
 * 1. an explicit Deny in any applicable statement decides (ExplicitDeny);
 * 2. within one account, an Allow in an identity policy OR in the resource policy allows;
 *    across accounts, both the principal's identity policy and the resource policy must allow;
 *    a service principal (s3.amazonaws.com…) has no identity policy: the resource policy decides;
 * 3. otherwise ImplicitDeny.
 * Out of scope (never consulted): SCPs and RCPs, permission boundaries, session policies, KMS key
 * policies and grants, ACLs, VPC endpoint policies.
 */
import { conditionHolds, lookupKey, type ConditionBlock, type ConditionContext } from './policy-conditions';
import { actionMatch, arnMatch } from './policy-match';

/** One statement as IAM's JSON grammar spells it. */
export interface PolicyStatement {
  readonly Sid?: string;
  readonly Effect: 'Allow' | 'Deny';
  readonly Action?: string | readonly string[];
  readonly NotAction?: string | readonly string[];
  readonly Resource?: string | readonly string[];
  readonly NotResource?: string | readonly string[];
  /** Resource policies only. */
  readonly Principal?: PolicyPrincipal;
  readonly NotPrincipal?: PolicyPrincipal;
  readonly Condition?: ConditionBlock;
}

/** `"*"` or `{ "AWS": …, "Service": …, "Federated": …, "CanonicalUser": … }`. */
export type PolicyPrincipal = '*' | Readonly<Record<string, string | readonly string[]>>;

export interface PolicyDocument {
  readonly Version?: string;
  readonly Statement: PolicyStatement | readonly PolicyStatement[];
}

/** A policy with the name the log shows for it (inline policy name, managed policy ARN, `bucket policy of b`). */
export interface NamedPolicy {
  readonly name: string;
  /** The document, parsed or as the JSON text stored by the API. */
  readonly document: PolicyDocument | string;
}

/** Who makes the request. */
export type RequestPrincipal =
  | {
      readonly kind: 'aws';
      /** The caller's ARN: a user, the root, or an assumed-role session (`arn:aws:sts::…:assumed-role/R/s`). */
      readonly arn: string;
      readonly account: string;
      /** For a role session: the role's own ARN (`arn:aws:iam::…:role/R`), which a Principal element may name. */
      readonly roleArn?: string;
    }
  | { readonly kind: 'service'; readonly service: string }
  | { readonly kind: 'anonymous' };

export interface AuthorizationRequest {
  /** `service:Action`, e.g. `s3:GetObject`. */
  readonly action: string;
  /** The resource's ARN (`arn:aws:s3:::bucket/key`). */
  readonly resource: string;
  readonly principal: RequestPrincipal;
  /** Condition keys of the request (aws:SecureTransport, aws:SourceArn, s3:prefix…). @default {} */
  readonly context?: ConditionContext;
}

export interface AuthorizationInput {
  readonly request: AuthorizationRequest;
  /** The principal's identity policies, inline and attached. @default [] */
  readonly identityPolicies?: readonly NamedPolicy[];
  /** The resource's own policy, when it has one. */
  readonly resourcePolicy?: NamedPolicy;
  /**
   * The account that owns the resource. @default the account in the resource ARN, else the
   * principal's account (S3 ARNs carry none: same-account).
   */
  readonly resourceAccount?: string;
}

export type Decision = 'Allow' | 'ExplicitDeny' | 'ImplicitDeny';

/** The statement that decided, for the log: its policy, its position and its Sid. */
export interface DecidingStatement {
  readonly policy: string;
  readonly kind: 'identity' | 'resource';
  /** Zero-based position in the policy's Statement list. */
  readonly index: number;
  readonly sid?: string;
}

export interface AuthorizationResult {
  readonly decision: Decision;
  /** The deny that decided, or the allow; absent for an implicit deny (no statement applied). */
  readonly statement?: DecidingStatement;
}

/** A policy the evaluator cannot read, named as IAM names the error of such a document. */
export class MalformedPolicyError extends Error {
  override readonly name = 'MalformedPolicyError';
  readonly code = 'MalformedPolicyDocument';
  constructor(
    readonly policy: string,
    message: string,
  ) {
    super(`${policy}: ${message}`);
  }
}

const list = (v: string | readonly string[] | undefined): readonly string[] =>
  v === undefined ? [] : typeof v === 'string' ? [v] : v;

/** A policy's document and its checked statements, as evaluation reads them. */
interface ParsedPolicy {
  readonly document: PolicyDocument;
  readonly statements: readonly PolicyStatement[];
}

/**
 * Parsed policies by their text: every request is evaluated against the same few documents, and
 * parsing and checking them on each evaluation was a quarter of the gateway's authorization CPU in
 * the chain bench. Bounded: a store that keeps changing its policies clears it rather than growing it.
 */
const parsedByText = new Map<string, ParsedPolicy>();
const parsedByObject = new WeakMap<PolicyDocument, ParsedPolicy>();
const PARSED_POLICIES_KEPT = 512;

function parsePolicy(policy: NamedPolicy): ParsedPolicy {
  const text = policy.document;
  const known = typeof text === 'string' ? parsedByText.get(text) : parsedByObject.get(text);
  if (known) return known;
  let document: PolicyDocument;
  try {
    document = typeof text === 'string' ? (JSON.parse(text) as PolicyDocument) : text;
  } catch (err) {
    throw new MalformedPolicyError(policy.name, `not JSON (${(err as Error).message})`);
  }
  const statements = Array.isArray(document.Statement)
    ? (document.Statement as readonly PolicyStatement[])
    : [document.Statement as PolicyStatement];
  statements.forEach((s, i) => {
    if (s === null || typeof s !== 'object')
      throw new MalformedPolicyError(policy.name, `statement ${i} is not an object`);
    if (s.Effect !== 'Allow' && s.Effect !== 'Deny')
      throw new MalformedPolicyError(policy.name, `statement ${i}: Effect must be Allow or Deny`);
    if ((s.Action === undefined) === (s.NotAction === undefined))
      throw new MalformedPolicyError(policy.name, `statement ${i}: exactly one of Action and NotAction`);
  });
  const parsed = { document, statements };
  if (typeof text === 'string') {
    if (parsedByText.size >= PARSED_POLICIES_KEPT) parsedByText.clear();
    parsedByText.set(text, parsed);
  } else {
    parsedByObject.set(text, parsed);
  }
  return parsed;
}

/**
 * Resolves the policy variables of a 2012-10-17 policy (`${aws:SourceAccount}`, `${*}`, `${?}`,
 * `${$}`) from the request's condition keys; undefined when a variable's key is absent (the
 * element then matches nothing, as IAM treats it). Version 2008-10-17 policies take `${…}` literally.
 */
function substitutor(version: string | undefined, context: ConditionContext): (text: string) => string | undefined {
  if (version !== '2012-10-17') return (text) => text;
  return (text) => {
    let missing = false;
    const out = text.replace(/\$\{([^}]+)\}/g, (_, name: string) => {
      if (name === '*' || name === '?' || name === '$') return name;
      const value = lookupKey(context, name.trim());
      if (value === undefined || value.length !== 1) {
        missing = true;
        return '';
      }
      return value[0];
    });
    return missing ? undefined : out;
  };
}

/** The ARN a bare account id in a Principal element stands for. */
const accountRoot = (account: string): string => `arn:aws:iam::${account}:root`;
const ACCOUNT_OF_ROOT = /^arn:aws[a-z-]*:iam::(\d{12}):root$/;

/**
 * One Principal entry names the caller. An account (id or root ARN) names only the root for an
 * Allow (an account principal delegates to the account's identity policies, it grants no role on
 * its own) but every principal of the account for a Deny.
 */
function principalEntryMatches(
  type: string,
  value: string,
  principal: RequestPrincipal,
  effect: PolicyStatement['Effect'],
): boolean {
  if (type === 'Service') return principal.kind === 'service' && principal.service === value;
  if (type !== 'AWS') return false;
  if (value === '*') return principal.kind !== 'service';
  if (principal.kind !== 'aws') return false;
  const named = /^\d{12}$/.test(value) ? accountRoot(value) : value;
  const account = ACCOUNT_OF_ROOT.exec(named)?.[1];
  if (account !== undefined) return named === principal.arn || (effect === 'Deny' && account === principal.account);
  return named === principal.arn || named === principal.roleArn;
}

function principalMatches(
  element: PolicyPrincipal,
  principal: RequestPrincipal,
  effect: PolicyStatement['Effect'],
): boolean {
  if (element === '*') return true;
  return Object.entries(element).some(([type, values]) =>
    list(values).some((v) => principalEntryMatches(type, v, principal, effect)),
  );
}

function actionApplies(s: PolicyStatement, action: string): boolean {
  if (s.Action !== undefined) return list(s.Action).some((p) => actionMatch(p, action));
  return !list(s.NotAction).some((p) => actionMatch(p, action));
}

function resourceApplies(s: PolicyStatement, resource: string, substitute: (t: string) => string | undefined): boolean {
  const matches = (patterns: readonly string[]): boolean =>
    patterns.some((p) => {
      const resolved = substitute(p);
      return resolved !== undefined && arnMatch(resolved, resource);
    });
  if (s.Resource !== undefined) return matches(list(s.Resource));
  if (s.NotResource !== undefined) return !matches(list(s.NotResource));
  // A resource policy may leave Resource out: it then covers the resource it is attached to.
  return true;
}

function principalApplies(s: PolicyStatement, principal: RequestPrincipal, kind: DecidingStatement['kind']): boolean {
  if (kind === 'identity') return true;
  if (s.Principal !== undefined) return principalMatches(s.Principal, principal, s.Effect);
  if (s.NotPrincipal !== undefined) return !principalMatches(s.NotPrincipal, principal, s.Effect);
  return false;
}

interface Match {
  readonly effect: PolicyStatement['Effect'];
  readonly statement: DecidingStatement;
}

/** The statements of `policy` that apply to the request, in order. */
function matchingStatements(
  policy: NamedPolicy,
  kind: DecidingStatement['kind'],
  request: AuthorizationRequest,
): Match[] {
  const context = request.context ?? {};
  const { document, statements } = parsePolicy(policy);
  const substitute = substitutor(document.Version, context);
  return statements.flatMap((s, index) => {
    const applies =
      actionApplies(s, request.action) &&
      resourceApplies(s, request.resource, substitute) &&
      principalApplies(s, request.principal, kind) &&
      conditionHolds(s.Condition, context, substitute);
    return applies
      ? [
          {
            effect: s.Effect,
            statement: { policy: policy.name, kind, index, ...(s.Sid !== undefined ? { sid: s.Sid } : {}) },
          },
        ]
      : [];
  });
}

/** The account in an ARN (its fifth component), when it has one. */
function accountOfArn(arn: string): string | undefined {
  const account = arn.split(':')[4];
  return account ? account : undefined;
}

/**
 * Decides one request: ExplicitDeny when a matching Deny exists (the first found is reported),
 * else Allow when the policies allow it under the same-account or cross-account rule, else
 * ImplicitDeny. Throws MalformedPolicyError for an unreadable document and
 * UnsupportedConditionError for an unknown condition operator (never guessed either way).
 */
export function evaluateAuthorization(input: AuthorizationInput): AuthorizationResult {
  const { request } = input;
  const { principal } = request;
  const identity =
    principal.kind === 'aws'
      ? (input.identityPolicies ?? []).flatMap((p) => matchingStatements(p, 'identity', request))
      : [];
  const resource = input.resourcePolicy ? matchingStatements(input.resourcePolicy, 'resource', request) : [];
  const deny = [...identity, ...resource].find((m) => m.effect === 'Deny');
  if (deny) return { decision: 'ExplicitDeny', statement: deny.statement };
  const identityAllow = identity.find((m) => m.effect === 'Allow');
  const resourceAllow = resource.find((m) => m.effect === 'Allow');
  if (principal.kind !== 'aws')
    return resourceAllow ? { decision: 'Allow', statement: resourceAllow.statement } : { decision: 'ImplicitDeny' };
  const resourceAccount = input.resourceAccount ?? accountOfArn(request.resource) ?? principal.account;
  if (resourceAccount === principal.account) {
    const allow = identityAllow ?? resourceAllow;
    return allow ? { decision: 'Allow', statement: allow.statement } : { decision: 'ImplicitDeny' };
  }
  return identityAllow && resourceAllow
    ? { decision: 'Allow', statement: resourceAllow.statement }
    : { decision: 'ImplicitDeny' };
}
