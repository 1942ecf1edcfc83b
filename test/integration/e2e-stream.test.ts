// The same 20-image end-to-end run and assertions as e2e.test.ts, with the images entering through
// the Kinesis stream path (`resize-chain start --stream`: objects under stream/, one reference
// record each on a 2-shard stream) instead of bucket notifications and the ingest queue.
import { describeStartRun } from '../helpers/start-run';

describeStartRun('resize-chain start --stream on 20 images', () => ['--stream', '--stream-shards', '2'], {
  keyPrefix: 'stream/',
  extraQueues: ['image-resize-chain-stream-failures', 'image-resize-chain-stream-failures-dlq'],
});
