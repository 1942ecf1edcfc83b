// A function container runs within what Lambda allows a function: memory capped at the function's
// memory size, /tmp a tmpfs of its ephemeral storage size on a read-only root, no Linux capabilities,
// no privilege gain, Lambda's process limit; and a network of its own, from which it reaches the
// Runtime API it polls (and the endpoint) but no other loopback port of this machine.
import net from 'node:net';
import { startContainerFunction } from '../../src/local/cloud/lambda/container-host';
import { dockerBridgeAddress } from '../../src/local/cloud/lambda/docker-run';
import type { LocalFunction } from '../../src/local/cloud/lambda/function-host';
import { describeWhen } from '../helpers/requires';
import { docker, ensureImages, missingDocker } from './docker';

interface Inspected {
  HostConfig: {
    NetworkMode: string;
    Memory: number;
    MemorySwap: number;
    CapDrop: string[] | null;
    SecurityOpt: string[] | null;
    Tmpfs: Record<string, string>;
    ReadonlyRootfs: boolean;
    PidsLimit: number | null;
  };
}

describeWhen(missingDocker(), 'a function container', () => {
  let fn: LocalFunction | undefined;
  const containers: string[] = [];
  let runtimeApiPort = 0;

  afterAll(async () => {
    await fn?.stop();
  });

  it('gets the function memory, the ephemeral storage as /tmp, no capabilities and no-new-privileges', async () => {
    const image = ensureImages(['publish']).images.publish;
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
    const info = (JSON.parse(docker(['inspect', containers[0]]).stdout) as Inspected[])[0].HostConfig;
    expect({
      memory: info.Memory,
      capDrop: info.CapDrop,
      securityOpt: info.SecurityOpt,
      tmp: info.Tmpfs['/tmp'],
      readOnly: info.ReadonlyRootfs,
      pids: info.PidsLimit,
    }).toEqual({
      memory: 384 * 1024 * 1024,
      capDrop: ['ALL'],
      securityOpt: ['no-new-privileges'],
      tmp: 'rw,exec,size=640m',
      readOnly: true,
      pids: 1024,
    });
    // Seen from inside: /tmp's size, no capability left even in the bounding set, NoNewPrivs set.
    const seen = docker([
      'exec',
      containers[0],
      '/usr/local/bin/node',
      '-e',
      "const fs=require('fs');const s=fs.statfsSync('/tmp');const " +
        "st=fs.readFileSync('/proc/self/status','utf8');" +
        'console.log(JSON.stringify({tmpMb:Math.round(s.blocks*s.bsize/1048576),' +
        'capBnd:/CapBnd:\\s+(\\S+)/.exec(st)[1],noNewPrivs:/NoNewPrivs:\\s+(\\S+)/.exec(st)[1]}))',
    ]).stdout;
    expect(JSON.parse(seen)).toEqual({ tmpMb: 640, capBnd: '0000000000000000', noNewPrivs: '1' });
  }, 120_000);

  it('runs on the bridge: reaches its Runtime API, not a server on 127.0.0.1 of this machine', async () => {
    expect(containers.length).toBeGreaterThan(0); // the container of the test above, still running
    const unrelated = net.createServer((socket) => socket.end('reached'));
    await new Promise<void>((resolve) => unrelated.listen(0, '127.0.0.1', resolve));
    const port = (unrelated.address() as net.AddressInfo).port;
    try {
      const info = (JSON.parse(docker(['inspect', containers[0]]).stdout) as Inspected[])[0].HostConfig;
      // From inside: connect to the Runtime API as the container's environment names it, and to the
      // test's server as 127.0.0.1 and as host.docker.internal; each attempt says how it ended.
      const probe = `const net=require('net');const api=process.env.AWS_LAMBDA_RUNTIME_API;const i=api.lastIndexOf(':');
        const tryConnect=(host,port)=>new Promise((r)=>{const s=net.connect(Number(port),host);
          s.setTimeout(5000,()=>{s.destroy();r('timeout')});
          s.once('connect',()=>{s.destroy();r('connected')});s.once('error',(e)=>r(e.code))});
        Promise.all([tryConnect(api.slice(0,i),api.slice(i+1)),tryConnect('127.0.0.1',${port}),
          tryConnect('host.docker.internal',${port})])
          .then(([runtimeApi,loopback,hostAlias])=>console.log(JSON.stringify({runtimeApi,loopback,hostAlias})))`;
      const seen = JSON.parse(docker(['exec', containers[0], '/usr/local/bin/node', '-e', probe]).stdout) as Record<
        string,
        string
      >;
      runtimeApiPort = Number(
        /^host\.docker\.internal:(\d+)$/.exec(
          docker([
            'exec',
            containers[0],
            '/usr/local/bin/node',
            '-p',
            'process.env.AWS_LAMBDA_RUNTIME_API',
          ]).stdout.trim(),
        )?.[1],
      );
      expect({
        network: info.NetworkMode,
        runtimeApi: seen.runtimeApi,
        loopbackReached: seen.loopback === 'connected',
        hostAliasReached: seen.hostAlias === 'connected',
      }).toEqual({
        network: 'bridge',
        runtimeApi: 'connected',
        loopbackReached: false,
        hostAliasReached: false,
      });
      // And the function still answers through its Runtime API.
      expect(await fn!.invoke({ Records: [] })).toMatchObject({ ok: true });
    } finally {
      await new Promise((resolve) => unrelated.close(resolve));
    }
  }, 60_000);

  it('closes the forwarders on the bridge address with the function', async () => {
    expect(runtimeApiPort).toBeGreaterThan(0);
    const connects = (): Promise<boolean> =>
      new Promise((resolve) => {
        const s = net.connect(runtimeApiPort, dockerBridgeAddress());
        s.once('connect', () => {
          s.destroy();
          resolve(true);
        });
        s.once('error', () => resolve(false));
      });
    expect(await connects()).toBe(true);
    await fn!.stop();
    fn = undefined;
    expect(await connects()).toBe(false);
  }, 60_000);

  it('refuses an ephemeral storage size Lambda would refuse', () => {
    expect(() =>
      startContainerFunction({ name: 'x', image: 'image-resize-chain/publish:latest', ephemeralStorageMb: 100 }),
    ).toThrow(/ephemeralStorageMb/);
  });
});
