// Lambda passes the handler to an image's entrypoint through ImageConfig.Command (or the image's CMD),
// never through an `ENV _HANDLER`: every function of ours names its handler in image_config.command,
// in the CDKTF constructs and in the synthesized plain Terraform module.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { resourcesOf, synthChain, TEST_IMAGES, type TfJson } from './synth';

const PLAIN = join(__dirname, '..', '..', 'modules', 'terraform', 'image-resize-chain');

function commands(doc: TfJson): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(resourcesOf(doc, 'aws_lambda_function')).map(([name, fn]) => [
      /resize|publish|upload/.exec(name)?.[0] ?? name,
      (fn.image_config as { command?: unknown } | undefined)?.command,
    ]),
  );
}

describe('image_config.command', () => {
  test('the constructs pass resize.handler, publish.handler and upload.handler', () => {
    const doc = synthChain({
      images: { ...TEST_IMAGES, upload: '123456789012.dkr.ecr.us-east-1.amazonaws.com/irc-upload:t1' },
      uploadApi: { allowAnonymousUploads: true },
    });
    expect(commands(doc)).toEqual({
      resize: ['resize.handler'],
      publish: ['publish.handler'],
      upload: ['upload.handler'],
    });
  });

  test('the plain Terraform module (and its upload-api submodule) does the same', () => {
    const read = (file: string): TfJson => JSON.parse(readFileSync(join(PLAIN, file), 'utf8')) as TfJson;
    expect(commands(read('main.tf.json'))).toEqual({ resize: ['resize.handler'], publish: ['publish.handler'] });
    expect(commands(read('modules/upload-api/main.tf.json'))).toEqual({ upload: ['upload.handler'] });
  });
});
