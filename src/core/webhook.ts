import { createHmac, timingSafeEqual } from 'node:crypto';

/** The header that carries the signature of a webhook delivery. */
export const SIGNATURE_HEADER = 'x-resize-chain-signature';

/**
 * Signs a webhook body: `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`. Signing the
 * timestamp with the body lets receivers refuse replays outside their tolerance.
 */
export function signWebhook(secret: string, body: string, timestampSeconds: number): string {
  const mac = createHmac('sha256', secret).update(`${timestampSeconds}.${body}`).digest('hex');
  return `t=${timestampSeconds},v1=${mac}`;
}

/**
 * Verifies a signature header for a receiver: right secret, untouched body, and a timestamp
 * within `toleranceSeconds` (default 300) of `nowSeconds`.
 */
export function verifyWebhookSignature(
  secret: string,
  header: string,
  body: string,
  nowSeconds: number,
  toleranceSeconds = 300,
): boolean {
  const parts = new Map(header.split(',').map((p) => p.split('=', 2) as [string, string]));
  const t = Number(parts.get('t'));
  const v1 = parts.get('v1');
  if (!Number.isInteger(t) || !v1 || Math.abs(nowSeconds - t) > toleranceSeconds) return false;
  const expected = Buffer.from(signWebhook(secret, body, t).split('v1=')[1], 'hex');
  const given = Buffer.from(v1, 'hex');
  return given.length === expected.length && timingSafeEqual(given, expected);
}
