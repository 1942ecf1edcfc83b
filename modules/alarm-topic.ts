/**
 * `AlarmTopic`: an SNS topic that CloudWatch alarms can actually publish to when encrypted. CloudWatch
 * cannot use the AWS-managed `alias/aws/sns` key (its key policy cannot be changed), so notifications
 * to such a topic are silently dropped; this topic uses a customer-managed key (rotation on) whose
 * policy lets `cloudwatch.amazonaws.com` generate data keys and decrypt.
 */
import { Construct } from 'constructs';
import { TerraformLocal } from 'cdktf';
import { KmsKey } from '@cdktf/provider-aws/lib/kms-key';
import { SnsTopic } from '@cdktf/provider-aws/lib/sns-topic';
import { DataAwsPartition } from '@cdktf/provider-aws/lib/data-aws-partition';
import { resourcePolicyJson } from './policy';

/** What CloudWatch needs on the key of an encrypted topic it publishes alarm notifications to. */
export const CLOUDWATCH_TOPIC_KEY_ACTIONS = ['kms:GenerateDataKey*', 'kms:Decrypt'];

export interface AlarmTopicProps {
  readonly topicName: string;
  /**
   * The account that owns the key; its IAM policies then govern who administers it (AWS's default
   * key policy statement). Give it from an ARN you already have, e.g.
   * `Fn.element(Fn.split(':', queueArn), 4)`, so plans need no STS call.
   */
  readonly accountId: string;
  /** @default {} */
  readonly tags?: Record<string, string>;
}

export class AlarmTopic extends Construct {
  readonly key: KmsKey;
  readonly topic: SnsTopic;

  constructor(scope: Construct, id: string, props: AlarmTopicProps) {
    super(scope, id);
    // aws_partition is computed by the provider locally: no API call.
    const partition = new DataAwsPartition(this, 'partition');
    // A local keeps an expression's quoted arguments out of the policy JSON string.
    const account = new TerraformLocal(this, 'account-id', props.accountId).asString;
    this.key = new KmsKey(this, 'key', {
      description: `Encrypts the ${props.topicName} alarm topic (usable by CloudWatch)`,
      enableKeyRotation: true,
      deletionWindowInDays: 30,
      policy: resourcePolicyJson([
        {
          sid: 'EnableAccountIamPolicies',
          principal: { AWS: `arn:${partition.partition}:iam::${account}:root` },
          actions: ['kms:*'],
          resources: ['*'],
        },
        {
          sid: 'AllowCloudWatchAlarms',
          principal: { Service: 'cloudwatch.amazonaws.com' },
          actions: [...CLOUDWATCH_TOPIC_KEY_ACTIONS],
          resources: ['*'],
        },
      ]),
      tags: props.tags,
    });
    this.topic = new SnsTopic(this, 'topic', { name: props.topicName, kmsMasterKeyId: this.key.arn, tags: props.tags });
  }

  get topicArn(): string {
    return this.topic.arn;
  }
}
