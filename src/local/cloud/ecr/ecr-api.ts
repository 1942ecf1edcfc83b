/**
 * Amazon ECR for the local cloud (awsJson 1.1, `AmazonEC2ContainerRegistry_V20150921.*`): the calls
 * the AWS provider makes for `aws_ecr_repository` and `aws_ecr_lifecycle_policy`, the ones
 * `aws ecr get-login-password` and a build-and-push step make, and the image listings, with ECR's
 * errors and messages. Repository settings live in memory; images live in the registry
 * (registry-process.ts), read over its API: a repository's URI is `127.0.0.1:<port>/<name>`,
 * which docker pushes to without TLS settings.
 *
 * Differences from ECR, all from the registry doing the storing: a push to a repository that was
 * never created is taken (ECR refuses it), tag immutability is recorded but not enforced, listings
 * show tagged images only, and deleting an image by tag deletes its manifest (with every tag on it).
 * Without a registry (`start`, or `up` on a machine without `docker-registry`) every call is
 * refused with ServerException naming what to install.
 */
import { randomBytes } from 'node:crypto';
import { rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { JsonError, type JsonService } from '../json-protocol';
import { isIndex, parseManifest, RegistryApi, type RegistryManifest } from './registry-api';
import { DEBIAN_REGISTRY_BIN, REGISTRY_BIN_ENV, type LocalRegistry } from './registry-process';

/** ECR's repository name pattern. */
const REPOSITORY_NAME = /^(?=.{2,256}$)(?:[a-z0-9]+(?:[._-][a-z0-9]+)*\/)*[a-z0-9]+(?:[._-][a-z0-9]+)*$/;
const TAG_MUTABILITY = new Set(['MUTABLE', 'IMMUTABLE']);
/** How long an authorization token is valid, as on ECR. */
const TOKEN_LIFETIME_MS = 12 * 60 * 60 * 1000;

interface Repository {
  readonly name: string;
  readonly createdAt: number;
  imageTagMutability: string;
  scanOnPush: boolean;
  readonly encryption: { encryptionType: string; kmsKey?: string };
  readonly tags: Map<string, string>;
  lifecyclePolicy?: string;
  policy?: string;
}

/** An image as ECR describes it: one manifest and the tags on it. */
interface ImageDetail {
  readonly digest: string;
  readonly tags: string[];
  readonly manifest: RegistryManifest;
}

export interface EcrServiceOptions {
  accountId: string;
  region: string;
  /** The registry images go to; undefined when the local cloud runs none (every call is then refused). */
  registry?: LocalRegistry;
  /** @default 'aws' */
  partition?: string;
}

function text(input: Record<string, unknown>, field: string): string | undefined {
  const value = input[field];
  return typeof value === 'string' ? value : undefined;
}

function required(input: Record<string, unknown>, field: string): string {
  const value = text(input, field);
  if (!value)
    throw new JsonError(
      'InvalidParameterException',
      `1 validation error detected: Value null at '${field}' failed to satisfy constraint: Member must not be null`,
    );
  return value;
}

/** ECR's `[{Key, Value}]` tag list as pairs. */
function tagPairs(value: unknown): Array<[string, string]> {
  if (!Array.isArray(value)) return [];
  return value
    .filter(
      (t): t is { Key: string; Value?: unknown } =>
        typeof t === 'object' && t !== null && typeof (t as { Key?: unknown }).Key === 'string',
    )
    .map((t) => [t.Key, typeof t.Value === 'string' ? t.Value : '']);
}

/** The image ids a request names (`imageIds: [{imageTag?, imageDigest?}]`). */
function imageIdsOf(input: Record<string, unknown>): Array<{ imageTag?: string; imageDigest?: string }> {
  const ids = input.imageIds;
  if (!Array.isArray(ids)) return [];
  return ids.map((id: unknown) => {
    const record = (typeof id === 'object' && id !== null ? id : {}) as Record<string, unknown>;
    return { imageTag: text(record, 'imageTag'), imageDigest: text(record, 'imageDigest') };
  });
}

/** The `{imageDigest:'…', imageTag:'…'}` rendering of an image id in ECR's messages. */
function imageIdText(id: { imageTag?: string; imageDigest?: string }): string {
  return `{imageDigest:'${id.imageDigest ?? 'null'}', imageTag:'${id.imageTag ?? 'null'}'}`;
}

/** The local ECR service (see the file comment). */
export function ecrService(opts: EcrServiceOptions): JsonService {
  const { accountId, region, registry } = opts;
  const partition = opts.partition ?? 'aws';
  const repositories = new Map<string, Repository>();
  const api = registry ? new RegistryApi(registry.url) : undefined;
  const arnOf = (name: string): string => `arn:${partition}:ecr:${region}:${accountId}:repository/${name}`;
  // docker login sends it and the registry ignores it: a token per run, so none is taken from elsewhere.
  const token = randomBytes(24).toString('base64url');

  function registryApi(): RegistryApi {
    if (!api)
      throw new JsonError(
        'ServerException',
        `The local cloud runs no container registry, so ECR is not served: install Debian's docker-registry ` +
          `(apt-get install docker-registry, or set ${REGISTRY_BIN_ENV} to a registry binary; looked for ` +
          `${DEBIAN_REGISTRY_BIN}) and restart resize-chain up.`,
      );
    return api;
  }

  function repository(name: string): Repository {
    const found = repositories.get(name);
    if (!found)
      throw new JsonError(
        'RepositoryNotFoundException',
        `The repository with name '${name}' does not exist in the registry with id '${accountId}'`,
      );
    return found;
  }

  function repositoryOf(input: Record<string, unknown>): Repository {
    registryApi();
    return repository(required(input, 'repositoryName'));
  }

  function repositoryOfArn(arn: string): Repository {
    const prefix = arnOf('');
    if (!arn.startsWith(prefix))
      throw new JsonError(
        'InvalidParameterException',
        `Invalid parameter at 'resourceArn' failed to satisfy constraint: 'Invalid ARN'`,
      );
    return repository(arn.slice(prefix.length));
  }

  function describe(r: Repository): Record<string, unknown> {
    return {
      repositoryArn: arnOf(r.name),
      registryId: accountId,
      repositoryName: r.name,
      repositoryUri: `${registry!.host}/${r.name}`,
      createdAt: r.createdAt / 1000,
      imageTagMutability: r.imageTagMutability,
      imageScanningConfiguration: { scanOnPush: r.scanOnPush },
      encryptionConfiguration: { ...r.encryption },
    };
  }

  /** Every tagged image of `r`, one entry per manifest with all its tags. */
  async function images(r: Repository): Promise<ImageDetail[]> {
    const byDigest = new Map<string, ImageDetail>();
    for (const tag of (await registryApi().tags(r.name)).sort()) {
      const manifest = await registryApi().manifest(r.name, tag);
      if (!manifest) continue; // deleted meanwhile
      const known = byDigest.get(manifest.digest);
      if (known) known.tags.push(tag);
      else byDigest.set(manifest.digest, { digest: manifest.digest, tags: [tag], manifest });
    }
    return [...byDigest.values()];
  }

  /** The image an id names, or undefined. */
  async function findImage(
    r: Repository,
    id: { imageTag?: string; imageDigest?: string },
  ): Promise<ImageDetail | undefined> {
    const all = await images(r);
    return all.find(
      (image) =>
        (!id.imageDigest || image.digest === id.imageDigest) && (!id.imageTag || image.tags.includes(id.imageTag)),
    );
  }

  function imageNotFound(r: Repository, id: { imageTag?: string; imageDigest?: string }): JsonError {
    return new JsonError(
      'ImageNotFoundException',
      `The image with imageId ${imageIdText(id)} does not exist within the repository with name '${r.name}' ` +
        `in the registry with id '${accountId}'`,
    );
  }

  /** When the registry stored the manifest (its revision link's time), else the repository's creation. */
  function pushedAt(r: Repository, digest: string): number {
    const [algorithm, hex] = digest.split(':');
    const link = join(
      registry!.storageDir,
      'docker/registry/v2/repositories',
      r.name,
      '_manifests/revisions',
      algorithm ?? 'sha256',
      hex ?? '',
      'link',
    );
    try {
      return statSync(link).mtimeMs / 1000;
    } catch {
      return r.createdAt / 1000;
    }
  }

  function detail(r: Repository, image: ImageDetail): Record<string, unknown> {
    const doc = parseManifest(image.manifest.body);
    const layers = doc.layers ?? [];
    const size = isIndex(image.manifest.mediaType)
      ? Buffer.byteLength(image.manifest.body)
      : layers.reduce((sum, layer) => sum + (layer.size ?? 0), 0);
    return {
      registryId: accountId,
      repositoryName: r.name,
      imageDigest: image.digest,
      imageTags: image.tags,
      imageSizeInBytes: size,
      imagePushedAt: pushedAt(r, image.digest),
      imageManifestMediaType: image.manifest.mediaType,
      ...(doc.config?.mediaType ? { artifactMediaType: doc.config.mediaType } : {}),
    };
  }

  function lifecyclePolicyNotFound(r: Repository): JsonError {
    return new JsonError(
      'LifecyclePolicyNotFoundException',
      `Lifecycle policy does not exist for the repository with name '${r.name}' in the registry with id '${accountId}'`,
    );
  }

  function checkJson(field: string, value: string): void {
    try {
      JSON.parse(value);
    } catch {
      throw new JsonError(
        'InvalidParameterException',
        `Invalid parameter at '${field}' failed to satisfy constraint: 'Invalid JSON syntax'`,
      );
    }
  }

  return {
    targetPrefix: 'AmazonEC2ContainerRegistry_V20150921',
    operations: {
      CreateRepository(input) {
        registryApi();
        const name = required(input, 'repositoryName');
        if (!REPOSITORY_NAME.test(name))
          throw new JsonError(
            'InvalidParameterException',
            `Invalid parameter at 'repositoryName' failed to satisfy constraint: 'must satisfy regular expression ` +
              `'(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*''`,
          );
        if (repositories.has(name))
          throw new JsonError(
            'RepositoryAlreadyExistsException',
            `The repository with name '${name}' already exists in the registry with id '${accountId}'`,
          );
        const mutability = text(input, 'imageTagMutability') ?? 'MUTABLE';
        if (!TAG_MUTABILITY.has(mutability))
          throw new JsonError(
            'ValidationException',
            `1 validation error detected: Value '${mutability}' at 'imageTagMutability' failed to satisfy ` +
              `constraint: Member must satisfy enum value set: [MUTABLE, IMMUTABLE]`,
          );
        const scanning = (input.imageScanningConfiguration ?? {}) as Record<string, unknown>;
        const encryption = (input.encryptionConfiguration ?? {}) as Record<string, unknown>;
        const encryptionType = text(encryption, 'encryptionType') ?? 'AES256';
        const kmsKey = text(encryption, 'kmsKey');
        const created: Repository = {
          name,
          createdAt: Date.now(),
          imageTagMutability: mutability,
          scanOnPush: scanning.scanOnPush === true,
          encryption: { encryptionType, ...(kmsKey ? { kmsKey } : {}) },
          tags: new Map(tagPairs(input.tags)),
        };
        repositories.set(name, created);
        return { repository: describe(created) };
      },
      DescribeRepositories(input) {
        registryApi();
        const names = Array.isArray(input.repositoryNames) ? input.repositoryNames.map(String) : undefined;
        const listed = names
          ? names.map(repository)
          : [...repositories.values()].sort((a, b) => a.name.localeCompare(b.name));
        return { repositories: listed.map(describe) };
      },
      async DeleteRepository(input) {
        const r = repositoryOf(input);
        const held = await registryApi().tags(r.name);
        if (held.length > 0 && input.force !== true)
          throw new JsonError(
            'RepositoryNotEmptyException',
            `The repository with name '${r.name}' in registry with id '${accountId}' cannot be deleted because ` +
              `it still contains images`,
          );
        // The registry has no API to remove a repository: its folder goes, so a new one of that name starts empty.
        rmSync(join(registry!.storageDir, 'docker/registry/v2/repositories', r.name), { recursive: true, force: true });
        repositories.delete(r.name);
        return { repository: describe(r) };
      },
      PutLifecyclePolicy(input) {
        const r = repositoryOf(input);
        const policy = required(input, 'lifecyclePolicyText');
        checkJson('lifecyclePolicyText', policy);
        r.lifecyclePolicy = policy;
        return { registryId: accountId, repositoryName: r.name, lifecyclePolicyText: policy };
      },
      GetLifecyclePolicy(input) {
        const r = repositoryOf(input);
        if (r.lifecyclePolicy === undefined) throw lifecyclePolicyNotFound(r);
        return {
          registryId: accountId,
          repositoryName: r.name,
          lifecyclePolicyText: r.lifecyclePolicy,
          lastEvaluatedAt: 0,
        };
      },
      DeleteLifecyclePolicy(input) {
        const r = repositoryOf(input);
        const policy = r.lifecyclePolicy;
        if (policy === undefined) throw lifecyclePolicyNotFound(r);
        delete r.lifecyclePolicy;
        return { registryId: accountId, repositoryName: r.name, lifecyclePolicyText: policy, lastEvaluatedAt: 0 };
      },
      GetRepositoryPolicy(input) {
        const r = repositoryOf(input);
        if (r.policy === undefined)
          throw new JsonError(
            'RepositoryPolicyNotFoundException',
            `Repository policy does not exist for the repository with name '${r.name}' in the registry with id ` +
              `'${accountId}'`,
          );
        return { registryId: accountId, repositoryName: r.name, policyText: r.policy };
      },
      SetRepositoryPolicy(input) {
        const r = repositoryOf(input);
        const policy = required(input, 'policyText');
        checkJson('policyText', policy);
        r.policy = policy;
        return { registryId: accountId, repositoryName: r.name, policyText: policy };
      },
      DeleteRepositoryPolicy(input) {
        const r = repositoryOf(input);
        const policy = r.policy;
        if (policy === undefined)
          throw new JsonError(
            'RepositoryPolicyNotFoundException',
            `Repository policy does not exist for the repository with name '${r.name}' in the registry with id ` +
              `'${accountId}'`,
          );
        delete r.policy;
        return { registryId: accountId, repositoryName: r.name, policyText: policy };
      },
      PutImageScanningConfiguration(input) {
        const r = repositoryOf(input);
        const scanning = (input.imageScanningConfiguration ?? {}) as Record<string, unknown>;
        r.scanOnPush = scanning.scanOnPush === true;
        return {
          registryId: accountId,
          repositoryName: r.name,
          imageScanningConfiguration: { scanOnPush: r.scanOnPush },
        };
      },
      PutImageTagMutability(input) {
        const r = repositoryOf(input);
        const mutability = required(input, 'imageTagMutability');
        if (!TAG_MUTABILITY.has(mutability))
          throw new JsonError(
            'ValidationException',
            `1 validation error detected: Value '${mutability}' at 'imageTagMutability' failed to satisfy ` +
              `constraint: Member must satisfy enum value set: [MUTABLE, IMMUTABLE]`,
          );
        r.imageTagMutability = mutability;
        return { registryId: accountId, repositoryName: r.name, imageTagMutability: mutability };
      },
      ListTagsForResource(input) {
        registryApi();
        const r = repositoryOfArn(required(input, 'resourceArn'));
        return { tags: [...r.tags].map(([Key, Value]) => ({ Key, Value })) };
      },
      TagResource(input) {
        registryApi();
        const r = repositoryOfArn(required(input, 'resourceArn'));
        for (const [k, v] of tagPairs(input.tags)) r.tags.set(k, v);
        return {};
      },
      UntagResource(input) {
        registryApi();
        const r = repositoryOfArn(required(input, 'resourceArn'));
        for (const key of Array.isArray(input.tagKeys) ? input.tagKeys : []) r.tags.delete(String(key));
        return {};
      },
      GetAuthorizationToken() {
        registryApi();
        return {
          authorizationData: [
            {
              authorizationToken: Buffer.from(`AWS:${token}`).toString('base64'),
              expiresAt: (Date.now() + TOKEN_LIFETIME_MS) / 1000,
              proxyEndpoint: registry!.url,
            },
          ],
        };
      },
      async DescribeImages(input) {
        const r = repositoryOf(input);
        const ids = imageIdsOf(input);
        if (ids.length === 0) return { imageDetails: (await images(r)).map((image) => detail(r, image)) };
        const details: Array<Record<string, unknown>> = [];
        for (const id of ids) {
          const image = await findImage(r, id);
          if (!image) throw imageNotFound(r, id);
          details.push(detail(r, image));
        }
        return { imageDetails: details };
      },
      async ListImages(input) {
        const r = repositoryOf(input);
        const imageIds = (await images(r)).flatMap((image) =>
          image.tags.map((imageTag) => ({ imageDigest: image.digest, imageTag })),
        );
        return { imageIds };
      },
      async BatchGetImage(input) {
        const r = repositoryOf(input);
        const found: Array<Record<string, unknown>> = [];
        const failures: Array<Record<string, unknown>> = [];
        for (const id of imageIdsOf(input)) {
          const image = await findImage(r, id);
          if (!image) {
            failures.push({ imageId: id, failureCode: 'ImageNotFound', failureReason: 'Requested image not found' });
            continue;
          }
          found.push({
            registryId: accountId,
            repositoryName: r.name,
            imageId: { imageDigest: image.digest, ...(id.imageTag ? { imageTag: id.imageTag } : {}) },
            imageManifest: image.manifest.body,
            imageManifestMediaType: image.manifest.mediaType,
          });
        }
        return { images: found, failures };
      },
      async BatchDeleteImage(input) {
        const r = repositoryOf(input);
        const deleted: Array<Record<string, unknown>> = [];
        const failures: Array<Record<string, unknown>> = [];
        for (const id of imageIdsOf(input)) {
          const image = await findImage(r, id);
          if (!image || !(await registryApi().deleteManifest(r.name, image.digest))) {
            failures.push({ imageId: id, failureCode: 'ImageNotFound', failureReason: 'Requested image not found' });
            continue;
          }
          deleted.push({ imageDigest: image.digest, ...(id.imageTag ? { imageTag: id.imageTag } : {}) });
        }
        return { imageIds: deleted, failures };
      },
    },
  };
}
