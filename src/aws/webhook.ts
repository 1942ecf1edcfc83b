import { PipelineError } from '../core/errors';
import { SIGNATURE_HEADER, signWebhook } from '../core/webhook';

/**
 * POSTs an event to a webhook, signed with HMAC-SHA256 (`SIGNATURE_HEADER`), with an id header
 * receivers use to drop redeliveries. Any network error, timeout or non-2xx answer is a
 * transient `WEBHOOK_ERROR`: the message is retried and ends in the DLQ if it never succeeds.
 */
export async function deliverWebhook(opts: {
  url: string;
  secret: string;
  timeoutMs: number;
  body: string;
  eventId: string;
  now: Date;
}): Promise<void> {
  const headers = {
    'content-type': 'application/json',
    'user-agent': 'image-resize-chain',
    'x-resize-chain-event-id': opts.eventId,
    [SIGNATURE_HEADER]: signWebhook(opts.secret, opts.body, Math.floor(opts.now.getTime() / 1000)),
  };
  let status: number;
  try {
    const res = await fetch(opts.url, {
      method: 'POST',
      headers,
      body: opts.body,
      signal: AbortSignal.timeout(opts.timeoutMs),
      redirect: 'error',
    });
    status = res.status;
    await res.arrayBuffer();
  } catch (err) {
    throw new PipelineError(
      'WEBHOOK_ERROR',
      `webhook ${new URL(opts.url).host} did not answer: ${(err as Error).message}`,
      {},
      { cause: err },
    );
  }
  if (status < 200 || status > 299)
    throw new PipelineError('WEBHOOK_ERROR', `webhook ${new URL(opts.url).host} answered HTTP ${status}`, {});
}
