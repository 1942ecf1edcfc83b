/**
 * How local clients reach the local cloud: every S3 and SQS client talks to the gateway as its
 * single AWS endpoint, with dummy static credentials (the stand-in does not check signatures).
 */
import type { S3ClientConfig } from '@aws-sdk/client-s3';
import type { SQSClientConfig } from '@aws-sdk/client-sqs';
import { Agent } from 'node:https';
import { ensureLocalTls, localCaPath } from './local-tls';

/** Region used locally when none is given. */
export const LOCAL_REGION = 'us-east-1';

/** The account the local cloud answers for (STS, IAM ARNs, queue ARNs of the stand-in). */
export const LOCAL_ACCOUNT_ID = '000000000000';

/** Dummy credentials: requests are still signed (as on AWS), nobody verifies them. */
export const LOCAL_CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' } as const;

/** Config accepted by both S3Client and SQSClient. */
export type LocalClientConfig = S3ClientConfig & SQSClientConfig;

/**
 * Client config for S3Client / SQSClient against the local cloud.
 * Defaults: region us-east-1, static dummy credentials, `forcePathStyle: true` (no bucket
 * subdomains on 127.0.0.1); an https endpoint is trusted through the local CA (local-tls.ts).
 * Checksums keep the SDK defaults (CRC32 on uploads), which the stand-in verifies; pass
 * `checksums: 'when-required'` for clients that presign URLs.
 */
export function localClientConfig(
  endpoint: string,
  region: string = LOCAL_REGION,
  opts: { checksums?: 'default' | 'when-required'; maxAttempts?: number } = {},
): LocalClientConfig {
  const config: LocalClientConfig = {
    endpoint,
    region,
    credentials: { ...LOCAL_CREDENTIALS },
    forcePathStyle: true,
  };
  // Kept alive and pooled as the SDK's own default agent is: a new Agent closes each socket after one
  // request, so every call paid a TLS handshake and a new secure context.
  if (endpoint.startsWith('https:'))
    config.requestHandler = { httpsAgent: new Agent({ ca: ensureLocalTls().ca, keepAlive: true, maxSockets: 50 }) };
  if (opts.checksums === 'when-required') {
    config.requestChecksumCalculation = 'WHEN_REQUIRED';
    config.responseChecksumValidation = 'WHEN_REQUIRED';
  }
  if (opts.maxAttempts !== undefined) config.maxAttempts = opts.maxAttempts;
  return config;
}

/**
 * Environment for a child process (a handler under aws-lambda-ric) whose SDK clients must talk to
 * the local cloud. SDK v3 reads AWS_ENDPOINT_URL, AWS_REGION and the static key pair from the
 * environment itself; it has no environment switch for path-style S3, so the handlers read
 * S3_FORCE_PATH_STYLE. AWS_SESSION_TOKEN is cleared so a developer's real session cannot leak in.
 * With an https endpoint, NODE_EXTRA_CA_CERTS names the local CA (local-tls.ts), which Node adds
 * to the certificates it trusts (a container launcher mounts the file and renames the path).
 */
export function localAwsEnv(endpoint: string, region: string = LOCAL_REGION): Record<string, string> {
  return {
    AWS_ENDPOINT_URL: endpoint,
    AWS_REGION: region,
    AWS_DEFAULT_REGION: region,
    AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
    AWS_SESSION_TOKEN: '',
    S3_FORCE_PATH_STYLE: 'true',
    ...(endpoint.startsWith('https:') ? { NODE_EXTRA_CA_CERTS: localCaPath() } : {}),
  };
}
