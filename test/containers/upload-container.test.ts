// The upload API with every function as a container of its image (`start --ui --containers`,
// `up --ui --containers`): the upload function signs a presigned POST from inside its container, a
// real multipart form lands a JPEG in the source bucket through the gateway, and the chain (resize
// and publish containers too) writes its variants and manifest.
import { GetObjectCommand } from '@aws-sdk/client-s3';
import sharp from 'sharp';
import { manifestKey } from '../../src/core/keys';
import { DEFAULT_VARIANTS } from '../../src/core/variants';
import { startLocalChain, type LocalChain } from '../../src/local/chain';
import { SANDBOX_LABEL } from '../../src/local/cloud/lambda/container-host';
import { synthesizeImage } from '../../src/tools/samples';
import { describeWhen } from '../helpers/requires';
import { waitFor } from '../helpers/wait';
import { localFetch } from '../helpers/up-process';
import { docker, ensureImages, missingDocker, type BuiltImages } from './docker';

interface Signed {
  url: string;
  fields: Record<string, string>;
  key: string;
}

async function bodyOf(chain: LocalChain, bucket: string, key: string): Promise<Buffer> {
  const res = await chain.s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return Buffer.from(await res.Body!.transformToByteArray());
}

describeWhen(missingDocker(), 'upload API with the functions as containers', () => {
  let built: BuiltImages;
  let chain: LocalChain;
  const lines: Array<Record<string, unknown>> = [];

  beforeAll(async () => {
    built = ensureImages(['resize', 'publish', 'upload']);
    chain = await startLocalChain({
      uploadApi: {},
      containers: {
        resizeImage: built.images.resize,
        publishImage: built.images.publish,
        uploadImage: built.images.upload,
      },
      resize: { concurrency: 1 },
      publish: { concurrency: 1 },
      logSink: (line) => lines.push(line),
    });
  }, 20 * 60_000);

  afterAll(async () => {
    await chain?.stop();
  });

  const sandboxStarts = (fn: string) => lines.filter((l) => l.type === 'SANDBOX_START' && l.fn === fn);

  it('starts the upload function as a container of the upload image, running while the chain runs', async () => {
    const starts = sandboxStarts('image-resize-chain-upload');
    expect(starts).toHaveLength(1);
    expect(starts[0]).toMatchObject({
      kind: 'container',
      image: built.images.upload,
      container: expect.stringMatching(/^irc-/),
    });
    const name = String(starts[0]?.container);
    const running = (): string =>
      docker([
        'ps',
        '--filter',
        `label=${SANDBOX_LABEL}`,
        '--filter',
        `name=^${name}$`,
        '--format',
        '{{.Names}} {{.Image}}',
      ]).stdout.trim();
    // The function host returns once `docker run` is spawned; the engine lists the container a moment later.
    expect(await waitFor(`the engine to list ${name}`, () => running() || undefined, 30_000, 200)).toBe(
      `${name} ${built.images.upload}`,
    );
  });

  it(
    'signs a presigned POST from the container, ' +
      'takes the JPEG through the gateway, and the chain writes its variants',
    async () => {
      const jpeg = await synthesizeImage({ width: 1200, height: 800, seed: 77, format: 'jpeg' });
      const api = chain.uploadApi!;
      const res = await fetch(`${api.apiUrl}/uploads`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ filename: 'from container.jpg', contentType: 'image/jpeg', size: jpeg.length }),
      });
      expect(res.status).toBe(201);
      const signed = (await res.json()) as Signed;
      // Signed for the endpoint as the container reaches it (its bridge forwarder keeps the port);
      // the form goes where the upload page sends it: the same URL with this machine's loopback.
      const endpointPort = new URL(chain.endpoint).port;
      expect(signed.url).toBe(`https://host.docker.internal:${endpointPort}/${chain.resources.buckets.source}`);
      const target = signed.url.replace('host.docker.internal', '127.0.0.1');
      expect(signed.key).toMatch(/^uploads\/[0-9a-f-]{36}\/from-container\.jpg$/);

      const form = new FormData();
      for (const [k, v] of Object.entries(signed.fields)) form.append(k, v);
      form.append('file', new Blob([jpeg], { type: 'image/jpeg' }), 'from container.jpg');
      expect((await localFetch(target, { method: 'POST', body: form })).status).toBe(204);

      const key = manifestKey(signed.key, chain.outputPrefix);
      type Manifest = {
        source: { key: string; width: number };
        variants: Array<{ name: string; key: string; width: number; format: string }>;
      };
      const manifest = await waitFor(
        `the manifest ${key}`,
        async () => JSON.parse((await bodyOf(chain, chain.resources.buckets.output, key)).toString('utf8')) as Manifest,
        120_000,
      );
      expect(manifest.source).toMatchObject({ key: signed.key, width: 1200 });
      expect(manifest.variants.map((v) => v.name)).toEqual(DEFAULT_VARIANTS.map((v) => v.name));
      for (const v of manifest.variants) {
        const meta = await sharp(await bodyOf(chain, chain.resources.buckets.output, v.key)).metadata();
        expect({ name: v.name, width: meta.width, format: meta.format }).toEqual({
          name: v.name,
          width: v.width,
          format: v.format,
        });
      }
      // Every function of the run was a container: the upload's sandbox is still the one started first.
      for (const fn of ['image-resize-chain-resize', 'image-resize-chain-publish', 'image-resize-chain-upload']) {
        expect(sandboxStarts(fn).every((l) => l.kind === 'container')).toBe(true);
      }
      expect(chain.functions.upload?.stats()).toMatchObject({ invocations: 1, errors: 0 });
    },
  );
});
