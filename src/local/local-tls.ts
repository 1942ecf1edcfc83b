/**
 * The local cloud's TLS: a private CA and one server certificate it signs, for the endpoint's
 * https side (the gateway answers TLS and plain HTTP on the same port). Generated once per user with
 * the `openssl` binary (Debian's `openssl` package) and kept in `$XDG_CACHE_HOME/resize-chain/tls`
 * (default `~/.cache/resize-chain/tls`), reused by every later run, so a client told to trust
 * `ca.pem` once (AWS_CA_BUNDLE, Terraform's custom_ca_bundle, NODE_EXTRA_CA_CERTS) keeps trusting it.
 *
 * The CA's private key is deleted as soon as it has signed the server certificate: trusting
 * `ca.pem` trusts that one certificate (its names: localhost, 127.0.0.1, ::1 and
 * host.docker.internal, how function containers reach the endpoint) and nothing else anyone could sign.
 * The folder is 0700 and the server key 0600. A certificate that expired or lacks a name is made again.
 */
import { spawnSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { configError } from '../core/errors';

/** The names the server certificate answers for (subjectAltName), in openssl's syntax. */
export const LOCAL_TLS_NAMES = ['DNS:localhost', 'IP:127.0.0.1', 'IP:::1', 'DNS:host.docker.internal'] as const;

/** The CA certificate clients trust, the server certificate and its key, and where they are. */
export interface LocalTls {
  readonly dir: string;
  /** Path of the CA certificate (PEM): what AWS_CA_BUNDLE / custom_ca_bundle / NODE_EXTRA_CA_CERTS name. */
  readonly caPath: string;
  readonly ca: string;
  readonly cert: string;
  readonly key: string;
}

/** `$XDG_CACHE_HOME/resize-chain/tls`, default `~/.cache/resize-chain/tls`. */
export function localTlsDir(env: NodeJS.ProcessEnv = process.env): string {
  const cache = env.XDG_CACHE_HOME || join(homedir(), '.cache');
  return join(cache, 'resize-chain', 'tls');
}

/** Path of the local CA certificate (whether or not it was generated yet). */
export function localCaPath(dir: string = localTlsDir()): string {
  return join(dir, 'ca.pem');
}

/** The files of a TLS folder, or undefined when one is missing, expired or lacks a name. */
function readUsable(dir: string): LocalTls | undefined {
  const paths = { ca: localCaPath(dir), cert: join(dir, 'cert.pem'), key: join(dir, 'key.pem') };
  if (!Object.values(paths).every((p) => existsSync(p))) return undefined;
  const [ca, cert, key] = [paths.ca, paths.cert, paths.key].map((p) => readFileSync(p, 'utf8'));
  const parsed = new X509Certificate(cert);
  const hasAllNames = LOCAL_TLS_NAMES.every((name) => certificateNames(parsed).includes(name));
  if (Date.parse(parsed.validTo) < Date.now() + 24 * 3600_000 || !hasAllNames) return undefined;
  return { dir, caPath: paths.ca, ca, cert, key };
}

/** A certificate's subjectAltName entries in openssl's syntax (Node prints `IP Address:0:0:0:0:0:0:0:1`). */
function certificateNames(cert: X509Certificate): string[] {
  return (cert.subjectAltName ?? '')
    .split(', ')
    .map((entry) => entry.replace(/^IP Address:/, 'IP:').replace(/^IP:0:0:0:0:0:0:0:1$/, 'IP:::1'));
}

/** Runs openssl with `args` in `cwd`; throws a coded error naming what failed. */
function openssl(args: string[], cwd: string): void {
  const run = spawnSync('openssl', args, { cwd, encoding: 'utf8' });
  if (run.error)
    throw configError('tls', `cannot run openssl to make the local CA (${run.error.message}): install openssl`);
  if (run.status !== 0) throw configError('tls', `openssl ${args[0]} exited ${run.status}: ${run.stderr.trim()}`);
}

/** Makes a CA, the server certificate it signs, and deletes the CA's key, in `dir`. */
function generate(dir: string): void {
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  openssl(
    ['req', '-x509', ...ec, '-keyout', 'ca-key.pem', '-out', 'ca.pem', '-days', '3650']
      .concat(['-subj', '/CN=resize-chain local CA', '-addext', 'basicConstraints=critical,CA:TRUE'])
      .concat(['-addext', 'keyUsage=critical,keyCertSign,cRLSign']),
    dir,
  );
  openssl(['req', '-new', ...ec, '-keyout', 'key.pem', '-out', 'server.csr', '-subj', '/CN=localhost'], dir);
  writeFileSync(
    join(dir, 'server.ext'),
    [
      `subjectAltName=${LOCAL_TLS_NAMES.join(',')}`,
      'basicConstraints=critical,CA:FALSE',
      'keyUsage=critical,digitalSignature',
      'extendedKeyUsage=serverAuth',
      'subjectKeyIdentifier=hash',
      'authorityKeyIdentifier=keyid,issuer',
      '',
    ].join('\n'),
  );
  // 825 days: the longest validity macOS and browsers accept for a server certificate.
  openssl(
    ['x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca-key.pem', '-CAcreateserial'].concat([
      '-out',
      'cert.pem',
      '-days',
      '825',
      '-extfile',
      'server.ext',
    ]),
    dir,
  );
  for (const leftover of ['ca-key.pem', 'server.csr', 'server.ext', 'ca.srl'])
    rmSync(join(dir, leftover), { force: true });
  chmodSync(join(dir, 'key.pem'), 0o600);
  chmodSync(join(dir, 'ca.pem'), 0o644);
  chmodSync(join(dir, 'cert.pem'), 0o644);
}

/**
 * The local TLS material in `dir` (default localTlsDir()), made on first use. Safe when several
 * processes start at once: each makes its own in a temporary folder and the first rename wins.
 * Throws PipelineError('INVALID_CONFIG', field 'tls') when openssl is missing or fails.
 */
export function ensureLocalTls(dir: string = localTlsDir()): LocalTls {
  const existing = readUsable(dir);
  if (existing) return existing;
  mkdirSync(dirname(dir), { recursive: true, mode: 0o700 });
  const fresh = mkdtempSync(`${dir}.new-`);
  try {
    generate(fresh);
    // A stale folder (expired, fewer names) goes aside first; a concurrent winner's stays.
    if (existsSync(dir) && !readUsable(dir)) rmSync(dir, { recursive: true, force: true });
    try {
      renameSync(fresh, dir);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw err;
    }
  } finally {
    rmSync(fresh, { recursive: true, force: true });
  }
  const made = readUsable(dir);
  if (!made) throw configError('tls', `the local CA in ${dir} is not usable after it was made`);
  return made;
}
