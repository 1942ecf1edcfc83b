/**
 * `resize-chain up`: the local cloud left running as an AWS endpoint for any client (the AWS CLI,
 * SDKs, your own code). Prints the endpoint, the names and the environment to paste, then one
 * line per invocation, until SIGINT/SIGTERM: the first stops taking new work and lets batches in
 * flight finish (bounded), the second exits at once.
 */
import { spawn } from 'node:child_process';
import { configError } from '../../core/errors';
import { startLocalChain, type LocalChain, type LocalChainOptions } from '../../local/chain';
import { offerDockerRun, type DockerRunAccess } from '../../local/cloud/lambda/docker-run';
import { formatFigures } from '../../tools/metric-figures';
import { MetricsTap } from '../../tools/report';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../../local/client-config';
import type { LogSink } from '../../local/cloud/lambda/invoke-contract';
import { startRegistryIfInstalled, type LocalRegistry } from '../../local/cloud/ecr/registry-process';
import { watchParent } from '../lifeline';
import { LOCAL_ENDPOINT_ENV, TF_OVERRIDE_FILE, terraformOverride } from '../../local/terraform-provider';
import type { CommandUsage } from '../usage';
import { runBareCloud } from './up-bare';
import { clientEnvLines, terraformLines } from './up-lines';

/** `resize-chain up`: the options it reads and the help shown for them. */
export const UP_USAGE = {
  name: 'up',
  allowPositionals: true,
  options: {
    port: { type: 'string', shown: '4566' },
    state: { type: 'string', shown: 'DIR' },
    containers: { type: 'boolean' },
    'resize-image': { type: 'string', shown: 'IMAGE' },
    'publish-image': { type: 'string', shown: 'IMAGE' },
    concurrency: { type: 'string', shown: '2' },
    variants: { type: 'string', shown: 'file.json' },
    'name-prefix': { type: 'string', shown: 'image-resize-chain' },
    logs: { type: 'string', shown: 'DIR' },
    drain: { type: 'string', shown: '30' },
    json: { type: 'boolean' },
    ui: { type: 'boolean' },
    'upload-image': { type: 'string', shown: 'IMAGE' },
    stream: { type: 'boolean' },
    'stream-shards': { type: 'string', shown: '1' },
    'allow-origin': { type: 'string', multiple: true, shown: 'URL' },
    'no-auth': { type: 'boolean' },
    bare: { type: 'boolean' },
  },
  forms: [
    {
      shows: [
        'port',
        'state',
        'containers',
        'concurrency',
        'variants',
        'name-prefix',
        'logs',
        'drain',
        'json',
        'ui',
        'stream',
        'stream-shards',
        'allow-origin',
        'no-auth',
        'bare',
      ],
      description: [
        'Start the local cloud and keep it running: one endpoint on 127.0.0.1 serving S3, SQS and the',
        "Lambda event-source-mapping API, with the module's bucket and queue names, for the AWS CLI,",
        'SDKs and your code. Prints what to paste, then one line per invocation. --state keeps buckets',
        "and queues (and, with --stream, the stream's records and checkpoints) across restarts.",
        'Ctrl-C lets batches in flight finish (up to --drain seconds) and exits 0; a second Ctrl-C',
        'exits at once (130; 143 for SIGTERM).',
        "Only loopback Host names are answered, and browser requests only from the endpoint's own pages;",
        '--allow-origin http://localhost:3000 also lets that page (your web app) in.',
        'Every request must be signed with the printed key pair (the account root) or a role session:',
        "bad signatures get SignatureDoesNotMatch/InvalidAccessKeyId, and each function's calls are held",
        "to its role's policies and the resource's policy (AccessDenied). --no-auth checks nothing.",
        '--containers runs the functions as their images (--resize-image/--publish-image pick other tags).',
        '--ui also serves the upload API and the upload page (see start --ui); with --containers the',
        'upload function runs as its image too (--upload-image picks another tag).',
        '--stream adds the Kinesis stream <prefix>-uploads (Kinesis API on the same endpoint: PutRecord,',
        'PutRecords, DescribeStreamSummary, DescribeStream, ListShards, ListStreams), its mapping into',
        'the resize function (batch 100, bisect on error, 3 retries, as the module) and the on-failure',
        'queue <prefix>-stream-failures. Records carry {"bucket","key","eTag"?,"size"?}, never bytes.',
        '--bare starts the cloud with no chain of its own (no bucket, queue, function or mapping): what',
        'every list API shows is what you (Terraform) created; with --port, --state, --logs, --drain,',
        '--json, --allow-origin and --no-auth only.',
      ].join('\n'),
    },
  ],
} satisfies CommandUsage;

export interface UpOptions {
  /** Gateway port on 127.0.0.1. @default 4566 (LocalStack's, so existing settings keep working) */
  port: number;
  /** Batches in flight get this long to finish after the first signal. @default 30 */
  drainSeconds?: number;
  /** Print JSON lines instead of text (banner and invocations). @default false */
  json?: boolean;
  chain?: LocalChainOptions;
  /** Where the banner and invocation lines go. @default process.stdout */
  out?: NodeJS.WritableStream;
  /** Where shutdown messages and warnings go. @default process.stderr */
  err?: NodeJS.WritableStream;
  /** Start the cloud with no chain of its own (up-bare.ts); `chain` gives only the cloud's settings. @default false */
  bare?: boolean;
}

/** Set in the worker's environment by runUpInOwnProcessGroup(). */
export const UP_WORKER_ENV = 'RESIZE_CHAIN_UP_WORKER';

/**
 * Runs `up` (this same CLI with `args`) as a worker in its own process group and session, and
 * forwards SIGINT/SIGTERM to it alone. Why: Ctrl-C in a terminal signals the whole foreground
 * process group, which would otherwise include the stand-in server and every sandbox process:
 * they would die at once instead of finishing their batches. Resolves with the worker's exit code
 * (128 + signal number when it was killed by a signal).
 */
export function runUpInOwnProcessGroup(args: string[]): Promise<number> {
  const script = process.argv[1];
  if (!script) return Promise.reject(new Error('cannot tell which script to run the up worker from'));
  const child = spawn(process.execPath, [...process.execArgv, script, ...args], {
    detached: true,
    // stdin stays a pipe: the worker takes its closing as "the front process died".
    stdio: ['pipe', 'inherit', 'inherit'],
    env: { ...process.env, [UP_WORKER_ENV]: '1' },
  });
  const forward = (signal: NodeJS.Signals): void => {
    child.kill(signal);
  };
  // A launcher that did not pass its signal on (npx, npm start: lifeline.ts) stops the worker as that signal would.
  const unwatch = watchParent(forward);
  // Signalled ourselves (Ctrl-C reaches the `sh -c` above us too): the watch must not send it a second time.
  const onSignal = (signal: NodeJS.Signals): void => {
    unwatch();
    forward(signal);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return new Promise<number>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      unwatch();
      killLeftovers(child.pid);
      resolve(code ?? (signal ? (SIGNAL_EXIT[signal] ?? 1) : 1));
    });
  });
}

/**
 * Kills whatever is left in the worker's process group once the worker is gone (a sandbox or the
 * stand-in that outlived a worker killed at once): nothing started by `up` survives it.
 */
function killLeftovers(workerPid: number | undefined): void {
  if (workerPid === undefined) return;
  try {
    process.kill(-workerPid, 'SIGKILL');
  } catch {
    // ESRCH: the group is already empty
  }
}

/** Exit code after a second signal: 128 + the signal's number, as a shell reports a killed process. */
export const SIGNAL_EXIT: Record<string, number> = { SIGINT: 130, SIGTERM: 143 };

/** One invocation as the terminal shows it. */
export interface InvocationLine {
  time: string;
  function: string;
  requestId: string;
  records: number;
  /** ok | partial | error | invalid-response */
  outcome: string;
  ms: number;
  /** Records the function reported as failed (partial) or all of them (error). */
  failures?: number;
  error?: string;
}

/** A log line's field as text: a string as it is, anything else as JSON, '' when absent. */
function logField(line: Record<string, unknown>, name: string): string {
  const value = line[name];
  if (value === undefined || value === null) return '';
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/**
 * Reads an event source mapping's batch log line (`esm.batch` of an SQS mapping, `stream.batch` of
 * the Kinesis one) as an invocation line; undefined for other lines.
 */
export function invocationLine(
  line: Record<string, unknown>,
  functionName: string,
  now = new Date(),
): InvocationLine | undefined {
  if (line.event !== 'esm.batch' && line.event !== 'stream.batch') return undefined;
  const outcome =
    line.outcome === 'success'
      ? 'ok'
      : line.outcome === 'invoke_error'
        ? 'error'
        : line.outcome === 'invalid_response'
          ? 'invalid-response'
          : String(line.outcome);
  const entry: InvocationLine = {
    time: now.toISOString().slice(11, 23),
    function: functionName,
    requestId: logField(line, 'requestId') || '-',
    records: Number(line.size ?? 0),
    outcome,
    ms: Math.round(Number(line.durationMs ?? 0)),
  };
  const failures = Number(line.failures ?? 0);
  if (failures > 0) entry.failures = failures;
  if (line.errorType) entry.error = `${logField(line, 'errorType')}: ${logField(line, 'errorMessage')}`.slice(0, 200);
  else if (line.reason) entry.error = logField(line, 'reason').slice(0, 200);
  return entry;
}

/** `12:00:01.234  image-resize-chain-resize  <request id>  3 records  ok  812 ms` */
export function formatInvocation(entry: InvocationLine): string {
  const records = `${entry.records} record${entry.records === 1 ? '' : 's'}`;
  let text = `${entry.time}  ${entry.function}  ${entry.requestId}  ${records}  ${entry.outcome}  ${entry.ms} ms`;
  if (entry.failures !== undefined && entry.outcome === 'partial') text += `  (${entry.failures} failed, retried)`;
  if (entry.error) text += `  ${entry.error}`;
  return text;
}

function banner(chain: LocalChain, opts: UpOptions, dockerRun: DockerRunAccess): string {
  const e = chain.gateway.tlsEndpoint;
  const q = chain.resources.queues;
  const b = chain.resources.buckets;
  const how = opts.chain?.containers ? 'containers of their images' : 'processes under aws-lambda-ric (Node 22)';
  const kept = chain.streamSource
    ? 'kept across restarts, the stream and its checkpoints included'
    : 'kept across restarts';
  const state = opts.chain?.stateDir
    ? `${opts.chain.stateDir} (${kept})`
    : 'in memory (gone when this stops; --state DIR keeps it)';
  const m = chain.mappings;
  const s = chain.streamSource;
  return [
    `resize-chain up: local cloud on ${e} (S3, SQS${s ? ', Kinesis' : ''} and the Lambda mappings API)`,
    `  state            ${state}`,
    `  source bucket    ${b.source}   (uploads under ${chain.uploadsPrefix} start the chain)`,
    `  output bucket    ${b.output}${chain.outputPrefix ? `   (under ${chain.outputPrefix})` : ''}`,
    `  ingest queue     ${q.ingest.url}`,
    `  resized queue    ${q.resized.url}`,
    `  rejected queue   ${q.rejected.url}`,
    `  dead letters     ${q.ingestDlq.url}`,
    `                   ${q.resizedDlq.url}`,
    `                   ${q.rejectedDlq.url}`,
    `  functions        ${chain.functions.resize.name}, ${chain.functions.publish.name} (${how})`,
    ...(opts.chain?.registry
      ? [`  ECR registry     ${opts.chain.registry.host}   (repository URIs: ${opts.chain.registry.host}/<name>)`]
      : []),
    `  mappings         ${m.ingest.uuid}  ${q.ingest.name} -> ${m.ingest.functionName}`,
    `                   ${m.resized.uuid}  ${q.resized.name} -> ${m.resized.functionName}`,
    ...(chain.uploadApi
      ? [
          `  upload API       POST ${chain.uploadApi.apiUrl}/uploads   (${chain.functions.upload?.name})`,
          `  upload page      ${chain.uploadApi.pageUrl}`,
        ]
      : []),
    ...(s ? streamLines(chain, s) : []),
    chain.gateway.authEnabled
      ? '  IAM              enforced: requests signed with the key pair below (the root) or a ' +
        "function's role session; each function acts with its role (--no-auth turns this off)"
      : '  IAM              off (--no-auth): any key pair, any signature, every request allowed',
    '',
    ...clientEnvLines(e, chain.gateway.caPath, chain.endpoint),
    '',
    '# try:',
    `aws --endpoint-url ${e} s3 cp photo.jpg s3://${b.source}/${chain.uploadsPrefix}photo.jpg`,
    `aws --endpoint-url ${e} s3 ls s3://${b.output}/ --recursive`,
    `aws --endpoint-url ${e} sqs receive-message --queue-url ${q.rejected.url}`,
    `aws --endpoint-url ${e} lambda update-event-source-mapping --uuid ${m.resized.uuid} --no-enabled`,
    ...(s ? streamExample(chain, s) : []),
    '',
    ...terraformLines(e),
    '',
    ...dockerRun.lines,
    '',
    'ready: one line per invocation follows (Ctrl-C stops)',
    '',
  ].join('\n');
}

function streamLines(chain: LocalChain, s: NonNullable<LocalChain['streamSource']>): string[] {
  const shards = s.stream.shardIds.length;
  const st = s.settings;
  return [
    `  stream           ${s.streamName}   (${shards} shard${shards === 1 ? '' : 's'}; ` +
      `records reference S3 objects, never image bytes)`,
    `                   ${s.streamArn}`,
    `  stream mapping   ${s.mapping.uuid}  ${s.streamName} -> ${chain.functions.resize.name}   ` +
      `(batch ${st.batchSize}, ` +
      `bisect ${st.bisectBatchOnFunctionError ? 'on' : 'off'}, ${st.maximumRetryAttempts} retries)`,
    `  stream failures  ${s.failureQueue.url}`,
  ];
}

/** The ready-to-paste producer example: an object outside the watched prefix, then its reference record. */
function streamExample(chain: LocalChain, s: NonNullable<LocalChain['streamSource']>): string[] {
  const e = chain.gateway.tlsEndpoint;
  const bucket = chain.resources.buckets.source;
  const key = chain.uploadsPrefix === 'stream/' ? 'streamed/photo.jpg' : 'stream/photo.jpg';
  const data = JSON.stringify({ bucket, key });
  return [
    `aws --endpoint-url ${e} s3 cp photo.jpg s3://${bucket}/${key}`,
    `aws --endpoint-url ${e} kinesis put-record --stream-name ${s.streamName} ` +
      `--partition-key ${key} --cli-binary-format raw-in-base64-out --data '${data}'`,
  ];
}

function readyDocument(chain: LocalChain, opts: UpOptions, dockerRun: DockerRunAccess): Record<string, unknown> {
  const q = chain.resources.queues;
  return {
    event: 'up.ready',
    endpoint: chain.gateway.tlsEndpoint,
    plainEndpoint: chain.endpoint,
    caBundle: chain.gateway.caPath,
    region: LOCAL_REGION,
    state: opts.chain?.stateDir ?? null,
    ecrRegistry: opts.chain?.registry?.host ?? null,
    buckets: chain.resources.buckets,
    uploadsPrefix: chain.uploadsPrefix,
    outputPrefix: chain.outputPrefix,
    queues: Object.fromEntries(Object.entries(q).map(([k, v]) => [k, { name: v.name, url: v.url, arn: v.arn }])),
    functions: [chain.functions.resize.name, chain.functions.publish.name],
    mappings: Object.values(chain.mappings).map((m) => ({
      uuid: m.uuid,
      queueArn: m.options.queueArn,
      functionName: m.functionName,
    })),
    ...(chain.uploadApi ? { uploadApi: chain.uploadApi } : {}),
    ...(chain.streamSource
      ? {
          streamSource: {
            streamName: chain.streamSource.streamName,
            streamArn: chain.streamSource.streamArn,
            shards: chain.streamSource.stream.shardIds,
            mappingUuid: chain.streamSource.mapping.uuid,
            failureQueue: chain.streamSource.failureQueue,
            settings: chain.streamSource.settings,
          },
        }
      : {}),
    terraform: {
      overrideFile: TF_OVERRIDE_FILE,
      override: JSON.parse(terraformOverride(chain.gateway.tlsEndpoint)) as unknown,
      cdktfEnv: { [LOCAL_ENDPOINT_ENV]: chain.gateway.tlsEndpoint },
    },
    ...(dockerRun.line
      ? {
          dockerRun: {
            line: dockerRun.line,
            envFile: dockerRun.envFile,
            containerEndpoint: dockerRun.containerEndpoint,
          },
        }
      : {}),
    env: {
      AWS_ENDPOINT_URL: chain.gateway.tlsEndpoint,
      AWS_CA_BUNDLE: chain.gateway.caPath,
      AWS_REGION: LOCAL_REGION,
      AWS_DEFAULT_REGION: LOCAL_REGION,
      AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
    },
  };
}

/**
 * Runs `up` until a signal. Resolves with the exit code after a graceful stop: 0, also when the
 * drain deadline cut batches off (their messages return after the visibility timeout). A second
 * signal exits the process at once with 128 + the signal number (130 for SIGINT, 143 for SIGTERM).
 */
export async function upCommand(opts: UpOptions): Promise<number> {
  const out = opts.out ?? process.stdout;
  const err = opts.err ?? process.stderr;
  const drainMs = (opts.drainSeconds ?? 30) * 1000;
  const write = (stream: NodeJS.WritableStream, text: string): void =>
    void stream.write(text.endsWith('\n') ? text : `${text}\n`);

  // Which function each mapping's log source feeds; filled once the chain is up.
  const functionOf: Record<string, string> = {};
  const extraSink = opts.chain?.logSink;
  // The functions' EMF lines, added up for the figures printed at the end.
  const tap = new MetricsTap();
  const sink: LogSink = (line) => {
    extraSink?.(line);
    tap.record(line);
    const source = logField(line, 'source');
    const fn = functionOf[source];
    if (fn) {
      const entry = invocationLine(line, fn);
      if (entry) write(out, opts.json ? JSON.stringify({ event: 'invocation', ...entry }) : formatInvocation(entry));
      if (line.event === 'stream.sent_to_failure_destination' || line.event === 'stream.discarded') {
        const where = line.event === 'stream.discarded' ? 'discarded' : 'described to the on-failure queue';
        const records = `${String(line.batchSize)} record(s) of ${String(line.shardId)}`;
        const range = `${String(line.startSequenceNumber)}..${String(line.endSequenceNumber)}`;
        write(err, `stream: ${records} (${range}) ${where}: ${String(line.condition)}`);
      }
      return;
    }
    if (line.type === 'INIT_REPORT' && line.status !== 'ok')
      write(err, `${String(line.fn)}: init ${String(line.status)} (sandbox ${String(line.sandbox)})`);
    if (line.event === 'gateway.error' || line.event === 'gateway.upstream_error')
      write(err, `gateway: ${String(line.error)}`);
  };

  // Signals that arrive while starting still count: the first stops once the chain is up.
  let signals = 0;
  let firstSignal: (signal: NodeJS.Signals) => void = () => undefined;
  const stopRequested = new Promise<NodeJS.Signals>((resolve) => {
    firstSignal = resolve;
  });
  const onSignal = (signal: NodeJS.Signals): void => {
    signals += 1;
    if (signals === 1) {
      firstSignal(signal);
      return;
    }
    write(
      err,
      `${signal} again: exiting now (batches in flight are cut off; ` +
        `their messages return after the visibility timeout)`,
    );
    process.exit(SIGNAL_EXIT[signal] ?? 1);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  // Started by runUpInOwnProcessGroup(): stdin closing means the front process is gone; stop as on SIGTERM.
  const orphaned = (): void => onSignal('SIGTERM');
  if (process.env[UP_WORKER_ENV] === '1') {
    process.stdin.once('end', orphaned);
    process.stdin.once('error', orphaned);
    process.stdin.resume();
  }
  // Leaves nothing that keeps the process alive: a start-up error must exit, not hang on stdin.
  const releaseProcess = (): void => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    process.stdin.off('end', orphaned);
    process.stdin.off('error', orphaned);
    process.stdin.pause();
  };

  if (opts.bare) {
    try {
      // The same sink: gateway errors and failed function inits go to stderr as with a chain.
      const bare: UpOptions = { ...opts, chain: { ...opts.chain, logSink: sink } };
      return await runBareCloud(
        bare,
        stopRequested,
        (text) => write(out, text),
        (text) => write(err, text),
      );
    } finally {
      releaseProcess();
    }
  }
  let chain: LocalChain;
  // The registry behind ECR (ecr/registry-process.ts); stopped with the chain, or at exit whatever ends `up`.
  let registry: LocalRegistry | undefined;
  try {
    registry = await startRegistryIfInstalled({ stateDir: opts.chain?.stateDir }, (line) => write(err, line));
    chain = await startLocalChain({ ...opts.chain, port: opts.port, logSink: sink, registry });
  } catch (error) {
    await registry?.stop();
    releaseProcess();
    if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE')
      throw configError('port', `${opts.port} on 127.0.0.1 is in use: stop what holds it or pass --port`);
    throw error;
  }
  functionOf['esm-ingest'] = chain.functions.resize.name;
  functionOf['esm-resized'] = chain.functions.publish.name;
  functionOf['esm-stream'] = chain.functions.resize.name;
  const dockerRun = await offerDockerRun(chain, opts.chain?.variants);
  const shown: UpOptions = { ...opts, chain: { ...opts.chain, registry } };
  write(out, opts.json ? JSON.stringify(readyDocument(chain, shown, dockerRun)) : banner(chain, shown, dockerRun));

  const signal = await stopRequested;
  const inFlight =
    chain.mappings.ingest.stats().inFlight +
    chain.mappings.resized.stats().inFlight +
    (chain.streamSource?.mapping.state() === 'Enabled' && !chain.streamSource.mapping.caughtUp() ? 1 : 0);
  write(
    err,
    `${signal}: taking no new work; waiting for ${inFlight} batch${inFlight === 1 ? '' : 'es'} ` +
      `in flight (at most ${drainMs / 1000} s; signal again to exit at once)`,
  );
  const drained = await chain.drain(drainMs);
  if (!drained)
    write(
      err,
      `drain: batches still running after ${drainMs / 1000} s are cut off; ` +
        `their messages return after the visibility timeout`,
    );
  await chain.stop();
  await registry?.stop();
  await dockerRun.close();
  const totals = [chain.mappings.ingest, chain.mappings.resized].map((m) => {
    const s = m.stats();
    return `${m.functionName}: ${s.batches} invocations, ${s.deleted} messages done`;
  });
  if (chain.streamSource) {
    const s = chain.streamSource.mapping.stats();
    totals.push(
      `${chain.streamSource.streamName}: ${s.batches} ` +
        `invocations, ${s.recordsToFailureDestination} records to the on-failure queue`,
    );
  }
  const kept = opts.chain?.stateDir ? `; state kept in ${opts.chain.stateDir}` : '';
  write(err, `stopped (${drained ? 'every batch finished' : 'drain cut short'}); ${totals.join('; ')}${kept}`);
  write(err, formatFigures(tap.figures()));
  releaseProcess();
  return 0;
}
