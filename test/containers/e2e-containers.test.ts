// The end-to-end run of test/integration/e2e.test.ts, same 20 images and assertions, with the
// functions running as their container images (`resize-chain start --containers`).
import { describeStartRun } from '../helpers/start-run';
import { describeWhen } from '../helpers/requires';
import { ensureImages, missingDocker, type BuiltImages } from './docker';

let built: BuiltImages | undefined;

describeWhen(missingDocker(), 'container e2e', () => {
  beforeAll(() => {
    built = ensureImages(['resize', 'publish']);
  }, 20 * 60_000);
  describeStartRun('resize-chain start --containers on 20 images', () => [
    '--containers',
    '--resize-image',
    built!.images.resize,
    '--publish-image',
    built!.images.publish,
  ]);
});
