/**
 * SNS topic management for the local cloud, as the AWS provider does it for `aws_sns_topic`
 * (CreateTopic, then SetTopicAttributes one attribute at a time, GetTopicAttributes, the tag
 * calls, DeleteTopic) over the Query protocol, with SNS's errors and messages. The topic records
 * (attributes, policy, tags) are held here; sns-route.ts keeps the stand-in's own topic of the same
 * name, which carries the messages (Publish, Subscribe and the rest go to the stand-in).
 */
import {
  QueryError,
  memberRecords,
  memberStrings,
  members,
  type QueryParams,
  type QueryService,
} from '../query-protocol';

export const SNS_XMLNS = 'http://sns.amazonaws.com/doc/2010-03-31/';

/** Attributes SetTopicAttributes and CreateTopic take (the rest are read-only or unknown: InvalidParameter). */
const SETTABLE_ATTRIBUTES = new Set([
  'DeliveryPolicy',
  'DisplayName',
  'Policy',
  'TracingConfig',
  'KmsMasterKeyId',
  'SignatureVersion',
  'ContentBasedDeduplication',
  'FifoThroughputScope',
  'ArchivePolicy',
  'DataProtectionPolicy',
  'HTTPSuccessFeedbackRoleArn',
  'HTTPFailureFeedbackRoleArn',
  'HTTPSuccessFeedbackSampleRate',
  'LambdaSuccessFeedbackRoleArn',
  'LambdaFailureFeedbackRoleArn',
  'LambdaSuccessFeedbackSampleRate',
  'SQSSuccessFeedbackRoleArn',
  'SQSFailureFeedbackRoleArn',
  'SQSSuccessFeedbackSampleRate',
  'ApplicationSuccessFeedbackRoleArn',
  'ApplicationFailureFeedbackRoleArn',
  'ApplicationSuccessFeedbackSampleRate',
  'FirehoseSuccessFeedbackRoleArn',
  'FirehoseFailureFeedbackRoleArn',
  'FirehoseSuccessFeedbackSampleRate',
]);
/** Attributes only CreateTopic takes. */
const CREATE_ONLY_ATTRIBUTES = new Set(['FifoTopic']);
const TOPIC_NAME = /^[A-Za-z0-9_-]{1,256}$/;
const FIFO_TOPIC_NAME = /^[A-Za-z0-9_-]{1,251}\.fifo$/;

interface Topic {
  readonly arn: string;
  readonly attributes: Map<string, string>;
  readonly tags: Map<string, string>;
}

function invalidParameter(message: string): QueryError {
  return new QueryError('InvalidParameter', `Invalid parameter: ${message}`);
}

function required(params: QueryParams, field: string): string {
  const value = params[field];
  if (value === undefined) throw invalidParameter(field);
  return value;
}

/** A Query map `name.entry.N.key` / `name.entry.N.value` as pairs, in order. */
export function entryPairs(params: QueryParams, name: string): Array<[string, string]> {
  const pairs: Array<[string, string]> = [];
  for (let i = 1; params[`${name}.entry.${i}.key`] !== undefined; i += 1)
    pairs.push([params[`${name}.entry.${i}.key`], params[`${name}.entry.${i}.value`] ?? '']);
  return pairs;
}

/** The access policy SNS gives a new topic: the owner account may manage and publish. */
export function defaultTopicPolicy(arn: string, accountId: string): string {
  return JSON.stringify({
    Version: '2008-10-17',
    Id: '__default_policy_ID',
    Statement: [
      {
        Sid: '__default_statement_ID',
        Effect: 'Allow',
        Principal: { AWS: '*' },
        Action: [
          'SNS:GetTopicAttributes',
          'SNS:SetTopicAttributes',
          'SNS:AddPermission',
          'SNS:RemovePermission',
          'SNS:DeleteTopic',
          'SNS:Subscribe',
          'SNS:ListSubscriptionsByTopic',
          'SNS:Publish',
        ],
        Resource: arn,
        Condition: { StringEquals: { 'AWS:SourceOwner': accountId } },
      },
    ],
  });
}

/** The topic's name from CreateTopic's Name, refused as SNS refuses it. */
function topicName(params: QueryParams, fifo: boolean): string {
  const name = required(params, 'Name');
  if (fifo ? !FIFO_TOPIC_NAME.test(name) : !TOPIC_NAME.test(name))
    throw invalidParameter(
      fifo
        ? 'Fifo Topic names must end with .fifo and must be made up of only uppercase and lowercase ASCII ' +
            'letters, numbers, underscores, and hyphens, and must be between 1 and 256 characters long.'
        : 'Topic Name',
    );
  return name;
}

/** The SNS topic-management service of the local cloud (see the file comment). @param partition @default 'aws' */
export function snsService(region: string, accountId: string, partition = 'aws'): QueryService {
  const topics = new Map<string, Topic>();
  const arnOf = (name: string): string => `arn:${partition}:sns:${region}:${accountId}:${name}`;

  function topic(arn: string): Topic {
    const found = topics.get(arn);
    if (!found) throw new QueryError('NotFound', 'Topic does not exist', 404);
    return found;
  }

  function tagged(arn: string): Topic {
    const found = topics.get(arn);
    if (!found) throw new QueryError('ResourceNotFound', 'Resource does not exist', 404);
    return found;
  }

  function checkAttribute(name: string, value: string, creating: boolean): void {
    if (!SETTABLE_ATTRIBUTES.has(name) && !(creating && CREATE_ONLY_ATTRIBUTES.has(name)))
      throw invalidParameter('AttributeName');
    if ((name === 'Policy' || name === 'DeliveryPolicy') && value !== '') {
      try {
        JSON.parse(value);
      } catch {
        throw invalidParameter(`${name}: failed to parse JSON.`);
      }
    }
  }

  function createTopic(params: QueryParams): { TopicArn: string } {
    const attributes = entryPairs(params, 'Attributes');
    const fifo = attributes.some(([key, value]) => key === 'FifoTopic' && value === 'true');
    const name = topicName(params, fifo);
    for (const [key, value] of attributes) checkAttribute(key, value, true);
    const arn = arnOf(name);
    const existing = topics.get(arn);
    if (existing) {
      // CreateTopic is idempotent for the same attributes; different ones are refused.
      const differs = attributes.some(([key, value]) => (existing.attributes.get(key) ?? '') !== value);
      if (differs) throw invalidParameter('Attributes Reason: Topic already exists with different attributes');
      return { TopicArn: arn };
    }
    topics.set(arn, {
      arn,
      attributes: new Map([['Policy', defaultTopicPolicy(arn, accountId)], ...attributes]),
      tags: new Map(memberRecords(params, 'Tags').map((tag) => [tag.Key ?? '', tag.Value ?? ''])),
    });
    return { TopicArn: arn };
  }

  function attributesOf(t: Topic): Array<{ key: string; value: string }> {
    const fifo = t.attributes.get('FifoTopic') === 'true';
    const computed: Record<string, string> = {
      TopicArn: t.arn,
      Owner: accountId,
      DisplayName: '',
      SubscriptionsPending: '0',
      SubscriptionsConfirmed: '0',
      SubscriptionsDeleted: '0',
      EffectiveDeliveryPolicy: JSON.stringify({
        http: {
          defaultHealthyRetryPolicy: {
            minDelayTarget: 20,
            maxDelayTarget: 20,
            numRetries: 3,
            numMaxDelayRetries: 0,
            numNoDelayRetries: 0,
            numMinDelayRetries: 0,
            backoffFunction: 'linear',
          },
          disableSubscriptionOverrides: false,
          defaultRequestPolicy: { headerContentType: 'text/plain; charset=UTF-8' },
        },
      }),
      ...(fifo ? { FifoTopic: 'true', ContentBasedDeduplication: 'false' } : {}),
    };
    const merged = { ...computed, ...Object.fromEntries(t.attributes) };
    return Object.entries(merged).map(([key, value]) => ({ key, value }));
  }

  return {
    xmlns: SNS_XMLNS,
    operations: {
      CreateTopic: createTopic,
      GetTopicAttributes: (params) => ({ Attributes: { entry: attributesOf(topic(required(params, 'TopicArn'))) } }),
      SetTopicAttributes(params) {
        const t = topic(required(params, 'TopicArn'));
        const name = required(params, 'AttributeName');
        const value = params.AttributeValue ?? '';
        checkAttribute(name, value, false);
        if (name === 'Policy' && value === '') t.attributes.set(name, defaultTopicPolicy(t.arn, accountId));
        else if (value === '') t.attributes.delete(name);
        else t.attributes.set(name, value);
        return undefined;
      },
      DeleteTopic(params) {
        // DeleteTopic of a topic that does not exist succeeds on SNS.
        topics.delete(required(params, 'TopicArn'));
        return undefined;
      },
      ListTopics: () => ({ Topics: members([...topics.keys()].sort().map((TopicArn) => ({ TopicArn }))) }),
      ListTagsForResource(params) {
        const t = tagged(required(params, 'ResourceArn'));
        return { Tags: members([...t.tags].map(([Key, Value]) => ({ Key, Value }))) };
      },
      TagResource(params) {
        const t = tagged(required(params, 'ResourceArn'));
        for (const tag of memberRecords(params, 'Tags')) t.tags.set(tag.Key ?? '', tag.Value ?? '');
        return {};
      },
      UntagResource(params) {
        const t = tagged(required(params, 'ResourceArn'));
        for (const key of memberStrings(params, 'TagKeys')) t.tags.delete(key);
        return {};
      },
    },
  };
}
