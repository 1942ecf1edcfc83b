// A function container runs within what Lambda allows a function: memory capped at the function's
// memory size, /tmp a tmpfs of its ephemeral storage size on a read-only root, no Linux capabilities,
// no privilege gain, Lambda's process limit.
import { startContainerFunction } from '../../src/local/container-host';
import type { LocalFunction } from '../../src/local/function-host';
import { docker, ensureImages, requireDocker } from './docker';

const haveDocker = requireDocker('sandbox limits');

interface Inspected {
  HostConfig: { Memory: number; MemorySwap: number; CapDrop: string[] | null; SecurityOpt: string[] | null; Tmpfs: Record<string, string>; ReadonlyRootfs: boolean; PidsLimit: number | null };
}

(haveDocker ? describe : describe.skip)('a function container', () => {
  let fn: LocalFunction | undefined;
  const containers: string[] = [];

  afterAll(async () => {
    await fn?.stop();
  });

  it('gets the function memory, the ephemeral storage as /tmp, no capabilities and no-new-privileges', async () => {
    const image = ensureImages(['publish']).images.publish!;
    fn = await startContainerFunction({
      name: 'publish-limits',
      image,
      memoryMb: 384,
      ephemeralStorageMb: 640,
      env: { OUTPUT_BUCKET: 'b', AWS_REGION: 'us-east-1' },
      initTimeoutMs: 20_000,
      logSink: (line) => {
        if (line.type === 'SANDBOX_START' && typeof line.container === 'string') containers.push(line.container);
      },
    });
    expect(await fn.invoke({ Records: [] })).toMatchObject({ ok: true });
    const info = (JSON.parse(docker(['inspect', containers[0]!]).stdout) as Inspected[])[0]!.HostConfig;
    expect({ memory: info.Memory, capDrop: info.CapDrop, securityOpt: info.SecurityOpt, tmp: info.Tmpfs['/tmp'], readOnly: info.ReadonlyRootfs, pids: info.PidsLimit }).toEqual({
      memory: 384 * 1024 * 1024,
      capDrop: ['ALL'],
      securityOpt: ['no-new-privileges'],
      tmp: 'rw,exec,size=640m',
      readOnly: true,
      pids: 1024,
    });
    // Seen from inside: /tmp's size, no capability left even in the bounding set, NoNewPrivs set.
    const seen = docker(['exec', containers[0]!, '/usr/local/bin/node', '-e',
      "const fs=require('fs');const s=fs.statfsSync('/tmp');const st=fs.readFileSync('/proc/self/status','utf8');console.log(JSON.stringify({tmpMb:Math.round(s.blocks*s.bsize/1048576),capBnd:/CapBnd:\\s+(\\S+)/.exec(st)[1],noNewPrivs:/NoNewPrivs:\\s+(\\S+)/.exec(st)[1]}))"]).stdout;
    expect(JSON.parse(seen)).toEqual({ tmpMb: 640, capBnd: '0000000000000000', noNewPrivs: '1' });
  }, 120_000);

  it('refuses an ephemeral storage size Lambda would refuse', () => {
    expect(() => startContainerFunction({ name: 'x', image: 'image-resize-chain/publish:latest', ephemeralStorageMb: 100 })).toThrow(/ephemeralStorageMb/);
  });
});
