// The Kinesis stream source wired into the CLI: `resize-chain start --stream` sends a folder through
// the stream (objects outside the watched prefix, one reference record each), and `resize-chain up
// --stream` serves the Kinesis API on its one endpoint, driven here by the real AWS CLI: the banner's
// own put-record example, PutRecords, the describe/list calls, Kinesis-shaped errors, and a record
// naming a missing object followed to where the resize handler sends it.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_VARIANTS } from '../../src/core/variants';
import { hashKeyRange } from '../../src/local/cloud/kinesis/stream';
import { synthesizeImage } from '../../src/tools/samples';
import { corruptImage } from '../helpers/broken-images';
import { LocalStream, partitionKeyHash } from '../../src/local/cloud/kinesis/stream';
import { describeWhen } from '../helpers/requires';
import {
  awsCliEnv,
  AWS_CLI_MISSING,
  findAwsCli,
  killUp,
  putRecordArgs,
  runAws,
  startUp,
  type UpProcess,
  localFetch,
} from '../helpers/up-process';
import { waitFor } from '../helpers/wait';

const CLI = join(__dirname, '..', '..', 'dist', 'cli.js');
const SOURCE = 'image-resize-chain-src-local';
const OUTPUT = 'image-resize-chain-out-local';
const STREAM = 'image-resize-chain-uploads';

const awsCli = findAwsCli();
const CLI_MISSING = awsCli ? undefined : AWS_CLI_MISSING;

jest.setTimeout(180_000);

const work = mkdtempSync(join(tmpdir(), 'irc-stream-cli-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function logLines(file: string): Array<Record<string, unknown>> {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

describe('hash-key ranges served by ListShards', () => {
  it.each([1, 2, 3, 7])(
    'cover the key space without gaps for %i shards, and each holds the keys LocalStream routes to it',
    (count) => {
      const stream = new LocalStream({ name: 'ranges', shardCount: count });
      const ranges = stream.shardIds.map((_, i) => hashKeyRange(i, count));
      expect(ranges[0]?.StartingHashKey).toBe('0');
      expect(ranges[count - 1]?.EndingHashKey).toBe(((1n << 128n) - 1n).toString());
      for (let i = 1; i < count; i++)
        expect(BigInt(ranges[i].StartingHashKey)).toBe(BigInt(ranges[i - 1].EndingHashKey) + 1n);
      for (let k = 0; k < 200; k++) {
        const key = `key-${k}`;
        const hash = partitionKeyHash(key);
        const index = stream.shardIds.indexOf(stream.shardFor(key));
        expect({
          key,
          inRange: hash >= BigInt(ranges[index].StartingHashKey) && hash <= BigInt(ranges[index].EndingHashKey),
        }).toEqual({ key, inRange: true });
      }
    },
  );
});

describe('resize-chain start --stream on 2 good images and 1 corrupt one', () => {
  const images = join(work, 'start-images');
  const out = join(work, 'start-out');
  let exitCode: number | null;
  let stdout = '';
  let stderr = '';
  let report: {
    summary: string;
    queues: Record<string, number>;
    deadLetters: Record<string, number>;
    entries: Array<{ sourceKey: string; status: string; error?: { code: string }; variants: unknown[] }>;
  };

  beforeAll(async () => {
    await mkdir(images, { recursive: true });
    const jpeg = await synthesizeImage({ width: 640, height: 480, seed: 21, format: 'jpeg' });
    await writeFile(join(images, 'one.jpg'), jpeg);
    await writeFile(
      join(images, 'two.png'),
      await synthesizeImage({ width: 400, height: 560, seed: 22, format: 'png' }),
    );
    await writeFile(join(images, 'broken.jpg'), corruptImage(jpeg));
    const child = spawn(process.execPath, [CLI, 'start', images, '--stream', '--out', out, '--timeout', '120'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    exitCode = await new Promise((resolve) => child.on('close', (code) => resolve(code)));
    report = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')) as typeof report;
  }, 150_000);

  it('exits 0 with 2 done and 1 rejected, and says the stream was the way in', () => {
    expect({ exitCode, stderrTail: exitCode === 0 ? '' : stderr.slice(-2000) }).toEqual({
      exitCode: 0,
      stderrTail: '',
    });
    expect(stdout).toContain(
      `3 images: 2 done (${2 * DEFAULT_VARIANTS.length} variants), 1 rejected, 0 unfinished; dead letters: 0`,
    );
    expect(stderr).toContain(`(Kinesis stream ${STREAM} (1 shard) -> image-resize-chain-resize)`);
    expect(stderr).toContain(
      `stream: 3 reference records put on ${STREAM} (objects under stream/, no bucket notification)`,
    );
  });

  it('reports each object under stream/, the corrupt one rejected as CORRUPT', () => {
    const byKey = Object.fromEntries(
      report.entries.map((e) => [e.sourceKey, [e.status, e.error?.code ?? null, e.variants.length]]),
    );
    expect(byKey).toEqual({
      'stream/one.jpg': ['done', null, DEFAULT_VARIANTS.length],
      'stream/two.png': ['done', null, DEFAULT_VARIANTS.length],
      'stream/broken.jpg': ['rejected', 'CORRUPT', 0],
    });
  });

  it('leaves every queue at 0, the stream failure queue and its DLQ included', () => {
    expect(Object.keys(report.queues)).toEqual(
      expect.arrayContaining([
        'image-resize-chain-stream-failures',
        'image-resize-chain-stream-failures-dlq',
        'image-resize-chain-ingest',
        'image-resize-chain-resized',
      ]),
    );
    expect(Object.entries(report.queues).filter(([, n]) => n !== 0)).toEqual([]);
    expect(report.deadLetters).toEqual({
      'image-resize-chain-ingest-dlq': 0,
      'image-resize-chain-resized-dlq': 0,
      'image-resize-chain-stream-failures': 0,
      'image-resize-chain-stream-failures-dlq': 0,
    });
  });

  it('fed the resize function from the stream, not from bucket notifications', () => {
    const streamBatches = logLines(join(out, 'logs', 'esm-stream.log')).filter((l) => l.event === 'stream.batch');
    expect(streamBatches.reduce((n, l) => n + Number(l.size), 0)).toBe(3);
    expect(streamBatches.every((l) => l.outcome === 'success')).toBe(true);
    // The ingest mapping sees only the s3:TestEvent sent when the notification is configured.
    const ingestRecords = logLines(join(out, 'logs', 'esm-ingest.log'))
      .filter((l) => l.event === 'esm.batch')
      .reduce((n, l) => n + Number(l.size), 0);
    expect(ingestRecords).toBeLessThanOrEqual(1);
  });
});

describeWhen(CLI_MISSING, 'resize-chain up --stream, driven by the AWS CLI', () => {
  const cli = awsCli?.path ?? 'aws';
  let up: UpProcess;
  const aws = (args: string[]): Promise<string> => runAws(cli, up.endpoint, args);
  const json = async <T>(args: string[]): Promise<T> => JSON.parse(await aws([...args, '--output', 'json'])) as T;

  /** Runs one line of the banner as a shell command, in `cwd`, with `aws` being the CLI under test. */
  function runBannerLine(line: string, cwd: string): Promise<string> {
    return new Promise((resolve, reject) => {
      const child = spawn('bash', ['-c', line.replace(/^aws /, `'${cli}' `)], {
        cwd,
        env: awsCliEnv(),
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
      child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
      child.once('close', (code) =>
        code === 0 ? resolve(stdout) : reject(new Error(`${line} exited ${code}: ${stderr}`)),
      );
    });
  }

  const manifestOf = (key: string): Promise<{ source: { key: string }; variants: unknown[] }> =>
    waitFor(
      `the manifest of ${key}`,
      async () =>
        JSON.parse(await aws(['s3', 'cp', `s3://${OUTPUT}/${key.replace(/\.[^./]+$/, '')}/manifest.json`, '-'])) as {
          source: { key: string };
          variants: unknown[];
        },
    );

  beforeAll(async () => {
    up = await startUp(['--stream', '--stream-shards', '2', '--concurrency', '1']);
  }, 90_000);
  afterAll(async () => {
    await killUp(up);
  });

  it('prints the stream, its mapping and failure queue, and a put-record example in the banner', () => {
    const banner = up.stdout.join('\n');
    expect(banner).toContain(
      `resize-chain up: local cloud on ${up.endpoint} (S3, SQS, Kinesis and the Lambda mappings API)`,
    );
    expect(banner).toMatch(new RegExp(`^  stream +${STREAM} +\\(2 shards;`, 'm'));
    expect(banner).toContain(`arn:aws:kinesis:us-east-1:000000000000:stream/${STREAM}`);
    expect(banner).toContain(`${STREAM} -> image-resize-chain-resize   (batch 100, bisect on, 3 retries)`);
    expect(banner).toContain(`stream failures  ${up.endpoint}/000000000000/image-resize-chain-stream-failures`);
    expect(banner).toContain(
      `kinesis put-record --stream-name ${STREAM} --partition-key stream/photo.jpg ` +
        `--cli-binary-format raw-in-base64-out --data '{"bucket":"${SOURCE}","key":"stream/photo.jpg"}'`,
    );
  });

  it('the banner example, pasted as it is: the object is copied, its record put, and its manifest appears', async () => {
    const dir = join(work, 'paste');
    await mkdir(dir, { recursive: true });
    await writeFile(
      join(dir, 'photo.jpg'),
      await synthesizeImage({ width: 700, height: 500, seed: 31, format: 'jpeg' }),
    );
    const copy = up.stdout.find((l) => l.startsWith('aws ') && l.includes(`s3://${SOURCE}/stream/photo.jpg`));
    const put = up.stdout.find((l) => l.startsWith('aws ') && l.includes('kinesis put-record'));
    expect([copy !== undefined, put !== undefined]).toEqual([true, true]);
    await runBannerLine(copy!, dir);
    const answer = JSON.parse(await runBannerLine(put!, dir)) as {
      ShardId: string;
      SequenceNumber: string;
      EncryptionType: string;
    };
    expect(answer.ShardId).toMatch(/^shardId-00000000000[01]$/);
    expect(answer.SequenceNumber).toMatch(/^\d{56}$/);
    const manifest = await manifestOf('stream/photo.jpg');
    expect(manifest.source.key).toBe('stream/photo.jpg');
    expect(manifest.variants).toHaveLength(DEFAULT_VARIANTS.length);
    // Outside the watched prefix: the object reached the chain through the stream alone.
    await up.waitForLine(/image-resize-chain-resize .* 1 record {2}ok/);
  });

  it('puts several references at once with put-records, each on the shard its partition key hashes to', async () => {
    const keys = ['stream/batch/a.png', 'stream/batch/b.png', 'stream/batch/c.png'];
    const png = await synthesizeImage({ width: 300, height: 200, seed: 32, format: 'png' });
    const file = join(work, 'batch.png');
    await writeFile(file, png);
    for (const key of keys) await aws(['s3', 'cp', file, `s3://${SOURCE}/${key}`]);
    const entries = keys.map((key) => ({
      PartitionKey: key,
      Data: Buffer.from(JSON.stringify({ bucket: SOURCE, key, size: png.length })).toString('base64'),
    }));
    const answer = await json<{
      FailedRecordCount: number;
      Records: Array<{ ShardId: string; SequenceNumber: string }>;
    }>(['kinesis', 'put-records', '--stream-name', STREAM, '--records', JSON.stringify(entries)]);
    expect(answer.FailedRecordCount).toBe(0);
    const local = new LocalStream({ name: 'mirror', shardCount: 2 });
    expect(answer.Records.map((r) => r.ShardId)).toEqual(keys.map((k) => local.shardFor(k)));
    for (const key of keys) expect((await manifestOf(key)).source.key).toBe(key);
  });

  it('describes the stream and lists its shards', async () => {
    const summary = await json<{ StreamDescriptionSummary: Record<string, unknown> }>([
      'kinesis',
      'describe-stream-summary',
      '--stream-name',
      STREAM,
    ]);
    expect(summary.StreamDescriptionSummary).toMatchObject({
      StreamName: STREAM,
      StreamARN: `arn:aws:kinesis:us-east-1:000000000000:stream/${STREAM}`,
      StreamStatus: 'ACTIVE',
      OpenShardCount: 2,
      RetentionPeriodHours: 24,
    });
    const shards = await json<{
      Shards: Array<{ ShardId: string; HashKeyRange: { StartingHashKey: string; EndingHashKey: string } }>;
    }>(['kinesis', 'list-shards', '--stream-name', STREAM]);
    expect(shards.Shards.map((s) => s.ShardId)).toEqual(['shardId-000000000000', 'shardId-000000000001']);
    expect(shards.Shards[1]?.HashKeyRange.StartingHashKey).toBe(
      (BigInt(shards.Shards[0].HashKeyRange.EndingHashKey) + 1n).toString(),
    );
    const paged = await json<{ Shards: Array<{ ShardId: string }>; NextToken?: string }>([
      'kinesis',
      'list-shards',
      '--stream-name',
      STREAM,
      '--max-results',
      '1',
    ]);
    expect(paged.Shards.map((s) => s.ShardId)).toEqual(['shardId-000000000000']);
    expect(paged.NextToken).toEqual(expect.any(String));
    // The CLI's own paginator follows NextToken page by page.
    const all = await json<{ Shards: Array<{ ShardId: string }> }>([
      'kinesis',
      'list-shards',
      '--stream-name',
      STREAM,
      '--page-size',
      '1',
    ]);
    expect(all.Shards.map((s) => s.ShardId)).toEqual(['shardId-000000000000', 'shardId-000000000001']);
  });

  it(
    'answers with Kinesis errors: ResourceNotFoundException for an unknown stream, ' +
      'ValidationException for a bad record',
    async () => {
      await expect(aws(putRecordArgs('no-such-stream', 'k', '{}'))).rejects.toThrow(
        /ResourceNotFoundException.*Stream no-such-stream under account 000000000000 not found/,
      );
      const post = (target: string, body: unknown) =>
        localFetch(`${up.endpoint}/`, {
          method: 'POST',
          headers: { 'x-amz-target': `Kinesis_20131202.${target}`, 'content-type': 'application/x-amz-json-1.1' },
          body: JSON.stringify(body),
        });
      const missing = await post('DescribeStreamSummary', { StreamName: 'no-such-stream' });
      expect([missing.status, await missing.json()]).toEqual([
        400,
        { __type: 'ResourceNotFoundException', message: 'Stream no-such-stream under account 000000000000 not found.' },
      ]);
      const noKey = await post('PutRecord', { StreamName: STREAM, Data: Buffer.from('{}').toString('base64') });
      expect(noKey.status).toBe(400);
      expect(await noKey.json()).toEqual({
        __type: 'ValidationException',
        message: expect.stringContaining("'putRecordInput.partitionKey' failed to satisfy constraint"),
      });
      const tooBig = await post('PutRecord', {
        StreamName: STREAM,
        PartitionKey: 'k',
        Data: Buffer.alloc(1024 * 1024 + 1).toString('base64'),
      });
      expect([tooBig.status, ((await tooBig.json()) as { __type: string }).__type]).toEqual([
        400,
        'ValidationException',
      ]);
      const tooMany = await post('PutRecords', { StreamName: STREAM, Records: [] });
      expect([tooMany.status, ((await tooMany.json()) as { __type: string }).__type]).toEqual([
        400,
        'ValidationException',
      ]);
    },
  );

  it(
    'sends a reference to a missing object to the rejected queue as NOT_FOUND, ' +
      'naming the record; nothing reaches the on-failure queue',
    async () => {
      const key = 'stream/never-uploaded.jpg';
      const put = await json<{ ShardId: string; SequenceNumber: string }>(
        putRecordArgs(STREAM, key, JSON.stringify({ bucket: SOURCE, key })),
      );
      const rejectedUrl = `${up.endpoint}/000000000000/image-resize-chain-rejected`;
      const rejection = await waitFor('the rejection of the missing object', async () => {
        const got = await json<{ Messages?: Array<{ Body: string; ReceiptHandle: string }> }>([
          'sqs',
          'receive-message',
          '--queue-url',
          rejectedUrl,
          '--max-number-of-messages',
          '10',
          '--wait-time-seconds',
          '1',
        ]).catch(() => ({ Messages: [] }));
        const found = (got.Messages ?? []).find(
          (m) => (JSON.parse(m.Body) as { source: { key: string } }).source.key === key,
        );
        return found ? (JSON.parse(found.Body) as Record<string, unknown>) : undefined;
      });
      expect(rejection).toMatchObject({
        type: 'image.rejected',
        version: 1,
        code: 'NOT_FOUND',
        message: 'object no longer exists',
        source: { bucket: SOURCE, key, messageId: put.SequenceNumber },
      });
      // A rejection is the handler's answer (permanent): the batch succeeded, so the mapping gave up on nothing.
      const failures = await json<{ Attributes: Record<string, string> }>([
        'sqs',
        'get-queue-attributes',
        '--queue-url',
        `${up.endpoint}/000000000000/image-resize-chain-stream-failures`,
        '--attribute-names',
        'ApproximateNumberOfMessages',
        'ApproximateNumberOfMessagesNotVisible',
      ]);
      expect(failures.Attributes).toEqual({
        ApproximateNumberOfMessages: '0',
        ApproximateNumberOfMessagesNotVisible: '0',
      });
      expect(up.stderr.filter((l) => l.startsWith('stream: '))).toEqual([]);
    },
  );

  it('stops on SIGTERM with the stream mapping in its totals', async () => {
    up.child.kill('SIGTERM');
    expect(await up.exited).toBe(0);
    expect(up.stderr.join('\n')).toMatch(new RegExp(`${STREAM}: \\d+ invocations, 0 records to the on-failure queue`));
  });
});
