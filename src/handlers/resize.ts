import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import type { ResizePorts } from '../core/resize-batch';
import { createLogger, logPort } from '../aws/logger';
import { resizeConfigFromEnv } from '../core/config';
import { sqsRecordsOf } from '../core/sqs-event';

const logger = createLogger('resize');
// Read at cold start: a bad variant spec or limit fails init with a message naming the variable.
const config = resizeConfigFromEnv(process.env);

/**
 * sharp (libvips, ~135 ms to load) and the S3 + SQS clients (~130 ms) are loaded on the first
 * invocation, not at init: init then only validates the configuration, so a sandbox reports ready
 * in about the time of a handler without dependencies (bench/results.md, "cold init"). The load
 * still happens once per sandbox, on the first event it serves, and a missing native sharp binary
 * now fails that first invocation instead of init. Kept as one promise so concurrent first
 * records share it; a failed load is retried by the next invocation.
 */
let loaded: Promise<{ ports: ResizePorts; processResizeBatch: typeof import('../core/resize-batch').processResizeBatch }> | undefined;

function loadDependencies(): NonNullable<typeof loaded> {
  loaded ??= Promise.all([import('../aws/clients'), import('../aws/ports'), import('../core/resize-batch')]).then(
    ([clients, ports, batch]) => ({
      ports: ports.resizePorts(clients.s3Client(), clients.sqsClient(), config, logPort(logger)),
      processResizeBatch: batch.processResizeBatch,
    }),
    (err: unknown) => {
      loaded = undefined;
      throw err;
    },
  );
  return loaded;
}

/** SQS batch of S3 notifications -> variants in the output bucket -> `image.resized` events. */
export async function handler(event: SQSEvent, context: Context): Promise<SQSBatchResponse> {
  logger.addContext(context);
  const { ports, processResizeBatch } = await loadDependencies();
  const result = await processResizeBatch(config, ports, sqsRecordsOf(event));
  logger.info('batch done', { records: event.Records.length, ...result.summary, batchItemFailures: result.batchItemFailures.length });
  return { batchItemFailures: result.batchItemFailures };
}
