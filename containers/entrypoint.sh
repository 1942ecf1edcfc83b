#!/bin/sh
# Entrypoint of every handler image, started as Lambda starts an image: its argument is the image's
# CMD (e.g. resize.handler) or the function's ImageConfig.Command, the first word the handler.
#   docker run IMAGE [handler]
# With AWS_LAMBDA_RUNTIME_API set (Lambda, `resize-chain start --containers`), the runtime polls it.
# Without it, the Runtime Interface Emulator serves POST /2015-03-31/functions/function/invocations
# on port 8080 (docker run -p 9000:8080 IMAGE): AWS's RIE when one is mounted or in the image
# (/usr/local/bin/aws-lambda-rie or /aws-lambda/aws-lambda-rie), else our own (/var/runtime/emulator.mjs),
# which also serves concurrent invocations.
set -eu

if [ "$#" -ne 1 ]; then
  # As Lambda's own base images answer an image with no CMD and a function with no command.
  echo '{"level":"error","code":"NO_HANDLER","message":"entrypoint requires the handler name to be the first argument: give the image a CMD (e.g. CMD [\"resize.handler\"]) or the function an ImageConfig.Command"}' >&2
  exit 142
fi
# aws-lambda-ric ignores its argument and reads the handler from _HANDLER.
export _HANDLER="$1"
export LAMBDA_TASK_ROOT="${LAMBDA_TASK_ROOT:-/var/task}"
export LAMBDA_RUNTIME_DIR="${LAMBDA_RUNTIME_DIR:-/var/runtime}"
ric="$LAMBDA_TASK_ROOT/node_modules/aws-lambda-ric/index.mjs"

lambda_defaults() {
  # aws-lambda-ric dies on its first invoke without these. Lambda always sets them; other hosts (a
  # bare docker run against some Runtime API, AWS's RIE) may not.
  fn="${_HANDLER%%.*}"
  export AWS_LAMBDA_FUNCTION_NAME="${AWS_LAMBDA_FUNCTION_NAME:-$fn}"
  export AWS_LAMBDA_FUNCTION_VERSION="${AWS_LAMBDA_FUNCTION_VERSION:-\$LATEST}"
  export AWS_LAMBDA_FUNCTION_MEMORY_SIZE="${AWS_LAMBDA_FUNCTION_MEMORY_SIZE:-1024}"
  export AWS_LAMBDA_LOG_GROUP_NAME="${AWS_LAMBDA_LOG_GROUP_NAME:-/aws/lambda/$AWS_LAMBDA_FUNCTION_NAME}"
  export AWS_LAMBDA_LOG_STREAM_NAME="${AWS_LAMBDA_LOG_STREAM_NAME:-\$LATEST}"
}

if [ -z "${AWS_LAMBDA_RUNTIME_API:-}" ]; then
  for rie in /usr/local/bin/aws-lambda-rie /aws-lambda/aws-lambda-rie; do
    if [ -x "$rie" ]; then lambda_defaults; exec "$rie" /usr/local/bin/node "$ric" "$_HANDLER"; fi
  done
  # Our emulator sets Lambda's variables per sandbox itself (function name: the handler's file).
  export AWS_LAMBDA_FUNCTION_NAME="${AWS_LAMBDA_FUNCTION_NAME:-${_HANDLER%%.*}}"
  exec /usr/local/bin/node "$LAMBDA_RUNTIME_DIR/emulator.mjs" "$_HANDLER" "$ric"
fi
lambda_defaults
exec /usr/local/bin/node "$ric" "$_HANDLER"
