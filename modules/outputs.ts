/** The chain's Terraform outputs, shared by the CDKTF example stack and the plain Terraform module. */
import { Construct } from 'constructs';
import { ITerraformDependable, TerraformOutput, dependable } from 'cdktf';
import { ImageResizeChain } from './image-resize-chain';

export interface ChainOutput {
  readonly value: string;
  readonly description: string;
  /** Whatever uses the output waits for these too. @default [] */
  readonly dependsOn?: ITerraformDependable[];
}

/** Output name -> value and description. Names are snake_case, as Terraform users expect. */
export function chainOutputs(chain: ImageResizeChain): Record<string, ChainOutput> {
  return {
    source_bucket_name: { value: chain.sourceBucket.bucketName, description: 'Bucket that receives uploads.' },
    source_bucket_arn: { value: chain.sourceBucket.bucketArn, description: 'ARN of the source bucket.' },
    uploads_prefix: { value: chain.uploadsPrefix, description: 'Key prefix that triggers the chain.' },
    output_bucket_name: {
      value: chain.outputBucket.bucketName,
      description: 'Bucket that receives variants and manifests.',
    },
    output_bucket_arn: { value: chain.outputBucket.bucketArn, description: 'ARN of the output bucket.' },
    output_prefix: { value: chain.outputPrefix, description: 'Key prefix of outputs.' },
    ingest_queue_url: { value: chain.ingestQueue.queueUrl, description: 'Queue of S3 upload notifications.' },
    ingest_queue_arn: { value: chain.ingestQueue.queueArn, description: 'ARN of the ingest queue.' },
    ingest_dlq_arn: {
      value: chain.ingestQueue.deadLetterQueue.arn,
      description: 'Dead-letter queue of the ingest queue.',
    },
    resized_queue_url: {
      value: chain.resizedQueue.queueUrl,
      description: 'Queue of image.resized events (consumed by publish).',
    },
    resized_queue_arn: { value: chain.resizedQueue.queueArn, description: 'ARN of the resized queue.' },
    resized_dlq_arn: {
      value: chain.resizedQueue.deadLetterQueue.arn,
      description: 'Dead-letter queue of the resized queue.',
    },
    rejected_queue_url: {
      value: chain.rejectedQueue.queueUrl,
      description: 'Queue of image.rejected events (no consumer in the module).',
    },
    rejected_queue_arn: { value: chain.rejectedQueue.queueArn, description: 'ARN of the rejected queue.' },
    resize_function_name: { value: chain.resizeFunction.functionName, description: 'Name of the resize function.' },
    resize_function_arn: { value: chain.resizeFunction.functionArn, description: 'ARN of the resize function.' },
    resize_role_arn: { value: chain.resizeFunction.role.arn, description: 'Execution role of the resize function.' },
    resize_role_name: {
      value: chain.resizeFunction.role.name,
      description:
        'Name of the execution role of the resize function (to attach further policies, ' +
        'e.g. the stream-source submodule).',
    },
    resize_invoke_target_arn: {
      value: chain.resizeFunction.invokeTargetArn,
      description:
        'What event sources should invoke for resize: the live alias with provisioned concurrency, else the function.',
      // An event source mapping on the alias should start polling once its environments are ready.
      dependsOn: chain.resizeFunction.provisionedConcurrencyConfig
        ? [chain.resizeFunction.provisionedConcurrencyConfig]
        : undefined,
    },
    publish_function_name: { value: chain.publishFunction.functionName, description: 'Name of the publish function.' },
    publish_function_arn: { value: chain.publishFunction.functionArn, description: 'ARN of the publish function.' },
    publish_role_arn: { value: chain.publishFunction.role.arn, description: 'Execution role of the publish function.' },
    publish_invoke_target_arn: {
      value: chain.publishFunction.invokeTargetArn,
      description:
        'What event sources should invoke for publish: the live alias with provisioned concurrency, else the function.',
      dependsOn: chain.publishFunction.provisionedConcurrencyConfig
        ? [chain.publishFunction.provisionedConcurrencyConfig]
        : undefined,
    },
    ...(chain.streamSource
      ? {
          stream_name: {
            value: chain.streamSource.streamName,
            description: 'Kinesis stream of S3 object references feeding the resize function.',
          },
          stream_arn: { value: chain.streamSource.streamArn, description: 'ARN of the Kinesis stream.' },
          stream_failure_destination_arn: {
            value: chain.streamSource.onFailureDestinationArn,
            description: 'Where failure records of the stream mapping go.',
          },
        }
      : {}),
    ...(chain.dashboard
      ? {
          dashboard_name: {
            value: chain.dashboard.dashboard.dashboardName,
            description: 'Name of the CloudWatch dashboard of the chain.',
          },
          dashboard_url: {
            value: chain.dashboard.url,
            description: 'The CloudWatch dashboard of the chain in the AWS console.',
          },
        }
      : {}),
    ...(chain.uploadApi
      ? {
          upload_api_url: {
            value: chain.uploadApi.url,
            description: 'Base URL of the upload API (POST <url>/uploads).',
          },
        }
      : {}),
  };
}

/** Adds every `chainOutputs` entry as a `TerraformOutput` of `scope`'s stack. */
export function addChainOutputs(scope: Construct, chain: ImageResizeChain): Record<string, TerraformOutput> {
  const outputs: Record<string, TerraformOutput> = {};
  for (const [name, { value, description, dependsOn }] of Object.entries(chainOutputs(chain))) {
    outputs[name] = new TerraformOutput(scope, name, { value, description });
    // cdktf renders an output's depends_on as "${…}", which Terraform refuses: give plain addresses.
    if (dependsOn?.length) outputs[name].addOverride('depends_on', dependsOn.map(dependable));
  }
  return outputs;
}
