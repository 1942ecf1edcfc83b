/**
 * `RolePolicy`: makes any existing IAM role (for example one in another stack) an `IGrantable`,
 * so the module's `grant*` helpers work on it. Statements are rendered into one inline policy.
 */
import { Construct } from 'constructs';
import { Lazy } from 'cdktf';
import { IamRolePolicy } from '@cdktf/provider-aws/lib/iam-role-policy';
import { IGrantable, PolicyStatement, StatementCollector, identityPolicyJson } from './policy';

export interface RolePolicyProps {
  /** Name of the role the policy is attached to. */
  readonly roleName: string;
  /** @default '<construct id>' */
  readonly policyName?: string;
}

export class RolePolicy extends Construct implements IGrantable {
  readonly policy: IamRolePolicy;
  private readonly statements = new StatementCollector();

  constructor(scope: Construct, id: string, props: RolePolicyProps) {
    super(scope, id);
    this.policy = new IamRolePolicy(this, 'policy', {
      name: props.policyName ?? id,
      role: props.roleName,
      policy: Lazy.stringValue({ produce: () => identityPolicyJson(this.statements.statements) }),
    });
  }

  addToPrincipalPolicy(statement: PolicyStatement): void {
    this.statements.addToPrincipalPolicy(statement);
  }
}
