/**
 * `resize-chain`: run the chain locally, resize files with the same core, print test events.
 * Exit codes: 0 success, 1 some input failed (each failure printed as a JSON line on stderr),
 * 2 bad usage or configuration.
 */
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { isPipelineError } from '../core/errors';
import { costCommand } from './commands/cost';
import { s3PutEvent } from './commands/event';
import type { LocalContainersOptions } from '../local/chain';
import { readVariantsFile } from './variants-file';
import { invokeCommand } from './commands/invoke';
import { resizeFiles } from './commands/resize';
import { startCommand, startUiCommand } from './commands/start';
import { tfOverrideCommand } from './commands/tf-override';
import { runUpInOwnProcessGroup, UP_WORKER_ENV, upCommand } from './commands/up';
import { untilStopped } from './lifeline';
import { normalizeOrigin } from '../local/cloud/gateway/endpoint-guard';

const USAGE = `Usage:
  resize-chain start [dir] [--out out] [--variants file.json] [--timeout 300] [--concurrency 2] [--containers]
                     [--stream] [--stream-shards 1]
      Run the whole chain locally (stand-in S3 + SQS, both Lambdas under aws-lambda-ric) on the
      images in [dir] (default: generated samples in ./samples); print a table and write
      <out>/report.html. --containers runs the functions as their images (npm run images)
      instead of processes; --resize-image/--publish-image pick other tags.
      --stream sends the images through the Kinesis stream (the module's streamSource) instead of
      bucket notifications: each is uploaded under stream/ (not watched) and one record referencing
      it is put on <prefix>-uploads; records the mapping gives up on count as dead letters.
  resize-chain start --ui [--port 0] [--variants file.json] [--concurrency 2] [--containers]
      The local cloud with the upload API (POST <endpoint>/_api/uploads) and a page to drop images
      on (<endpoint>/_ui/): each is uploaded with a presigned POST and its variants are shown.
      Runs until Ctrl-C. --containers also runs the upload function as its image (--upload-image).
  resize-chain up [--port 4566] [--state DIR] [--containers] [--concurrency 2] [--variants file.json]
                  [--name-prefix image-resize-chain] [--logs DIR] [--drain 30] [--json] [--ui]
                  [--stream] [--stream-shards 1] [--allow-origin URL]...
      Start the local cloud and keep it running: one endpoint on 127.0.0.1 serving S3, SQS and the
      Lambda event-source-mapping API, with the module's bucket and queue names, for the AWS CLI,
      SDKs and your code. Prints what to paste, then one line per invocation. --state keeps buckets
      and queues (and, with --stream, the stream's records and checkpoints) across restarts.
      Ctrl-C lets batches in flight finish (up to --drain seconds) and exits 0; a second Ctrl-C
      exits at once (130; 143 for SIGTERM).
      Only loopback Host names are answered, and browser requests only from the endpoint's own pages;
      --allow-origin http://localhost:3000 also lets that page (your web app) in.
      --ui also serves the upload API and the upload page (see start --ui); with --containers the
      upload function runs as its image too (--upload-image picks another tag).
      --stream adds the Kinesis stream <prefix>-uploads (Kinesis API on the same endpoint: PutRecord,
      PutRecords, DescribeStreamSummary, DescribeStream, ListShards, ListStreams), its mapping into
      the resize function (batch 100, bisect on error, 3 retries, as the module) and the on-failure
      queue <prefix>-stream-failures. Records carry {"bucket","key","eTag"?,"size"?}, never bytes.
  resize-chain tf-override [--dir .] [--endpoint http://127.0.0.1:4566]
      Write <dir>/resize_chain_local_override.tf.json: the aws provider of that Terraform configuration
      then deploys to the local cloud (every service endpoint the module uses, path-style S3, the local
      credentials, no AWS account checks). Delete the file to deploy to AWS. For CDKTF (main.ts), set
      RESIZE_CHAIN_ENDPOINT=http://127.0.0.1:4566 instead. Preview: the local cloud answers S3, SQS, IAM,
      STS and log groups so far (see the README).
  resize-chain invoke <handler> --event <file|-> [--image IMAGE] [--env K=V]... [--timeout 30]
      Invoke one handler image once (a container polling our Runtime API, the event POSTed to its
      RIE-compatible endpoint); print the response. Exit 1 with the error document on a function error.
  resize-chain resize <file...> --out <dir> [--variants file.json]
      Resize files with the same core the resize Lambda runs.
  resize-chain event s3-put --bucket B --key K [--size N] [--etag E] [--region R] [--raw]
      Print a Lambda SQS event holding an S3 ObjectCreated notification, for manual invokes.
  resize-chain cost --images-per-month N [--avg-bytes B] [--memory MB] [--architecture x86_64|arm64]
                    [--region us-east-1] [--publish-memory MB] [--images-per-batch K] [--cold-start-percent P]
                    [--publish-ms MS] [--provisioned-resize N] [--provisioned-publish N]
                    [--bench bench/results.json] [--input 12mp-jpeg] [--json]
      Print the monthly AWS bill of the chain (Lambda requests, GB-seconds and INIT; SQS requests; S3
      requests and storage), itemised, from the per-image figures of \`npm run bench\` and the price
      table in src/core/prices.ts. Defaults: 4,000,000-byte sources, resize 2048 MB, publish 256 MB.
`;

class UsageError extends Error {}

/**
 * The usage error in `err`, if it is one: our UsageError as it is, or node:util parseArgs's refusal
 * (missing option value, unknown option, extra positional; code ERR_PARSE_ARGS_*) as one short
 * sentence naming the flag or argument. Undefined for any other error.
 */
function asUsageError(err: unknown): UsageError | undefined {
  if (err instanceof UsageError) return err;
  const code = (err as { code?: unknown }).code;
  if (typeof code !== 'string' || !code.startsWith('ERR_PARSE_ARGS_')) return undefined;
  const message = (err as Error).message;
  const quoted = /'([^']*)'/.exec(message)?.[1] ?? '';
  const flag = quoted.replace(/ <value>$/, '');
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') return new UsageError(`unknown option ${flag}`);
  if (code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') return new UsageError(`unexpected argument ${JSON.stringify(quoted)}`);
  if (code !== 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') return new UsageError(message);
  if (message.endsWith('argument missing')) return new UsageError(`${flag} needs a value`);
  if (message.endsWith('does not take an argument')) return new UsageError(`${flag} takes no value`);
  if (message.includes('argument is ambiguous')) {
    return new UsageError(`${flag} needs a value (one starting with a dash is written ${flag}=-value)`);
  }
  return new UsageError(message);
}

/**
 * The synopsis of `command` from USAGE on one line (its accepted form), or undefined for an unknown
 * command. A command with several forms (`start`, `start --ui`) gives the form whose flag `args` use.
 */
function synopsisOf(command: string | undefined, args: readonly string[]): string | undefined {
  if (!command) return undefined;
  const lines = USAGE.split('\n');
  const starts = lines.flatMap((line, i) => (line.startsWith(`  resize-chain ${command} `) ? [i] : []));
  const form = (i: number): string | undefined => /^--\S+$/.exec(lines[i]!.trim().split(/\s+/)[2] ?? '')?.[0];
  const start =
    starts.find((i) => form(i) !== undefined && args.includes(form(i)!)) ?? starts.find((i) => form(i) === undefined);
  if (start === undefined) return undefined;
  const synopsis = [lines[start]!];
  // Continuation lines of the synopsis are indented options ("[--x]"); the description follows.
  for (const line of lines.slice(start + 1)) {
    if (!/^\s+\[/.test(line)) break;
    synopsis.push(line);
  }
  return synopsis.map((line) => line.trim()).join(' ');
}

/**
 * One JSON line on stderr for bad usage: what is wrong (naming the flag or argument), the command's
 * accepted form, and where the full help is. Exit code 2; nothing has been started yet.
 */
function writeUsageError(err: UsageError, [command, ...args]: readonly string[]): void {
  const usage = synopsisOf(command, args);
  const help = usage ? `resize-chain ${command} --help` : 'resize-chain --help';
  const line = { level: 'error', code: 'USAGE', message: err.message, ...(usage ? { usage } : {}), help };
  process.stderr.write(`${JSON.stringify(line)}\n`);
}

function int(value: string | undefined, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`--${name} must be a positive integer, got ${JSON.stringify(value)}`);
  return n;
}

/** --port N: 0 (any free port) or 1..65535; `fallback` when absent. */
function portOption(value: string | undefined, fallback: number): number {
  if (value === '0') return 0;
  const port = int(value, 'port', fallback);
  if (port > 65535) throw new UsageError(`--port must be 0 (any free port) or at most 65535, got ${port}`);
  return port;
}

/** --containers [--resize-image I] [--publish-image I] [--upload-image I], or undefined: processes. */
function containersOption(values: { containers?: boolean; 'resize-image'?: string; 'publish-image'?: string; 'upload-image'?: string }): LocalContainersOptions | undefined {
  return values.containers ? { resizeImage: values['resize-image'], publishImage: values['publish-image'], uploadImage: values['upload-image'] } : undefined;
}

/**
 * --stream [--stream-shards N]: the local stream source, or undefined without --stream. Shards
 * 1..100 (the local stream's range), default 1 as the module's shardCount.
 */
function streamSourceOption(values: { stream?: boolean; 'stream-shards'?: string }): { shardCount: number } | undefined {
  if (!values.stream) {
    if (values['stream-shards'] !== undefined) throw new UsageError('--stream-shards needs --stream');
    return undefined;
  }
  const n = int(values['stream-shards'], 'stream-shards', 1);
  if (n > 100) throw new UsageError(`--stream-shards must be at most 100 locally, got ${n}`);
  return { shardCount: n };
}

async function main(argv: string[]): Promise<number> {
  // The SDK warns on Node 20 that releases after January 2027 will need Node 22; our SDK version is
  // pinned, and the README recommends Node 22, so the warning would only be noise in every run.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const [command, ...rest] = argv;
  const wantsHelp = (arg: string | undefined): boolean => arg === '--help' || arg === '-h' || arg === 'help';
  // `resize-chain <command> --help` asks for help too, not for an unknown option.
  if (!command || wantsHelp(command) || rest.some((arg) => arg === '--help' || arg === '-h')) {
    process.stdout.write(USAGE);
    return command ? 0 : 2;
  }
  switch (command) {
    case 'start': {
      const { values, positionals } = parseArgs({
        args: rest,
        allowPositionals: true,
        options: {
          out: { type: 'string' },
          variants: { type: 'string' },
          timeout: { type: 'string' },
          concurrency: { type: 'string' },
          containers: { type: 'boolean' },
          'resize-image': { type: 'string' },
          'publish-image': { type: 'string' },
          'upload-image': { type: 'string' },
          ui: { type: 'boolean' },
          port: { type: 'string' },
          stream: { type: 'boolean' },
          'stream-shards': { type: 'string' },
        },
      });
      if (positionals.length > 1) throw new UsageError('start takes at most one folder');
      const concurrency = int(values.concurrency, 'concurrency', 2);
      const containers = containersOption(values);
      const streamSource = streamSourceOption(values);
      const timeoutSeconds = int(values.timeout, 'timeout', 300);
      if (values.port !== undefined && !values.ui) {
        throw new UsageError('--port needs --ui (start without --ui serves no endpoint to name)');
      }
      if (values.ui) {
        if (positionals.length > 0) throw new UsageError('start --ui takes no folder: drop images on the page');
        if (values.stream) throw new UsageError('start --ui takes no --stream: use up --ui --stream for the page beside the stream');
        return untilStopped((stop) =>
          startUiCommand({
            until: stop,
            port: portOption(values.port, 0),
            chain: {
              variants: values.variants ? readVariantsFile(values.variants) : undefined,
              resize: { concurrency },
              logDir: join(values.out ?? 'out', 'logs'),
              containers,
            },
          }),
        );
      }
      // A signal, or npm/npx not passing theirs on, stops the run and its chain (lifeline.ts).
      const summary = await untilStopped((stop) =>
        startCommand({
          stop,
          dir: positionals[0],
          outDir: values.out ?? 'out',
          samplesDir: join(process.cwd(), 'samples'),
          timeoutSeconds,
          stream: values.stream ?? false,
          chain: {
            variants: values.variants ? readVariantsFile(values.variants) : undefined,
            resize: { concurrency },
            containers,
            streamSource,
          },
        }),
      );
      return summary.exitCode;
    }
    case 'up': {
      const { values, positionals } = parseArgs({
        args: rest,
        allowPositionals: true,
        options: {
          port: { type: 'string' },
          state: { type: 'string' },
          containers: { type: 'boolean' },
          'resize-image': { type: 'string' },
          'publish-image': { type: 'string' },
          concurrency: { type: 'string' },
          variants: { type: 'string' },
          'name-prefix': { type: 'string' },
          logs: { type: 'string' },
          drain: { type: 'string' },
          json: { type: 'boolean' },
          ui: { type: 'boolean' },
          'upload-image': { type: 'string' },
          stream: { type: 'boolean' },
          'stream-shards': { type: 'string' },
          'allow-origin': { type: 'string', multiple: true },
        },
      });
      if (positionals.length > 0) throw new UsageError('up takes no positional arguments');
      const allowedOrigins = (values['allow-origin'] ?? []).map((value) => {
        const origin = normalizeOrigin(value);
        if (!origin) throw new UsageError(`--allow-origin wants an http(s) origin such as http://localhost:3000, got ${JSON.stringify(value)}`);
        return origin;
      });
      const streamSource = streamSourceOption(values);
      const port = portOption(values.port, 4566);
      const concurrency = int(values.concurrency, 'concurrency', 2);
      const drainSeconds = int(values.drain, 'drain', 30);
      if (values.variants) readVariantsFile(values.variants); // bad usage fails here, not in the worker
      if (process.env[UP_WORKER_ENV] !== '1') return runUpInOwnProcessGroup(argv);
      return upCommand({
        port,
        drainSeconds,
        json: values.json ?? false,
        chain: {
          stateDir: values.state,
          namePrefix: values['name-prefix'],
          logDir: values.logs,
          variants: values.variants ? readVariantsFile(values.variants) : undefined,
          resize: { concurrency },
          containers: containersOption(values),
          uploadApi: values.ui ? {} : undefined,
          streamSource,
          allowedOrigins,
        },
      });
    }
    case 'tf-override': {
      const { values, positionals } = parseArgs({
        args: rest,
        allowPositionals: true,
        options: { dir: { type: 'string' }, endpoint: { type: 'string' } },
      });
      if (positionals.length > 0) throw new UsageError('tf-override takes no positional arguments (the folder goes in --dir)');
      return tfOverrideCommand({ dir: values.dir, endpoint: values.endpoint });
    }
    case 'invoke': {
      const { values, positionals } = parseArgs({
        args: rest,
        allowPositionals: true,
        options: { event: { type: 'string' }, image: { type: 'string' }, env: { type: 'string', multiple: true }, timeout: { type: 'string' } },
      });
      if (positionals.length !== 1) throw new UsageError('invoke takes one handler name (resize or publish)');
      if (!values.event) throw new UsageError('invoke needs --event <file> (or - for stdin)');
      const env: Record<string, string> = {};
      for (const pair of values.env ?? []) {
        const eq = pair.indexOf('=');
        if (eq <= 0) throw new UsageError(`--env wants NAME=value, got ${JSON.stringify(pair)}`);
        env[pair.slice(0, eq)] = pair.slice(eq + 1);
      }
      const outcome = await invokeCommand({ handler: positionals[0]!, eventFile: values.event, image: values.image, env, timeoutSeconds: int(values.timeout, 'timeout', 30) });
      return outcome.exitCode;
    }
    case 'resize': {
      const { values, positionals } = parseArgs({ args: rest, allowPositionals: true, options: { out: { type: 'string' }, variants: { type: 'string' } } });
      if (positionals.length === 0) throw new UsageError('resize needs at least one file');
      if (!values.out) throw new UsageError('resize needs --out <dir>');
      return resizeFiles({ files: positionals, outDir: values.out, variantsFile: values.variants });
    }
    case 'event': {
      const [kind, ...args] = rest;
      if (kind === undefined) throw new UsageError('event needs a kind (known: s3-put)');
      if (kind !== 's3-put') throw new UsageError(`unknown event kind ${JSON.stringify(kind)} (known: s3-put)`);
      const { values } = parseArgs({
        args,
        options: { bucket: { type: 'string' }, key: { type: 'string' }, size: { type: 'string' }, etag: { type: 'string' }, region: { type: 'string' }, raw: { type: 'boolean' } },
      });
      const size = values.size === undefined ? undefined : Number(values.size);
      if (size !== undefined && (!Number.isInteger(size) || size < 0)) throw new UsageError(`--size must be a byte count, got ${JSON.stringify(values.size)}`);
      process.stdout.write(`${s3PutEvent({ bucket: values.bucket ?? '', key: values.key ?? '', size, eTag: values.etag, region: values.region, raw: values.raw })}\n`);
      return 0;
    }
    case 'cost': {
      const { values, positionals } = parseArgs({
        args: rest,
        allowPositionals: true,
        options: {
          'images-per-month': { type: 'string' },
          'avg-bytes': { type: 'string' },
          memory: { type: 'string' },
          'publish-memory': { type: 'string' },
          architecture: { type: 'string' },
          region: { type: 'string' },
          'images-per-batch': { type: 'string' },
          'cold-start-percent': { type: 'string' },
          'publish-ms': { type: 'string' },
          'provisioned-resize': { type: 'string' },
          'provisioned-publish': { type: 'string' },
          bench: { type: 'string' },
          input: { type: 'string' },
          json: { type: 'boolean' },
        },
      });
      if (positionals.length > 0) throw new UsageError('cost takes no positional arguments');
      if (values['images-per-month'] === undefined) throw new UsageError('cost needs --images-per-month N');
      return costCommand({
        imagesPerMonth: values['images-per-month'],
        avgBytes: values['avg-bytes'],
        memory: values.memory,
        publishMemory: values['publish-memory'],
        architecture: values.architecture,
        region: values.region,
        imagesPerBatch: values['images-per-batch'],
        coldStartPercent: values['cold-start-percent'],
        publishMs: values['publish-ms'],
        provisionedResize: values['provisioned-resize'],
        provisionedPublish: values['provisioned-publish'],
        bench: values.bench,
        input: values.input,
        json: values.json ?? false,
      });
    }
    default:
      throw new UsageError(`unknown command ${JSON.stringify(command)}`);
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    const usageError = asUsageError(err);
    if (usageError) {
      writeUsageError(usageError, process.argv.slice(2));
      process.exitCode = 2;
    } else if (isPipelineError(err)) {
      // A configuration error about a flag (cost's numbers, event's --bucket) points at the help too.
      const command = process.argv[2];
      const aboutFlag = err.code === 'INVALID_CONFIG' && err.message.startsWith('--') && command !== undefined;
      const help = aboutFlag ? { help: `resize-chain ${command} --help` } : {};
      process.stderr.write(`${JSON.stringify({ level: 'error', error: err.toJSON(), ...help })}\n`);
      process.exitCode = err.code === 'INVALID_CONFIG' ? 2 : 1;
    } else {
      process.stderr.write(`${JSON.stringify({ level: 'error', code: 'INTERNAL', message: (err as Error).message, stack: (err as Error).stack })}\n`);
      process.exitCode = 1;
    }
  },
);
