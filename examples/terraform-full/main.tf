# The plain Terraform module with every option on: provisioned concurrency on the resize stage,
# the upload API submodule (with keep-warm pings) and the Kinesis stream-source submodule.
#   terraform init && terraform apply \
#     -var resize_image_uri=123456789012.dkr.ecr.eu-west-1.amazonaws.com/image-resize-chain-resize:v1 \
#     -var publish_image_uri=123456789012.dkr.ecr.eu-west-1.amazonaws.com/image-resize-chain-publish:v1 \
#     -var upload_image_uri=123456789012.dkr.ecr.eu-west-1.amazonaws.com/image-resize-chain-upload:v1
# From another repository, use git sources instead of the relative paths:
#   source = "git::https://github.com/image-resize-chain/image-resize-chain.git//modules/terraform/image-resize-chain?ref=v0.1.0"
#   source = "git::https://github.com/image-resize-chain/image-resize-chain.git//modules/terraform/image-resize-chain/modules/upload-api?ref=v0.1.0"

terraform {
  required_version = ">= 1.5.0"
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.100.0, < 6.0.0"
    }
  }
}

variable "region" {
  type    = string
  default = "eu-west-1"
}

variable "resize_image_uri" {
  type        = string
  description = "ECR image URI of the resize handler (docker build --build-arg HANDLER=resize)."
}

variable "publish_image_uri" {
  type        = string
  description = "ECR image URI of the publish handler (docker build --build-arg HANDLER=publish)."
}

variable "upload_image_uri" {
  type        = string
  description = "ECR image URI of the upload handler (docker build --build-arg HANDLER=upload)."
}

provider "aws" {
  region = var.region
  default_tags {
    tags = { application = "image-resize-chain" }
  }
}

locals {
  # The submodules name their resources with the same prefix as the chain.
  name_prefix  = "media"
  architecture = "arm64"
  tags         = { team = "media" }
}

# CloudWatch cannot publish to a topic encrypted with the AWS-managed alias/aws/sns key: the
# alarm topic uses a customer-managed key whose policy lets cloudwatch.amazonaws.com use it.
data "aws_partition" "current" {}

locals {
  # The account id is the 5th field of any ARN of the module's (no STS call, so plans run offline).
  account_id = split(":", module.image_resize_chain.ingest_queue_arn)[4]
}

resource "aws_kms_key" "alarms" {
  description             = "Encrypts the image-resize-chain alarm topic (usable by CloudWatch)"
  enable_key_rotation     = true
  deletion_window_in_days = 30
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid       = "EnableAccountIamPolicies"
        Effect    = "Allow"
        Principal = { AWS = "arn:${data.aws_partition.current.partition}:iam::${local.account_id}:root" }
        Action    = "kms:*"
        Resource  = "*"
      },
      {
        Sid       = "AllowCloudWatchAlarms"
        Effect    = "Allow"
        Principal = { Service = "cloudwatch.amazonaws.com" }
        Action    = ["kms:GenerateDataKey*", "kms:Decrypt"]
        Resource  = "*"
      },
    ]
  })
}

resource "aws_sns_topic" "alarms" {
  name              = "${local.name_prefix}-alarms"
  kms_master_key_id = aws_kms_key.alarms.arn
}

module "image_resize_chain" {
  source = "../../modules/terraform/image-resize-chain"

  name_prefix       = local.name_prefix
  resize_image_uri  = var.resize_image_uri
  publish_image_uri = var.publish_image_uri
  architecture      = local.architecture
  output_prefix     = "images/"

  # Two resize environments kept initialised on a "live" alias that the queue mapping (and the
  # stream mapping below, through resize_invoke_target_arn) invokes. 0 (the default) turns it off.
  resize_maximum_concurrency     = 10
  resize_provisioned_concurrency = 2

  alarm_actions = [aws_sns_topic.alarms.arn]
  tags          = local.tags
}

module "upload_api" {
  source = "../../modules/terraform/image-resize-chain/modules/upload-api"

  name_prefix        = local.name_prefix
  image_uri          = var.upload_image_uri
  architecture       = local.architecture
  source_bucket_name = module.image_resize_chain.source_bucket_name
  source_bucket_arn  = module.image_resize_chain.source_bucket_arn
  uploads_prefix     = module.image_resize_chain.uploads_prefix
  max_upload_bytes   = 20 * 1024 * 1024
  cors_allow_origins = ["https://app.example.com"]
  # No authorizer here, so say it: anyone who can reach the API gets upload forms (one key each,
  # size- and type-limited). Use authorization_type = "JWT" or "AWS_IAM" for real users.
  allow_anonymous_uploads = true

  keep_warm_enabled     = true
  keep_warm_rate        = "rate(5 minutes)"
  keep_warm_concurrency = 2

  alarm_actions = [aws_sns_topic.alarms.arn]
  tags          = local.tags
}

module "stream_source" {
  source = "../../modules/terraform/image-resize-chain/modules/stream-source"

  name_prefix              = local.name_prefix
  resize_invoke_target_arn = module.image_resize_chain.resize_invoke_target_arn
  resize_role_name         = module.image_resize_chain.resize_role_name
  # What the resize role may read for stream records (records under uploads_prefix are processed
  # twice: those objects also arrive through their S3 notification). readable_objects can name
  # other buckets and prefixes instead; by default the source bucket under uploads_prefix.
  source_bucket_arn = module.image_resize_chain.source_bucket_arn
  uploads_prefix    = module.image_resize_chain.uploads_prefix
  shard_count              = 2
  maximum_retry_attempts   = 5

  alarm_actions = [aws_sns_topic.alarms.arn]
  tags          = local.tags
}

output "source_bucket_name" {
  value = module.image_resize_chain.source_bucket_name
}

output "output_bucket_name" {
  value = module.image_resize_chain.output_bucket_name
}

output "upload_api_url" {
  value = module.upload_api.upload_api_url
}

output "stream_name" {
  value = module.stream_source.stream_name
}
