import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { s3Client, sqsClient } from '../aws/clients';
import { createLogger, logPort } from '../aws/logger';
import { resizePorts } from '../aws/ports';
import { resizeConfigFromEnv } from '../core/config';
import { processResizeBatch } from '../core/resize-batch';
import { sqsRecordsOf } from '../core/sqs-event';

const logger = createLogger('resize');
// Read at cold start: a bad variant spec or limit fails init with a message naming the variable.
const config = resizeConfigFromEnv(process.env);
const ports = resizePorts(s3Client(), sqsClient(), config, logPort(logger));

/** SQS batch of S3 notifications -> variants in the output bucket -> `image.resized` events. */
export async function handler(event: SQSEvent, context: Context): Promise<SQSBatchResponse> {
  logger.addContext(context);
  const result = await processResizeBatch(config, ports, sqsRecordsOf(event));
  logger.info('batch done', { records: event.Records.length, ...result.summary, batchItemFailures: result.batchItemFailures.length });
  return { batchItemFailures: result.batchItemFailures };
}
