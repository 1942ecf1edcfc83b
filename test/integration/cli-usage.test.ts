/**
 * Bad usage of every `resize-chain` command, as users type it (the built CLI; jest's globalSetup
 * builds dist/): exit 2 with one JSON line naming the flag or argument, the command's accepted form
 * and its --help, never INTERNAL or a stack trace, and nothing started.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..');
const CLI = join(ROOT, 'dist', 'cli.js');

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  error: Error | undefined;
  stdout: string;
  stderr: string;
}

/**
 * The CLI run to its end. spawnSync returns only when every holder of the child's stdout/stderr
 * has closed them, so a returned run also means no worker (up's inherits both) outlived it.
 */
function run(args: string[]): Run {
  const res = spawnSync(process.execPath, [CLI, ...args], { cwd: ROOT, encoding: 'utf8', timeout: 30_000 });
  return { code: res.status, signal: res.signal, error: res.error, stdout: res.stdout, stderr: res.stderr };
}

/**
 * [command line, what stderr must name]: per command, at least two of a missing value, an unknown
 * option, an extra positional, a bad number or enum.
 */
const BAD_USAGES: ReadonlyArray<readonly [string[], string]> = [
  [['start', '--timeout'], '--timeout'],
  [['start', '--concurrency', 'many'], '--concurrency'],
  [['start', 'dir-a', 'dir-b'], 'at most one folder'],
  [['start', '--frobnicate'], '--frobnicate'],
  [['start', '--ui', '--port', '70000'], '--port'],
  [['start', '--port', '5000'], '--port'],
  [['up', '--port'], '--port'],
  [['up', '--port', 'http'], '--port'],
  [['up', '--drain', '0'], '--drain'],
  [['up', '--json=yes'], '--json'],
  [['up', '--frobnicate'], '--frobnicate'],
  [['up', 'extra'], 'positional'],
  [['up', '--stream-shards', '2'], '--stream'],
  [['up', '--bare', '--stream'], '--bare starts no chain of its own: --stream'],
  [['up', '--bare', '--name-prefix', 'x', '--ui'], '--name-prefix, --ui'],
  [['invoke', 'resize', '--event'], '--event'],
  [['invoke', 'resize'], '--event'],
  [['invoke', 'resize', '--event', '-', '--timeout', '-3'], '--timeout'],
  [['invoke', 'resize', '--event', '-', '--env', 'NOEQUALS'], '--env'],
  [['resize', 'a.jpg', '--out'], '--out'],
  [['resize', 'a.jpg'], '--out'],
  [['resize', 'a.jpg', '--out', 'o', '--colour', 'red'], '--colour'],
  [['event', 's3-put', '--bucket', 'b', '--key', 'k', 'extra'], 'extra'],
  [['event', 's3-put', '--bucket'], '--bucket'],
  [['event', 's3-put', '--key', 'k'], '--bucket'],
  [['event', 's3-put', '--bucket', 'b', '--key', 'k', '--size', 'big'], '--size'],
  [['event', 's3-get'], 's3-get'],
  [['cost', '--memory'], '--memory'],
  [['cost', '--images-per-month', '1000', 'extra'], 'positional'],
  [['cost', '--images-per-month', 'lots'], '--images-per-month'],
  [['cost', '--images-per-month', '1000', '--architecture', 'sparc'], '--architecture'],
  [['cost', '--images-per-month', '1000', '--currency', 'eur'], '--currency'],
  [['tf-override', '--dir'], '--dir'],
  [['tf-override', 'somewhere'], 'positional'],
  [['tf-override', '--dir', '/nonexistent/folder'], '--dir'],
  [['tf-override', '--endpoint', 'localhost:4566'], '--endpoint'],
  [['tf-override', '--region', 'eu-west-1'], '--region'],
  [['deploy'], 'deploy'],
];

describe.each(BAD_USAGES)('resize-chain %j', (args, named) => {
  test(`exits 2 with one JSON line naming ${named}`, () => {
    const res = run(args);
    expect(res.error).toBeUndefined();
    expect(res.signal).toBeNull();
    expect(res.code).toBe(2);
    expect(res.stdout).toBe('');
    expect(res.stderr).not.toContain('INTERNAL');
    expect(res.stderr).not.toMatch(/^\s+at /m);
    const lines = res.stderr.trimEnd().split('\n');
    expect(lines).toHaveLength(1);
    type ErrorLine = { level: string; code?: string; error?: { code: string }; help?: string; usage?: string };
    const doc = JSON.parse(lines[0]) as ErrorLine;
    expect(doc.level).toBe('error');
    expect(doc.code ?? doc.error?.code).toMatch(/^(USAGE|INVALID_CONFIG)$/);
    expect(lines[0]).toContain(named);
    expect(doc.help).toMatch(/^resize-chain( [\w-]+)? --help$/);
  });
});

test('a usage error gives the accepted form of its command, the --ui form for start --ui', () => {
  const up = JSON.parse(run(['up', '--port']).stderr) as { usage: string; help: string };
  expect(up.usage).toMatch(/^resize-chain up .*\[--port 4566\]/);
  expect(up.help).toBe('resize-chain up --help');
  const ui = JSON.parse(run(['start', '--ui', '--port', '70000']).stderr) as { usage: string };
  expect(ui.usage).toMatch(/^resize-chain start --ui \[--port 0\]/);
});

const COMMANDS = ['start', 'up', 'tf-override', 'invoke', 'resize', 'event', 'cost'];

test.each(COMMANDS)('resize-chain %s --help exits 0 with the usage on stdout', (command) => {
  const res = run([command, '--help']);
  expect(res.code).toBe(0);
  expect(res.stdout).toContain(`resize-chain ${command} `);
  expect(res.stderr).toBe('');
});
