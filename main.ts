/**
 * The CDKTF app: `npm run synth` (tsx main.ts) writes cdktf.out/stacks/<stack>/cdk.tf.json;
 * `npx cdktf deploy image-resize-chain` deploys the chain in one command.
 *
 * Environment:
 * - AWS_REGION                             region of both stacks (default us-east-1)
 * - RESIZE_IMAGE_URI + PUBLISH_IMAGE_URI   use existing images; when unset, ECR repositories are
 *                                          created and the images built and pushed during deploy
 * - ALARM_TOPIC_ARN                        SNS topic for the chain's alarms (optional; if encrypted, with a
 *                                          customer-managed key CloudWatch may use, as AlarmTopic makes:
 *                                          CloudWatch cannot use alias/aws/sns)
 * - REJECTION_HANDLER_IMAGE_URI            image for the consumer stack's rejection handler (optional)
 * - RESIZE_CHAIN_ENDPOINT                  deploy both stacks to the local cloud on this endpoint
 *                                          (`resize-chain up` prints it): every service endpoint,
 *                                          path-style S3, its credentials and skip flags, as
 *                                          `resize-chain tf-override` writes them for Terraform
 */
import { App } from 'cdktf';
import { ChainConsumerStack, ImageResizeChainStack } from './modules/example-stacks';
import { LOCAL_ENDPOINT_ENV, localCdktfProviderConfig, parseLocalEndpoint } from './src/local/terraform-provider';

const env = process.env;
const region = env.AWS_REGION ?? 'us-east-1';
const images =
  env.RESIZE_IMAGE_URI && env.PUBLISH_IMAGE_URI
    ? { resize: env.RESIZE_IMAGE_URI, publish: env.PUBLISH_IMAGE_URI }
    : undefined;

const localEndpoint = env[LOCAL_ENDPOINT_ENV] ? parseLocalEndpoint(env[LOCAL_ENDPOINT_ENV]) : undefined;
if (env[LOCAL_ENDPOINT_ENV] && !localEndpoint) {
  throw new Error(
    `${LOCAL_ENDPOINT_ENV} must be an http(s)://host:port endpoint such as https://127.0.0.1:4566, ` +
      `got ${JSON.stringify(env[LOCAL_ENDPOINT_ENV])}`,
  );
}
const provider = localEndpoint ? localCdktfProviderConfig(localEndpoint) : undefined;

const app = new App();
const chainStack = new ImageResizeChainStack(app, 'image-resize-chain', {
  region,
  provider,
  chain: {
    images,
    alarmActions: env.ALARM_TOPIC_ARN ? [env.ALARM_TOPIC_ARN] : [],
    tags: { owner: 'platform' },
  },
});
new ChainConsumerStack(app, 'image-resize-chain-consumer', {
  chain: chainStack.chain,
  region,
  provider,
  rejectionHandlerImageUri: env.REJECTION_HANDLER_IMAGE_URI,
});
app.synth();
