import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { s3Client } from '../aws/clients';
import { createLogger, logPort } from '../aws/logger';
import { publishPorts } from '../aws/ports';
import { getSecretString } from '../aws/secrets';
import { publishConfigFromEnv } from '../core/config';
import { processPublishBatch } from '../core/publish-batch';
import { sqsRecordsOf } from '../core/sqs-event';

const logger = createLogger('publish');
const config = publishConfigFromEnv(process.env);
const secretArn = config.webhook?.secretArn;
const ports = publishPorts(s3Client(), config, async () => (secretArn ? getSecretString(secretArn) : (process.env.WEBHOOK_SECRET ?? '')), logPort(logger));

/** SQS batch of `image.resized` events -> optional signed webhook -> `manifest.json` beside the variants. */
export async function handler(event: SQSEvent, context: Context): Promise<SQSBatchResponse> {
  logger.addContext(context);
  const result = await processPublishBatch(config, ports, sqsRecordsOf(event));
  logger.info('batch done', { records: event.Records.length, ...result.summary, batchItemFailures: result.batchItemFailures.length });
  return { batchItemFailures: result.batchItemFailures };
}
