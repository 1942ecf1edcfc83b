/**
 * `ImageRepository`: an ECR repository for one handler's image (scan on push, immutable tags, a
 * lifecycle policy), and optionally the step that builds and pushes the image during deploy.
 */
import { createHash } from 'node:crypto';
import { Construct } from 'constructs';
import { DataResource, Fn, Token } from 'cdktf';
import { EcrRepository } from '@cdktf/provider-aws/lib/ecr-repository';
import { EcrLifecyclePolicy } from '@cdktf/provider-aws/lib/ecr-lifecycle-policy';
import { DataAwsRegion } from '@cdktf/provider-aws/lib/data-aws-region';
import { Architecture } from './container-function';
import { checkIntRange } from './validation';

export interface ImageBuildOptions {
  /** The `HANDLER` build argument of the repository's Dockerfile (e.g. `resize`). */
  readonly handler: string;
  /**
   * Content hash of the image sources (see `hashImageSources`); with the build script, platform and extra build
   * arguments (imageBuildHash) it becomes part of the tag.
   */
  readonly sourceHash: string;
  /** Platform the image is built for. */
  readonly architecture: Architecture;
  /**
   * The Docker build context, relative to the directory Terraform runs in. For `cdktf deploy` that
   * is `cdktf.out/stacks/<stack>/`, so the project root is three levels up.
   * @default '../../..'
   */
  readonly buildContext?: string;
  /** Extra `docker build` arguments, e.g. `--build-arg BASE_IMAGE=…`. @default '' */
  readonly extraBuildArgs?: string;
}

export interface ImageRepositoryProps {
  readonly repositoryName: string;
  /**
   * Images kept; older ones are expired by the lifecycle policy.
   * @default 10
   */
  readonly keepImages?: number;
  /**
   * Let `terraform destroy` delete a repository that still holds images.
   * @default false
   */
  readonly forceDelete?: boolean;
  /**
   * Build and push the image during `terraform apply` (`cdktf deploy`). Needs docker and the aws CLI
   * on the deploying machine; Terraform's built-in `terraform_data` runs the step, so no provider
   * beyond hashicorp/aws is involved and offline `validate`/`plan` keep working.
   * @default - no build: push images yourself and pass their URIs
   */
  readonly build?: ImageBuildOptions;
  /** @default {} */
  readonly tags?: Record<string, string>;
}

/** Manifest media types Lambda accepts for a function image: one platform, no index. */
export const LAMBDA_MANIFEST_MEDIA_TYPES = [
  'application/vnd.docker.distribution.manifest.v2+json',
  'application/vnd.oci.image.manifest.v1+json',
] as const;

/**
 * The shell step run by the build: idempotent (skips a tag already pushed, as tags are immutable).
 * Lambda refuses image indexes, which buildx pushes by default (a provenance attestation beside the
 * image, with the containerd image store of Docker Engine 29 and recent Docker Desktop): the build
 * turns attestations off (`--provenance=false --sbom=false` when the client knows them, and
 * BUILDX_NO_DEFAULT_ATTESTATIONS=1 for those that add them silently), and after the push the
 * registry's own record of the manifest media type is checked. AWS_ENDPOINT_URL_ECR, else AWS_ENDPOINT_URL,
 * when set, is passed to every `aws` call as --endpoint-url (what AWS CLI 2.13+ does by itself; older
 * ones, such as Debian's 2.9, ignore the variables). A tag pushed as an index is deleted
 * (so the next apply rebuilds it) and the step fails with IMAGE_MANIFEST_UNSUPPORTED.
 */
export const BUILD_AND_PUSH_SCRIPT = [
  'set -eu',
  // No "${" anywhere: Terraform would read it as an interpolation. DOCKER picks the client (default docker).
  'DOCKER=$(printenv DOCKER || echo docker)',
  // AWS CLIs before 2.13 ignore AWS_ENDPOINT_URL(_ECR): passed as --endpoint-url, as newer CLIs read it (unset on AWS).
  'ENDPOINT=$(printenv AWS_ENDPOINT_URL_ECR || printenv AWS_ENDPOINT_URL || true)',
  'aws() { if [ -n "$ENDPOINT" ]; then command aws --endpoint-url "$ENDPOINT" "$@"; else command aws "$@"; fi; }',
  'manifest_type() {',
  '  aws ecr describe-images --region "$REGION" --repository-name "$REPOSITORY" --image-ids ' +
    'imageTag="$TAG" --query "imageDetails[0].imageManifestMediaType" --output text',
  '}',
  'check_manifest() {',
  '  case "$1" in',
  `    ${LAMBDA_MANIFEST_MEDIA_TYPES.join('|')}) echo "image $IMAGE is a single-platform manifest ($1)" ;;`,
  '    *)',
  '      echo "IMAGE_MANIFEST_UNSUPPORTED: $IMAGE was pushed as $1; ' +
    'Lambda accepts only a single-platform image manifest (no index, no provenance or SBOM attestations). ' +
    'The tag was deleted: build with one --platform and --provenance=false ' +
    '--sbom=false (or BUILDX_NO_DEFAULT_ATTESTATIONS=1), then apply again." >&2',
  '      aws ecr batch-delete-image --region "$REGION" ' +
    '--repository-name "$REPOSITORY" --image-ids imageTag="$TAG" >/dev/null',
  '      exit 1 ;;',
  '  esac',
  '}',
  'if EXISTING=$(manifest_type 2>/dev/null); then',
  '  check_manifest "$EXISTING"',
  '  echo "image $IMAGE already pushed"; exit 0',
  'fi',
  'aws ecr get-login-password --region "$REGION" | "$DOCKER" login --username AWS --password-stdin "$REGISTRY"',
  'export BUILDX_NO_DEFAULT_ATTESTATIONS=1',
  'ATTESTATIONS=""',
  'if "$DOCKER" build --help 2>/dev/null | grep -q -e "--provenance"; ' +
    'then ATTESTATIONS="--provenance=false --sbom=false"; fi',
  'DOCKER_BUILDKIT=1 "$DOCKER" build --platform "$PLATFORM" $ATTESTATIONS ' +
    '--build-arg HANDLER="$HANDLER" $EXTRA_BUILD_ARGS -t "$IMAGE" .',
  '"$DOCKER" push "$IMAGE"',
  'PUSHED=$(manifest_type)',
  'check_manifest "$PUSHED"',
].join('\n');

/**
 * The hash that tags a built image: the image sources plus everything else that changes the image
 * or its build (the build script, the platform, the extra build arguments), so a change to any of
 * them yields a new immutable tag instead of reusing the old one.
 */
export function imageBuildHash(
  sourceHash: string,
  platform: string,
  extraBuildArgs: string,
  script = BUILD_AND_PUSH_SCRIPT,
): string {
  return createHash('sha256').update(`${sourceHash}\0${platform}\0${extraBuildArgs}\0${script}`).digest('hex');
}

export class ImageRepository extends Construct {
  readonly repository: EcrRepository;
  /** The build step, when `build` is set. Functions using `imageUri` depend on it. */
  readonly buildStep?: DataResource;
  /** With `build`: `<repository url>:<arch>-<hash16>` (imageBuildHash); without: the repository URL (add your tag). */
  readonly imageUri: string;

  constructor(scope: Construct, id: string, props: ImageRepositoryProps) {
    super(scope, id);
    const keep = props.keepImages ?? 10;
    checkIntRange(`${id}.keepImages`, keep, 1, 1000);
    this.repository = new EcrRepository(this, 'repository', {
      name: props.repositoryName,
      imageTagMutability: 'IMMUTABLE',
      imageScanningConfiguration: { scanOnPush: true },
      encryptionConfiguration: [{ encryptionType: 'AES256' }],
      forceDelete: props.forceDelete ?? false,
      tags: props.tags,
    });
    new EcrLifecyclePolicy(this, 'lifecycle', {
      repository: this.repository.name,
      policy: JSON.stringify({
        rules: [
          {
            rulePriority: 1,
            description: 'Expire untagged images after 1 day',
            selection: { tagStatus: 'untagged', countType: 'sinceImagePushed', countUnit: 'days', countNumber: 1 },
            action: { type: 'expire' },
          },
          {
            rulePriority: 2,
            description: `Keep the last ${keep} images`,
            selection: { tagStatus: 'any', countType: 'imageCountMoreThan', countNumber: keep },
            action: { type: 'expire' },
          },
        ],
      }),
    });
    if (!props.build) {
      this.imageUri = this.repository.repositoryUrl;
      return;
    }
    const platform = props.build.architecture === 'arm64' ? 'linux/arm64' : 'linux/amd64';
    const extraBuildArgs = props.build.extraBuildArgs ?? '';
    const buildHash = imageBuildHash(props.build.sourceHash, platform, extraBuildArgs);
    const tag = `${props.build.architecture}-${buildHash.slice(0, 16)}`;
    const image = `${this.repository.repositoryUrl}:${tag}`;
    // aws_region is read from the provider configuration: no API call.
    const region = new DataAwsRegion(this, 'region');
    this.buildStep = new DataResource(this, 'build-and-push', {
      triggersReplace: { image, sourceHash: buildHash },
      provisioners: [
        {
          type: 'local-exec',
          interpreter: ['/bin/sh', '-c'],
          command: BUILD_AND_PUSH_SCRIPT,
          workingDir: `\${path.module}/${props.build.buildContext ?? '../../..'}`,
          environment: {
            REGION: region.name,
            REPOSITORY: this.repository.name,
            REGISTRY: Token.asString(Fn.element(Fn.split('/', this.repository.repositoryUrl), 0)),
            TAG: tag,
            IMAGE: image,
            HANDLER: props.build.handler,
            PLATFORM: platform,
            EXTRA_BUILD_ARGS: extraBuildArgs,
          },
        },
      ],
    });
    this.imageUri = image;
  }
}
