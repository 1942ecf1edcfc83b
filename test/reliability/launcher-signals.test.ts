// A signal to the process the user started ends everything, whatever the launcher: `npx
// resize-chain up` and `npm start` (npm -> sh -c -> node dist/cli.js start) are started as a
// process manager starts them, the signal goes to the npx/npm PID alone (npm passes it to its
// `sh -c`, which dies of SIGTERM without passing it on, and keeps a SIGINT to itself), and the
// test checks that no process of the tree and no listening port is left.
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { localClientConfig } from '../../src/local/client-config';
import { synthesizeImage } from '../../src/tools/samples';
import { exitedAfterOutput } from '../helpers/up-process';
import { waitFor } from '../helpers/wait';

const ROOT = join(__dirname, '..', '..');

/** Every process below `root` (Linux procfs), read now. */
function descendants(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
    } catch {
      // gone meanwhile
    }
  }
  const found: number[] = [];
  const queue = [root];
  while (queue.length) {
    for (const child of children.get(queue.shift()!) ?? []) {
      found.push(child);
      queue.push(child);
    }
  }
  return found;
}

/** True while `pid` runs (a zombie waiting for its parent counts as gone). */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
  });
}

interface Launched {
  child: ChildProcess;
  output: string[];
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Starts `command`; `ownGroup`: as a terminal's foreground job, leading its own process group. */
function launch(command: string, args: string[], ownGroup = false): Launched {
  const child = spawn(command, args, {
    cwd: ROOT,
    detached: ownGroup,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, npm_config_yes: 'true', npm_config_update_notifier: 'false' },
  });
  const output: string[] = [];
  child.stdout.setEncoding('utf8').on('data', (c: string) => output.push(c));
  child.stderr.setEncoding('utf8').on('data', (c: string) => output.push(c));
  // A leftover process holding a pipe open is what these tests look for: the wait for 'close' is bounded.
  return { child, output, exited: exitedAfterOutput(child) };
}

/** `ready`: printed once it serves; `stopped`: what it says when it stops on `signal`. */
const cases: Array<{
  name: string;
  command: string;
  args: string[];
  endpoint: RegExp;
  ready: RegExp;
  upload: boolean;
  stopped: (signal: string) => RegExp;
}> = [
  {
    name: 'npx resize-chain up',
    command: 'npx',
    args: ['resize-chain', 'up', '--port', '0'],
    endpoint: /export AWS_ENDPOINT_URL=(https:\/\/127\.0\.0\.1:\d+)/,
    ready: /^ready: /m,
    upload: true,
    stopped: (signal) => new RegExp(`${signal}: taking no new work[^]*stopped \\(every batch finished\\)`),
  },
  {
    name: 'npm start -- --ui',
    command: 'npm',
    args: ['start', '--', '--ui', '--port', '0'],
    endpoint: /local cloud: (http:\/\/127\.0\.0\.1:\d+)/,
    ready: /upload page: /,
    upload: false,
    stopped: () => /upload page: /,
  },
  {
    // The batch run itself (samples into ./samples, the report into ./out: both git-ignored), signalled mid-run.
    name: 'npm start',
    command: 'npm',
    args: ['start'],
    endpoint: /local cloud: (http:\/\/127\.0\.0\.1:\d+)/,
    ready: /local cloud: /,
    upload: false,
    stopped: (signal) => new RegExp(`${signal}: stopping the local cloud; \\d+ of \\d+ images finished`),
  },
];

describe.each(cases)('$name', ({ command, args, endpoint, ready, upload, stopped }) => {
  it.each(['SIGTERM', 'SIGINT'] as const)(
    '%s to the launcher PID leaves no process and no port',
    async (signal) => {
      const launched = launch(command, args);
      let tree: number[] = [];
      try {
        const url = await waitFor(
          `${command} to print its endpoint`,
          async () => endpoint.exec(launched.output.join(''))?.[1],
          90_000,
        );
        await waitFor('the ready line', async () => (ready.test(launched.output.join('')) ? true : undefined), 30_000);
        if (upload) {
          // Sandboxes start with the first batch: have one running before the signal.
          const s3 = new S3Client(localClientConfig(url));
          await s3.send(
            new PutObjectCommand({
              Bucket: 'image-resize-chain-src-local',
              Key: 'uploads/signal.jpg',
              Body: await synthesizeImage({ width: 64, height: 48, seed: 3, format: 'jpeg' }),
            }),
          );
          s3.destroy();
          await waitFor(
            'an invocation line',
            async () => (/ image-resize-chain-resize .* ok /.test(launched.output.join('')) ? true : undefined),
            60_000,
          );
        }
        tree = descendants(launched.child.pid!);
        expect(tree.length).toBeGreaterThanOrEqual(3); // sh, node, (the up worker,) the stand-in, sandboxes
        const port = Number(new URL(url).port);
        expect(await listening(port)).toBe(true);

        launched.child.kill(signal);

        await launched.exited;
        const left = await waitFor(
          'every process of the tree to end',
          async () => (tree.some(alive) ? undefined : []),
          60_000,
          250,
        );
        expect(left).toEqual([]);
        expect(await listening(port)).toBe(false);
        expect(launched.output.join('')).toMatch(stopped(signal));
      } finally {
        // Leave nothing running even when the test failed: these PIDs are this test's own tree.
        for (const pid of [launched.child.pid!, ...tree]) if (alive(pid)) process.kill(pid, 'SIGKILL');
      }
    },
    300_000,
  ); // above the sum of the waits, so `finally` runs even when one times out
});

describe('npx resize-chain up in a terminal', () => {
  it('Ctrl-C (SIGINT to the whole foreground group: npm, sh and up) drains once and exits clean', async () => {
    const launched = launch('npx', ['resize-chain', 'up', '--port', '0'], true);
    let tree: number[] = [];
    try {
      const url = await waitFor(
        'the endpoint',
        async () => /export AWS_ENDPOINT_URL=(https:\/\/127\.0\.0\.1:\d+)/.exec(launched.output.join(''))?.[1],
        90_000,
      );
      await waitFor(
        'the ready line',
        async () => (/^ready: /m.test(launched.output.join('')) ? true : undefined),
        30_000,
      );
      tree = descendants(launched.child.pid!);
      process.kill(-launched.child.pid!, 'SIGINT');
      await launched.exited;
      await waitFor('every process of the tree to end', async () => (tree.some(alive) ? undefined : true), 60_000, 250);
      const output = launched.output.join('');
      expect(output).toMatch(/SIGINT: taking no new work[^]*stopped \(every batch finished\)/);
      expect(output).not.toMatch(/again: exiting now/);
      expect(await listening(Number(new URL(url).port))).toBe(false);
    } finally {
      for (const pid of [launched.child.pid!, ...tree]) if (alive(pid)) process.kill(pid, 'SIGKILL');
    }
  }, 300_000);
});
