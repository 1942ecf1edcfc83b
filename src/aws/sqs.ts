import { SendMessageBatchCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { PipelineError } from '../core/errors';
import { classifyAwsError } from './errors';

/** SQS accepts at most 10 entries and 1 MiB of bodies per SendMessageBatch. */
const MAX_ENTRIES = 10;
const MAX_BATCH_BYTES = 1024 * 1024;

/**
 * JSON for an SQS message body with every non-ASCII character escaped (`\u00e9`, emoji as
 * surrogate pairs): the same document once parsed, but a body any SQS implementation accepts
 * (the local stand-in refuses characters outside the Basic Multilingual Plane, which SQS allows).
 */
export function asciiJson(value: unknown): string {
  return JSON.stringify(value).replace(
    /[\u007f-\uffff]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

/** Splits entries into SendMessageBatch-sized chunks by count and by total body size. */
export function chunkBatch<T extends { body: string }>(entries: readonly T[]): T[][] {
  const chunks: T[][] = [];
  let current: T[] = [];
  let bytes = 0;
  for (const entry of entries) {
    const size = Buffer.byteLength(entry.body);
    if (current.length === MAX_ENTRIES || (current.length > 0 && bytes + size > MAX_BATCH_BYTES)) {
      chunks.push(current);
      current = [];
      bytes = 0;
    }
    current.push(entry);
    bytes += size;
  }
  if (current.length) chunks.push(current);
  return chunks;
}

/**
 * Sends messages with as few SendMessageBatch calls as the limits allow. Returns the ids that
 * were not accepted, each with its error; a call that fails outright fails all its entries.
 */
export async function sendMessages(
  sqs: SQSClient,
  queueUrl: string,
  entries: ReadonlyArray<{ id: string; body: string }>,
): Promise<Map<string, PipelineError>> {
  const failures = new Map<string, PipelineError>();
  await Promise.all(
    chunkBatch(entries).map(async (chunk) => {
      try {
        const res = await sqs.send(
          new SendMessageBatchCommand({
            QueueUrl: queueUrl,
            Entries: chunk.map((e) => ({ Id: e.id, MessageBody: e.body })),
          }),
        );
        for (const f of res.Failed ?? []) {
          failures.set(
            f.Id ?? '',
            new PipelineError(
              'SQS_ERROR',
              `SendMessageBatch entry ${f.Id} failed: ${f.Code} ${f.Message ?? ''}`.trim(),
              { messageId: f.Id },
            ),
          );
        }
      } catch (err) {
        const error = classifyAwsError('SQS', err, {});
        for (const e of chunk) failures.set(e.id, error);
      }
    }),
  );
  return failures;
}
