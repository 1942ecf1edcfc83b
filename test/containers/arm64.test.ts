// The linux/arm64 images (the module's `architecture: 'arm64'`), built from the same Dockerfile as the
// amd64 ones (build stages cross-compile on this machine's CPU) and run here under QEMU: each image is
// arm64 and within the size budgets, its native modules load, and the chain resizes with the arm64
// resize and publish images, as on Graviton.
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import sharp from 'sharp';
import { manifestKey } from '../../src/core/keys';
import { DEFAULT_VARIANTS } from '../../src/core/variants';
import { startLocalChain, type LocalChain } from '../../src/local/chain';
import { synthesizeImage } from '../../src/tools/samples';
import { describeWhen } from '../helpers/requires';
import { docker, ensureImages, missingArm64, missingDocker, type BuiltImages } from './docker';

const PLATFORM = 'linux/arm64';
/** The same budgets as the amd64 images (README "Container images"). */
const BUDGET_MB: Record<string, number> = { resize: 250, publish: 180, upload: 180 };

describeWhen(missingDocker() ?? missingArm64(), 'linux/arm64 images under QEMU', () => {
  let built: BuiltImages;

  beforeAll(() => {
    built = ensureImages(['resize', 'publish', 'upload'], PLATFORM);
  }, 30 * 60_000);

  it('builds every handler for arm64 within the amd64 size budgets', () => {
    for (const [handler, image] of Object.entries(built.images)) {
      const [arch, os, size] = docker(['image', 'inspect', '--format', '{{.Architecture}} {{.Os}} {{.Size}}', image])
        .stdout.trim()
        .split(' ');
      expect({ handler, arch, os }).toEqual({ handler, arch: 'arm64', os: 'linux' });
      expect(Number(size) / 1e6).toBeLessThanOrEqual(BUDGET_MB[handler]);
    }
  });

  it('loads the arm64 builds of sharp and aws-lambda-ric inside the resize image, as its non-root user', () => {
    const script = [
      "process.env.AWS_LAMBDA_RUNTIME_API = '127.0.0.1:9';",
      "require('/var/task/node_modules/aws-lambda-ric/rapid-client.node');",
      "const s = require('/var/task/node_modules/sharp');",
      'console.log(JSON.stringify({ arch: process.arch, uid: process.getuid(), vips: s.versions.vips, ' +
        'formats: Object.keys(s.format).filter((f) => s.format[f].output.buffer).sort() }));',
    ].join(' ');
    const out = docker([
      'run',
      '--rm',
      '--platform',
      PLATFORM,
      '--entrypoint',
      '/usr/local/bin/node',
      built.images.resize,
      '-e',
      script,
    ]).stdout.trim();
    const report = JSON.parse(out.split('\n').pop()!) as { arch: string; uid: number; vips: string; formats: string[] };
    expect(report).toMatchObject({ arch: 'arm64', uid: 993 });
    expect(report.vips).toMatch(/^\d+\.\d+\.\d+$/);
    expect(report.formats).toEqual(expect.arrayContaining(['heif', 'jpeg', 'png', 'webp']));
  });

  describe('the chain with the arm64 resize and publish containers', () => {
    let chain: LocalChain;
    const lines: Array<Record<string, unknown>> = [];

    beforeAll(async () => {
      chain = await startLocalChain({
        containers: { resizeImage: built.images.resize, publishImage: built.images.publish },
        resize: { concurrency: 1, timeoutSeconds: 120 },
        publish: { concurrency: 1, timeoutSeconds: 60 },
        logSink: (line) => lines.push(line),
      });
    }, 120_000);

    afterAll(async () => {
      await chain?.stop();
    });

    async function body(bucket: string, key: string): Promise<Buffer> {
      const res = await chain.s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      return Buffer.from(await res.Body!.transformToByteArray());
    }

    it('resizes a JPEG and a PNG into every variant and rejects a truncated file as TRUNCATED', async () => {
      const sources = {
        [`${chain.uploadsPrefix}arm/photo.jpg`]: await synthesizeImage({
          width: 1600,
          height: 1000,
          seed: 64,
          format: 'jpeg',
        }),
        [`${chain.uploadsPrefix}arm/drawing.png`]: await synthesizeImage({
          width: 900,
          height: 900,
          seed: 65,
          format: 'png',
        }),
      };
      const corruptKey = `${chain.uploadsPrefix}arm/truncated.jpg`;
      const corrupt = Buffer.concat([
        sources[`${chain.uploadsPrefix}arm/photo.jpg`].subarray(0, 2000),
        Buffer.alloc(4000, 0x55),
      ]);
      for (const [key, bytes] of [...Object.entries(sources), [corruptKey, corrupt] as const]) {
        await chain.s3.send(new PutObjectCommand({ Bucket: chain.resources.buckets.source, Key: key, Body: bytes }));
      }
      await chain.waitForIdle(240_000);

      for (const key of Object.keys(sources)) {
        const manifest = JSON.parse(
          (await body(chain.resources.buckets.output, manifestKey(key, chain.outputPrefix))).toString('utf8'),
        ) as {
          variants: Array<{ name: string; key: string; width: number; format: string }>;
        };
        expect(manifest.variants.map((v) => v.name)).toEqual(DEFAULT_VARIANTS.map((v) => v.name));
        for (const v of manifest.variants) {
          const meta = await sharp(await body(chain.resources.buckets.output, v.key)).metadata();
          expect({ key: v.key, width: meta.width, format: meta.format }).toEqual({
            key: v.key,
            width: v.width,
            format: v.format,
          });
        }
      }
      const rejected = await chain.sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: chain.resources.queues.rejected.url,
          MaxNumberOfMessages: 10,
          WaitTimeSeconds: 2,
        }),
      );
      const reasons = (rejected.Messages ?? []).map(
        (m) => JSON.parse(m.Body ?? '{}') as { code?: string; source?: { key?: string } },
      );
      expect(reasons).toEqual([
        expect.objectContaining({ code: 'TRUNCATED', source: expect.objectContaining({ key: corruptKey }) }),
      ]);
    }, 300_000);

    it('ran every sandbox as a container of an arm64 image, executing arm64 code', () => {
      const starts = lines.filter((l) => l.type === 'SANDBOX_START');
      expect(starts.length).toBeGreaterThanOrEqual(2);
      expect(new Set(starts.map((l) => l.kind))).toEqual(new Set(['container']));
      expect(new Set(starts.map((l) => l.image))).toEqual(new Set([built.images.resize, built.images.publish]));
      // A sandbox still running: its process reports the CPU it runs as.
      const name = String(starts.find((l) => l.image === built.images.resize)?.container);
      expect(docker(['exec', name, '/usr/local/bin/node', '-p', 'process.arch']).stdout.trim()).toBe('arm64');
    });
  });
});
