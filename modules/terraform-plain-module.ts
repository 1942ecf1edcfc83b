/**
 * What every plain Terraform module of this project shares: typed variable helpers (with the
 * validations that stand in for the constructs' synth-time checks) and the synthesis of one
 * stack into a self-contained `.tf.json` document without provider configuration or cdktf metadata.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, TerraformStack, TerraformVariable, TerraformVariableConfig } from 'cdktf';
import { Construct } from 'constructs';
import { ARCH_TAG_PATTERN } from './validation';

/** AWS provider versions the plain modules accept (tested with 5.100.0, which @cdktf/provider-aws 20.1.0 pins). */
export const MODULE_AWS_PROVIDER_CONSTRAINT = '>= 5.100.0, < 6.0.0';

/**
 * Terraform versions the plain modules accept (variable validations may only refer to their own variable before 1.9).
 */
export const MODULE_TERRAFORM_CONSTRAINT = '>= 1.5.0';

/** `expr` as a Terraform interpolation: `${expr}`. */
export const hcl = (expr: string): string => `\${${expr}}`;

/** A JSON-literal Terraform list: `["a", "b"]`. */
export const list = (items: readonly (string | number)[]): string =>
  `[${items.map((i) => JSON.stringify(i)).join(', ')}]`;

/**
 * A precondition refusing an image variable whose tag says the other architecture than
 * `var.architecture` (tags in the `<arch>-<16 hex>` scheme; others and digests pass).
 */
export function imageArchitecturePrecondition(imageVar: string): { condition: string; error_message: string } {
  return {
    condition: hcl(
      `try(regex(${JSON.stringify(ARCH_TAG_PATTERN)}, var.${imageVar})[0], var.architecture) == var.architecture`,
    ),
    error_message:
      `The tag of ${imageVar} names the other architecture than var.architecture: ` +
      `build the image for var.architecture, or set architecture to the tag's.`,
  };
}

/** `[condition, error message]` of a variable validation, the condition without `${}`. */
export type Rule = [string, string];

/** The regular expression the constructs apply to `namePrefix`, as a variable validation. */
export const NAME_PREFIX_RULE = (name: string): Rule => [
  `can(regex("^[a-z0-9][a-z0-9-]{0,23}$", var.${name}))`,
  `${name} must be 1-24 of a-z, 0-9 and "-", starting with a letter or digit.`,
];

/**
 * Declares variables on a stack under their own names (variables and outputs may share names in
 * Terraform, construct ids may not). Every variable is non-nullable unless said otherwise.
 */
export class ModuleVariables {
  constructor(private readonly scope: Construct) {}

  /** Any variable, named `name` in the module. */
  variable(name: string, config: TerraformVariableConfig): TerraformVariable {
    const v = new TerraformVariable(this.scope, `var-${name}`, { nullable: false, ...config });
    v.overrideLogicalId(name);
    return v;
  }

  /** A string variable (required when `def` is undefined). */
  str(name: string, description: string, def?: string, rules?: Rule[]): TerraformVariable {
    return this.variable(name, {
      type: 'string',
      description,
      default: def,
      validation: rules?.map(([condition, errorMessage]) => ({ condition: hcl(condition), errorMessage })),
    });
  }

  /** An integer variable in min..max (the range is appended to the description). */
  num(name: string, description: string, def: number, min: number, max: number): TerraformVariable {
    return this.variable(name, {
      type: 'number',
      description: `${description} (${min}-${max}).`,
      default: def,
      validation: [
        {
          condition: hcl(`var.${name} >= ${min} && var.${name} <= ${max} && floor(var.${name}) == var.${name}`),
          errorMessage: `${name} must be an integer from ${min} to ${max}.`,
        },
      ],
    });
  }

  /** An integer variable that may also be null ("not set"), else in min..max. */
  optionalNum(name: string, description: string, min: number, max: number): TerraformVariable {
    const v = this.variable(name, {
      type: 'number',
      description: `${description} (${min}-${max}, or null).`,
      nullable: true,
      validation: [
        // `||` does not short-circuit in Terraform: the range test must survive a null.
        {
          condition: hcl(
            `var.${name} == null || try(var.${name} >= ${min} && var.${name} ` +
              `<= ${max} && floor(var.${name}) == var.${name}, false)`,
          ),
          errorMessage: `${name} must be null or an integer from ${min} to ${max}.`,
        },
      ],
    });
    // cdktf cannot render `default: null` from the config (it walks the value's keys).
    v.addOverride('default', null);
    return v;
  }

  bool(name: string, description: string, def: boolean): TerraformVariable {
    return this.variable(name, { type: 'bool', description, default: def });
  }

  stringList(name: string, description: string, def: string[], rules?: Rule[]): TerraformVariable {
    return this.variable(name, {
      type: 'list(string)',
      description,
      default: def,
      validation: rules?.map(([condition, errorMessage]) => ({ condition: hcl(condition), errorMessage })),
    });
  }

  tags(): TerraformVariable {
    return this.variable('tags', { type: 'map(string)', description: 'Tags on every taggable resource.', default: {} });
  }
}

/**
 * The plain modules' counterpart of the constructs' synth-time warning about alarms without
 * actions: a `check` block, which Terraform reports as a warning at plan and apply (it never fails them).
 */
export function warnAtPlanWithoutAlarmActions(stack: TerraformStack, variable = 'alarm_actions'): void {
  stack.addOverride(`check.${variable}`, {
    assert: [
      {
        condition: hcl(`length(var.${variable}) > 0`),
        error_message:
          `${variable} is empty: the alarms are created but notify nobody. ` +
          `Pass an SNS topic ARN (whose key CloudWatch may use).`,
      },
    ],
  });
}

function stripComments(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(stripComments);
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value as Record<string, unknown>)
        .filter(([k]) => k !== '//')
        .map(([k, v]) => [k, stripComments(v)]),
    );
  }
  return value;
}

/**
 * Synthesizes the stack `build` adds to an app and returns its JSON document: variables, resources,
 * data sources, outputs and `required_providers`, without a provider configuration, backend or
 * cdktf metadata. The stack must declare an (empty) AWS provider to pass cdktf's checks.
 */
export function synthModuleDocument(build: (app: App, id: string) => TerraformStack): Record<string, unknown> {
  const outdir = mkdtempSync(join(tmpdir(), 'irc-module-'));
  try {
    const app = new App({ outdir, skipValidation: false });
    build(app, 'module');
    app.synth();
    const doc = JSON.parse(readFileSync(join(outdir, 'stacks', 'module', 'cdk.tf.json'), 'utf8')) as Record<
      string,
      unknown
    >;
    const clean = stripComments(doc) as Record<string, unknown>;
    delete clean.provider;
    clean.terraform = {
      required_version: MODULE_TERRAFORM_CONSTRAINT,
      required_providers: { aws: { source: 'hashicorp/aws', version: MODULE_AWS_PROVIDER_CONSTRAINT } },
    };
    return clean;
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}
