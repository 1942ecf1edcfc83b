// `resize-chain up` as a child process of the built CLI, and the AWS CLI as its client.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { localCaPath } from '../../src/local/local-tls';

const CLI = join(__dirname, '..', '..', 'dist', 'cli.js');

/** One invocation line of `up`, as printed (formatInvocation). */
export interface UpInvocation {
  function: string;
  requestId: string;
  records: number;
  outcome: string;
  ms: number;
}

const INVOCATION = /^\d\d:\d\d:\d\d\.\d{3} {2}(\S+) {2}(\S+) {2}(\d+) records? {2}(\S+) {2}(\d+) ms/;

export interface UpProcess {
  readonly child: ChildProcess;
  /** https://127.0.0.1:port, read from the banner's AWS_ENDPOINT_URL line. */
  readonly endpoint: string;
  /** The banner's mapping lines: queue name -> mapping UUID. */
  readonly mappings: Record<string, string>;
  readonly stdout: string[];
  readonly stderr: string[];
  readonly invocations: UpInvocation[];
  /** Resolves when a line matching `pattern` was printed on stdout or stderr (already, or later). */
  waitForLine(pattern: RegExp, timeoutMs?: number): Promise<string>;
  /** Resolves with the exit code (128 + signal number when killed by a signal). */
  readonly exited: Promise<number>;
}

/** Starts `node dist/cli.js up --port 0 …args` and resolves once it prints its ready line. */
/**
 * Resolves with how `child` exited once its output has been read too: 'exit' can come before the last
 * lines are read from the pipes, 'close' comes after them. Bounded (5 s after 'exit'), so that a
 * leftover process holding a pipe open fails the test's own checks rather than hanging it.
 */
export function exitedAfterOutput(
  child: ChildProcess,
): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  return new Promise((resolve) => {
    child.once('exit', (code, signal) => {
      const timer = setTimeout(() => resolve({ code, signal }), 5_000);
      child.once('close', () => {
        clearTimeout(timer);
        resolve({ code, signal });
      });
    });
  });
}

export async function startUp(args: string[] = [], readyTimeoutMs = 60_000): Promise<UpProcess> {
  const child = spawn(process.execPath, [CLI, 'up', '--port', '0', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env },
  });
  const stdout: string[] = [];
  const stderr: string[] = [];
  const invocations: UpInvocation[] = [];
  const waiters: Array<{ pattern: RegExp; resolve: (line: string) => void }> = [];
  const onLine = (into: string[]) => (line: string) => {
    into.push(line);
    const m = INVOCATION.exec(line);
    if (m)
      invocations.push({ function: m[1], requestId: m[2], records: Number(m[3]), outcome: m[4], ms: Number(m[5]) });
    for (const waiter of [...waiters]) {
      if (waiter.pattern.test(line)) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve(line);
      }
    }
  };
  createInterface({ input: child.stdout }).on('line', onLine(stdout));
  createInterface({ input: child.stderr }).on('line', onLine(stderr));
  const exited = exitedAfterOutput(child).then(
    ({ code, signal }) => code ?? (signal === 'SIGKILL' ? 137 : signal === 'SIGTERM' ? 143 : 1),
  );

  const waitForLine = (pattern: RegExp, timeoutMs = 60_000): Promise<string> => {
    const seen = [...stdout, ...stderr].find((line) => pattern.test(line));
    if (seen) return Promise.resolve(seen);
    return new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => {
        waiters.splice(waiters.indexOf(waiter), 1);
        reject(
          new Error(
            `no line matching ${pattern} after ${timeoutMs} ms; ` +
              `stdout:\n${stdout.join('\n')}\nstderr:\n${stderr.join('\n')}`,
          ),
        );
      }, timeoutMs);
      const waiter = {
        pattern,
        resolve: (line: string) => {
          clearTimeout(timer);
          resolve(line);
        },
      };
      waiters.push(waiter);
      void exited.then((code) => {
        if (waiters.includes(waiter)) {
          clearTimeout(timer);
          waiters.splice(waiters.indexOf(waiter), 1);
          reject(new Error(`up exited (${code}) before printing ${pattern}; stderr:\n${stderr.join('\n')}`));
        }
      });
    });
  };

  await waitForLine(/^ready: /, readyTimeoutMs);
  const endpointLine = stdout.find((line) => line.startsWith('export AWS_ENDPOINT_URL='));
  const endpoint = endpointLine!.slice('export AWS_ENDPOINT_URL='.length);
  const mappings: Record<string, string> = {};
  for (const line of stdout) {
    const m = /([0-9a-f-]{36}) {2}(\S+) -> /.exec(line);
    if (m) mappings[m[2]] = m[1]!;
  }
  return { child, endpoint, mappings, stdout, stderr, invocations, waitForLine, exited };
}

/**
 * The AWS CLI to test with: $AWS_CLI, else Debian's /usr/bin/aws (v2, `apt-get install awscli`),
 * else `aws` on PATH. Undefined when none answers `--version`.
 */
export function findAwsCli(): { path: string; version: string } | undefined {
  const candidates = [process.env.AWS_CLI, existsSync('/usr/bin/aws') ? '/usr/bin/aws' : undefined, 'aws'].filter(
    (c): c is string => Boolean(c),
  );
  for (const path of candidates) {
    const res = spawnSync(path, ['--version'], { encoding: 'utf8', timeout: 30_000 });
    if (res.status === 0) return { path, version: `${res.stdout}${res.stderr}`.trim() };
  }
  return undefined;
}

/** What describeWhen/testWhen are told when findAwsCli finds nothing. */
export const AWS_CLI_MISSING = 'AWS CLI not found (apt-get install awscli, or set AWS_CLI)';

/** What describeWhen/testWhen are told when findBoto3Python finds nothing. */
export const BOTO3_MISSING = 'boto3 not found (apt-get install python3-boto3, or set BOTO3_PYTHON)';

/**
 * A Python with boto3 to test with: $BOTO3_PYTHON, else Debian's /usr/bin/python3 (`apt-get install
 * python3-boto3`: boto3 1.26, which speaks SQS's Query protocol). Undefined when none imports boto3.
 */
export function findBoto3Python(): { path: string; version: string } | undefined {
  const candidates = [process.env.BOTO3_PYTHON, '/usr/bin/python3'].filter((c): c is string => Boolean(c));
  for (const path of candidates) {
    const res = spawnSync(path, ['-c', 'import boto3; print(boto3.__version__)'], {
      encoding: 'utf8',
      timeout: 30_000,
    });
    if (res.status === 0) return { path, version: res.stdout.trim() };
  }
  return undefined;
}

/** What localFetch() answers: the status and the body. */
export interface LocalAnswer {
  readonly status: number;
  text(): Promise<string>;
  json(): Promise<unknown>;
}

/**
 * fetch() for the local endpoint, http or https: Node's own fetch cannot be given a CA, so this is
 * node:https trusting the local CA (local-tls.ts), or node:http for a plain URL.
 */
export async function localFetch(
  url: string,
  init: { method?: string; headers?: Record<string, string>; body?: string | Buffer | FormData } = {},
): Promise<LocalAnswer> {
  if (init.body instanceof FormData) {
    // A multipart form as fetch would send it: its bytes and its boundary, both from a Response.
    const encoded = new Response(init.body);
    const headers = { ...init.headers, 'content-type': encoded.headers.get('content-type') ?? '' };
    return localFetch(url, { ...init, headers, body: Buffer.from(await encoded.arrayBuffer()) });
  }
  const send = url.startsWith('https:') ? httpsRequest : httpRequest;
  const ca = url.startsWith('https:') ? readFileSync(localCaPath()) : undefined;
  return new Promise((resolve, reject) => {
    const req = send(url, { method: init.method ?? 'GET', headers: init.headers, ca }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.once('error', reject);
      res.once('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        resolve({ status: res.statusCode ?? 0, text: async () => text, json: async () => JSON.parse(text) as unknown });
      });
    });
    req.once('error', reject);
    req.end(init.body);
  });
}

/** Runs a program with the AWS CLI's environment (async); resolves with stdout, rejects on a non-zero exit. */
export function runClient(program: string, args: string[], timeoutMs = 120_000): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    const child = spawn(program, args, { env: awsCliEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(out);
      else reject(new Error(`${program} ${args.join(' ')} exited ${code}: ${err}`));
    });
  });
}

/** Environment for the AWS CLI against the local cloud: dummy keys, region, no profile or pager. */
export function awsCliEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
    AWS_REGION: 'us-east-1',
    AWS_DEFAULT_REGION: 'us-east-1',
    AWS_PAGER: '',
    AWS_CONFIG_FILE: '/dev/null',
    AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
    AWS_EC2_METADATA_DISABLED: 'true',
    // The local CA, for the endpoint's https side (an http endpoint ignores it).
    AWS_CA_BUNDLE: localCaPath(),
  };
  delete env.AWS_SESSION_TOKEN;
  delete env.AWS_PROFILE;
  delete env.AWS_ENDPOINT_URL; // the tests pass --endpoint-url, which every CLI version honours
  return env;
}

/** Runs the AWS CLI (async, so the test process keeps reading `up`'s output); rejects on a non-zero exit. */
export function runAws(cli: string, endpoint: string, args: string[], timeoutMs = 120_000): Promise<string> {
  return runClient(cli, ['--endpoint-url', endpoint, ...args], timeoutMs);
}

/** AWS CLI arguments of `kinesis put-record` with `data` taken as raw text (the CLI v2 default is base64). */
export function putRecordArgs(streamName: string, partitionKey: string, data: string): string[] {
  return [
    'kinesis',
    'put-record',
    '--stream-name',
    streamName,
    '--partition-key',
    partitionKey,
    '--cli-binary-format',
    'raw-in-base64-out',
    '--data',
    data,
  ];
}

/** Stops `up` if still running (SIGKILL after the grace), for afterAll. */
export async function killUp(up: UpProcess | undefined, graceMs = 35_000): Promise<void> {
  if (!up || up.child.exitCode !== null || up.child.signalCode !== null) return;
  up.child.kill('SIGTERM');
  const timer = setTimeout(() => up.child.kill('SIGKILL'), graceMs);
  await up.exited;
  clearTimeout(timer);
}

/** Runs the built CLI (`node dist/cli.js …args`) to its end; its exit code and output. SIGTERM after `timeoutMs`. */
export function runCli(args: string[], timeoutMs: number): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const timer = setTimeout(() => child.kill('SIGTERM'), timeoutMs);
    child.once('close', (code) => {
      clearTimeout(timer);
      done({ code: code ?? -1, stdout, stderr });
    });
  });
}
