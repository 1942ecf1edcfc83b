import type { Context, KinesisStreamEvent, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { createLogger, logPort } from '../aws/logger';
import { createMetrics } from '../aws/metrics';
import { resizeConfigFromEnv } from '../core/config';
import { isKinesisEvent, kinesisRecordsOf } from '../core/kinesis-event';
import { resizeBatchMetrics } from '../core/metrics';
import { sqsRecordsOf } from '../core/sqs-event';
import { lazily } from './lazy';

const logger = createLogger('resize');
const metrics = createMetrics();
// Read at cold start: a bad variant spec or limit fails init with a message naming the variable.
const config = resizeConfigFromEnv(process.env);

/**
 * sharp (libvips, ~135 ms to load) and the S3 + SQS clients (~130 ms) are loaded on the first
 * invocation, not at init: the bundle is an ES module whose entry holds only the configuration
 * checks and the logger, and these parts are separate chunks behind `import()` (containers/bundle.mjs),
 * so init neither runs nor parses them and a sandbox reports ready in about the time of a handler
 * without dependencies (README, Performance). The load still happens once per sandbox, on the first
 * event it serves, and a missing native sharp binary fails that first invocation instead of init.
 */
const dependencies = lazily(async () => {
  const [clients, ports, batch] = await Promise.all([
    import('../aws/clients'),
    import('../aws/ports'),
    import('../core/resize-batch'),
  ]);
  return {
    ports: ports.resizePorts(clients.s3Client(), clients.sqsClient(), config, logPort(logger)),
    processResizeBatch: batch.processResizeBatch,
  };
});

/**
 * SQS batch of S3 notifications -> variants in the output bucket -> `image.resized` events. A Kinesis
 * batch of S3 object references takes the same path; its failures are reported by sequence number.
 */
export async function handler(event: SQSEvent | KinesisStreamEvent, context: Context): Promise<SQSBatchResponse> {
  logger.addContext(context);
  metrics.captureColdStart(context);
  const messages = isKinesisEvent(event) ? kinesisRecordsOf(event) : sqsRecordsOf(event);
  const { ports, processResizeBatch } = await dependencies();
  const result = await processResizeBatch(config, ports, messages);
  logger.info('batch done', {
    records: event.Records.length,
    ...result.summary,
    batchItemFailures: result.batchItemFailures.length,
  });
  metrics.publish(context, resizeBatchMetrics(result));
  return { batchItemFailures: result.batchItemFailures };
}
