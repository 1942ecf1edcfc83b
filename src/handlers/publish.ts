import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { createLogger, logPort } from '../aws/logger';
import { createMetrics } from '../aws/metrics';
import { publishConfigFromEnv } from '../core/config';
import { publishBatchMetrics } from '../core/metrics';
import { sqsRecordsOf } from '../core/sqs-event';
import { lazily } from './lazy';

const logger = createLogger('publish');
const metrics = createMetrics();
// Read at cold start: a bad setting fails init with a message naming the variable.
const config = publishConfigFromEnv(process.env);
const secretArn = config.webhook?.secretArn;

/**
 * The S3 client and the batch logic load on the first invocation, as in the resize handler, and
 * the Secrets Manager client only when a webhook is first signed with a secret from it: init
 * validates the configuration and nothing else.
 */
const dependencies = lazily(async () => {
  const [clients, ports, batch] = await Promise.all([
    import('../aws/clients'),
    import('../aws/ports'),
    import('../core/publish-batch'),
  ]);
  const webhookSecret = async () =>
    secretArn ? (await import('../aws/secrets')).getSecretString(secretArn) : (process.env.WEBHOOK_SECRET ?? '');
  return {
    ports: ports.publishPorts(clients.s3Client(), config, webhookSecret, logPort(logger)),
    processPublishBatch: batch.processPublishBatch,
  };
});

/** SQS batch of `image.resized` events -> `manifest.json` beside the variants -> optional signed webhook. */
export async function handler(event: SQSEvent, context: Context): Promise<SQSBatchResponse> {
  logger.addContext(context);
  metrics.captureColdStart(context);
  const { ports, processPublishBatch } = await dependencies();
  const result = await processPublishBatch(config, ports, sqsRecordsOf(event));
  logger.info('batch done', {
    records: event.Records.length,
    ...result.summary,
    batchItemFailures: result.batchItemFailures.length,
  });
  metrics.publish(context, publishBatchMetrics(result));
  return { batchItemFailures: result.batchItemFailures };
}
