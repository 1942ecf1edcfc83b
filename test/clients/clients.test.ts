// Clients nobody here wrote, driving `resize-chain up --state` through short scripts as a user
// would: Debian's AWS CLI v2 (the README's SQS commands, test/clients/aws-cli-readme.sh) and
// Debian's boto3, which speaks SQS's Query protocol (test/clients/sqs_boto3.py). Both found
// answers the local cloud got wrong (an empty ReceiveMessage without its result element, a message
// lost by ChangeMessageVisibility(0) under --state).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeWhen } from '../helpers/requires';
import {
  AWS_CLI_MISSING,
  BOTO3_MISSING,
  findAwsCli,
  findBoto3Python,
  killUp,
  runAws,
  runClient,
  startUp,
  type UpProcess,
} from '../helpers/up-process';
import { waitFor } from '../helpers/wait';

const awsCli = findAwsCli();
const boto3 = findBoto3Python();
const CLIENTS_MISSING =
  [awsCli ? undefined : AWS_CLI_MISSING, boto3 ? undefined : BOTO3_MISSING].filter(Boolean).join('; ') || undefined;

jest.setTimeout(180_000);

/** The script's output split at its "== name" lines. */
function sections(output: string): Record<string, string> {
  const parts: Record<string, string> = {};
  let name = '';
  for (const line of output.split('\n')) {
    const header = /^== (\S+)$/.exec(line);
    if (header) parts[(name = header[1]!)] = '';
    else if (name) parts[name] += `${line}\n`;
  }
  return Object.fromEntries(Object.entries(parts).map(([k, v]) => [k, v.trim()]));
}

describeWhen(CLIENTS_MISSING, 'resize-chain up --state driven by the AWS CLI and boto3', () => {
  const work = mkdtempSync(join(tmpdir(), 'irc-clients-'));
  let up: UpProcess | undefined;

  beforeAll(async () => {
    up = await startUp(['--state', join(work, 'state'), '--concurrency', '1']);
  });
  afterAll(async () => {
    await killUp(up);
    rmSync(work, { recursive: true, force: true });
  });

  it("runs the README's SQS commands with the AWS CLI, the empty receive included", async () => {
    const { endpoint, mappings } = up!;
    const notes = join(work, 'notes.jpg');
    writeFileSync(notes, 'meeting notes, not a photo\n');
    await runAws(awsCli!.path, endpoint, ['s3', 'cp', notes, 's3://image-resize-chain-src-local/uploads/notes.jpg']);
    const rejected = `${endpoint}/000000000000/image-resize-chain-rejected`;
    await waitFor('the rejection of notes.jpg', async () => {
      const out = await runAws(awsCli!.path, endpoint, [
        'sqs',
        'get-queue-attributes',
        '--queue-url',
        rejected,
        '--attribute-names',
        'ApproximateNumberOfMessages',
        '--output',
        'json',
      ]);
      return Number(
        (JSON.parse(out) as { Attributes: Record<string, string> }).Attributes.ApproximateNumberOfMessages,
      ) >= 1
        ? true
        : undefined;
    });

    const out = sections(
      await runClient('bash', [
        join(__dirname, 'aws-cli-readme.sh'),
        awsCli!.path,
        endpoint,
        mappings['image-resize-chain-resized'],
      ]),
    );
    expect(JSON.parse(out.rejected)).toMatchObject({
      type: 'image.rejected',
      code: 'NOT_AN_IMAGE',
      source: { key: 'uploads/notes.jpg' },
    });
    expect(out).toMatchObject({ disable: 'Disabled', resized: '', enable: 'Enabled' });
  });

  it(
    'sends, receives, releases (ChangeMessageVisibility 0, ' +
      'single and batch) and deletes with boto3 over the Query protocol',
    async () => {
      const out = await runClient(boto3!.path, [join(__dirname, 'sqs_boto3.py'), up!.endpoint, 'boto3-client-check']);
      const seen = JSON.parse(out) as Record<string, unknown>;
      expect(seen).toEqual({
        boto3: boto3!.version,
        emptyReceiveKeys: [],
        afterReceive: { visible: 0, notVisible: 3 },
        batchReleased: 2,
        batchFailed: [],
        afterRelease: { visible: 3, notVisible: 0 },
        receivedAgain: [
          ['message 0', 2],
          ['message 1', 2],
          ['message 2', 2],
        ],
        deleted: 3,
        afterDelete: { visible: 0, notVisible: 0 },
        mappings: [
          [up!.mappings['image-resize-chain-ingest'], 'image-resize-chain-ingest', 'Enabled'],
          [up!.mappings['image-resize-chain-resized'], 'image-resize-chain-resized', 'Enabled'],
        ].sort(),
      });
    },
  );
});
