/**
 * `ImageRepository`: an ECR repository for one handler's image (scan on push, immutable tags, a
 * lifecycle policy), and optionally the step that builds and pushes the image during deploy.
 */
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
  /** Content hash of the image sources (see `hashImageSources`); becomes part of the tag. */
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

/** The shell step run by the build: idempotent (skips a tag already pushed, as tags are immutable). */
export const BUILD_AND_PUSH_SCRIPT = [
  'set -eu',
  // No "${" anywhere: Terraform would read it as an interpolation. DOCKER picks the client (default docker).
  'DOCKER=$(printenv DOCKER || echo docker)',
  'if aws ecr describe-images --region "$REGION" --repository-name "$REPOSITORY" --image-ids imageTag="$TAG" >/dev/null 2>&1; then',
  '  echo "image $IMAGE already pushed"; exit 0',
  'fi',
  'aws ecr get-login-password --region "$REGION" | "$DOCKER" login --username AWS --password-stdin "$REGISTRY"',
  'DOCKER_BUILDKIT=1 "$DOCKER" build --platform "$PLATFORM" --build-arg HANDLER="$HANDLER" $EXTRA_BUILD_ARGS -t "$IMAGE" .',
  '"$DOCKER" push "$IMAGE"',
].join('\n');

export class ImageRepository extends Construct {
  readonly repository: EcrRepository;
  /** The build step, when `build` is set. Functions using `imageUri` depend on it. */
  readonly buildStep?: DataResource;
  /** With `build`: `<repository url>:<arch>-<hash16>`; without: the repository URL (add your tag). */
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
    const tag = `${props.build.architecture}-${props.build.sourceHash.slice(0, 16)}`;
    const image = `${this.repository.repositoryUrl}:${tag}`;
    // aws_region is read from the provider configuration: no API call.
    const region = new DataAwsRegion(this, 'region');
    this.buildStep = new DataResource(this, 'build-and-push', {
      triggersReplace: { image, sourceHash: props.build.sourceHash },
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
            PLATFORM: props.build.architecture === 'arm64' ? 'linux/arm64' : 'linux/amd64',
            EXTRA_BUILD_ARGS: props.build.extraBuildArgs ?? '',
          },
        },
      ],
    });
    this.imageUri = image;
  }
}
