/**
 * KMS for the local cloud: the key-management calls the AWS provider makes for `aws_kms_key` and
 * `aws_kms_alias` (create, describe, key policy, rotation, tags, description, enable/disable,
 * scheduled deletion) over the awsJson 1.1 protocol (`TrentService.<Operation>`), with KMS's errors
 * and messages. Keys are records held in memory: no key material and no cryptographic operations
 * (Encrypt, GenerateDataKey… answer UnknownOperationException), because nothing the local chain
 * runs encrypts with a customer-managed key (the stand-in stores SNS and SQS messages as they come).
 * A key scheduled for deletion stays `PendingDeletion`, as on AWS, where it is only removed when its
 * window ends.
 */
import { randomUUID } from 'node:crypto';
import { JsonError, type JsonService } from '../json-protocol';

/** The waiting period ScheduleKeyDeletion takes when none is given, in days. */
const DEFAULT_PENDING_WINDOW_DAYS = 30;
/** The rotation period EnableKeyRotation sets when none is given, in days. */
const DEFAULT_ROTATION_PERIOD_DAYS = 365;
const DAY_MS = 86_400_000;

/** The key specs of CreateKey and the usages and algorithms KMS reports for each. */
const KEY_SPECS: Readonly<Record<string, { usage: readonly string[]; algorithms?: readonly string[] }>> = {
  SYMMETRIC_DEFAULT: { usage: ['ENCRYPT_DECRYPT'], algorithms: ['SYMMETRIC_DEFAULT'] },
  RSA_2048: { usage: ['ENCRYPT_DECRYPT', 'SIGN_VERIFY'] },
  RSA_3072: { usage: ['ENCRYPT_DECRYPT', 'SIGN_VERIFY'] },
  RSA_4096: { usage: ['ENCRYPT_DECRYPT', 'SIGN_VERIFY'] },
  ECC_NIST_P256: { usage: ['SIGN_VERIFY'] },
  ECC_NIST_P384: { usage: ['SIGN_VERIFY'] },
  ECC_NIST_P521: { usage: ['SIGN_VERIFY'] },
  ECC_SECG_P256K1: { usage: ['SIGN_VERIFY'] },
  HMAC_224: { usage: ['GENERATE_VERIFY_MAC'] },
  HMAC_256: { usage: ['GENERATE_VERIFY_MAC'] },
  HMAC_384: { usage: ['GENERATE_VERIFY_MAC'] },
  HMAC_512: { usage: ['GENERATE_VERIFY_MAC'] },
};

const KEY_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const ALIAS_NAME = /^alias\/[a-zA-Z0-9/_-]{1,250}$/;

interface KmsKey {
  readonly id: string;
  readonly arn: string;
  readonly creationDate: number;
  description: string;
  readonly keySpec: string;
  readonly keyUsage: string;
  readonly multiRegion: boolean;
  enabled: boolean;
  policy: string;
  rotationPeriodDays?: number;
  deletionDate?: number;
  pendingWindowDays?: number;
  readonly tags: Map<string, string>;
}

function text(input: Record<string, unknown>, field: string): string | undefined {
  const value = input[field];
  return typeof value === 'string' ? value : undefined;
}

function validation(message: string): JsonError {
  return new JsonError('ValidationException', `1 validation error detected: ${message}`);
}

function required(input: Record<string, unknown>, field: string): string {
  const value = text(input, field);
  if (!value) throw validation(`Value null at '${field}' failed to satisfy constraint: Member must not be null`);
  return value;
}

/** KMS's `[{TagKey, TagValue}]` as pairs; TagException for an entry without a key. */
function tagPairs(value: unknown): Array<[string, string]> {
  if (!Array.isArray(value)) return [];
  return value.map((entry: unknown) => {
    const { TagKey, TagValue } = (entry ?? {}) as { TagKey?: unknown; TagValue?: unknown };
    if (typeof TagKey !== 'string' || TagKey === '') throw new JsonError('TagException', 'Tag key must not be empty');
    return [TagKey, typeof TagValue === 'string' ? TagValue : ''];
  });
}

/** The policy KMS gives a key created without one: the account's IAM policies decide. */
export function defaultKeyPolicy(accountId: string, partition = 'aws'): string {
  return JSON.stringify({
    Version: '2012-10-17',
    Id: 'key-default-1',
    Statement: [
      {
        Sid: 'Enable IAM User Permissions',
        Effect: 'Allow',
        Principal: { AWS: `arn:${partition}:iam::${accountId}:root` },
        Action: 'kms:*',
        Resource: '*',
      },
    ],
  });
}

/** MalformedPolicyDocumentException unless `policy` is a JSON object with a Statement (as KMS parses it). */
function checkPolicy(policy: string): string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(policy);
  } catch {
    throw new JsonError('MalformedPolicyDocumentException', 'The key policy is not valid JSON.');
  }
  if (typeof parsed !== 'object' || parsed === null || !('Statement' in parsed))
    throw new JsonError('MalformedPolicyDocumentException', 'The key policy has no Statement.');
  return policy;
}

/** The KMS service of the local cloud. @param partition @default 'aws' */
export function kmsService(region: string, accountId: string, partition = 'aws'): JsonService {
  const keys = new Map<string, KmsKey>();
  const aliases = new Map<string, { targetKeyId: string; creationDate: number; lastUpdatedDate: number }>();
  const keyPrefix = `arn:${partition}:kms:${region}:${accountId}:key/`;
  const aliasPrefix = `arn:${partition}:kms:${region}:${accountId}:`;

  /** The key a KeyId names: its id, its ARN, an alias name or an alias ARN. */
  function findKey(reference: string): KmsKey {
    let id = reference.startsWith(keyPrefix) ? reference.slice(keyPrefix.length) : reference;
    const aliasName = reference.startsWith(`${aliasPrefix}alias/`) ? reference.slice(aliasPrefix.length) : reference;
    if (aliasName.startsWith('alias/')) {
      const alias = aliases.get(aliasName);
      if (!alias) throw new JsonError('NotFoundException', `Alias ${aliasPrefix}${aliasName} is not found.`);
      id = alias.targetKeyId;
    } else if (!KEY_ID.test(id)) {
      throw new JsonError('NotFoundException', `Invalid keyId '${reference}'`);
    }
    const key = keys.get(id);
    if (!key) throw new JsonError('NotFoundException', `Key '${keyPrefix}${id}' does not exist`);
    return key;
  }

  function keyOf(input: Record<string, unknown>): KmsKey {
    return findKey(required(input, 'KeyId'));
  }

  /** The key, refused with KMSInvalidStateException while it is pending deletion (most operations). */
  function usableKey(input: Record<string, unknown>): KmsKey {
    const key = keyOf(input);
    if (key.deletionDate !== undefined)
      throw new JsonError('KMSInvalidStateException', `${key.arn} is pending deletion.`);
    return key;
  }

  function keyState(key: KmsKey): string {
    if (key.deletionDate !== undefined) return 'PendingDeletion';
    return key.enabled ? 'Enabled' : 'Disabled';
  }

  function metadata(key: KmsKey): Record<string, unknown> {
    const spec = KEY_SPECS[key.keySpec];
    return {
      AWSAccountId: accountId,
      KeyId: key.id,
      Arn: key.arn,
      CreationDate: key.creationDate / 1000,
      Enabled: key.enabled && key.deletionDate === undefined,
      Description: key.description,
      KeyUsage: key.keyUsage,
      KeyState: keyState(key),
      ...(key.deletionDate !== undefined
        ? { DeletionDate: key.deletionDate / 1000, PendingDeletionWindowInDays: key.pendingWindowDays }
        : {}),
      Origin: 'AWS_KMS',
      KeyManager: 'CUSTOMER',
      CustomerMasterKeySpec: key.keySpec,
      KeySpec: key.keySpec,
      ...(spec?.algorithms ? { EncryptionAlgorithms: spec.algorithms } : {}),
      MultiRegion: key.multiRegion,
    };
  }

  function createKey(input: Record<string, unknown>): Record<string, unknown> {
    const keySpec = text(input, 'KeySpec') ?? text(input, 'CustomerMasterKeySpec') ?? 'SYMMETRIC_DEFAULT';
    const spec = KEY_SPECS[keySpec];
    if (!spec)
      throw validation(
        `Value '${keySpec}' at 'keySpec' failed to satisfy constraint: Member must satisfy enum value set: ` +
          `[${Object.keys(KEY_SPECS).join(', ')}]`,
      );
    const keyUsage = text(input, 'KeyUsage') ?? spec.usage[0];
    if (!spec.usage.includes(keyUsage))
      throw new JsonError('ValidationException', `KeyUsage ${keyUsage} is not compatible with KeySpec ${keySpec}`);
    const policy = text(input, 'Policy');
    const id = randomUUID();
    const key: KmsKey = {
      id,
      arn: `${keyPrefix}${id}`,
      creationDate: Date.now(),
      description: text(input, 'Description') ?? '',
      keySpec,
      keyUsage,
      multiRegion: input.MultiRegion === true,
      enabled: true,
      policy: policy ? checkPolicy(policy) : defaultKeyPolicy(accountId, partition),
      tags: new Map(tagPairs(input.Tags)),
    };
    keys.set(id, key);
    return { KeyMetadata: metadata(key) };
  }

  function rotationStatus(key: KmsKey): Record<string, unknown> {
    const enabled = key.rotationPeriodDays !== undefined;
    return {
      KeyId: key.arn,
      KeyRotationEnabled: enabled,
      ...(enabled
        ? {
            RotationPeriodInDays: key.rotationPeriodDays,
            NextRotationDate: (key.creationDate + (key.rotationPeriodDays ?? 0) * DAY_MS) / 1000,
          }
        : {}),
    };
  }

  function enableRotation(input: Record<string, unknown>): Record<string, unknown> {
    const key = usableKey(input);
    if (key.keySpec !== 'SYMMETRIC_DEFAULT')
      throw new JsonError('UnsupportedOperationException', `${key.arn} key type does not support key rotation.`);
    const period = input.RotationPeriodInDays;
    if (period !== undefined && (typeof period !== 'number' || period < 90 || period > 2560))
      throw validation(
        `Value '${JSON.stringify(period)}' at 'rotationPeriodInDays' failed to satisfy constraint: ` +
          'Member must have value less than or equal to 2560 and greater than or equal to 90',
      );
    key.rotationPeriodDays = typeof period === 'number' ? period : DEFAULT_ROTATION_PERIOD_DAYS;
    return {};
  }

  function scheduleDeletion(input: Record<string, unknown>): Record<string, unknown> {
    const key = usableKey(input);
    const days = input.PendingWindowInDays ?? DEFAULT_PENDING_WINDOW_DAYS;
    if (typeof days !== 'number' || !Number.isInteger(days) || days < 7 || days > 30)
      throw validation(
        `Value '${JSON.stringify(days)}' at 'pendingWindowInDays' failed to satisfy constraint: ` +
          'Member must have value less than or equal to 30 and greater than or equal to 7',
      );
    key.pendingWindowDays = days;
    key.deletionDate = Date.now() + days * DAY_MS;
    return {
      KeyId: key.arn,
      DeletionDate: key.deletionDate / 1000,
      KeyState: 'PendingDeletion',
      PendingWindowInDays: days,
    };
  }

  function aliasEntry(name: string): Record<string, unknown> {
    const alias = aliases.get(name);
    return {
      AliasName: name,
      AliasArn: `${aliasPrefix}${name}`,
      ...(alias
        ? {
            TargetKeyId: alias.targetKeyId,
            CreationDate: alias.creationDate / 1000,
            LastUpdatedDate: alias.lastUpdatedDate / 1000,
          }
        : {}),
    };
  }

  function aliasName(input: Record<string, unknown>): string {
    const name = required(input, 'AliasName');
    if (!ALIAS_NAME.test(name))
      throw validation(
        `Value '${name}' at 'aliasName' failed to satisfy constraint: Member must satisfy regular expression ` +
          'pattern: ^[a-zA-Z0-9:/_-]+$',
      );
    if (name.startsWith('alias/aws/'))
      throw new JsonError(
        'NotAuthorizedException',
        'Cannot create alias with prefix alias/aws/ as it is reserved for AWS.',
      );
    return name;
  }

  function existingAlias(name: string): { targetKeyId: string; creationDate: number; lastUpdatedDate: number } {
    const alias = aliases.get(name);
    if (!alias) throw new JsonError('NotFoundException', `Alias ${aliasPrefix}${name} is not found.`);
    return alias;
  }

  return {
    targetPrefix: 'TrentService',
    operations: {
      CreateKey: createKey,
      DescribeKey: (input) => ({ KeyMetadata: metadata(keyOf(input)) }),
      ListKeys: () => ({
        Keys: [...keys.values()].map((key) => ({ KeyId: key.id, KeyArn: key.arn })),
        Truncated: false,
      }),
      GetKeyPolicy(input) {
        const key = keyOf(input);
        const name = text(input, 'PolicyName') ?? 'default';
        if (name !== 'default') throw new JsonError('NotFoundException', `No such policy exists: ${name}`);
        return { Policy: key.policy, PolicyName: 'default' };
      },
      PutKeyPolicy(input) {
        const key = usableKey(input);
        const name = text(input, 'PolicyName') ?? 'default';
        if (name !== 'default') throw new JsonError('NotFoundException', `No such policy exists: ${name}`);
        key.policy = checkPolicy(required(input, 'Policy'));
        return {};
      },
      ListKeyPolicies(input) {
        keyOf(input);
        return { PolicyNames: ['default'], Truncated: false };
      },
      GetKeyRotationStatus: (input) => rotationStatus(keyOf(input)),
      EnableKeyRotation: enableRotation,
      DisableKeyRotation(input) {
        delete usableKey(input).rotationPeriodDays;
        return {};
      },
      UpdateKeyDescription(input) {
        usableKey(input).description = text(input, 'Description') ?? '';
        return {};
      },
      EnableKey(input) {
        usableKey(input).enabled = true;
        return {};
      },
      DisableKey(input) {
        usableKey(input).enabled = false;
        return {};
      },
      ScheduleKeyDeletion: scheduleDeletion,
      CancelKeyDeletion(input) {
        const key = keyOf(input);
        if (key.deletionDate === undefined)
          throw new JsonError('KMSInvalidStateException', `${key.arn} is not pending deletion.`);
        delete key.deletionDate;
        delete key.pendingWindowDays;
        // A key whose deletion is cancelled comes back disabled, as on AWS.
        key.enabled = false;
        return { KeyId: key.arn };
      },
      ListResourceTags(input) {
        const key = keyOf(input);
        return { Tags: [...key.tags].map(([TagKey, TagValue]) => ({ TagKey, TagValue })), Truncated: false };
      },
      TagResource(input) {
        const key = usableKey(input);
        for (const [k, v] of tagPairs(input.Tags)) key.tags.set(k, v);
        return {};
      },
      UntagResource(input) {
        const key = usableKey(input);
        for (const k of Array.isArray(input.TagKeys) ? input.TagKeys : []) key.tags.delete(String(k));
        return {};
      },
      CreateAlias(input) {
        const name = aliasName(input);
        const key = usableKey({ KeyId: required(input, 'TargetKeyId') });
        if (aliases.has(name))
          throw new JsonError('AlreadyExistsException', `An alias with the name ${aliasPrefix}${name} already exists`);
        const now = Date.now();
        aliases.set(name, { targetKeyId: key.id, creationDate: now, lastUpdatedDate: now });
        return {};
      },
      UpdateAlias(input) {
        const alias = existingAlias(required(input, 'AliasName'));
        alias.targetKeyId = usableKey({ KeyId: required(input, 'TargetKeyId') }).id;
        alias.lastUpdatedDate = Date.now();
        return {};
      },
      DeleteAlias(input) {
        const name = required(input, 'AliasName');
        existingAlias(name);
        aliases.delete(name);
        return {};
      },
      ListAliases(input) {
        const keyId = text(input, 'KeyId');
        const target = keyId ? findKey(keyId).id : undefined;
        const names = [...aliases.keys()].filter((name) => !target || aliases.get(name)?.targetKeyId === target);
        return { Aliases: names.sort().map(aliasEntry), Truncated: false };
      },
    },
  };
}
