/**
 * Alarm notifications must be deliverable: CloudWatch cannot use the AWS-managed `alias/aws/sns`
 * key, so every SNS topic that alarms publish to (the consumer stack's, and the examples') is
 * encrypted with a customer-managed key, rotated, whose policy lets CloudWatch use it.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CLOUDWATCH_TOPIC_KEY_ACTIONS } from '../../modules/alarm-topic';
import { asList, resourcesOf, statementsOf, synthWithConsumer } from './synth';

const ROOT = join(__dirname, '..', '..');

test('every SNS topic of the example stacks uses a customer-managed, rotated key that CloudWatch may use', () => {
  const { chain, consumer } = synthWithConsumer();
  const topics = { ...resourcesOf(chain, 'aws_sns_topic'), ...resourcesOf(consumer, 'aws_sns_topic') };
  expect(Object.keys(topics).length).toBeGreaterThan(0);
  const keys = resourcesOf(consumer, 'aws_kms_key');
  for (const [name, topic] of Object.entries(topics)) {
    const keyName = /^\$\{aws_kms_key\.([a-z0-9_]+)\.arn\}$/.exec(String(topic.kms_master_key_id))?.[1];
    expect({ name, keyName }).toEqual({ name, keyName: expect.any(String) });
    const key = keys[keyName!];
    expect({ name, rotation: key.enable_key_rotation }).toEqual({ name, rotation: true });
    const cloudwatch = statementsOf(key.policy).find(
      (s) => JSON.stringify(s.Principal) === '{"Service":"cloudwatch.amazonaws.com"}',
    );
    expect({ name, effect: cloudwatch?.Effect, actions: asList(cloudwatch?.Action).sort() }).toEqual({
      name,
      effect: 'Allow',
      actions: [...CLOUDWATCH_TOPIC_KEY_ACTIONS].sort(),
    });
    // The account keeps administering the key (a policy without it cannot be changed again).
    expect(
      statementsOf(key.policy).some(
        (s) =>
          /^arn:.*:iam::.*:root$/.test(String((s.Principal as { AWS?: string }).AWS)) &&
          asList(s.Action).includes('kms:*'),
      ),
    ).toBe(true);
  }
});

test.each(['examples/terraform/main.tf', 'examples/terraform-full/main.tf'])(
  '%s: the alarm topic is encrypted with a key CloudWatch may use, never alias/aws/sns',
  (file) => {
    const hcl = readFileSync(join(ROOT, file), 'utf8');
    expect(hcl).not.toMatch(/kms_master_key_id\s*=\s*"alias\/aws\/sns"/);
    expect(hcl).toMatch(/resource "aws_sns_topic" "alarms" \{[\s\S]*?kms_master_key_id = aws_kms_key\.alarms\.arn/);
    const key = /resource "aws_kms_key" "alarms" \{([\s\S]*?)\n\}/.exec(hcl)?.[1] ?? '';
    expect(key).toMatch(/enable_key_rotation\s*=\s*true/);
    expect(key).toMatch(
      /Principal = \{ Service = "cloudwatch\.amazonaws\.com" \}\s*\n\s*Action\s*= \["kms:GenerateDataKey\*", "kms:Decrypt"\]/,
    );
  },
);
