// Lambda's image check, the parts that need no registry or engine: how an image URI is read, which
// manifests Lambda takes, and the refusals of URIs the local cloud cannot or Lambda would not pull.
import { isLambdaManifest, parseImageUri, resolveLambdaImage } from '../../src/local/cloud/ecr/lambda-image';
import { DOCKER_MANIFEST, OCI_INDEX, OCI_MANIFEST } from '../../src/local/cloud/ecr/registry-api';

const DIGEST = `sha256:${'a'.repeat(64)}`;

describe('parseImageUri', () => {
  test.each([
    ['127.0.0.1:5000/team/app:v1', { host: '127.0.0.1:5000', repository: 'team/app', tag: 'v1' }],
    [`127.0.0.1:5000/app@${DIGEST}`, { host: '127.0.0.1:5000', repository: 'app', digest: DIGEST }],
    ['image-resize-chain/resize:latest', { repository: 'image-resize-chain/resize', tag: 'latest' }],
    ['localhost/app', { host: 'localhost', repository: 'app' }],
    [
      '123456789012.dkr.ecr.eu-west-1.amazonaws.com/app:1',
      { host: '123456789012.dkr.ecr.eu-west-1.amazonaws.com', repository: 'app', tag: '1' },
    ],
  ])('%s', (uri, expected) => {
    expect(parseImageUri(uri)).toEqual(expected);
  });
});

describe('isLambdaManifest', () => {
  const image = (mediaType: string, config: string, layers: string[]): { mediaType: string; body: string } => ({
    mediaType,
    body: JSON.stringify({
      schemaVersion: 2,
      mediaType,
      config: { mediaType: config, digest: DIGEST, size: 1 },
      layers: layers.map((m) => ({ mediaType: m, digest: DIGEST, size: 1 })),
    }),
  });

  test('a Docker v2 image manifest and an OCI image manifest are taken', () => {
    expect(
      isLambdaManifest(
        image(DOCKER_MANIFEST, 'application/vnd.docker.container.image.v1+json', [
          'application/vnd.docker.image.rootfs.diff.tar.gzip',
        ]),
      ),
    ).toBe(true);
    expect(
      isLambdaManifest(
        image(OCI_MANIFEST, 'application/vnd.oci.image.config.v1+json', [
          'application/vnd.oci.image.layer.v1.tar+gzip',
        ]),
      ),
    ).toBe(true);
  });

  test('an index, an attestation manifest (in-toto layer) and an artifact config are refused', () => {
    expect(isLambdaManifest({ mediaType: OCI_INDEX, body: JSON.stringify({ manifests: [] }) })).toBe(false);
    expect(
      isLambdaManifest(
        image(OCI_MANIFEST, 'application/vnd.oci.image.config.v1+json', ['application/vnd.in-toto+json']),
      ),
    ).toBe(false);
    expect(
      isLambdaManifest(
        image(OCI_MANIFEST, 'application/vnd.cncf.helm.config.v1+json', ['application/vnd.oci.image.layer.v1.tar']),
      ),
    ).toBe(false);
  });
});

describe('resolveLambdaImage refusals that need no registry', () => {
  test("an image of AWS's ECR: Lambda's AccessDeniedException (the local cloud cannot pull it)", async () => {
    await expect(resolveLambdaImage('123456789012.dkr.ecr.us-east-1.amazonaws.com/app:v1')).rejects.toMatchObject({
      code: 'AccessDeniedException',
      status: 403,
      message: 'Lambda does not have permission to access the ECR image. Check the ECR permissions.',
    });
  });

  test.each(['public.ecr.aws/lambda/nodejs:22', 'docker.io/library/node:22', '127.0.0.1:5000/app'])(
    '%s is not a source image Lambda takes',
    async (uri) => {
      await expect(resolveLambdaImage(uri)).rejects.toMatchObject({
        code: 'InvalidParameterValueException',
        message: `Source image ${uri} is not valid. Provide a valid source image.`,
      });
    },
  );
});
