// A CDKTF app in another project: the chain, plus its own stage on the resized queue (an indexer
// function) that may read the outputs and nothing else. Install and run it as the README says
// ("Use it in your own project"); test/package/cdktf-consumer.test.ts does exactly that.
import { App, TerraformStack } from 'cdktf';
import { AwsProvider } from '@cdktf/provider-aws/lib/provider';
import { ContainerFunction, ImageResizeChain, QueueFunctionBinding } from 'image-resize-chain';

const app = new App();
const stack = new TerraformStack(app, 'media');
new AwsProvider(stack, 'aws', { region: 'eu-west-1' });
const chain = new ImageResizeChain(stack, 'chain', { namePrefix: 'media' });
const indexer = new ContainerFunction(stack, 'indexer', {
  functionName: 'media-indexer',
  imageUri: '123456789012.dkr.ecr.eu-west-1.amazonaws.com/indexer:v1',
});
new QueueFunctionBinding(stack, 'indexer-stage', { queue: chain.resizedQueue, fn: indexer });
chain.grantReadOutputs(indexer);
app.synth();
