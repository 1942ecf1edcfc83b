/**
 * IAM's Query API over IamStore, the operations the AWS provider calls for roles, their inline and
 * attached policies, tags and customer-managed policies, plus GetUser (the provider's first way to
 * learn the account id) and the List calls the AWS CLI uses. Policy documents travel URL-encoded in
 * answers, as IAM sends them. Lists are answered whole (IsTruncated false).
 */
import {
  QueryError,
  memberRecords,
  memberStrings,
  members,
  type QueryParams,
  type QueryService,
  type QueryValue,
} from '../query-protocol';
import { IamStore, type ManagedPolicy, type PolicyVersion, type Role } from './iam-store';

export const IAM_XMLNS = 'https://iam.amazonaws.com/doc/2010-05-08/';

function tagsOf(params: QueryParams, name = 'Tags'): Array<{ key: string; value: string }> {
  return memberRecords(params, name).map((t) => ({ key: t.Key ?? '', value: t.Value ?? '' }));
}

function tagList(tags: ReadonlyMap<string, string>): QueryValue[] {
  return [...tags].map(([Key, Value]) => ({ Key, Value }));
}

function roleXml(role: Role): Record<string, QueryValue> {
  return {
    Path: role.path,
    RoleName: role.name,
    RoleId: role.id,
    Arn: role.arn,
    CreateDate: role.createDate.toISOString(),
    AssumeRolePolicyDocument: encodeURIComponent(role.assumeRolePolicyDocument),
    Description: role.description,
    MaxSessionDuration: role.maxSessionDuration,
    PermissionsBoundary: role.permissionsBoundary
      ? { PermissionsBoundaryType: 'Policy', PermissionsBoundaryArn: role.permissionsBoundary }
      : undefined,
    Tags: role.tags.size > 0 ? members(tagList(role.tags)) : undefined,
  };
}

function policyXml(policy: ManagedPolicy, attachmentCount: number): Record<string, QueryValue> {
  return {
    PolicyName: policy.name,
    PolicyId: policy.id,
    Arn: policy.arn,
    Path: policy.path,
    DefaultVersionId: policy.defaultVersionId,
    AttachmentCount: attachmentCount,
    PermissionsBoundaryUsageCount: 0,
    IsAttachable: true,
    Description: policy.description,
    CreateDate: policy.createDate.toISOString(),
    UpdateDate: policy.updateDate.toISOString(),
    Tags: policy.tags.size > 0 ? members(tagList(policy.tags)) : undefined,
  };
}

function versionXml(version: PolicyVersion, isDefault: boolean): Record<string, QueryValue> {
  return {
    Document: encodeURIComponent(version.document),
    VersionId: version.versionId,
    IsDefaultVersion: isDefault,
    CreateDate: version.createDate.toISOString(),
  };
}

function optionalInt(value: string | undefined): number | undefined {
  return value === undefined ? undefined : Number(value);
}

/** The IAM service of the local cloud (its Query operations over `store`). */
export function iamService(store: IamStore): QueryService {
  const p = (params: QueryParams, name: string): string => params[name] ?? '';
  return {
    xmlns: IAM_XMLNS,
    operations: {
      CreateRole: (params) => ({
        Role: roleXml(
          store.createRole({
            name: p(params, 'RoleName'),
            assumeRolePolicyDocument: p(params, 'AssumeRolePolicyDocument'),
            path: params.Path,
            description: params.Description,
            maxSessionDuration: optionalInt(params.MaxSessionDuration),
            permissionsBoundary: params.PermissionsBoundary,
            tags: tagsOf(params),
          }),
        ),
      }),
      GetRole: (params) => ({ Role: { ...roleXml(store.role(params.RoleName)), RoleLastUsed: {} } }),
      ListRoles: (params) => ({ Roles: members(store.listRoles(params.PathPrefix).map(roleXml)), IsTruncated: false }),
      UpdateRole: (params) => {
        store.updateRole(p(params, 'RoleName'), {
          description: params.Description,
          maxSessionDuration: optionalInt(params.MaxSessionDuration),
        });
        return {};
      },
      UpdateRoleDescription: (params) => {
        store.updateRole(p(params, 'RoleName'), { description: p(params, 'Description') });
        return { Role: roleXml(store.role(params.RoleName)) };
      },
      UpdateAssumeRolePolicy: (params) => {
        store.updateAssumeRolePolicy(p(params, 'RoleName'), p(params, 'PolicyDocument'));
        return undefined;
      },
      DeleteRole: (params) => {
        store.deleteRole(p(params, 'RoleName'));
        return undefined;
      },
      PutRolePolicy: (params) => {
        store.putRolePolicy(p(params, 'RoleName'), p(params, 'PolicyName'), p(params, 'PolicyDocument'));
        return undefined;
      },
      GetRolePolicy: (params) => ({
        RoleName: store.role(params.RoleName).name,
        PolicyName: p(params, 'PolicyName'),
        PolicyDocument: encodeURIComponent(store.rolePolicy(p(params, 'RoleName'), p(params, 'PolicyName'))),
      }),
      DeleteRolePolicy: (params) => {
        store.deleteRolePolicy(p(params, 'RoleName'), p(params, 'PolicyName'));
        return undefined;
      },
      ListRolePolicies: (params) => ({
        PolicyNames: members([...store.role(params.RoleName).inlinePolicies.keys()].sort()),
        IsTruncated: false,
      }),
      AttachRolePolicy: (params) => {
        store.attachRolePolicy(p(params, 'RoleName'), p(params, 'PolicyArn'));
        return undefined;
      },
      DetachRolePolicy: (params) => {
        store.detachRolePolicy(p(params, 'RoleName'), p(params, 'PolicyArn'));
        return undefined;
      },
      ListAttachedRolePolicies: (params) => ({
        AttachedPolicies: members(
          [...store.role(params.RoleName).attachedPolicies].map((arn) => ({
            PolicyName: arn.slice(arn.lastIndexOf('/') + 1),
            PolicyArn: arn,
          })),
        ),
        IsTruncated: false,
      }),
      // Instance profiles are not modelled: a role has none.
      ListInstanceProfilesForRole: (params) => {
        store.role(params.RoleName);
        return { InstanceProfiles: members([]), IsTruncated: false };
      },
      TagRole: (params) => {
        store.tagRole(p(params, 'RoleName'), tagsOf(params));
        return undefined;
      },
      UntagRole: (params) => {
        store.untagRole(p(params, 'RoleName'), memberStrings(params, 'TagKeys'));
        return undefined;
      },
      ListRoleTags: (params) => ({ Tags: members(tagList(store.role(params.RoleName).tags)), IsTruncated: false }),
      CreatePolicy: (params) => {
        const policy = store.createPolicy({
          name: p(params, 'PolicyName'),
          document: p(params, 'PolicyDocument'),
          path: params.Path,
          description: params.Description,
          tags: tagsOf(params),
        });
        return { Policy: policyXml(policy, 0) };
      },
      GetPolicy: (params) => ({
        Policy: policyXml(store.policy(params.PolicyArn), store.attachmentCount(p(params, 'PolicyArn'))),
      }),
      GetPolicyVersion: (params) => {
        const policy = store.policy(params.PolicyArn);
        const version = store.policyVersion(policy.arn, p(params, 'VersionId'));
        return { PolicyVersion: versionXml(version, version.versionId === policy.defaultVersionId) };
      },
      ListPolicyVersions: (params) => {
        const policy = store.policy(params.PolicyArn);
        return {
          Versions: members(policy.versions.map((v) => versionXml(v, v.versionId === policy.defaultVersionId))),
          IsTruncated: false,
        };
      },
      ListPolicies: (params) => ({
        // Scope AWS would list AWS's own managed policies too: their catalogue is not modelled.
        Policies: members(
          params.Scope === 'AWS'
            ? []
            : store.listPolicies().map((policy) => policyXml(policy, store.attachmentCount(policy.arn))),
        ),
        IsTruncated: false,
      }),
      ListPolicyTags: (params) => ({ Tags: members(tagList(store.policy(params.PolicyArn).tags)), IsTruncated: false }),
      DeletePolicy: (params) => {
        store.deletePolicy(p(params, 'PolicyArn'));
        return undefined;
      },
      // The caller: the local credentials stand for the account's root user, as a root key pair does on AWS.
      GetUser: (params) => {
        // Users are not modelled: any named one is unknown.
        if (params.UserName)
          throw new QueryError('NoSuchEntity', `The user with name ${params.UserName} cannot be found.`, 404);
        return {
          User: {
            Path: '/',
            UserName: 'root',
            UserId: store.accountId,
            Arn: `arn:${store.partition}:iam::${store.accountId}:root`,
            CreateDate: new Date(0).toISOString(),
          },
        };
      },
    },
  };
}
