/**
 * `resize-chain`: run the chain locally, resize files with the same core, print test events.
 * Exit codes: 0 success, 1 some input failed (each failure printed as a JSON line on stderr),
 * 2 bad usage or configuration.
 */
import { join } from 'node:path';
import { isPipelineError } from '../core/errors';
import { COST_USAGE, costCommand } from './commands/cost';
import { DEPLOY_LOCAL_USAGE, deployLocalCommand } from './commands/deploy-local';
import { EVENT_USAGE, s3PutEvent } from './commands/event';
import type { LocalContainersOptions } from '../local/chain';
import { readVariantsFile } from './variants-file';
import { INVOKE_USAGE, invokeCommand } from './commands/invoke';
import { RESIZE_USAGE, resizeFiles } from './commands/resize';
import { START_USAGE, STREAM_UPLOADS_PREFIX, startCommand, startUiCommand } from './commands/start';
import { TF_OVERRIDE_USAGE, tfOverrideCommand } from './commands/tf-override';
import { runUpInOwnProcessGroup, UP_WORKER_ENV, UP_USAGE, upCommand } from './commands/up';
import { untilStopped } from './lifeline';
import { normalizeOrigin } from '../local/cloud/gateway/endpoint-guard';
import { COMMAND_USAGES } from './command-tables';
import { parseCommandArgs, synopsisOf, usageText } from './usage';

const USAGE = usageText(COMMAND_USAGES);

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
  if (code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL')
    return new UsageError(`unexpected argument ${JSON.stringify(quoted)}`);
  if (code !== 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') return new UsageError(message);
  if (message.endsWith('argument missing')) return new UsageError(`${flag} needs a value`);
  if (message.endsWith('does not take an argument')) return new UsageError(`${flag} takes no value`);
  if (message.includes('argument is ambiguous')) {
    return new UsageError(`${flag} needs a value (one starting with a dash is written ${flag}=-value)`);
  }
  return new UsageError(message);
}

/**
 * One JSON line on stderr for bad usage: what is wrong (naming the flag or argument), the command's
 * accepted form, and where the full help is. Exit code 2; nothing has been started yet.
 */
function writeUsageError(err: UsageError, [command, ...args]: readonly string[]): void {
  const table = COMMAND_USAGES.find((c) => c.name === command);
  const usage = table ? synopsisOf(table, args) : undefined;
  const help = usage ? `resize-chain ${command} --help` : 'resize-chain --help';
  const line = { level: 'error', code: 'USAGE', message: err.message, ...(usage ? { usage } : {}), help };
  process.stderr.write(`${JSON.stringify(line)}\n`);
}

function int(value: string | undefined, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1)
    throw new UsageError(`--${name} must be a positive integer, got ${JSON.stringify(value)}`);
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
function containersOption(values: {
  containers?: boolean;
  'resize-image'?: string;
  'publish-image'?: string;
  'upload-image'?: string;
}): LocalContainersOptions | undefined {
  return values.containers
    ? {
        resizeImage: values['resize-image'],
        publishImage: values['publish-image'],
        uploadImage: values['upload-image'],
      }
    : undefined;
}

/**
 * --stream [--stream-shards N]: the local stream source, or undefined without --stream. Shards
 * 1..100 (the local stream's range), default 1 as the module's shardCount.
 */
function streamSourceOption(values: {
  stream?: boolean;
  'stream-shards'?: string;
}): { shardCount: number } | undefined {
  if (!values.stream) {
    if (values['stream-shards'] !== undefined) throw new UsageError('--stream-shards needs --stream');
    return undefined;
  }
  const n = int(values['stream-shards'], 'stream-shards', 1);
  if (n > 100) throw new UsageError(`--stream-shards must be at most 100 locally, got ${n}`);
  return { shardCount: n };
}

/** The options of `up` that shape its own chain, which `up --bare` does not start. */
const CHAIN_OPTIONS = [
  'containers',
  'resize-image',
  'publish-image',
  'concurrency',
  'variants',
  'name-prefix',
  'ui',
  'upload-image',
  'stream',
  'stream-shards',
] as const;

/** `up --bare` with an option of the chain it does not start: a usage error naming them. */
function refuseChainOptions(values: Partial<Record<(typeof CHAIN_OPTIONS)[number], unknown>>): void {
  const given = CHAIN_OPTIONS.filter((name) => values[name] !== undefined);
  if (given.length > 0)
    throw new UsageError(
      `--bare starts no chain of its own: ${given.map((name) => `--${name}`).join(', ')} would shape it`,
    );
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
      const { values, positionals } = parseCommandArgs(START_USAGE, rest);
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
        if (values.stream)
          throw new UsageError('start --ui takes no --stream: use up --ui --stream for the page beside the stream');
        return untilStopped((stop) =>
          startUiCommand({
            until: stop,
            port: portOption(values.port, 0),
            chain: {
              variants: values.variants ? readVariantsFile(values.variants) : undefined,
              resize: { concurrency },
              logDir: join(values.out ?? 'out', 'logs'),
              containers,
              auth: !values['no-auth'],
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
            auth: !values['no-auth'],
          },
        }),
      );
      return summary.exitCode;
    }
    case 'up': {
      const { values, positionals } = parseCommandArgs(UP_USAGE, rest);
      if (positionals.length > 0) throw new UsageError('up takes no positional arguments');
      const allowedOrigins = (values['allow-origin'] ?? []).map((value) => {
        const origin = normalizeOrigin(value);
        if (!origin)
          throw new UsageError(
            `--allow-origin wants an http(s) origin such as http://localhost:3000, got ${JSON.stringify(value)}`,
          );
        return origin;
      });
      const streamSource = streamSourceOption(values);
      const port = portOption(values.port, 4566);
      const concurrency = int(values.concurrency, 'concurrency', 2);
      const drainSeconds = int(values.drain, 'drain', 30);
      if (values.variants) readVariantsFile(values.variants); // bad usage fails here, not in the worker
      if (values.bare) refuseChainOptions(values);
      if (process.env[UP_WORKER_ENV] !== '1') return runUpInOwnProcessGroup(argv);
      return upCommand({
        port,
        drainSeconds,
        json: values.json ?? false,
        bare: values.bare ?? false,
        chain: {
          stateDir: values.state,
          namePrefix: values['name-prefix'],
          logDir: values.logs,
          variants: values.variants ? readVariantsFile(values.variants) : undefined,
          resize: { concurrency },
          containers: containersOption(values),
          uploadApi: values.ui ? {} : undefined,
          // The banner's example streams objects under STREAM_UPLOADS_PREFIX: the module's readable_objects say so.
          streamSource: streamSource && { ...streamSource, readablePrefixes: ['uploads/', STREAM_UPLOADS_PREFIX] },
          allowedOrigins,
          auth: !values['no-auth'],
        },
      });
    }
    case 'tf-override': {
      const { values, positionals } = parseCommandArgs(TF_OVERRIDE_USAGE, rest);
      if (positionals.length > 0)
        throw new UsageError('tf-override takes no positional arguments (the folder goes in --dir)');
      return tfOverrideCommand({ dir: values.dir, endpoint: values.endpoint });
    }
    case 'deploy-local': {
      const { values } = parseCommandArgs(DEPLOY_LOCAL_USAGE, rest);
      const timeoutSeconds = int(values.timeout, 'timeout', 300);
      return untilStopped((stop) =>
        deployLocalCommand({
          example: values.example,
          endpoint: values.endpoint,
          dir: values.dir,
          destroy: values.destroy ?? false,
          resizeImage: values['resize-image'],
          publishImage: values['publish-image'],
          uploadImage: values['upload-image'],
          timeoutSeconds,
          stop,
        }),
      );
    }
    case 'invoke': {
      const { values, positionals } = parseCommandArgs(INVOKE_USAGE, rest);
      if (positionals.length !== 1) throw new UsageError('invoke takes one handler name (resize or publish)');
      if (!values.event) throw new UsageError('invoke needs --event <file> (or - for stdin)');
      const env: Record<string, string> = {};
      for (const pair of values.env ?? []) {
        const eq = pair.indexOf('=');
        if (eq <= 0) throw new UsageError(`--env wants NAME=value, got ${JSON.stringify(pair)}`);
        env[pair.slice(0, eq)] = pair.slice(eq + 1);
      }
      const outcome = await invokeCommand({
        handler: positionals[0],
        eventFile: values.event,
        image: values.image,
        env,
        timeoutSeconds: int(values.timeout, 'timeout', 30),
      });
      return outcome.exitCode;
    }
    case 'resize': {
      const { values, positionals } = parseCommandArgs(RESIZE_USAGE, rest);
      if (positionals.length === 0) throw new UsageError('resize needs at least one file');
      if (!values.out) throw new UsageError('resize needs --out <dir>');
      return resizeFiles({ files: positionals, outDir: values.out, variantsFile: values.variants });
    }
    case 'event': {
      const [kind, ...args] = rest;
      if (kind === undefined) throw new UsageError('event needs a kind (known: s3-put)');
      if (kind !== 's3-put') throw new UsageError(`unknown event kind ${JSON.stringify(kind)} (known: s3-put)`);
      const { values } = parseCommandArgs(EVENT_USAGE, args);
      const size = values.size === undefined ? undefined : Number(values.size);
      if (size !== undefined && (!Number.isInteger(size) || size < 0))
        throw new UsageError(`--size must be a byte count, got ${JSON.stringify(values.size)}`);
      const { etag: eTag, region, raw } = values;
      process.stdout.write(
        `${s3PutEvent({ bucket: values.bucket ?? '', key: values.key ?? '', size, eTag, region, raw })}\n`,
      );
      return 0;
    }
    case 'cost': {
      const { values, positionals } = parseCommandArgs(COST_USAGE, rest);
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
        lambdaShaped: values['lambda-shaped'],
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
      const { message, stack } = err as Error;
      process.stderr.write(`${JSON.stringify({ level: 'error', code: 'INTERNAL', message, stack })}\n`);
      process.exitCode = 1;
    }
  },
);
