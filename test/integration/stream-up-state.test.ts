// The Kinesis mapping of `resize-chain up --stream` in Lambda's mappings API, driven by the real AWS
// CLI: listed and fetched as AWS shows a Kinesis mapping, paused and resumed with
// update-event-source-mapping; then `up --state DIR` kept the stream (records, arrival times,
// checkpoints) across a SIGTERM and a restart: a record waiting at the stop is processed once after
// it, records processed before it are not processed again, and sequence numbers go on increasing.
// The store itself is checked first, on a folder, with LocalStream and no processes.
import { appendFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_VARIANTS } from '../../src/core/variants';
import { synthesizeImage } from '../../src/tools/samples';
import { LocalStream, compareSequenceNumbers, type StoredCheckpoint } from '../../src/local/cloud/kinesis/stream';
import { fileStreamStore } from '../../src/local/cloud/kinesis/stream-store';
import { describeWhen } from '../helpers/requires';
import {
  AWS_CLI_MISSING,
  findAwsCli,
  killUp,
  putRecordArgs,
  runAws,
  startUp,
  type UpProcess,
} from '../helpers/up-process';
import { waitFor } from '../helpers/wait';

const SOURCE = 'image-resize-chain-src-local';
const OUTPUT = 'image-resize-chain-out-local';
const STREAM = 'image-resize-chain-uploads';
const STREAM_ARN = `arn:aws:kinesis:us-east-1:000000000000:stream/${STREAM}`;
const RESIZE = 'image-resize-chain-resize';

const awsCli = findAwsCli();
const CLI_MISSING = awsCli ? undefined : AWS_CLI_MISSING;

jest.setTimeout(180_000);

const work = mkdtempSync(join(tmpdir(), 'irc-stream-state-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('the stream kept in a folder (fileStreamStore)', () => {
  const SHARD = 'shardId-000000000000';

  it(
    'gives back records with their sequence numbers, ' +
      'data and arrival times, and checkpoints; numbers go on increasing',
    () => {
      const dir = join(work, 'store-roundtrip');
      let clock = 1_700_000_000_123;
      const first = new LocalStream({
        name: 's',
        shardCount: 2,
        now: () => clock,
        store: fileStreamStore(dir, { name: 's', shardCount: 2 }),
      });
      const put = first.putRecords(
        [0, 1, 2, 3].map((i) => ({ partitionKey: `k${i}`, data: `d${i}`, explicitHashKey: '0' })),
      );
      clock += 5000;
      first.putRecord({
        partitionKey: 'other',
        data: Buffer.from([0, 255, 1]),
        explicitHashKey: String((1n << 128n) - 1n),
      });
      first.checkpoint('resize', SHARD, put.records[1].sequenceNumber);

      const store = fileStreamStore(dir, { name: 's', shardCount: 2 });
      expect(store.existed).toBe(true);
      const again = new LocalStream({ name: 's', shardCount: 2, store });
      for (const shardId of first.shardIds) {
        expect(again.records(shardId).map((r) => ({ ...r, data: r.data.toString('base64') }))).toEqual(
          first.records(shardId).map((r) => ({ ...r, data: r.data.toString('base64') })),
        );
      }
      expect(again.records(SHARD)[0]?.approximateArrivalTimestamp).toBe(1_700_000_000.123);
      expect(again.checkpointOf('resize', SHARD)).toBe(put.records[1].sequenceNumber);
      expect(again.read(SHARD, again.checkpointOf('resize', SHARD), 10).map((r) => r.data.toString())).toEqual([
        'd2',
        'd3',
      ]);
      const next = again.putRecord({ partitionKey: 'k9', data: 'd9', explicitHashKey: '0' });
      expect(compareSequenceNumbers(next.sequenceNumber, put.records[3].sequenceNumber)).toBe(1);
      expect(next.sequenceNumber).not.toBe(put.records[3].sequenceNumber);
    },
  );

  it('drops a last line cut off mid-write, and refuses a folder holding another shard count', () => {
    const dir = join(work, 'store-damaged');
    const first = new LocalStream({ name: 's', store: fileStreamStore(dir, { name: 's', shardCount: 1 }) });
    first.putRecord({ partitionKey: 'a', data: 'one' });
    appendFileSync(join(dir, 'records.jsonl'), '{"shardId":"shardId-000000000000","sequ');
    const again = new LocalStream({ name: 's', store: fileStreamStore(dir, { name: 's', shardCount: 1 }) });
    expect(again.records(SHARD).map((r) => r.data.toString())).toEqual(['one']);
    again.putRecord({ partitionKey: 'a', data: 'two' });
    expect(readFileSync(join(dir, 'records.jsonl'), 'utf8').trim().split('\n')).toHaveLength(2);
    expect(() => fileStreamStore(dir, { name: 's', shardCount: 3 })).toThrow(
      /holds stream s with 1 shard\(s\), not s with 3/,
    );
  });
});

interface KinesisMapping {
  UUID: string;
  EventSourceArn: string;
  FunctionArn: string;
  State: string;
  [field: string]: unknown;
}

describeWhen(
  CLI_MISSING,
  'resize-chain up --stream --state: the Kinesis mapping in the mappings API, paused, and kept across a restart',
  () => {
    const cli = awsCli?.path ?? 'aws';
    const state = join(work, 'state');
    let first: UpProcess | undefined;
    let second: UpProcess | undefined;
    const sequenceNumbers: Record<string, string> = {};

    const aws = (up: UpProcess, args: string[]): Promise<string> => runAws(cli, up.endpoint, args);
    const json = async <T>(up: UpProcess, args: string[]): Promise<T> =>
      JSON.parse(await aws(up, [...args, '--output', 'json'])) as T;
    const manifestKey = (key: string): string => `${key.replace(/\.[^./]+$/, '')}/manifest.json`;
    const manifestExists = (up: UpProcess, key: string): Promise<boolean> =>
      aws(up, ['s3api', 'head-object', '--bucket', OUTPUT, '--key', manifestKey(key)]).then(
        () => true,
        (err: unknown) => {
          if (err instanceof Error && /404|Not Found/.test(err.message)) return false;
          throw err;
        },
      );
    const manifestOf = (up: UpProcess, key: string): Promise<{ source: { key: string }; variants: unknown[] }> =>
      waitFor(
        `the manifest of ${key}`,
        async () =>
          JSON.parse(await aws(up, ['s3', 'cp', `s3://${OUTPUT}/${manifestKey(key)}`, '-'])) as {
            source: { key: string };
            variants: unknown[];
          },
      );
    /** Records the resize function was handed (every invocation line of `up` for it). */
    const resizeRecords = (up: UpProcess): number =>
      up.invocations.filter((i) => i.function === RESIZE).reduce((n, i) => n + i.records, 0);
    const streamMapping = async (up: UpProcess): Promise<KinesisMapping> => {
      const listed = await json<{ EventSourceMappings: KinesisMapping[] }>(up, [
        'lambda',
        'list-event-source-mappings',
        '--event-source-arn',
        STREAM_ARN,
      ]);
      expect(listed.EventSourceMappings).toHaveLength(1);
      return listed.EventSourceMappings[0];
    };
    /** The invocation line is printed as the batch ends, a little after the manifest may appear: wait for it. */
    const resizeRecordsReach = (up: UpProcess, n: number): Promise<number> =>
      waitFor(
        `${n} records handed to resize`,
        async () => (resizeRecords(up) >= n ? resizeRecords(up) : undefined),
        30_000,
        100,
      );
    const setEnabled = (up: UpProcess, uuid: string, on: boolean): Promise<KinesisMapping> =>
      json<KinesisMapping>(up, [
        'lambda',
        'update-event-source-mapping',
        '--uuid',
        uuid,
        on ? '--enabled' : '--no-enabled',
      ]);

    const logs = join(work, 'logs');
    /** How many times the first `up`'s stream mapping started and stopped reading, from its log. */
    const streamReaders = (): { started: number; stopped: number } => {
      const events = readFileSync(join(logs, 'esm-stream.log'), 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((line) => (JSON.parse(line) as { event?: string }).event);
      return {
        started: events.filter((e) => e === 'stream.mapping_started').length,
        stopped: events.filter((e) => e === 'stream.mapping_stopped').length,
      };
    };
    /** The stream mapping's checkpoints as `--state` keeps them. */
    const checkpoints = (): StoredCheckpoint[] =>
      JSON.parse(readFileSync(join(state, 'kinesis', STREAM, 'checkpoints.json'), 'utf8')) as StoredCheckpoint[];

    /** Uploads an image under stream/ (not watched) and puts its reference record; keeps its sequence number. */
    async function uploadAndPut(up: UpProcess, name: string, seed: number): Promise<string> {
      const key = `stream/${name}.jpg`;
      const file = join(work, `${name}.jpg`);
      await writeFile(file, await synthesizeImage({ width: 480, height: 320, seed, format: 'jpeg' }));
      await aws(up, ['s3', 'cp', file, `s3://${SOURCE}/${key}`]);
      const put = await json<{ ShardId: string; SequenceNumber: string }>(
        up,
        putRecordArgs(STREAM, key, JSON.stringify({ bucket: SOURCE, key })),
      );
      sequenceNumbers[name] = put.SequenceNumber;
      return key;
    }

    beforeAll(async () => {
      first = await startUp(['--stream', '--state', state, '--concurrency', '1', '--logs', logs]);
      // The s3:TestEvent sent when the notification is first configured reaches resize through the
      // ingest mapping: wait for it so the counts below are the stream's alone.
      await waitFor('the s3:TestEvent invocation', async () => (resizeRecords(first!) >= 1 ? true : undefined));
    }, 120_000);

    afterAll(async () => {
      await killUp(first);
      await killUp(second);
    });

    it("lists the Kinesis mapping as AWS shows one, with the banner's UUID, filtered by the stream ARN", async () => {
      const up = first!;
      const uuid = up.mappings[STREAM];
      expect(uuid).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
      expect(up.stdout.join('\n')).toContain(
        `  stream mapping   ${uuid}  ${STREAM} -> ${RESIZE}   (batch 100, bisect on, 3 retries)`,
      );

      const all = await json<{ EventSourceMappings: KinesisMapping[] }>(up, ['lambda', 'list-event-source-mappings']);
      expect(all.EventSourceMappings.map((m) => m.EventSourceArn).sort()).toEqual([
        'arn:aws:kinesis:us-east-1:000000000000:stream/image-resize-chain-uploads',
        'arn:aws:sqs:us-east-1:000000000000:image-resize-chain-ingest',
        'arn:aws:sqs:us-east-1:000000000000:image-resize-chain-resized',
      ]);
      const mapping = await streamMapping(up);
      expect(mapping).toEqual({
        UUID: uuid,
        StartingPosition: 'LATEST',
        BatchSize: 100,
        MaximumBatchingWindowInSeconds: 0,
        ParallelizationFactor: 1,
        EventSourceArn: STREAM_ARN,
        FunctionArn: `arn:aws:lambda:us-east-1:000000000000:function:${RESIZE}`,
        LastModified: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
        LastProcessingResult: 'No records processed',
        State: 'Enabled',
        StateTransitionReason: 'User action',
        DestinationConfig: {
          OnFailure: { Destination: 'arn:aws:sqs:us-east-1:000000000000:image-resize-chain-stream-failures' },
        },
        MaximumRecordAgeInSeconds: -1,
        BisectBatchOnFunctionError: true,
        MaximumRetryAttempts: 3,
        TumblingWindowInSeconds: 0,
        FunctionResponseTypes: ['ReportBatchItemFailures'],
      });
      expect(await json<KinesisMapping>(up, ['lambda', 'get-event-source-mapping', '--uuid', uuid])).toEqual(mapping);
      const byFunction = await json<{ EventSourceMappings: KinesisMapping[] }>(up, [
        'lambda',
        'list-event-source-mappings',
        '--function-name',
        RESIZE,
      ]);
      expect(byFunction.EventSourceMappings.map((m) => m.EventSourceArn).sort()).toEqual([
        STREAM_ARN,
        'arn:aws:sqs:us-east-1:000000000000:image-resize-chain-ingest',
      ]);
    });

    it('processes a record while enabled', async () => {
      const up = first!;
      const before = resizeRecords(up);
      const key = await uploadAndPut(up, 'a', 41);
      expect((await manifestOf(up, key)).variants).toHaveLength(DEFAULT_VARIANTS.length);
      expect(await resizeRecordsReach(up, before + 1)).toBe(before + 1);
      expect((await streamMapping(up)).LastProcessingResult).toBe('OK');
    });

    it(
      'disabled, a record waits in the stream (no invocation, ' +
        'no manifest); enabled again, it is processed from the checkpoint',
      async () => {
        const up = first!;
        const uuid = up.mappings[STREAM];
        const disabled = await setEnabled(up, uuid, false);
        expect([disabled.UUID, disabled.State]).toEqual([uuid, 'Disabled']);
        expect((await streamMapping(up)).State).toBe('Disabled');
        // Disabled means no reader: the mapping answered Disabled once its reader had stopped (logged), and
        // none starts until it is enabled. A put wakes a running reader at once, so with none running the
        // record can only wait in the stream: no shard's checkpoint reaches it, nothing is invoked.
        const readers = await waitFor(
          'the stream reader stopped',
          () => {
            const counted = streamReaders();
            return counted.stopped === counted.started && counted;
          },
          30_000,
          100,
        );
        const before = resizeRecords(up);
        const key = await uploadAndPut(up, 'b', 42);
        expect(streamReaders()).toEqual(readers);
        expect(checkpoints().filter((c) => compareSequenceNumbers(c.sequenceNumber, sequenceNumbers.b) >= 0)).toEqual(
          [],
        );
        expect({ invoked: resizeRecords(up) - before, manifest: await manifestExists(up, key) }).toEqual({
          invoked: 0,
          manifest: false,
        });

        const enabled = await setEnabled(up, uuid, true);
        expect(enabled.State).toBe('Enabled');
        expect((await manifestOf(up, key)).source.key).toBe(key);
        expect(await resizeRecordsReach(up, before + 1)).toBe(before + 1);
        expect(compareSequenceNumbers(sequenceNumbers.b, sequenceNumbers.a)).toBe(1);
      },
    );

    it(
      'after a SIGTERM and a restart on the same --state, ' +
        'a record put while disabled is processed once, and none processed before is processed again',
      async () => {
        const up = first!;
        const uuid = up.mappings[STREAM];
        await setEnabled(up, uuid, false);
        // An SQS mapping disabled too, to compare what a restart does to each.
        await json(up, [
          'lambda',
          'update-event-source-mapping',
          '--uuid',
          up.mappings['image-resize-chain-ingest'],
          '--no-enabled',
        ]);
        const before = resizeRecords(up);
        const key = await uploadAndPut(up, 'c', 43);
        up.child.kill('SIGTERM');
        expect(await up.exited).toBe(0);
        expect(resizeRecords(up)).toBe(before);
        expect(up.stderr.join('\n')).toMatch(/^SIGTERM: taking no new work; waiting for 0 batches in flight/m);

        second = await startUp(['--stream', '--state', state, '--concurrency', '1']);
        const restarted = second;
        // A restart creates the mappings again, enabled, under the UUIDs kept in the state: the Kinesis one as the SQS
        // ones.
        const listed = await json<{ EventSourceMappings: KinesisMapping[] }>(restarted, [
          'lambda',
          'list-event-source-mappings',
        ]);
        expect(listed.EventSourceMappings.map((m) => [m.EventSourceArn.split(':').pop(), m.State]).sort()).toEqual([
          ['image-resize-chain-ingest', 'Enabled'],
          ['image-resize-chain-resized', 'Enabled'],
          ['stream/image-resize-chain-uploads', 'Enabled'],
        ]);
        expect(restarted.mappings[STREAM]).toBe(uuid);
        expect(restarted.mappings['image-resize-chain-ingest']).toBe(up.mappings['image-resize-chain-ingest']);
        expect(
          (await json<KinesisMapping>(restarted, ['lambda', 'get-event-source-mapping', '--uuid', uuid])).UUID,
        ).toBe(uuid);

        expect((await manifestOf(restarted, key)).source.key).toBe(key);
        const later = await uploadAndPut(restarted, 'd', 44);
        expect((await manifestOf(restarted, later)).source.key).toBe(later);
        await resizeRecordsReach(restarted, 2);
        // In order on the one shard: a and b (already done) would have been handed over before c and d.
        expect(restarted.invocations.filter((i) => i.function === RESIZE).map((i) => [i.records, i.outcome])).toEqual([
          [1, 'ok'],
          [1, 'ok'],
        ]);
        const numbers = ['a', 'b', 'c', 'd'].map((name) => sequenceNumbers[name]);
        expect([...numbers].sort(compareSequenceNumbers)).toEqual(numbers);
        expect(new Set(numbers).size).toBe(4);

        restarted.child.kill('SIGTERM');
        expect(await restarted.exited).toBe(0);
        expect(restarted.stderr.join('\n')).toMatch(
          new RegExp(`${STREAM}: 2 invocations, 0 records to the on-failure queue; state kept in `),
        );
      },
    );
  },
);
