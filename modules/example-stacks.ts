/**
 * The example stacks that `main.ts` deploys: one stack with the chain, and a second stack that
 * reuses the chain's outputs from another team's point of view (cross-stack references).
 */
import { Construct } from 'constructs';
import { Fn, LocalBackend, TerraformOutput, TerraformStack, Token } from 'cdktf';
import { AwsProvider, type AwsProviderConfig } from '@cdktf/provider-aws/lib/provider';
import { IamRole } from '@cdktf/provider-aws/lib/iam-role';
import { CloudwatchMetricAlarm } from '@cdktf/provider-aws/lib/cloudwatch-metric-alarm';
import { ImageResizeChain, ImageResizeChainProps } from './image-resize-chain';
import { addChainOutputs } from './outputs';
import { ReadableStack } from './readable-stack';
import { RolePolicy } from './role-policy';
import { ContainerFunction } from './container-function';
import { QueueFunctionBinding } from './queue-function-binding';
import { lambdaTrustPolicyJson } from './policy';
import { AlarmTopic } from './alarm-topic';

/**
 * Local state next to cdktf.json, by a relative path: cdktf's default is an absolute path of the
 * machine that synthesized, which would not survive a clone. Terraform runs in
 * cdktf.out/stacks/<stack>/, three levels below the project root. Use a remote backend for teams.
 */
function projectLocalBackend(stack: TerraformStack, id: string): void {
  new LocalBackend(stack, { path: `../../../terraform.${id}.tfstate` });
}

export interface ChainStackProps {
  /** @default 'us-east-1' */
  readonly region?: string;
  /**
   * Extra AwsProvider settings (endpoints, credentials, skip flags), e.g. to deploy to the local
   * cloud (main.ts with RESIZE_CHAIN_ENDPOINT). @default none: the provider's own defaults
   */
  readonly provider?: Partial<AwsProviderConfig>;
  /** @default {} */
  readonly chain?: ImageResizeChainProps;
}

/** A deployable stack holding one `ImageResizeChain`, its provider and its outputs. */
export class ImageResizeChainStack extends ReadableStack {
  readonly chain: ImageResizeChain;

  constructor(scope: Construct, id: string, props: ChainStackProps = {}) {
    super(scope, id);
    projectLocalBackend(this, id);
    new AwsProvider(this, 'aws', {
      region: props.region ?? 'us-east-1',
      defaultTags: [{ tags: { application: 'image-resize-chain', stack: id } }],
      ...props.provider,
    });
    this.chain = new ImageResizeChain(this, 'chain', props.chain);
    addChainOutputs(this, this.chain);
  }
}

export interface ConsumerStackProps {
  /** The chain to consume (from another stack of the same app). */
  readonly chain: ImageResizeChain;
  /** @default 'us-east-1' */
  readonly region?: string;
  /** Extra AwsProvider settings, as ChainStackProps.provider. @default none */
  readonly provider?: Partial<AwsProviderConfig>;
  /**
   * Image of a function that handles rejected images (e.g. notifies the uploader).
   * @default - no function: rejections stay on the queue for people to inspect
   */
  readonly rejectionHandlerImageUri?: string;
}

/**
 * Another team's stack built on the chain's outputs: an application role that may upload sources
 * and read outputs, an alarm (with its own SNS topic) when images get rejected, and optionally a
 * container function consuming the rejected queue, built from the module's own parts.
 */
export class ChainConsumerStack extends ReadableStack {
  readonly appRole: IamRole;
  readonly topic: AlarmTopic;

  constructor(scope: Construct, id: string, props: ConsumerStackProps) {
    super(scope, id);
    projectLocalBackend(this, id);
    new AwsProvider(this, 'aws', {
      region: props.region ?? 'us-east-1',
      defaultTags: [{ tags: { application: 'image-resize-chain-consumer', stack: id } }],
      ...props.provider,
    });
    const { chain } = props;
    this.appRole = new IamRole(this, 'app-role', {
      name: `${id}-app`,
      description: 'Web application that issues presigned uploads and serves resized images',
      assumeRolePolicy: lambdaTrustPolicyJson(),
    });
    const appPolicy = new RolePolicy(this, 'app-policy', {
      roleName: this.appRole.name,
      policyName: 'image-resize-chain-access',
    });
    chain.grantUpload(appPolicy);
    chain.grantReadOutputs(appPolicy);

    // The account id is the 5th field of any ARN of the chain's (no STS call: plans run offline).
    this.topic = new AlarmTopic(this, 'rejections-topic', {
      topicName: `${id}-rejections`,
      accountId: Token.asString(Fn.element(Fn.split(':', chain.rejectedQueue.queueArn), 4)),
    });
    new CloudwatchMetricAlarm(this, 'rejections-alarm', {
      alarmName: `${id}-images-rejected`,
      alarmDescription: 'Uploads were rejected (not an image, corrupt, too large): see the rejected queue.',
      namespace: 'AWS/SQS',
      metricName: 'NumberOfMessagesSent',
      dimensions: { QueueName: chain.rejectedQueue.queue.name },
      statistic: 'Sum',
      period: 300,
      evaluationPeriods: 1,
      threshold: 1,
      comparisonOperator: 'GreaterThanOrEqualToThreshold',
      treatMissingData: 'notBreaching',
      alarmActions: [this.topic.topicArn],
    });

    if (props.rejectionHandlerImageUri) {
      const handler = new ContainerFunction(this, 'rejection-handler', {
        functionName: `${id}-rejections`,
        imageUri: props.rejectionHandlerImageUri,
        timeout: 30,
        memorySize: 256,
      });
      new QueueFunctionBinding(this, 'rejection-stage', {
        queue: chain.rejectedQueue,
        fn: handler,
        batchSize: 10,
        maximumConcurrency: 2,
      });
    }
    new TerraformOutput(this, 'app_role_arn', {
      value: this.appRole.arn,
      description: 'Role of the application using the chain.',
    });
    new TerraformOutput(this, 'rejections_topic_arn', {
      value: this.topic.topicArn,
      description: 'Subscribe to hear about rejected uploads.',
    });
  }
}
