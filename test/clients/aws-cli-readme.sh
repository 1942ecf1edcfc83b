#!/usr/bin/env bash
# The README's SQS commands of `resize-chain up`, with the AWS CLI as a user types them.
# Usage: aws-cli-readme.sh AWS ENDPOINT RESIZED_UUID   (prints each command's output after a "== name" line)
set -euo pipefail
aws=$1 endpoint=$2 resized_uuid=$3
queue="$endpoint/000000000000/image-resize-chain"
echo "== rejected"
"$aws" --endpoint-url "$endpoint" sqs receive-message --queue-url "$queue-rejected" --query "Messages[].Body" --output text
echo "== disable"
"$aws" --endpoint-url "$endpoint" lambda update-event-source-mapping --uuid "$resized_uuid" --no-enabled --query State --output text
echo "== resized"
"$aws" --endpoint-url "$endpoint" sqs receive-message --queue-url "$queue-resized"
echo "== enable"
"$aws" --endpoint-url "$endpoint" lambda update-event-source-mapping --uuid "$resized_uuid" --enabled --query State --output text
