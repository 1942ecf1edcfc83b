/**
 * Kinesis events for the resize stage. Lambda's Kinesis event carries each record's data in base64;
 * the resize batch takes `{ messageId, body }` pairs whose bodies are S3 notifications. This adapter
 * maps one onto the other with `messageId` = the record's `kinesis.sequenceNumber`, which is exactly
 * the `itemIdentifier` AWS expects in a Kinesis partial batch response (it resumes the shard from
 * the lowest failed sequence number).
 */
import { PipelineError } from './errors';
import type { SqsMessage } from './resize-batch';
import { streamDataAsNotificationBody } from './stream-event';

/** Lambda's `eventSource` for Kinesis records. */
export const KINESIS_EVENT_SOURCE = 'aws:kinesis';

/** True when the event is a Lambda Kinesis event (judged by its first record; an empty event is not). */
export function isKinesisEvent(event: unknown): boolean {
  const records = (event as { Records?: unknown } | null)?.Records;
  return (
    Array.isArray(records) &&
    (records[0] as { eventSource?: unknown } | undefined)?.eventSource === KINESIS_EVENT_SOURCE
  );
}

/**
 * The records of a Lambda Kinesis event as the resize batch's messages, in stream order. A record
 * without a sequence number or base64 data, or a record from another source, is an `INVALID_EVENT`
 * error for the whole invocation (there is no identifier to report it against). A record whose data
 * is not a reference to an S3 object becomes a message the batch rejects as `INVALID_EVENT`.
 */
export function kinesisRecordsOf(event: unknown): SqsMessage[] {
  const records = (event as { Records?: unknown } | null)?.Records;
  if (!Array.isArray(records))
    throw new PipelineError(
      'INVALID_EVENT',
      'expected a Kinesis event: { "Records": [ { "kinesis": { "sequenceNumber", "data" }, ... } ] }',
    );
  return records.map((r: unknown, i): SqsMessage => {
    const record = r as {
      eventSource?: unknown;
      kinesis?: { sequenceNumber?: unknown; data?: unknown; approximateArrivalTimestamp?: unknown };
    } | null;
    if (record?.eventSource !== KINESIS_EVENT_SOURCE) {
      throw new PipelineError(
        'INVALID_EVENT',
        `Records[${i}].eventSource is ${JSON.stringify(record?.eventSource)}, ` +
          `not "${KINESIS_EVENT_SOURCE}" (one event holds one source)`,
      );
    }
    const sequenceNumber = record.kinesis?.sequenceNumber;
    const data = record.kinesis?.data;
    if (typeof sequenceNumber !== 'string' || sequenceNumber === '' || typeof data !== 'string') {
      throw new PipelineError(
        'INVALID_EVENT',
        `Records[${i}].kinesis needs a non-empty string sequenceNumber and string data`,
      );
    }
    // Kinesis gives the arrival time in seconds since the epoch, with a fraction.
    const arrival = record.kinesis?.approximateArrivalTimestamp;
    const arrivedAt = typeof arrival === 'number' ? new Date(arrival * 1000) : undefined;
    return {
      messageId: sequenceNumber,
      body: streamDataAsNotificationBody(Buffer.from(data, 'base64').toString('utf8'), arrivedAt),
    };
  });
}
