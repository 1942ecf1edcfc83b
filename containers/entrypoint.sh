#!/bin/sh
# Entrypoint of every handler image: starts aws-lambda-ric the way the Lambda Node.js runtime does.
#   docker run IMAGE [handler]     handler defaults to the image's own (_HANDLER, e.g. resize.handler)
# With AWS_LAMBDA_RUNTIME_API set (Lambda, `resize-chain start --containers`), the runtime polls it.
# Without it, the handler runs under the Runtime Interface Emulator when the image holds one or one is
# mounted (/usr/local/bin/aws-lambda-rie or /aws-lambda/aws-lambda-rie), as AWS documents for
# custom images: docker run -p 9000:8080 -v ~/.aws-lambda-rie:/aws-lambda IMAGE
set -eu

# Lambda passes the image's CMD (or ImageConfig.Command) as arguments: the first one is the handler.
if [ "$#" -gt 0 ]; then _HANDLER="$1"; fi
export _HANDLER
export LAMBDA_TASK_ROOT="${LAMBDA_TASK_ROOT:-/var/task}"
export LAMBDA_RUNTIME_DIR="${LAMBDA_RUNTIME_DIR:-/var/runtime}"

# aws-lambda-ric dies on its first invoke without these (DESIGN.md §5). Lambda always sets them; other
# hosts (a bare docker run against some Runtime API) may not.
fn="${_HANDLER%%.*}"
export AWS_LAMBDA_FUNCTION_NAME="${AWS_LAMBDA_FUNCTION_NAME:-$fn}"
export AWS_LAMBDA_FUNCTION_VERSION="${AWS_LAMBDA_FUNCTION_VERSION:-\$LATEST}"
export AWS_LAMBDA_FUNCTION_MEMORY_SIZE="${AWS_LAMBDA_FUNCTION_MEMORY_SIZE:-1024}"
export AWS_LAMBDA_LOG_GROUP_NAME="${AWS_LAMBDA_LOG_GROUP_NAME:-/aws/lambda/$AWS_LAMBDA_FUNCTION_NAME}"
export AWS_LAMBDA_LOG_STREAM_NAME="${AWS_LAMBDA_LOG_STREAM_NAME:-\$LATEST}"

ric="$LAMBDA_TASK_ROOT/node_modules/aws-lambda-ric/index.mjs"

if [ -z "${AWS_LAMBDA_RUNTIME_API:-}" ]; then
  for rie in /usr/local/bin/aws-lambda-rie /aws-lambda/aws-lambda-rie; do
    if [ -x "$rie" ]; then exec "$rie" /usr/local/bin/node "$ric" "$_HANDLER"; fi
  done
  echo '{"level":"error","code":"NO_RUNTIME_API","message":"AWS_LAMBDA_RUNTIME_API is not set and no Runtime Interface Emulator was found at /usr/local/bin/aws-lambda-rie or /aws-lambda/aws-lambda-rie. Mount the RIE (docker run -v <dir holding aws-lambda-rie>:/aws-lambda -p 9000:8080 IMAGE) or point AWS_LAMBDA_RUNTIME_API at a Runtime API (resize-chain invoke does)."}' >&2
  exit 64
fi
exec /usr/local/bin/node "$ric" "$_HANDLER"
