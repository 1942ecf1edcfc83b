"""Lambda's event source mappings through boto3 (Debian's) against the local endpoint: create, get,
tag and list tags by the mapping's ARN, update, delete. Prints what it saw as one JSON object.
Debian's botocore predates ScalingConfig, Tags and EventSourceMappingArn in this API's model: the
mapping's ARN is built from its UUID.
Usage: lambda_mappings_boto3.py ENDPOINT FUNCTION QUEUE_ARN"""
import json
import sys

import boto3

endpoint, function, queue_arn = sys.argv[1:4]
client = boto3.client("lambda", endpoint_url=endpoint, region_name="us-east-1")
created = client.create_event_source_mapping(
    FunctionName=function,
    EventSourceArn=queue_arn,
    BatchSize=4,
    MaximumBatchingWindowInSeconds=1,
)
uuid = created["UUID"]
got = client.get_event_source_mapping(UUID=uuid)
arn = "arn:aws:lambda:us-east-1:000000000000:event-source-mapping:" + uuid
client.tag_resource(Resource=arn, Tags={"owner": "boto3"})
tags = client.list_tags(Resource=arn)["Tags"]
updated = client.update_event_source_mapping(UUID=uuid, BatchSize=6, Enabled=False)
deleted = client.delete_event_source_mapping(UUID=uuid)
try:
    client.get_event_source_mapping(UUID="00000000-0000-0000-0000-000000000000")
    missing = None
except client.exceptions.ResourceNotFoundException as err:
    missing = err.response["Error"]["Code"]
print(
    json.dumps(
        {
            "created": {k: created[k] for k in ("State", "BatchSize", "MaximumBatchingWindowInSeconds", "UUID")},
            "got": {k: got[k] for k in ("State", "BatchSize")},
            "tags": tags,
            "updated": {k: updated[k] for k in ("State", "BatchSize")},
            "deleted": deleted["State"],
            "missing": missing,
        }
    )
)
