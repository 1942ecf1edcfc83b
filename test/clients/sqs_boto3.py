"""Drives `resize-chain up`'s SQS (Query protocol, as boto3 before 1.28 speaks it) and Lambda
mappings API with boto3 as a user would, and prints one JSON document of what it saw.

Usage: python3 sqs_boto3.py ENDPOINT QUEUE_NAME
QUEUE_NAME is created by the script (it must not exist) and deleted at the end.
"""
import json
import sys

import boto3

endpoint, queue_name = sys.argv[1], sys.argv[2]
session = boto3.session.Session(region_name="us-east-1")
sqs = session.client("sqs", endpoint_url=endpoint)
lambda_api = session.client("lambda", endpoint_url=endpoint)
seen = {"boto3": boto3.__version__}


def counts(url):
    attributes = sqs.get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    )["Attributes"]
    return {"visible": int(attributes["ApproximateNumberOfMessages"]), "notVisible": int(attributes["ApproximateNumberOfMessagesNotVisible"])}


def receive_all(url, count):
    """Receives until `count` distinct messages came (a receive may return fewer than are visible)."""
    got = {}
    for _ in range(20):
        answer = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1, AttributeNames=["ApproximateReceiveCount"])
        for message in answer.get("Messages", []):
            got[message["MessageId"]] = message
        if len(got) >= count:
            break
    return list(got.values())


url = sqs.create_queue(QueueName=queue_name, Attributes={"VisibilityTimeout": "300"})["QueueUrl"]
# An empty receive: SQS answers <ReceiveMessageResult/>, boto3 gives a dict without "Messages".
empty = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0)
seen["emptyReceiveKeys"] = sorted(key for key in empty if key != "ResponseMetadata")

sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": str(i), "MessageBody": "message %d" % i} for i in range(3)])
first, *rest = receive_all(url, 3)
seen["afterReceive"] = counts(url)
sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=first["ReceiptHandle"], VisibilityTimeout=0)
batch = sqs.change_message_visibility_batch(
    QueueUrl=url, Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"], "VisibilityTimeout": 0} for i, m in enumerate(rest)]
)
seen["batchReleased"] = len(batch.get("Successful", []))
seen["batchFailed"] = batch.get("Failed", [])
seen["afterRelease"] = counts(url)
again = receive_all(url, 3)
seen["receivedAgain"] = sorted([m["Body"], int(m["Attributes"]["ApproximateReceiveCount"])] for m in again)
deleted = sqs.delete_message_batch(QueueUrl=url, Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(again)])
seen["deleted"] = len(deleted.get("Successful", []))
seen["afterDelete"] = counts(url)
sqs.delete_queue(QueueUrl=url)

seen["mappings"] = sorted(
    [m["UUID"], m["EventSourceArn"].split(":")[-1], m["State"]] for m in lambda_api.list_event_source_mappings()["EventSourceMappings"]
)
print(json.dumps(seen))
