/**
 * Lambda functions in the local cloud, assembled: the control-plane store (function-store.ts), the
 * data plane that runs what was applied (applied-functions.ts) and the REST routes the gateway serves
 * (functions-api.ts). What `up` starts, and what the event source mappings invoke through invoker().
 */
import type { GatewayRoute } from '../gateway/gateway';
import { AppliedFunctions } from './applied-functions';
import { resolveLambdaImage } from '../ecr/lambda-image';
import type { LambdaScope, ResolveImage } from './function-config';
import { FunctionStore } from './function-store';
import { lambdaFunctionRoutes } from './functions-api';
import type { InvokeFn, LogSink } from './invoke-contract';

/** The part of IAM the role check reads: a role by name (throws when there is none). */
export interface RoleSource {
  role(name: string): { arn: string; assumeRolePolicyDocument: string };
}

export interface LambdaFunctionsOptions {
  /** The IAM whose roles functions name. */
  iam: RoleSource;
  /**
   * What the local cloud adds to each function's environment (applied-functions.ts, `localEnv`):
   * the endpoint, and the credentials of a session of the function's role when IAM is enforced.
   */
  localEnv: (fn: { name: string; role: string }) => Record<string, string>;
  /** @default resolveLambdaImage (ecr/lambda-image.ts): the local registry's images, or tags the local engine holds */
  resolveImage?: ResolveImage;
  /** @default { region: 'us-east-1', accountId: '000000000000' } */
  scope?: LambdaScope;
  /** Sandboxes per function at most. @default 2 */
  sandboxesPerFunction?: number;
  /** Docker client. @default dockerClient() */
  docker?: string;
  /** @default no logging */
  logSink?: LogSink;
}

export interface LambdaFunctions {
  /** Lambda's functions API and Invoke, for the gateway. */
  readonly routes: GatewayRoute[];
  readonly store: FunctionStore;
  /**
   * Invokes the applied function `functionName` (name or ARN), resolved at each call (see AppliedFunctions.invoker).
   */
  invoker(functionName: string, qualifier?: string): InvokeFn;
  /** invoker(functionName) when such a function exists now, else undefined (API Gateway's FunctionInvoker). */
  existingInvoker(functionName: string): InvokeFn | undefined;
  /** The function a name or ARN names, as the event source mappings see it (function-store.ts). */
  mappedConfiguration(nameOrArn: string): { functionArn: string; timeoutSeconds: number; role: string } | undefined;
  /** Stops every function's sandboxes. */
  stop(): Promise<void>;
}

/** The trust policy of the role `roleArn` names, or undefined when IAM holds no role of that ARN. */
export function trustPolicyOf(iam: RoleSource, roleArn: string): string | undefined {
  const name = roleArn.split('/').pop() ?? '';
  try {
    const role = iam.role(name);
    return role.arn === roleArn ? role.assumeRolePolicyDocument : undefined;
  } catch {
    return undefined; // IAM's NoSuchEntity: Lambda answers it as a role it cannot assume
  }
}

/** Creates the store, the data plane and the routes (nothing runs until the first invoke). */
export function createLambdaFunctions(opts: LambdaFunctionsOptions): LambdaFunctions {
  const store = new FunctionStore({
    scope: opts.scope ?? { region: 'us-east-1', accountId: '000000000000' },
    resolveImage: opts.resolveImage ?? resolveLambdaImage,
    roleTrustPolicy: (arn) => trustPolicyOf(opts.iam, arn),
  });
  const functions = new AppliedFunctions({
    store,
    localEnv: opts.localEnv,
    sandboxesPerFunction: opts.sandboxesPerFunction,
    docker: opts.docker,
    logSink: opts.logSink,
  });
  return {
    routes: lambdaFunctionRoutes({ store, functions, logSink: opts.logSink }),
    store,
    invoker: (name, qualifier) => functions.invoker(name, qualifier),
    existingInvoker: (name) => {
      try {
        store.invokeTarget(name);
      } catch {
        return undefined; // not a function name, or no such function
      }
      return functions.invoker(name);
    },
    mappedConfiguration: (nameOrArn) => store.mappedConfiguration(nameOrArn),
    stop: () => functions.stop(),
  };
}
