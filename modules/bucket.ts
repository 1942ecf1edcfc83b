/**
 * S3 buckets: `SecureBucket` creates one with the module's secure defaults; `ImportedBucket`
 * refers to a bucket managed elsewhere. Both expose the same `IBucket` grant helpers.
 */
import { Construct } from 'constructs';
import { S3Bucket } from '@cdktf/provider-aws/lib/s3-bucket';
import { S3BucketPublicAccessBlock } from '@cdktf/provider-aws/lib/s3-bucket-public-access-block';
import { S3BucketServerSideEncryptionConfigurationA } from '@cdktf/provider-aws/lib/s3-bucket-server-side-encryption-configuration';
import { S3BucketOwnershipControls } from '@cdktf/provider-aws/lib/s3-bucket-ownership-controls';
import { S3BucketPolicy } from '@cdktf/provider-aws/lib/s3-bucket-policy';
import { S3BucketLifecycleConfiguration } from '@cdktf/provider-aws/lib/s3-bucket-lifecycle-configuration';
import { DataAwsPartition } from '@cdktf/provider-aws/lib/data-aws-partition';
import { Fn, IResolvable, ITerraformDependable, Op, Token } from 'cdktf';
import { isKnown } from './validation';
import { IGrantable, resourcePolicyJson, sidFragment } from './policy';

/** A bucket the chain reads from or writes to. */
export interface IBucket {
  readonly bucketName: string;
  readonly bucketArn: string;
  /** True when this module created the bucket (and so manages its access block, encryption and policy). */
  readonly managed: boolean;
  /** Resources a notification must wait for (the bucket policy and access block), if managed. */
  readonly readyDependables: ITerraformDependable[];
  /**
   * Grants s3:GetObject on `prefix*`, plus s3:ListBucket on the bucket: without ListBucket, S3
   * answers GetObject/HeadObject of a missing key with 403 instead of 404, and the handlers could
   * not tell "deleted" (permanent) from "denied". ListBucket cannot be narrowed by prefix for this
   * purpose (HeadObject requests carry no s3:prefix).
   */
  grantReadObjects(grantee: IGrantable, prefix: string, label: string): void;
  /**
   * Grants s3:PutObject and s3:GetObject on `prefix*` (HeadObject is authorized by s3:GetObject;
   * there is no s3:HeadObject action), plus s3:ListBucket on the bucket (see grantReadObjects).
   */
  grantWriteObjects(grantee: IGrantable, prefix: string, label: string): void;
}

abstract class BucketBase extends Construct implements IBucket {
  abstract readonly bucketName: string;
  abstract readonly bucketArn: string;
  abstract readonly managed: boolean;
  abstract readonly readyDependables: ITerraformDependable[];

  grantReadObjects(grantee: IGrantable, prefix: string, label: string): void {
    grantee.addToPrincipalPolicy({
      sid: `Read${sidFragment(label)}Objects`,
      actions: ['s3:GetObject'],
      resources: [`${this.bucketArn}/${prefix}*`],
    });
    this.grantList(grantee);
  }

  grantWriteObjects(grantee: IGrantable, prefix: string, label: string): void {
    grantee.addToPrincipalPolicy({
      sid: `Write${sidFragment(label)}Objects`,
      actions: ['s3:PutObject', 's3:GetObject'],
      resources: [`${this.bucketArn}/${prefix}*`],
    });
    this.grantList(grantee);
  }

  private grantList(grantee: IGrantable): void {
    grantee.addToPrincipalPolicy({
      sid: `List${sidFragment(this.node.id)}Bucket`,
      actions: ['s3:ListBucket'],
      resources: [this.bucketArn],
    });
  }
}

export interface SecureBucketProps {
  /**
   * The bucket name. Leave unset to let Terraform pick a unique name from `bucketNamePrefix`.
   * @default - generated from bucketNamePrefix
   */
  readonly bucketName?: string;
  /**
   * Prefix for a generated name (at most 37 characters, lower case).
   * @default 'image-resize-chain-'
   */
  readonly bucketNamePrefix?: string;
  /**
   * Let `terraform destroy` delete a bucket that still holds objects.
   * @default false
   */
  readonly forceDestroy?: boolean | IResolvable;
  /** @default {} */
  readonly tags?: Record<string, string>;
}

/**
 * An S3 bucket with the module's secure defaults: all public access blocked, SSE-S3 encryption
 * by default, object ownership enforced (ACLs disabled), and a bucket policy that denies any
 * request not made over TLS.
 */
export class SecureBucket extends BucketBase {
  readonly bucket: S3Bucket;
  readonly bucketName: string;
  readonly bucketArn: string;
  readonly managed = true;
  readonly publicAccessBlock: S3BucketPublicAccessBlock;
  readonly policy: S3BucketPolicy;

  constructor(scope: Construct, id: string, props: SecureBucketProps = {}) {
    super(scope, id);
    this.bucket = new S3Bucket(this, 'bucket', {
      ...(props.bucketName
        ? { bucket: props.bucketName }
        : { bucketPrefix: props.bucketNamePrefix ?? 'image-resize-chain-' }),
      forceDestroy: props.forceDestroy ?? false,
      tags: props.tags,
    });
    this.bucketName = this.bucket.bucket;
    this.bucketArn = this.bucket.arn;
    this.publicAccessBlock = new S3BucketPublicAccessBlock(this, 'public-access-block', {
      bucket: this.bucket.id,
      blockPublicAcls: true,
      blockPublicPolicy: true,
      ignorePublicAcls: true,
      restrictPublicBuckets: true,
    });
    new S3BucketServerSideEncryptionConfigurationA(this, 'encryption', {
      bucket: this.bucket.id,
      rule: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: 'AES256' } }],
    });
    new S3BucketOwnershipControls(this, 'ownership', {
      bucket: this.bucket.id,
      rule: { objectOwnership: 'BucketOwnerEnforced' },
    });
    this.policy = new S3BucketPolicy(this, 'policy', {
      bucket: this.bucket.id,
      policy: resourcePolicyJson([
        {
          sid: 'DenyInsecureTransport',
          effect: 'Deny',
          principal: '*',
          actions: ['s3:*'],
          resources: [this.bucket.arn, `${this.bucket.arn}/*`],
          conditions: { Bool: { 'aws:SecureTransport': 'false' } },
        },
      ]),
      // Putting a policy while the access block is being applied fails intermittently.
      dependsOn: [this.publicAccessBlock],
    });
  }

  get readyDependables(): ITerraformDependable[] {
    return [this.publicAccessBlock, this.policy];
  }

  /**
   * The lifecycle of an uploads bucket: incomplete multipart uploads are aborted after 1 day (their
   * parts are billed and never become objects), and optionally objects under `uploadsPrefix` expire
   * `expireUploadsAfterDays` after creation. As a Terraform expression, 0 keeps the expiry rule
   * disabled (decided at plan time).
   */
  addUploadsLifecycle(uploadsPrefix: string, expireUploadsAfterDays?: number): S3BucketLifecycleConfiguration {
    const expiry =
      expireUploadsAfterDays === undefined
        ? undefined
        : isKnown(expireUploadsAfterDays)
          ? { status: 'Enabled', days: expireUploadsAfterDays }
          : {
              status: Token.asString(Fn.conditional(Op.gte(expireUploadsAfterDays, 1), 'Enabled', 'Disabled')),
              days: Token.asNumber(Fn.max([expireUploadsAfterDays, 1])),
            };
    return new S3BucketLifecycleConfiguration(this, 'lifecycle', {
      bucket: this.bucket.id,
      rule: [
        {
          id: 'abort-incomplete-multipart-uploads',
          status: 'Enabled',
          filter: [{}],
          abortIncompleteMultipartUpload: [{ daysAfterInitiation: 1 }],
        },
        ...(expiry
          ? [
              {
                id: 'expire-processed-uploads',
                status: expiry.status,
                filter: [{ prefix: uploadsPrefix }],
                expiration: [{ days: expiry.days }],
              },
            ]
          : []),
      ],
    });
  }
}

export interface ImportedBucketProps {
  /** Name of an existing bucket. Its access block, encryption and policy stay with its owner. */
  readonly bucketName: string;
}

/** A bucket created outside this module, referred to by name. */
export class ImportedBucket extends BucketBase {
  readonly bucketName: string;
  readonly bucketArn: string;
  readonly managed = false;
  readonly readyDependables: ITerraformDependable[] = [];

  constructor(scope: Construct, id: string, props: ImportedBucketProps) {
    super(scope, id);
    // aws_partition is computed by the provider locally: no API call, so offline plans still work.
    const partition = new DataAwsPartition(this, 'partition');
    this.bucketName = props.bucketName;
    this.bucketArn = `arn:${partition.partition}:s3:::${props.bucketName}`;
  }
}
