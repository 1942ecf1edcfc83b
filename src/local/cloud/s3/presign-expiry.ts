/**
 * Presigned URLs are held to their expiry, as S3 holds them, before the signature is looked at
 * (the local endpoint verifies no signature; requests that carry no presign are not concerned).
 * SigV4 query presigns expire `X-Amz-Expires` seconds after `X-Amz-Date`, and may not ask for more
 * than 7 days; SigV2 query presigns (`AWSAccessKeyId` + `Signature`) at the Unix time `Expires`.
 */
import type { S3ErrorShape } from './post-policy';

/** SigV4's longest presign: 7 days. */
export const MAX_PRESIGN_SECONDS = 604_800;

/** `20261206T040000Z` as a Date, or undefined when it is not in that form. */
function parseAmzDate(value: string): Date | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(value);
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s] = m.map(Number) as [number, number, number, number, number, number, number];
  const date = new Date(Date.UTC(y, mo - 1, d, h, mi, s));
  return Number.isNaN(date.getTime()) ? undefined : date;
}

/** S3's timestamps in error bodies: ISO 8601 to the second. */
const isoSeconds = (date: Date): string => date.toISOString().replace(/\.\d{3}Z$/, 'Z');

const expired = (details: Record<string, string>): S3ErrorShape => ({
  code: 'AccessDenied',
  status: 403,
  message: 'Request has expired',
  details,
});

/**
 * S3's refusal of a presigned request `url` (path and query) at `now`: AccessDenied "Request has
 * expired" past its expiry, AuthorizationQueryParametersError for a SigV4 expiry over 7 days;
 * undefined when the URL is no presign, or one still valid (or one whose date S3 would refuse for
 * reasons other than expiry, left to signature checking).
 */
export function presignRefusal(url: string, now: Date): S3ErrorShape | undefined {
  const queryStart = url.indexOf('?');
  if (queryStart < 0) return undefined;
  const query = new URLSearchParams(url.slice(queryStart + 1));
  if (query.get('X-Amz-Algorithm') !== null || query.get('X-Amz-Signature') !== null) {
    const signedAt = parseAmzDate(query.get('X-Amz-Date') ?? '');
    const expiresParam = query.get('X-Amz-Expires') ?? '';
    const seconds = /^\d+$/.test(expiresParam) ? Number(expiresParam) : undefined;
    if (!signedAt || seconds === undefined) return undefined;
    if (seconds > MAX_PRESIGN_SECONDS) {
      return {
        code: 'AuthorizationQueryParametersError',
        status: 400,
        message: `X-Amz-Expires must be less than a week (in seconds) that is; ${MAX_PRESIGN_SECONDS}`,
      };
    }
    const expiresAt = new Date(signedAt.getTime() + seconds * 1000);
    if (now.getTime() <= expiresAt.getTime()) return undefined;
    return expired({ 'X-Amz-Expires': String(seconds), Expires: isoSeconds(expiresAt), ServerTime: isoSeconds(now) });
  }
  if (query.get('Signature') !== null && query.get('AWSAccessKeyId') !== null) {
    const expiresParam = query.get('Expires') ?? '';
    if (!/^\d+$/.test(expiresParam)) return undefined;
    const expiresAt = new Date(Number(expiresParam) * 1000);
    if (now.getTime() <= expiresAt.getTime()) return undefined;
    return expired({ Expires: isoSeconds(expiresAt), ServerTime: isoSeconds(now) });
  }
  return undefined;
}
