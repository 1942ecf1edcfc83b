import { PipelineError } from './errors';
import type { SqsMessage } from './resize-batch';

/**
 * The records of a Lambda SQS event. Anything else (a direct invoke with the wrong payload) is
 * an `INVALID_EVENT` error for the whole invocation: there is no message to report it against.
 */
export function sqsRecordsOf(event: unknown): SqsMessage[] {
  const records = (event as { Records?: unknown } | null)?.Records;
  if (!Array.isArray(records))
    throw new PipelineError('INVALID_EVENT', 'expected an SQS event: { "Records": [ { "messageId", "body", ... } ] }');
  records.forEach((r: unknown, i) => {
    const rec = r as { messageId?: unknown; body?: unknown } | null;
    if (typeof rec?.messageId !== 'string' || rec.messageId === '' || typeof rec.body !== 'string') {
      throw new PipelineError('INVALID_EVENT', `Records[${i}] needs a non-empty string messageId and a string body`);
    }
  });
  return records as SqsMessage[];
}
