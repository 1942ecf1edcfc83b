// `resize-chain start` as a user runs it: the CLI bundle in its own process, the whole local
// chain (stand-in S3 + SQS, notifications, event source mappings, both handlers under
// aws-lambda-ric), 20 images including a corrupt one and a key with spaces and unicode.
import { describeStartRun } from '../helpers/start-run';

describeStartRun('resize-chain start on 20 images');
