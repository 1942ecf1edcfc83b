/**
 * The AWS provider settings that point Terraform (and CDKTF) at the local cloud: every service
 * endpoint the module's resources use, path-style S3, the credentials the local cloud takes and
 * the checks a provider makes against the real AWS turned off. One description, rendered twice:
 * as a Terraform override file (`resize-chain tf-override`) and as CDKTF `AwsProvider` settings
 * (main.ts with RESIZE_CHAIN_ENDPOINT set).
 */
import type { AwsProviderConfig } from '@cdktf/provider-aws/lib/provider';
import { LOCAL_CREDENTIALS } from './client-config';
import { ensureLocalTls } from './local-tls';

/** Name of the override file: Terraform merges `*_override.tf.json` over the configuration's own provider block. */
export const TF_OVERRIDE_FILE = 'resize_chain_local_override.tf.json';

/** The environment variable main.ts reads to deploy its stacks to the local cloud. */
export const LOCAL_ENDPOINT_ENV = 'RESIZE_CHAIN_ENDPOINT';

/** `resize-chain up`'s endpoint on its default port (over TLS; the same port answers plain HTTP too). */
export const DEFAULT_LOCAL_ENDPOINT = 'https://127.0.0.1:4566';

/**
 * Provider endpoint keys (the `endpoints` block of hashicorp/aws 5.x) by the resource-type prefix
 * that calls them, most specific first: `aws_cloudwatch_log_` resources call CloudWatch Logs,
 * `aws_cloudwatch_event_` EventBridge, the other `aws_cloudwatch_` ones CloudWatch. `sts` has no
 * resource: the provider asks it for the account id.
 */
export const ENDPOINT_BY_RESOURCE_PREFIX: ReadonlyArray<readonly [prefix: string, endpoint: string]> = [
  ['aws_s3_', 's3'],
  ['aws_sqs_', 'sqs'],
  ['aws_lambda_', 'lambda'],
  ['aws_iam_', 'iam'],
  ['aws_cloudwatch_log_', 'logs'],
  ['aws_cloudwatch_event_', 'events'],
  ['aws_cloudwatch_', 'cloudwatch'],
  ['aws_sns_', 'sns'],
  ['aws_kms_', 'kms'],
  ['aws_ecr_', 'ecr'],
  ['aws_apigatewayv2_', 'apigatewayv2'],
  ['aws_kinesis_', 'kinesis'],
  ['aws_caller_identity', 'sts'],
];

/** Data sources the provider answers itself, without calling any service. */
export const OFFLINE_DATA_SOURCES: ReadonlySet<string> = new Set(['aws_partition', 'aws_region']);

/** The endpoint key a resource or data source type calls; undefined when none is listed for it. */
export function endpointOfResourceType(type: string): string | undefined {
  return ENDPOINT_BY_RESOURCE_PREFIX.find(([prefix]) => type.startsWith(prefix))?.[1];
}

/** Every endpoint key pointed at the local cloud, once each, in a stable order. */
export function localEndpointKeys(): string[] {
  return [...new Set(ENDPOINT_BY_RESOURCE_PREFIX.map(([, endpoint]) => endpoint))];
}

/** The `endpoints` block: every key of localEndpointKeys() mapped to `endpoint`. */
export function localEndpoints(endpoint: string): Record<string, string> {
  return Object.fromEntries(localEndpointKeys().map((key) => [key, endpoint]));
}

/**
 * The provider "aws" settings for the local cloud, under Terraform's attribute names.
 * - `s3_use_path_style`: no bucket subdomains on 127.0.0.1.
 * - `skip_credentials_validation`: no STS check that the keys are real ones.
 * - `skip_requesting_account_id` stays false: the provider then learns the account id from the
 *   local cloud (iam:GetUser, else sts:GetCallerIdentity), as it would from AWS, and resources that
 *   build ARNs from it (API Gateway execution ARNs, Lambda permissions) get a real one.
 * - `skip_metadata_api_check`: no EC2 instance metadata lookup for credentials.
 * - `skip_region_validation`: any region name, as the local cloud takes any.
 * - `custom_ca_bundle` (an https endpoint): the local CA (local-tls.ts), made here if it is not yet.
 */
export function localProviderSettings(endpoint: string): Record<string, unknown> {
  return {
    access_key: LOCAL_CREDENTIALS.accessKeyId,
    secret_key: LOCAL_CREDENTIALS.secretAccessKey,
    s3_use_path_style: true,
    skip_credentials_validation: true,
    skip_requesting_account_id: false,
    skip_metadata_api_check: true,
    skip_region_validation: true,
    endpoints: localEndpoints(endpoint),
    ...(endpoint.startsWith('https:') ? { custom_ca_bundle: ensureLocalTls().caPath } : {}),
  };
}

/** The content of TF_OVERRIDE_FILE for `endpoint` (JSON with a trailing newline). */
export function terraformOverride(endpoint: string): string {
  const doc = {
    '//':
      `Written by resize-chain tf-override: ` +
      `points the aws provider at the local cloud on ${endpoint}. Delete this file to deploy to AWS.`,
    provider: { aws: localProviderSettings(endpoint) },
  };
  return `${JSON.stringify(doc, null, 2)}\n`;
}

function camelCase(name: string): string {
  return name.replace(/_([a-z0-9])/g, (_m, c: string) => c.toUpperCase());
}

/** The same settings as CDKTF `AwsProvider` props (camelCase names, the endpoints block as a list). */
export function localCdktfProviderConfig(endpoint: string): Partial<AwsProviderConfig> {
  const { endpoints, ...rest } = localProviderSettings(endpoint);
  const config: Record<string, unknown> = Object.fromEntries(
    Object.entries(rest).map(([key, value]) => [camelCase(key), value]),
  );
  config.endpoints = [endpoints];
  return config;
}

/**
 * A local-cloud endpoint as given (RESIZE_CHAIN_ENDPOINT, --endpoint): http(s)://host[:port], no path. Undefined when
 * it is not one.
 */
export function parseLocalEndpoint(value: string): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return undefined;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return undefined;
  if ((url.pathname !== '/' && url.pathname !== '') || url.search || url.hash || url.username) return undefined;
  return `${url.protocol}//${url.host}`;
}
