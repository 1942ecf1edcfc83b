// `resize-chain up` that cannot start exits with its coded error instead of staying alive.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MAPPING_IDS_FILE } from '../../src/local/cloud/lambda/mapping-ids';

const CLI = join(__dirname, '..', '..', 'dist', 'cli.js');

describe('up with a start-up error', () => {
  let stateDir: string;
  beforeEach(() => {
    stateDir = mkdtempSync(join(tmpdir(), 'irc-up-error-'));
  });
  afterEach(() => rmSync(stateDir, { recursive: true, force: true }));

  test('a damaged mapping-ids file: exit 2 naming the file, nothing left waiting on stdin', async () => {
    writeFileSync(join(stateDir, MAPPING_IDS_FILE), '{ not json', { mode: 0o600 });
    // stdin a pipe kept open, as a terminal or a process manager keeps it: the worker must not wait on it.
    const child = spawn(process.execPath, [CLI, 'up', '--port', '0', '--state', stateDir], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    child.stdout.resume();
    const code = await new Promise<number | null>((resolve) => child.once('close', (c) => resolve(c)));
    child.stdin.end();
    expect(stderr).toContain('INVALID_CONFIG');
    expect(stderr).toContain(MAPPING_IDS_FILE);
    expect(code).toBe(2);
  }, 45_000);
});
