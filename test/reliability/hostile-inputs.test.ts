// The hostile and broken input corpus (test/helpers/hostile-corpus.ts) through the bundled resize
// handler under the real aws-lambda-ric, against the stand-in S3 + SQS: first each case alone
// (outcome, wall time, sandbox RSS), then every case again inside batches of good images, which must
// all come out right whatever their neighbours are.
//
// Bounds asserted: every invocation completes inside the sandbox's 30 s deadline (half the module's
// default resize timeout) without crashing or restarting the sandbox, and the sandbox's peak RSS
// stays under 1 GiB (half the module's default resize memory of 2048 MB).
import type { ImageRejectedEvent, ImageResizedEvent } from '../../src/core/events';
import { SendMessageCommand, type Message } from '@aws-sdk/client-sqs';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp, { type SharpOptions } from 'sharp';
import { decodeS3Key } from '../../src/core/s3-event';
import { s3ObjectCreatedNotification } from '../../src/local/cloud/s3/object-created-event';
import { DEFAULT_VARIANTS, extensionFor } from '../../src/core/variants';
import { toSqsEventRecord } from '../../src/local/cloud/lambda/event-source-mapping';
import { startLocalFunction, type LocalFunction } from '../../src/local/cloud/lambda/function-host';
import { buildHostileCorpus, emojiKeyCase, goodImages, P3_COLOUR, type CorpusCase } from '../helpers/hostile-corpus';
import {
  EMPTY_QUEUE,
  functionEnvFor,
  HANDLERS_DIR,
  queueCounts,
  receiveAll,
  startTestCloud,
  type TestCloud,
  upload,
} from '../helpers/local-cloud';
import { procMemory } from '../../bench/peak-memory';
import { measure, sandboxPids } from './proc-memory';

const MEMORY_BOUND_MB = 1024;
const OUTPUT_PREFIX = 'v/';

interface Row {
  name: string;
  outcome: string;
  wallMs: number;
  peakRssMb: number;
}

let cloud: TestCloud;
let resize: LocalFunction;
const platform = sandboxPids();
const handlerLines: Array<Record<string, unknown>> = [];

function functionEnv() {
  return functionEnvFor(cloud, {}, OUTPUT_PREFIX);
}

function keyOf(message: Message): string {
  const body = JSON.parse(message.Body ?? '{}') as { Records?: Array<{ s3: { object: { key: string } } }> };
  return decodeS3Key(body.Records?.[0]?.s3.object.key ?? '');
}

/** Uploads the cases (or sends the notification S3 would send) and returns each case's ingest message. */
async function deliver(cases: readonly CorpusCase[]): Promise<Map<string, Message>> {
  for (const c of cases) {
    if (c.notificationOnly) {
      const body = s3ObjectCreatedNotification({
        bucket: cloud.resources.buckets.source,
        key: c.key,
        size: c.body.length,
        eTag: 'd41d8cd98f00b204e9800998ecf8427e',
        sequencer: '0000000000000000001',
      });
      await cloud.sqs.send(
        new SendMessageCommand({ QueueUrl: cloud.resources.queues.ingest.url, MessageBody: JSON.stringify(body) }),
      );
    } else {
      await upload(cloud, c.key, c.body);
    }
  }
  await cloud.gateway.notificationsSettled();
  const messages = await receiveAll(cloud, cloud.resources.queues.ingest.url, cases.length, {
    remove: true,
    timeoutMs: 30_000,
  });
  const byKey = new Map(messages.map((m) => [keyOf(m), m]));
  expect([...byKey.keys()].sort()).toEqual(cases.map((c) => c.key).sort());
  return byKey;
}

function sqsEvent(messages: Message[]) {
  return { Records: messages.map((m) => toSqsEventRecord(m, cloud.resources.queues.ingest.arn, 'us-east-1')) };
}

/** What the handler's own log says it did with a message ('resized', 'rejected:CODE', 'ignored', ...). */
function loggedOutcome(message: Message | undefined): string {
  const lines = handlerLines.filter(
    (l) => l.messageId === message?.MessageId && typeof l.message === 'string' && l.message.startsWith('source '),
  );
  return (
    lines
      .map((l) =>
        l.message === 'source rejected' ? `rejected:${String(l.code)}` : String(l.message).replace(/^source /, ''),
      )
      .join(',') || 'none'
  );
}

function expectedOutcome(c: CorpusCase): string {
  return c.expect.outcome === 'rejected' ? `rejected:${c.expect.code}` : c.expect.outcome;
}

async function getObject(key: string): Promise<Buffer | undefined> {
  try {
    const res = await cloud.s3.send(new GetObjectCommand({ Bucket: cloud.resources.buckets.output, Key: key }));
    return Buffer.from(await (res.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray());
  } catch {
    return undefined;
  }
}

function variantKey(sourceKey: string, v: (typeof DEFAULT_VARIANTS)[number]): string {
  return `${OUTPUT_PREFIX}${sourceKey.replace(/\.[^./]+$/, '')}/${v.name}.${extensionFor(v.format)}`;
}

/** Checks every variant of a resized case: size (never enlarged, aspect kept), format, no EXIF or ICC. */
async function checkVariants(c: CorpusCase): Promise<Buffer[]> {
  if (c.expect.outcome !== 'resized') throw new Error('not a resized case');
  const { width, height } = c.expect;
  const outputs: Buffer[] = [];
  for (const v of DEFAULT_VARIANTS) {
    const data = await getObject(variantKey(c.key, v));
    expect({ case: c.name, variant: v.name, present: data !== undefined }).toEqual({
      case: c.name,
      variant: v.name,
      present: true,
    });
    const meta = await sharp(data).metadata();
    const scale = Math.min(1, v.width / width);
    expect({
      case: c.name,
      variant: v.name,
      width: meta.width,
      height: meta.height,
      format: meta.format,
      orientation: meta.orientation,
      icc: meta.icc === undefined,
      space: meta.space,
    }).toEqual({
      case: c.name,
      variant: v.name,
      width: Math.max(1, Math.round(width * scale)),
      height: Math.max(1, Math.round(height * scale)),
      format: v.format,
      orientation: undefined,
      icc: true,
      space: 'srgb',
    });
    outputs.push(data as Buffer);
  }
  return outputs;
}

beforeAll(async () => {
  cloud = await startTestCloud();
  resize = await startLocalFunction({
    name: 'resize-hostile',
    handler: 'resize.handler',
    taskRoot: HANDLERS_DIR,
    env: functionEnv(),
    timeoutSeconds: 30,
    logSink: (line) => {
      platform.sink(line);
      const inner = line.line;
      if (typeof inner === 'object' && inner !== null) handlerLines.push(inner as Record<string, unknown>);
    },
  });
}, 60_000);

afterAll(async () => {
  await resize?.stop();
  await cloud?.stop();
});

describe('each hostile case alone, through the real resize handler', () => {
  let corpus: CorpusCase[];
  const rows: Row[] = [];

  beforeAll(async () => {
    corpus = await buildHostileCorpus('uploads/alone/');
    const [warm] = await goodImages(1, 'uploads/alone/warm/');
    const messages = await deliver([...corpus, warm]);
    // The first event loads sharp and the SDK clients: keep that out of the per-case figures.
    const warmUp = await resize.invoke(sqsEvent([messages.get(warm.key) as Message]));
    expect(warmUp).toMatchObject({ ok: true, payload: { batchItemFailures: [] } });
    const pid = platform.pids[0];
    for (const c of corpus) {
      const { result, wallMs, peakRssMb } = await measure(pid, () =>
        resize.invoke(sqsEvent([messages.get(c.key) as Message])),
      );
      expect({ case: c.name, result }).toMatchObject({
        case: c.name,
        result: { ok: true, payload: { batchItemFailures: [] } },
      });
      rows.push({ name: c.name, outcome: loggedOutcome(messages.get(c.key)), wallMs, peakRssMb });
    }
    const table = [
      '| case | outcome | wall ms | sandbox RSS peak MB |',
      '|---|---|---|---|',
      ...rows.map((r) => `| ${r.name} | ${r.outcome} | ${r.wallMs.toFixed(0)} | ${r.peakRssMb.toFixed(0)} |`),
      '',
      `sandbox VmHWM after the corpus: ${procMemory(pid)?.hwmMb.toFixed(0)} MB`,
    ].join('\n');
    mkdirSync(join(__dirname, '..', '..', 'out', 'reliability'), { recursive: true });
    writeFileSync(join(__dirname, '..', '..', 'out', 'reliability', 'hostile-corpus.md'), `${table}\n`);
  }, 240_000);

  it('ends each case with the outcome and code it must have', () => {
    expect(rows.map((r) => [r.name, r.outcome])).toEqual(corpus.map((c) => [c.name, expectedOutcome(c)]));
  });

  it('stays within the memory bound, in one sandbox that never crashed or restarted', () => {
    expect(rows.filter((r) => !(r.peakRssMb > 0 && r.peakRssMb < MEMORY_BOUND_MB))).toEqual([]);
    expect(platform.pids).toHaveLength(1);
    expect(resize.stats()).toMatchObject({ errors: 0, restarts: 0 });
  });

  it('sends exactly one rejection per rejected case, with its code, and one event per resized case', async () => {
    const rejected = corpus.filter((c) => c.expect.outcome === 'rejected');
    const resized = corpus.filter((c) => c.expect.outcome === 'resized');
    const rejections = (
      await receiveAll(cloud, cloud.resources.queues.rejected.url, rejected.length, { remove: true })
    ).map((m) => JSON.parse(m.Body ?? '') as ImageRejectedEvent);
    // A key refused before it was read is named as S3 encoded it, noncharacters shown as U+FFFD.
    const named = (key: string) => key.replace(/[\uFFFE\uFFFF]/g, '\uFFFD');
    expect(rejections.map((r) => [r.source.key, r.code]).sort()).toEqual(
      rejected.map((c) => [named(c.key), c.expect.outcome === 'rejected' ? c.expect.code : '']).sort(),
    );
    const events = (
      await receiveAll(cloud, cloud.resources.queues.resized.url, resized.length + 1, { remove: true })
    ).map((m) => JSON.parse(m.Body ?? '') as ImageResizedEvent);
    for (const c of resized) {
      const e = events.find((x) => x.source.key === c.key);
      expect({ case: c.name, source: e?.source }).toMatchObject({
        case: c.name,
        source:
          c.expect.outcome === 'resized'
            ? { width: c.expect.width, height: c.expect.height, format: c.expect.format }
            : {},
      });
    }
    // Every case's invocation is over: no rejection beyond those received can still come.
    expect(await queueCounts(cloud, cloud.resources.queues.rejected.url)).toEqual(EMPTY_QUEUE);
  });

  it('writes correct variants for every accepted case: oriented, never enlarged, sRGB, no metadata', async () => {
    for (const c of corpus.filter((x) => x.expect.outcome === 'resized')) await checkVariants(c);
  });

  it('converts the Display P3 source to sRGB instead of copying its numbers', async () => {
    const c = corpus.find((x) => x.name === 'icc-display-p3') as CorpusCase;
    const stored = await sharp(c.body, { ignoreIcc: true } as SharpOptions)
      .raw()
      .toBuffer();
    // The file's numbers are far from the colour drawn; the output must be the colour drawn.
    expect(Math.max(...P3_COLOUR.map((v, i) => Math.abs(v - stored[i])))).toBeGreaterThan(30);
    for (const data of await checkVariants(c)) {
      const pixel = await sharp(data).raw().toBuffer();
      expect(P3_COLOUR.map((v, i) => Math.abs(v - pixel[i]) <= 6)).toEqual([true, true, true]);
    }
  });

  it('re-encodes the polyglot: no HTML, script or ZIP bytes survive into any variant', async () => {
    const c = corpus.find((x) => x.name === 'polyglot-jpeg-html-zip') as CorpusCase;
    for (const data of await checkVariants(c)) {
      expect(data.includes('<script')).toBe(false);
      expect(data.includes(Buffer.from([0x50, 0x4b, 0x05, 0x06]))).toBe(false);
    }
  });

  it('writes nothing for rejected cases, the folder marker, or a key outside the uploads folder', async () => {
    for (const c of corpus.filter((x) => x.expect.outcome !== 'resized')) {
      expect({
        case: c.name,
        thumb: await getObject(variantKey(c.key, DEFAULT_VARIANTS[0])),
      }).toEqual({ case: c.name, thumb: undefined });
    }
    // '../../etc/passwd.jpg' must not have produced outputs under any normalised path either.
    expect(await getObject(`${OUTPUT_PREFIX}etc/passwd/thumb.webp`)).toBeUndefined();
    expect(await getObject(`${OUTPUT_PREFIX}uploads/etc/passwd/thumb.webp`)).toBeUndefined();
  });
});

describe('hostile cases mixed into batches of good images', () => {
  const HOSTILE_PER_BATCH = 4;
  let corpus: CorpusCase[];
  let goods: CorpusCase[];
  let messages: Map<string, Message>;
  const payloads: unknown[] = [];

  beforeAll(async () => {
    corpus = await buildHostileCorpus('uploads/mixed/');
    const batches = Math.ceil(corpus.length / HOSTILE_PER_BATCH);
    goods = await goodImages(batches * (10 - HOSTILE_PER_BATCH), 'uploads/mixed/');
    messages = await deliver([...corpus, ...goods]);
    for (let b = 0; b < batches; b++) {
      const batch = [
        ...corpus.slice(b * HOSTILE_PER_BATCH, (b + 1) * HOSTILE_PER_BATCH),
        ...goods.slice(b * (10 - HOSTILE_PER_BATCH), (b + 1) * (10 - HOSTILE_PER_BATCH)),
      ];
      // Interleave so hostile records sit between good ones, not at the edges.
      batch.sort((x, y) => (x.key < y.key ? -1 : 1));
      const result = await resize.invoke(sqsEvent(batch.map((c) => messages.get(c.key) as Message)));
      payloads.push(result.ok ? result.payload : result);
    }
  }, 240_000);

  it('fails no batch and no record', () => {
    expect(payloads.every((p) => JSON.stringify(p) === '{"batchItemFailures":[]}')).toBe(true);
  });

  it('gives every good neighbour its full set of variants', async () => {
    for (const g of goods)
      expect({ key: g.key, outcome: loggedOutcome(messages.get(g.key)) }).toEqual({ key: g.key, outcome: 'resized' });
    for (const g of goods) await checkVariants(g);
  });

  it('gives every hostile case the same outcome as alone', () => {
    expect(corpus.map((c) => [c.name, loggedOutcome(messages.get(c.key))])).toEqual(
      corpus.map((c) => [c.name, expectedOutcome(c)]),
    );
    expect(resize.stats()).toMatchObject({ errors: 0, restarts: 0 });
  });
});

describe('a key outside the Basic Multilingual Plane', () => {
  // Real SQS accepts #x10000-#x10FFFF in message bodies; fauxqs 2.4.1 refuses them. Event bodies
  // are sent ASCII-safe (asciiJson in src/aws/sqs.ts), so an emoji key works against both.
  it('resizes an emoji key and sends its event', async () => {
    const c = await emojiKeyCase('uploads/gap/');
    const messages = await deliver([c]);
    const result = await resize.invoke(sqsEvent([messages.get(c.key) as Message]));
    expect(result).toMatchObject({ ok: true, payload: { batchItemFailures: [] } });
  });
});
