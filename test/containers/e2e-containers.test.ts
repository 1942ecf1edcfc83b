// The end-to-end run of test/integration/e2e.test.ts, same 20 images and assertions, with the
// functions running as their container images (`resize-chain start --containers`).
import { describeStartRun } from '../helpers/start-run';
import { ensureImages, requireDocker, type BuiltImages } from './docker';

const haveDocker = requireDocker('container e2e');
let built: BuiltImages | undefined;

if (haveDocker) {
  beforeAll(() => {
    built = ensureImages(['resize', 'publish']);
  }, 20 * 60_000);
  describeStartRun('resize-chain start --containers on 20 images', () => [
    '--containers',
    '--resize-image',
    built!.images.resize!,
    '--publish-image',
    built!.images.publish!,
  ]);
} else {
  describe.skip('resize-chain start --containers on 20 images (no Docker engine)', () => {
    it('needs a Docker engine', () => undefined);
  });
}
