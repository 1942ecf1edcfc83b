/**
 * Role sessions, as STS AssumeRole mints them and Lambda hands them to a function: an `ASIA…` access
 * key id, a secret, a session token and an expiry, each attributable to the role that was assumed
 * (`arn:aws:sts::<account>:assumed-role/<role>/<session>`). The gateway looks keys up here to verify
 * signatures and to know whose policies decide a request. Held in memory: a restart mints new ones.
 */
import { randomBytes } from 'node:crypto';
import type { KnownCredentials } from './sigv4-verify';

/** Temporary credentials of one role session. */
export interface SessionCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken: string;
  readonly expiration: Date;
}

/** A session as the gateway attributes requests to it. */
export interface RoleSession {
  readonly credentials: SessionCredentials;
  /** `arn:aws:iam::<account>:role/<path><name>` */
  readonly roleArn: string;
  /** The role's name (the last path component of its ARN). */
  readonly roleName: string;
  readonly sessionName: string;
  /** `arn:aws:sts::<account>:assumed-role/<name>/<session>`: the caller ARN STS reports for it. */
  readonly assumedRoleArn: string;
  readonly account: string;
}

/** STS's default AssumeRole duration; Lambda refreshes a function's credentials well before it. */
export const DEFAULT_SESSION_SECONDS = 12 * 3600;

/** Upper-case letters and digits, as AWS key ids use. */
function keyIdSuffix(length: number): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  return [...randomBytes(length)].map((b) => alphabet[b % alphabet.length]).join('');
}

/** `arn:aws:iam::123:role/path/name` → its account and name; undefined for anything else. */
export function parseRoleArn(roleArn: string): { account: string; name: string; partition: string } | undefined {
  const m = /^arn:(aws[\w-]*):iam::(\d{12}):role\/(?:[\x21-\x7e]*\/)?([\w+=,.@-]+)$/.exec(roleArn);
  return m ? { partition: m[1], account: m[2], name: m[3] } : undefined;
}

/** The role sessions of one local cloud. */
export class SessionCredentialStore {
  private readonly byKeyId = new Map<string, RoleSession>();

  /**
   * Mints credentials for a session of `roleArn`, as AssumeRole does. Throws for a string that is
   * not a role ARN (the code says which).
   * @param sessionName @default the role's name
   * @param durationSeconds @default DEFAULT_SESSION_SECONDS
   */
  sessionCredentialsForRole(
    roleArn: string,
    sessionName?: string,
    durationSeconds: number = DEFAULT_SESSION_SECONDS,
  ): SessionCredentials {
    const role = parseRoleArn(roleArn);
    if (!role) throw Object.assign(new Error(`'${roleArn}' is not an IAM role ARN`), { code: 'InvalidRoleArn' });
    const session = sessionName ?? role.name;
    const credentials: SessionCredentials = {
      accessKeyId: `ASIA${keyIdSuffix(16)}`,
      secretAccessKey: randomBytes(30).toString('base64'),
      sessionToken: randomBytes(96).toString('base64'),
      expiration: new Date(Date.now() + durationSeconds * 1000),
    };
    this.byKeyId.set(credentials.accessKeyId, {
      credentials,
      roleArn,
      roleName: role.name,
      sessionName: session,
      assumedRoleArn: `arn:${role.partition}:sts::${role.account}:assumed-role/${role.name}/${session}`,
      account: role.account,
    });
    return credentials;
  }

  /** The session an access key id belongs to (expired ones too: the verifier answers ExpiredToken for them). */
  session(accessKeyId: string): RoleSession | undefined {
    return this.byKeyId.get(accessKeyId);
  }

  /** The session's credentials as the SigV4 verifier takes them. */
  known(accessKeyId: string): KnownCredentials | undefined {
    return this.byKeyId.get(accessKeyId)?.credentials;
  }
}

/**
 * The environment Lambda gives a function for its execution role's session (AWS_SESSION_TOKEN
 * included, which the SDKs then sign with).
 */
export function sessionEnv(credentials: SessionCredentials): Record<string, string> {
  return {
    AWS_ACCESS_KEY_ID: credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
    AWS_SESSION_TOKEN: credentials.sessionToken,
  };
}

/**
 * A credentials provider (the SDK's shape) over sessions `mint` makes: the same session until it is
 * within `marginMs` of its expiry, then a new one, as Lambda renews the sessions its pollers use.
 * @param marginMs @default 5 minutes
 */
export function renewingSession(
  mint: () => SessionCredentials,
  marginMs: number = 5 * 60_000,
): () => Promise<SessionCredentials> {
  let current: SessionCredentials | undefined;
  return () => {
    if (!current || current.expiration.getTime() - Date.now() < marginMs) current = mint();
    return Promise.resolve(current);
  };
}
