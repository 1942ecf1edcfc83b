/**
 * IAM's state and behaviour for the local cloud: roles with their trust policy, tags, inline and
 * attached policies, and customer-managed policies with their versions, held in memory. Refusals
 * carry IAM's codes, statuses and messages (NoSuchEntity 404, EntityAlreadyExists 409,
 * DeleteConflict 409, MalformedPolicyDocument 400, ValidationError 400). The wire format is
 * iam-api.ts's business; nothing here knows XML.
 *
 * AWS-managed policies (`arn:aws:iam::aws:policy/…`) are taken as existing: their catalogue is
 * AWS's, and attaching one is all a deployment does with it. Policies are stored here and
 * evaluated by the gateway (request-authorization.ts).
 */
import { randomBytes } from 'node:crypto';
import { QueryError } from '../query-protocol';

export interface Role {
  readonly name: string;
  readonly id: string;
  readonly arn: string;
  readonly path: string;
  readonly createDate: Date;
  assumeRolePolicyDocument: string;
  description?: string;
  maxSessionDuration: number;
  permissionsBoundary?: string;
  readonly tags: Map<string, string>;
  readonly inlinePolicies: Map<string, string>;
  /** Attached managed policy ARNs, in attachment order. */
  readonly attachedPolicies: Set<string>;
}

export interface PolicyVersion {
  readonly versionId: string;
  readonly document: string;
  readonly createDate: Date;
}

export interface ManagedPolicy {
  readonly name: string;
  readonly id: string;
  readonly arn: string;
  readonly path: string;
  readonly description?: string;
  readonly createDate: Date;
  updateDate: Date;
  defaultVersionId: string;
  readonly versions: PolicyVersion[];
  readonly tags: Map<string, string>;
}

export interface CreateRoleInput {
  name: string;
  assumeRolePolicyDocument: string;
  /** @default '/' */
  path?: string;
  description?: string;
  /** @default 3600 */
  maxSessionDuration?: number;
  permissionsBoundary?: string;
  tags?: ReadonlyArray<{ key: string; value: string }>;
}

const NAME = /^[\w+=,.@-]+$/;

/** IAM's unique ids: a four-letter kind prefix and 17 upper-case letters and digits. */
function uniqueId(prefix: string): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  return prefix + [...randomBytes(17)].map((b) => alphabet[b % alphabet.length]).join('');
}

function noSuchEntity(message: string): QueryError {
  return new QueryError('NoSuchEntity', message, 404);
}

function validation(message: string): QueryError {
  return new QueryError('ValidationError', message, 400);
}

/** Refuses a policy document that is not a JSON object, with IAM's message. */
function checkPolicyDocument(document: string | undefined, field: string): string {
  if (document === undefined || document === '')
    throw validation(
      `1 validation error detected: Value at '${field}' failed to satisfy constraint: Member must not be null`,
    );
  let parsed: unknown;
  try {
    parsed = JSON.parse(document);
  } catch {
    throw new QueryError('MalformedPolicyDocument', 'This policy contains invalid Json', 400);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    throw new QueryError('MalformedPolicyDocument', 'This policy contains invalid Json', 400);
  return document;
}

function checkName(name: string | undefined, field: string, max: number): string {
  if (!name)
    throw validation(
      `1 validation error detected: Value at '${field}' failed to satisfy constraint: Member must not be null`,
    );
  if (name.length > max)
    throw validation(
      `1 validation error detected: Value '${name}' at '${field}' failed to satisfy constraint: ` +
        `Member must have length less than or equal to ${max}`,
    );
  if (!NAME.test(name))
    throw validation(
      `1 validation error detected: Value '${name}' at '${field}' failed to satisfy constraint: ` +
        `Member must satisfy regular expression pattern: [\\w+=,.@-]+`,
    );
  return name;
}

function checkPath(path: string | undefined): string {
  const value = path ?? '/';
  if (!/^\/(?:[\x21-\x7e]*\/)?$/.test(value))
    throw validation(
      `The specified value for path is invalid. ` +
        `It must begin and end with / and contain only alphanumeric characters and/or / characters.`,
    );
  return value;
}

/** The in-memory IAM of one local cloud. */
export class IamStore {
  private readonly roles = new Map<string, Role>();
  private readonly policies = new Map<string, ManagedPolicy>();

  /** @param accountId the account in every ARN. @param partition @default 'aws' */
  constructor(
    readonly accountId: string,
    readonly partition = 'aws',
  ) {}

  createRole(input: CreateRoleInput): Role {
    const name = checkName(input.name, 'roleName', 64);
    const document = checkPolicyDocument(input.assumeRolePolicyDocument, 'assumeRolePolicyDocument');
    const path = checkPath(input.path);
    const maxSessionDuration = input.maxSessionDuration ?? 3600;
    if (!(Number.isInteger(maxSessionDuration) && maxSessionDuration >= 3600 && maxSessionDuration <= 43200)) {
      throw validation(
        `1 validation error detected: Value '${maxSessionDuration}' at 'maxSessionDuration' ` +
          `failed to satisfy constraint: Member must have value between 3600 and 43200`,
      );
    }
    // Role names are unique case-insensitively.
    if (this.roles.has(name.toLowerCase()))
      throw new QueryError('EntityAlreadyExists', `Role with name ${name} already exists.`, 409);
    const role: Role = {
      name,
      id: uniqueId('AROA'),
      arn: `arn:${this.partition}:iam::${this.accountId}:role${path}${name}`,
      path,
      createDate: new Date(),
      assumeRolePolicyDocument: document,
      description: input.description,
      maxSessionDuration,
      permissionsBoundary: input.permissionsBoundary,
      tags: new Map((input.tags ?? []).map((t) => [t.key, t.value])),
      inlinePolicies: new Map(),
      attachedPolicies: new Set(),
    };
    this.roles.set(name.toLowerCase(), role);
    return role;
  }

  role(name: string | undefined): Role {
    const role = name ? this.roles.get(name.toLowerCase()) : undefined;
    if (!role) throw noSuchEntity(`The role with name ${name ?? ''} cannot be found.`);
    return role;
  }

  listRoles(pathPrefix = '/'): Role[] {
    return [...this.roles.values()]
      .filter((r) => r.path.startsWith(pathPrefix))
      .sort((a, b) => a.name.localeCompare(b.name));
  }

  updateRole(name: string, changes: { description?: string; maxSessionDuration?: number }): void {
    const role = this.role(name);
    if (changes.description !== undefined) role.description = changes.description;
    if (changes.maxSessionDuration !== undefined) role.maxSessionDuration = changes.maxSessionDuration;
  }

  updateAssumeRolePolicy(name: string, document: string): void {
    const role = this.role(name);
    role.assumeRolePolicyDocument = checkPolicyDocument(document, 'policyDocument');
  }

  /** IAM refuses to delete a role that still has policies (inline or attached). */
  deleteRole(name: string): void {
    const role = this.role(name);
    if (role.inlinePolicies.size > 0)
      throw new QueryError('DeleteConflict', 'Cannot delete entity, must delete policies first.', 409);
    if (role.attachedPolicies.size > 0)
      throw new QueryError('DeleteConflict', 'Cannot delete entity, must detach all policies first.', 409);
    this.roles.delete(role.name.toLowerCase());
  }

  putRolePolicy(roleName: string, policyName: string, document: string): void {
    const role = this.role(roleName);
    role.inlinePolicies.set(checkName(policyName, 'policyName', 128), checkPolicyDocument(document, 'policyDocument'));
  }

  rolePolicy(roleName: string, policyName: string): string {
    const document = this.role(roleName).inlinePolicies.get(policyName);
    if (document === undefined) throw noSuchEntity(`The role policy with name ${policyName} cannot be found.`);
    return document;
  }

  deleteRolePolicy(roleName: string, policyName: string): void {
    const role = this.role(roleName);
    if (!role.inlinePolicies.delete(policyName))
      throw noSuchEntity(`The role policy with name ${policyName} cannot be found.`);
  }

  attachRolePolicy(roleName: string, policyArn: string): void {
    const role = this.role(roleName);
    if (!this.isAttachable(policyArn)) throw noSuchEntity(`Policy ${policyArn} does not exist or is not attachable.`);
    role.attachedPolicies.add(policyArn);
  }

  detachRolePolicy(roleName: string, policyArn: string): void {
    const role = this.role(roleName);
    if (!role.attachedPolicies.delete(policyArn)) throw noSuchEntity(`Policy ${policyArn} was not found.`);
  }

  tagRole(roleName: string, tags: ReadonlyArray<{ key: string; value: string }>): void {
    const role = this.role(roleName);
    for (const tag of tags) role.tags.set(tag.key, tag.value);
  }

  untagRole(roleName: string, keys: readonly string[]): void {
    const role = this.role(roleName);
    for (const key of keys) role.tags.delete(key);
  }

  createPolicy(input: {
    name: string;
    document: string;
    path?: string;
    description?: string;
    tags?: ReadonlyArray<{ key: string; value: string }>;
  }): ManagedPolicy {
    const name = checkName(input.name, 'policyName', 128);
    const document = checkPolicyDocument(input.document, 'policyDocument');
    const path = checkPath(input.path);
    const arn = `arn:${this.partition}:iam::${this.accountId}:policy${path}${name}`;
    if (this.policies.has(arn))
      throw new QueryError(
        'EntityAlreadyExists',
        `A policy called ${name} already exists. Duplicate names are not allowed.`,
        409,
      );
    const now = new Date();
    const policy: ManagedPolicy = {
      name,
      id: uniqueId('ANPA'),
      arn,
      path,
      description: input.description,
      createDate: now,
      updateDate: now,
      defaultVersionId: 'v1',
      versions: [{ versionId: 'v1', document, createDate: now }],
      tags: new Map((input.tags ?? []).map((t) => [t.key, t.value])),
    };
    this.policies.set(arn, policy);
    return policy;
  }

  policy(arn: string | undefined): ManagedPolicy {
    const policy = arn ? this.policies.get(arn) : undefined;
    if (!policy) throw noSuchEntity(`Policy ${arn ?? ''} does not exist or is not attachable.`);
    return policy;
  }

  policyVersion(arn: string, versionId: string): PolicyVersion {
    const version = this.policy(arn).versions.find((v) => v.versionId === versionId);
    if (!version) throw noSuchEntity(`Policy ${arn} version ${versionId} does not exist or is not attachable.`);
    return version;
  }

  listPolicies(): ManagedPolicy[] {
    return [...this.policies.values()].sort((a, b) => a.name.localeCompare(b.name));
  }

  /** How many roles a managed policy is attached to. */
  attachmentCount(arn: string): number {
    return [...this.roles.values()].filter((r) => r.attachedPolicies.has(arn)).length;
  }

  deletePolicy(arn: string): void {
    const policy = this.policy(arn);
    if (this.attachmentCount(arn) > 0)
      throw new QueryError('DeleteConflict', 'Cannot delete a policy attached to entities.', 409);
    if (policy.versions.length > 1)
      throw new QueryError(
        'DeleteConflict',
        'This policy has more than one version. Before you delete a policy, ' +
          "you must delete the policy's versions. The default version is deleted with the policy.",
        409,
      );
    this.policies.delete(arn);
  }

  /**
   * The identity policies a role's sessions act under, named for the log: its inline policies
   * (`role/<name>: <policy>`) and its attached customer-managed policies' default versions (their
   * ARN). AWS-managed policies are AWS's catalogue, which the local cloud does not hold: they grant
   * nothing here. A role that does not exist (any more) has none.
   */
  identityPolicies(roleName: string): { name: string; document: string }[] {
    const role = this.roles.get(roleName.toLowerCase());
    if (!role) return [];
    const inline = [...role.inlinePolicies].map(([name, document]) => ({
      name: `role/${role.name}: ${name}`,
      document,
    }));
    const attached = [...role.attachedPolicies].flatMap((arn) => {
      const policy = this.policies.get(arn);
      const version = policy?.versions.find((v) => v.versionId === policy.defaultVersionId);
      return version ? [{ name: arn, document: version.document }] : [];
    });
    return [...inline, ...attached];
  }

  private isAttachable(arn: string): boolean {
    return arn.startsWith(`arn:${this.partition}:iam::aws:policy/`) || this.policies.has(arn);
  }
}
