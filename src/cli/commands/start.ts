import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { DeleteMessageBatchCommand, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, extname, join, relative, resolve, sep } from 'node:path';
import type { Readable } from 'node:stream';
import { configError, errorMessage } from '../../core/errors';
import type { ImageRejectedEvent } from '../../core/events';
import { manifestKey } from '../../core/keys';
import type { Manifest } from '../../core/publish-batch';
import { headObject } from '../../aws/s3';
import { startLocalChain, type LocalChain, type LocalChainOptions } from '../../local/chain';
import { ProgressBar } from '../progress';
import { MetricsTap, renderHtml, renderTable, type ReportEntry } from '../../tools/report';
import { formatFigures, type ChainFigures } from '../../tools/metric-figures';
import { generateSamples } from '../../tools/samples';
import { compareSequenceNumbers } from '../../local/cloud/kinesis/stream';
import type { KinesisFailureRecord } from '../../local/cloud/lambda/stream-mapping';
import { stopRequest } from '../lifeline';
import { SIGNAL_EXIT } from './up';
import type { CommandUsage } from '../usage';

/** `resize-chain start` and `start --ui`: the options they read and the help shown for them. */
export const START_USAGE = {
  name: 'start',
  allowPositionals: true,
  options: {
    out: { type: 'string', shown: 'out' },
    variants: { type: 'string', shown: 'file.json' },
    timeout: { type: 'string', shown: '300' },
    concurrency: { type: 'string', shown: '2' },
    containers: { type: 'boolean' },
    'resize-image': { type: 'string', shown: 'IMAGE' },
    'publish-image': { type: 'string', shown: 'IMAGE' },
    'upload-image': { type: 'string', shown: 'IMAGE' },
    ui: { type: 'boolean' },
    port: { type: 'string', shown: '0' },
    stream: { type: 'boolean' },
    'stream-shards': { type: 'string', shown: '1' },
    'no-auth': { type: 'boolean' },
  },
  forms: [
    {
      positionals: '[dir]',
      shows: ['out', 'variants', 'timeout', 'concurrency', 'containers', 'stream', 'stream-shards', 'no-auth'],
      description: [
        'Run the whole chain locally (stand-in S3 + SQS, both Lambdas under aws-lambda-ric) on the',
        'images in [dir] (default: generated samples in ./samples); print a table and write',
        '<out>/report.html. --containers runs the functions as their images (npm run images)',
        'instead of processes; --resize-image/--publish-image pick other tags.',
        "--stream sends the images through the Kinesis stream (the module's streamSource) instead of",
        'bucket notifications: each is uploaded under stream/ (not watched) and one record referencing',
        'it is put on <prefix>-uploads; records the mapping gives up on count as dead letters.',
        "Each function acts with its own role (the module's policies): what the role does not allow is",
        'refused with AccessDenied, as on AWS; --no-auth checks no signature and allows everything.',
      ].join('\n'),
    },
    {
      flag: '--ui',
      shows: ['port', 'variants', 'concurrency', 'containers', 'no-auth'],
      description: [
        'The local cloud with the upload API (POST <endpoint>/_api/uploads) and a page to drop images',
        'on (<endpoint>/_ui/): each is uploaded with a presigned POST and its variants are shown.',
        'Runs until Ctrl-C. --containers also runs the upload function as its image (--upload-image).',
      ].join('\n'),
    },
  ],
} satisfies CommandUsage;

/**
 * Where `start --stream` uploads: outside the watched uploads prefix, so no bucket notification
 * fires and the stream records are the only way in.
 */
export const STREAM_UPLOADS_PREFIX = 'stream/';

export interface StartOptions {
  /** Folder of images to upload; @default the generated samples */
  dir?: string;
  /** Where the report, copies of the images and logs go. @default ./out */
  outDir: string;
  /** Give up on images not finished by then. @default 300 s */
  timeoutSeconds: number;
  chain?: LocalChainOptions;
  /** Where generated samples are kept. @default ./samples */
  samplesDir: string;
  /**
   * Resolves when the run must end early (a signal, or the launcher gone: lifeline.ts): uploading
   * and waiting stop, the chain is stopped, no report is written, and the exit code is 128 + the
   * signal's number. @default never
   */
  stop?: Promise<NodeJS.Signals>;
  /**
   * Send the images through the Kinesis stream instead of bucket notifications: upload them under
   * STREAM_UPLOADS_PREFIX (not watched), then put one reference record per object. Turns on
   * `chain.streamSource` (the module's defaults) unless it is given. @default false
   */
  stream?: boolean;
}

export interface StartSummary {
  exitCode: number;
  entries: ReportEntry[];
  deadLetters: Record<string, number>;
  /** The functions' own metrics (their EMF lines) added up, as CloudWatch would show them. */
  metrics: ChainFigures;
}

const CONTENT_TYPES: Record<string, string> = {
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.png': 'image/png',
  '.webp': 'image/webp',
  '.gif': 'image/gif',
  '.avif': 'image/avif',
  '.tif': 'image/tiff',
  '.tiff': 'image/tiff',
};

async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries
    .filter((e) => e.isFile() && !e.name.startsWith('.'))
    .map((e) => join(e.parentPath, e.name))
    .sort();
}

async function readBody(body: unknown): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of body as Readable) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/**
 * Takes the messages waiting on a queue (up to 10) and deletes them, returning their JSON bodies:
 * the run reports each one, so the queue ends drained. No queue (`undefined`): nothing.
 */
async function drainQueue<T>(chain: LocalChain, queueUrl: string | undefined): Promise<T[]> {
  if (!queueUrl) return [];
  const res = await chain.sqs.send(
    new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }),
  );
  const messages = res.Messages ?? [];
  if (messages.length === 0) return [];
  await chain.sqs.send(
    new DeleteMessageBatchCommand({
      QueueUrl: queueUrl,
      Entries: messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle })),
    }),
  );
  return messages.map((m) => JSON.parse(m.Body ?? '{}') as T);
}

interface Upload {
  key: string;
  file: string;
  eTag: string;
  bytes: number;
  startedAt: number;
  finishedAt?: number;
  manifest?: Manifest;
  rejection?: ImageRejectedEvent;
  /** With --stream: where its reference record landed. */
  record?: { shardId: string; sequenceNumber: string };
  /** With --stream: the on-failure record that named it (the mapping gave up on it). */
  streamFailure?: KinesisFailureRecord;
}

/** True when the failure record's batch holds the upload's record. */
function failureCovers(failure: KinesisFailureRecord, record: Upload['record']): boolean {
  const info = failure.KinesisBatchInfo;
  if (!record || !info || info.shardId !== record.shardId) return false;
  return (
    compareSequenceNumbers(record.sequenceNumber, info.startSequenceNumber) >= 0 &&
    compareSequenceNumbers(record.sequenceNumber, info.endSequenceNumber) <= 0
  );
}

/**
 * `resize-chain start [dir]`: starts the local chain, uploads every file of `dir` under the
 * uploads prefix, follows each through to its manifest or its rejection, then writes the report.
 * Exit code 0 when every upload ended (variants + manifest, or a rejection with its reason) and
 * no message is left in any DLQ; 1 otherwise.
 */
export async function startCommand(opts: StartOptions): Promise<StartSummary> {
  const started = performance.now();
  const dir = resolve(opts.dir ?? opts.samplesDir);
  if (!opts.dir) {
    const samples = await generateSamples(dir);
    process.stderr.write(`samples: ${samples.length} images in ${relative(process.cwd(), dir) || '.'}\n`);
  }
  const files = await listFiles(dir);
  if (files.length === 0) throw new Error(`no files to upload in ${dir}`);
  const outDir = resolve(opts.outDir);
  await mkdir(outDir, { recursive: true });

  const tap = new MetricsTap();
  const chainOptions: LocalChainOptions = {
    logDir: join(outDir, 'logs'),
    ...opts.chain,
    logSink: tap.sink(opts.chain?.logSink),
  };
  if (opts.stream) {
    // The records reference objects under STREAM_UPLOADS_PREFIX: the resize role may read them (readable_objects).
    chainOptions.streamSource = { readablePrefixes: [STREAM_UPLOADS_PREFIX], ...chainOptions.streamSource };
    const watched = chainOptions.uploadsPrefix ?? 'uploads/';
    if (STREAM_UPLOADS_PREFIX.startsWith(watched)) {
      throw configError(
        'uploadsPrefix',
        `"${watched}" also watches ${STREAM_UPLOADS_PREFIX}, where --stream uploads: ` +
          `every image would enter twice (notification and stream record)`,
      );
    }
  }
  const chain = await startLocalChain(chainOptions);
  let interrupted: NodeJS.Signals | undefined;
  void opts.stop?.then((signal) => {
    interrupted = signal;
  });
  try {
    const how = opts.chain?.containers ? 'as containers of their images' : 'under aws-lambda-ric';
    const source = chain.streamSource;
    const entrance = source
      ? `Kinesis stream ${source.streamName} (${source.stream.shardIds.length} ` +
        `shard${source.stream.shardIds.length === 1 ? '' : 's'}) -> ${chain.functions.resize.name}`
      : 'S3 + SQS';
    process.stderr.write(
      `local cloud: ${chain.endpoint} (${entrance}); ` +
        `functions: ${chain.functions.resize.name}, ${chain.functions.publish.name} ${how}\n`,
    );
    const uploads: Upload[] = [];
    const keyPrefix = source ? STREAM_UPLOADS_PREFIX : chain.uploadsPrefix;
    for (const file of files) {
      if (interrupted) break;
      const key = keyPrefix + relative(dir, file).split(sep).join('/');
      const body = await readFile(file);
      const startedAt = performance.now();
      const put = await chain.s3.send(
        new PutObjectCommand({
          Bucket: chain.resources.buckets.source,
          Key: key,
          Body: body,
          ContentType: CONTENT_TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream',
        }),
      );
      uploads.push({ key, file, eTag: (put.ETag ?? '').replace(/"/g, ''), bytes: body.length, startedAt });
    }
    if (source) {
      // One reference record per object (never the bytes), partitioned by key; at most 500 per put.
      for (let i = 0; i < uploads.length; i += 500) {
        const batch = uploads.slice(i, i + 500);
        const put = source.stream.putRecords(
          batch.map((u) => ({
            partitionKey: u.key,
            data: JSON.stringify({ bucket: chain.resources.buckets.source, key: u.key, eTag: u.eTag, size: u.bytes }),
          })),
        );
        put.records.forEach((r, j) => {
          batch[j].record = { shardId: r.shardId, sequenceNumber: r.sequenceNumber };
        });
      }
      process.stderr.write(
        `stream: ${uploads.length} reference record${uploads.length === 1 ? '' : 's'} put ` +
          `on ${source.streamName} (objects under ${STREAM_UPLOADS_PREFIX}, no bucket notification)\n`,
      );
    }

    const bar = new ProgressBar('processing', uploads.length);
    const deadline = Date.now() + opts.timeoutSeconds * 1000;
    const byKey = new Map(uploads.map((u) => [u.key, u]));
    let finished = 0;
    let streamFailures = 0;
    while (finished < uploads.length && Date.now() < deadline && !interrupted) {
      for (const failure of await drainQueue<KinesisFailureRecord>(chain, chain.streamSource?.failureQueue.url)) {
        streamFailures += 1;
        for (const u of uploads) {
          if (!u.finishedAt && failureCovers(failure, u.record)) {
            u.streamFailure = failure;
            u.finishedAt = performance.now();
          }
        }
      }
      for (const rejection of await drainQueue<ImageRejectedEvent>(chain, chain.resources.queues.rejected.url)) {
        const u = byKey.get(rejection.source?.key);
        if (u && !u.finishedAt) {
          u.rejection = rejection;
          u.finishedAt = performance.now();
        }
      }
      await Promise.all(
        uploads
          .filter((u) => !u.finishedAt)
          .map(async (u) => {
            const key = manifestKey(u.key, chain.outputPrefix);
            const head = await headObject(chain.s3, chain.resources.buckets.output, key);
            if (head?.metadata['source-etag'] !== u.eTag) return;
            const res = await chain.s3.send(new GetObjectCommand({ Bucket: chain.resources.buckets.output, Key: key }));
            u.manifest = JSON.parse((await readBody(res.Body)).toString('utf8')) as Manifest;
            u.finishedAt = performance.now();
          }),
      );
      finished = uploads.filter((u) => u.finishedAt).length;
      bar.update(finished, `${uploads.filter((u) => u.rejection).length} rejected`);
      if (finished < uploads.length) await new Promise((r) => setTimeout(r, 150));
    }
    bar.finish();
    if (interrupted) {
      process.stderr.write(
        `${interrupted}: stopping the local cloud; ${finished} of ${files.length} images finished, no report written\n`,
      );
      return { exitCode: SIGNAL_EXIT[interrupted] ?? 1, entries: [], deadLetters: {}, metrics: tap.figures() };
    }

    if (finished === uploads.length)
      await chain.waitForIdle(60_000).catch((err: unknown) => process.stderr.write(`${errorMessage(err)}\n`));
    const depths = await chain.queueDepths();
    const q = chain.resources.queues;
    const deadLetters = {
      [q.ingestDlq.name]: depths[q.ingestDlq.name] ?? 0,
      [q.resizedDlq.name]: depths[q.resizedDlq.name] ?? 0,
    };
    if (source) {
      // Records the stream mapping gave up on count as dead letters (the run read them off the queue).
      const failures = source.failureQueue.name;
      deadLetters[failures] = streamFailures + (depths[failures] ?? 0);
      deadLetters[source.failureDlq.name] = depths[source.failureDlq.name] ?? 0;
    }

    const entries = await buildReport(chain, uploads, outDir);
    const wallSeconds = (performance.now() - started) / 1000;
    const done = entries.filter((e) => e.status === 'done').length;
    const rejected = entries.filter((e) => e.status === 'rejected').length;
    const pending = entries.length - done - rejected;
    const variantCount = entries.reduce((n, e) => n + e.variants.length, 0);
    const summary =
      `${entries.length} images: ${done} done (${variantCount} variants), ${rejected} rejected, ${pending} ` +
      `unfinished; dead ` +
      `letters: ${Object.values(deadLetters).reduce((a, b) => a + b, 0)}; ${wallSeconds.toFixed(1)} s`;
    const metrics = await tap.settled(done, rejected);
    process.stdout.write(`${renderTable(entries)}\n\n${summary}\n${formatFigures(metrics)}\n`);
    const html = renderHtml(entries, {
      title: 'image-resize-chain: local run',
      generatedAt: new Date(),
      summary: `${summary}; ${formatFigures(metrics)}`,
    });
    await writeFile(join(outDir, 'report.html'), html);
    await writeFile(
      join(outDir, 'report.json'),
      JSON.stringify({ summary, metrics, queues: depths, deadLetters, entries }, null, 2),
    );
    process.stdout.write(`report: ${relative(process.cwd(), join(outDir, 'report.html'))}\n`);
    const deadCount = Object.values(deadLetters).reduce((a, b) => a + b, 0);
    if (pending > 0) {
      const keys = entries.filter((e) => e.status === 'pending').map((e) => e.sourceKey);
      process.stderr.write(`${JSON.stringify({ level: 'error', code: 'UNFINISHED', keys })}\n`);
    }
    if (deadCount > 0)
      process.stderr.write(
        `${JSON.stringify({ level: 'error', code: 'DEAD_LETTERS', deadLetters, logs: join(outDir, 'logs') })}\n`,
      );
    return { exitCode: pending === 0 && deadCount === 0 ? 0 : 1, entries, deadLetters, metrics };
  } finally {
    await chain.stop();
  }
}

/** Copies sources and variants next to the report so the HTML page works offline. */
async function buildReport(chain: LocalChain, uploads: Upload[], outDir: string): Promise<ReportEntry[]> {
  const save = async (bucket: string, key: string, folder: string): Promise<string> => {
    const res = await chain.s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    const rel = `${folder}/${key}`;
    const path = join(outDir, ...rel.split('/'));
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, await readBody(res.Body));
    return rel;
  };
  return Promise.all(
    uploads.map(async (u): Promise<ReportEntry> => {
      const ms = u.finishedAt === undefined ? undefined : u.finishedAt - u.startedAt;
      const sourceFile = await save(chain.resources.buckets.source, u.key, 'sources');
      if (u.manifest) {
        const variants = await Promise.all(
          u.manifest.variants.map(async (v) => ({ ...v, file: await save(v.bucket, v.key, 'variants') })),
        );
        const s = u.manifest.source;
        return {
          sourceKey: u.key,
          sourceFile,
          status: 'done',
          source: { width: s.width, height: s.height, format: s.format, bytes: s.size },
          variants,
          ms,
        };
      }
      if (u.rejection)
        return {
          sourceKey: u.key,
          sourceFile,
          status: 'rejected',
          variants: [],
          error: { code: u.rejection.code, message: u.rejection.message },
          ms,
        };
      if (u.streamFailure) {
        const { condition, approximateInvokeCount } = u.streamFailure.requestContext;
        return {
          sourceKey: u.key,
          sourceFile,
          status: 'pending',
          variants: [],
          error: {
            code: 'STREAM_FAILURE',
            message:
              `the stream mapping gave up on its record (${condition} after ${approximateInvokeCount} invocations; ` +
              `its failure record is in logs/esm-stream.log)`,
          },
        };
      }
      return {
        sourceKey: u.key,
        sourceFile,
        status: 'pending',
        variants: [],
        error: { code: 'UNFINISHED', message: 'no manifest and no rejection before the timeout' },
      };
    }),
  );
}

export interface StartUiOptions {
  /** Gateway port on 127.0.0.1. @default 0 (ephemeral; the URL is printed) */
  port?: number;
  chain?: LocalChainOptions;
  /** Where the URLs are printed. @default process.stdout */
  out?: NodeJS.WritableStream;
  /** Resolves when the server should stop. @default the first SIGINT or SIGTERM, or the launcher gone (lifeline.ts) */
  until?: Promise<unknown>;
}

/**
 * `resize-chain start --ui`: the local chain with the upload API and its page, until a signal.
 * Prints `upload page: <url>` (and the API's URL) once everything serves; exit code 0.
 */
export async function startUiCommand(opts: StartUiOptions = {}): Promise<number> {
  const chain = await startLocalChain({ ...opts.chain, port: opts.port ?? 0, uploadApi: opts.chain?.uploadApi ?? {} });
  const out = opts.out ?? process.stdout;
  try {
    const ui = chain.uploadApi;
    if (!ui) throw new Error('the local chain started without its upload API');
    out.write(
      `local cloud: ${chain.endpoint}\nupload API: ` +
        `POST ${ui.apiUrl}/uploads\nupload page: ${ui.pageUrl}\n(Ctrl-C stops)\n`,
    );
    const stop = opts.until === undefined ? stopRequest() : undefined;
    try {
      await (opts.until ?? stop?.requested);
    } finally {
      stop?.dispose();
    }
    return 0;
  } finally {
    await chain.stop();
  }
}
