import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { randomUUID } from 'node:crypto';
import { createLogger } from '../aws/logger';
import type { PresignPostInput } from '../aws/presign';
import { isPipelineError, toPipelineError } from '../core/errors';
import { isKeepWarmPing, planUpload, uploadConfigFromEnv, type KeepWarmPing } from '../core/upload';
import { lazily } from './lazy';

const logger = createLogger('upload');
// Read at cold start: a bad setting fails init with a message naming the variable.
const config = uploadConfigFromEnv(process.env);

/**
 * The presigner and the S3 client whose credentials and region sign forms (the SDK's default chain:
 * Lambda's role on AWS), loaded on first use: the SDK is most of the cold start.
 */
const signer = lazily(async () => {
  const [{ s3Client }, { presignPost }] = await Promise.all([import('../aws/clients'), import('../aws/presign')]);
  const client = s3Client();
  return (input: Omit<PresignPostInput, 'client'>) => presignPost({ client, ...input });
});

function json(statusCode: number, body: unknown): APIGatewayProxyStructuredResultV2 {
  return {
    statusCode,
    headers: { 'content-type': 'application/json', 'cache-control': 'no-store' },
    body: JSON.stringify(body),
  };
}

function parseBody(event: APIGatewayProxyEventV2): unknown {
  if (!event.body) return undefined;
  const text = event.isBase64Encoded ? Buffer.from(event.body, 'base64').toString('utf8') : event.body;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/**
 * API Gateway HTTP API (payload 2.0) `POST /uploads` {filename, contentType, size} ->
 * 201 {url, fields, key, expiresAt}: a presigned POST for one key under the uploads prefix.
 * Bad input -> 400 {error: {code, message, field}}; anything else -> 500 {error: {code: INTERNAL}}.
 * The module's keep-warm ping ({"source":"resize-chain.keep-warm"}) -> 200 {warm: true}: it loads
 * the SDK and builds the S3 client (no request, no credential lookup) and signs nothing.
 */
export async function handler(
  event: APIGatewayProxyEventV2 | KeepWarmPing,
  context: Context,
): Promise<APIGatewayProxyStructuredResultV2> {
  logger.addContext(context);
  if (isKeepWarmPing(event)) {
    // Load the SDK and build the client (no request, no credential lookup), so the first real
    // request in this environment does not pay for them either.
    await signer();
    logger.debug('keep-warm ping');
    return json(200, { warm: true });
  }
  let plan;
  try {
    plan = planUpload(parseBody(event), config, randomUUID());
  } catch (err) {
    if (!isPipelineError(err)) throw err;
    logger.info('upload refused', { error: err.toJSON() });
    return json(400, { error: { code: err.code, message: err.message, field: err.subject.field } });
  }
  try {
    const sign = await signer();
    const post = await sign({ bucket: config.sourceBucket, ...plan, expiresSeconds: config.expiresSeconds });
    logger.info('upload signed', {
      key: plan.key,
      contentType: plan.contentType,
      maxBytes: plan.maxBytes,
      expiresAt: post.expiresAt,
    });
    return json(201, { url: post.url, fields: post.fields, key: plan.key, expiresAt: post.expiresAt });
  } catch (err) {
    const error = toPipelineError(err, { bucket: config.sourceBucket, key: plan.key });
    logger.error('upload signing failed', { error: error.toJSON() });
    return json(500, { error: { code: error.code, message: 'could not sign the upload' } });
  }
}
