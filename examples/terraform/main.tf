# A root configuration that uses the plain Terraform module (no CDKTF needed).
#   terraform init && terraform apply \
#     -var resize_image_uri=123456789012.dkr.ecr.eu-west-1.amazonaws.com/image-resize-chain-resize:v1 \
#     -var publish_image_uri=123456789012.dkr.ecr.eu-west-1.amazonaws.com/image-resize-chain-publish:v1
# From another repository, use a git source instead of the relative path:
#   source = "git::https://github.com/image-resize-chain/image-resize-chain.git//modules/terraform/image-resize-chain?ref=v0.1.0"

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

provider "aws" {
  region = var.region
  default_tags {
    tags = { application = "image-resize-chain" }
  }
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
  name              = "image-resize-chain-alarms"
  kms_master_key_id = aws_kms_key.alarms.arn
}

module "image_resize_chain" {
  source = "../../modules/terraform/image-resize-chain"

  resize_image_uri  = var.resize_image_uri
  publish_image_uri = var.publish_image_uri
  architecture      = "arm64"
  uploads_prefix    = "uploads/"
  output_prefix     = "images/"
  variants_json = jsonencode([
    { name = "thumb", width = 320, format = "webp" },
    { name = "large", width = 1600, format = "webp", quality = 75 },
    { name = "square", width = 256, height = 256, fit = "cover", format = "jpeg" },
  ])
  resize_memory_size = 2048
  alarm_actions      = [aws_sns_topic.alarms.arn]
  tags               = { team = "media" }
}

output "source_bucket_name" {
  value = module.image_resize_chain.source_bucket_name
}

output "output_bucket_name" {
  value = module.image_resize_chain.output_bucket_name
}

output "resized_queue_url" {
  value = module.image_resize_chain.resized_queue_url
}
