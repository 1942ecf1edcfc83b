/**
 * API Gateway's JWT authorizer for HTTP APIs: the token from the identity source (a `Bearer ` prefix
 * is dropped), its signature checked against the issuer's JSON Web Key Set (found through
 * `<issuer>/.well-known/openid-configuration`, RSA keys, as API Gateway takes), then `iss`, `aud`
 * (or `client_id`), `exp`, `nbf`, `iat` and, when the route names scopes, `scope`/`scp`. Any failure
 * is a refusal with its reason, which the caller answers as API Gateway does (401) and logs.
 */
import { createPublicKey, verify, type JsonWebKey, type KeyObject } from 'node:crypto';

/** What an authorizer checks a token against. */
export interface JwtConfiguration {
  issuer: string;
  audience: readonly string[];
}

export type JwtVerdict =
  { ok: true; claims: Record<string, unknown>; scopes: string[] | undefined } | { ok: false; reason: string };

/** Fetches a URL's JSON; injectable for tests. */
export type FetchJson = (url: string) => Promise<unknown>;

const HASHES: Readonly<Record<string, string>> = { RS256: 'sha256', RS384: 'sha384', RS512: 'sha512' };

/** How long a key set is kept before it is fetched again. */
const KEY_SET_TTL_MS = 5 * 60 * 1000;

async function defaultFetchJson(url: string): Promise<unknown> {
  const res = await fetch(url, { signal: AbortSignal.timeout(5000) });
  if (!res.ok) throw new Error(`GET ${url} answered ${res.status}`);
  return res.json();
}

function decodePart(part: string | undefined, what: string): Record<string, unknown> {
  try {
    const parsed: unknown = JSON.parse(Buffer.from(part ?? '', 'base64url').toString('utf8'));
    if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed))
      return parsed as Record<string, unknown>;
  } catch {
    // answered below
  }
  throw new Error(`the token's ${what} is not base64url-encoded JSON`);
}

/** A verifier for JWTs; keys are fetched per issuer and kept for KEY_SET_TTL_MS. */
export function jwtVerifier(fetchJson: FetchJson = defaultFetchJson, now: () => number = Date.now) {
  const keySets = new Map<string, { keys: Map<string, KeyObject>; fetchedAt: number }>();

  async function keysOf(issuer: string): Promise<Map<string, KeyObject>> {
    const cached = keySets.get(issuer);
    if (cached && now() - cached.fetchedAt < KEY_SET_TTL_MS) return cached.keys;
    const discovery = (await fetchJson(`${issuer.replace(/\/$/, '')}/.well-known/openid-configuration`)) as {
      jwks_uri?: unknown;
    };
    if (typeof discovery.jwks_uri !== 'string') throw new Error(`the issuer's OpenID configuration has no jwks_uri`);
    const set = (await fetchJson(discovery.jwks_uri)) as { keys?: unknown };
    const keys = new Map<string, KeyObject>();
    for (const jwk of Array.isArray(set.keys) ? (set.keys as Array<JsonWebKey & { kid?: string }>) : [])
      if (jwk.kty === 'RSA' && typeof jwk.kid === 'string')
        keys.set(jwk.kid, createPublicKey({ key: jwk, format: 'jwk' }));
    keySets.set(issuer, { keys, fetchedAt: now() });
    return keys;
  }

  /** Checks `token` (as the identity source held it) for `config`, requiring one of `scopes` when given. */
  return async function verifyJwt(
    token: string,
    config: JwtConfiguration,
    scopes: readonly string[] = [],
  ): Promise<JwtVerdict> {
    try {
      const jwt = token.replace(/^Bearer /i, '').trim();
      const [head, body, signature, extra] = jwt.split('.');
      if (extra !== undefined || signature === undefined) return { ok: false, reason: 'the token is not a JWS' };
      const header = decodePart(head, 'header');
      const claims = decodePart(body, 'payload');
      const hash = HASHES[String(header.alg)];
      if (!hash) return { ok: false, reason: `unsupported algorithm ${String(header.alg)}: RS256, RS384 or RS512` };
      const key = (await keysOf(config.issuer)).get(String(header.kid));
      if (!key) return { ok: false, reason: `no key ${String(header.kid)} in the issuer's key set` };
      if (!verify(hash, Buffer.from(`${head}.${body}`), key, Buffer.from(signature, 'base64url')))
        return { ok: false, reason: 'signature verification failed' };
      const seconds = now() / 1000;
      if (claims.iss !== config.issuer)
        return { ok: false, reason: `issuer ${String(claims.iss)} is not ${config.issuer}` };
      const audiences = [claims.aud, claims.client_id].flat().filter((a): a is string => typeof a === 'string');
      if (!audiences.some((a) => config.audience.includes(a)))
        return { ok: false, reason: `none of the token's audiences [${audiences.join(', ')}] is allowed` };
      if (typeof claims.exp !== 'number' || claims.exp <= seconds)
        return { ok: false, reason: 'the token has expired' };
      if (typeof claims.nbf === 'number' && claims.nbf > seconds)
        return { ok: false, reason: 'the token is not valid yet' };
      if (typeof claims.iat === 'number' && claims.iat > seconds)
        return { ok: false, reason: 'the token was issued in the future' };
      const scopeClaim = claims.scope ?? claims.scp;
      const granted = (
        Array.isArray(scopeClaim) ? scopeClaim.map(String).join(' ') : typeof scopeClaim === 'string' ? scopeClaim : ''
      )
        .split(' ')
        .filter(Boolean);
      if (scopes.length > 0 && !scopes.some((s) => granted.includes(s)))
        return { ok: false, reason: `the token has none of the route's scopes [${scopes.join(', ')}]` };
      return { ok: true, claims, scopes: granted.length > 0 ? granted : undefined };
    } catch (err) {
      return { ok: false, reason: (err as Error).message };
    }
  };
}
