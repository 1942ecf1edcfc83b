#!/usr/bin/env bash
# Makes a Docker engine usable for the image builds and tests, idempotently (CI and first-time users):
#   1. installs the engine from Debian's docker.io package (and debootstrap) when dockerd is missing;
#   2. starts dockerd in the background when no engine answers, and waits for it;
#   3. builds the offline base image (containers/base/build-base.sh) when its tag is missing,
#      unless BASE_IMAGE names another base (e.g. node:22-bookworm-slim where a registry is reachable).
# Prints `export DOCKER=... BASE_IMAGE=...` lines for the caller to eval. Needs root for steps 1-3.
# Environment: DOCKER (client; default /usr/bin/docker, the Debian client matching the engine: a newer
# client first on PATH may lack buildx), BASE_IMAGE, DOCKERD_LOG (default /tmp/dockerd.log).
set -euo pipefail
cd "$(dirname "$0")/.."

OFFLINE_BASE=image-resize-chain/base:node22-bookworm
log() { echo "docker-setup: $*" >&2; }

if ! command -v dockerd >/dev/null 2>&1 || ! command -v debootstrap >/dev/null 2>&1; then
  log "installing docker.io and debootstrap from Debian"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io debootstrap >/dev/null
fi
DOCKER="${DOCKER:-$( [ -x /usr/bin/docker ] && echo /usr/bin/docker || command -v docker )}"

if ! "$DOCKER" version --format '{{.Server.Version}}' >/dev/null 2>&1; then
  log "starting dockerd (log: ${DOCKERD_LOG:-/tmp/dockerd.log})"
  # No init system here: run it detached from this shell so it outlives the script.
  setsid nohup dockerd >"${DOCKERD_LOG:-/tmp/dockerd.log}" 2>&1 < /dev/null &
  for _ in $(seq 1 60); do
    "$DOCKER" version --format '{{.Server.Version}}' >/dev/null 2>&1 && break
    sleep 1
  done
  "$DOCKER" version --format '{{.Server.Version}}' >/dev/null 2>&1 || {
    log "dockerd did not answer within 60 s"; tail -20 "${DOCKERD_LOG:-/tmp/dockerd.log}" >&2; exit 1; }
fi
log "engine $("$DOCKER" version --format '{{.Server.Version}}') via $DOCKER"

BASE_IMAGE="${BASE_IMAGE:-$OFFLINE_BASE}"
if [ "$BASE_IMAGE" = "$OFFLINE_BASE" ] && ! "$DOCKER" image inspect "$OFFLINE_BASE" >/dev/null 2>&1; then
  log "building the offline base $OFFLINE_BASE"
  DOCKER="$DOCKER" BASE_IMAGE_TAG="$OFFLINE_BASE" containers/base/build-base.sh >/dev/null
fi
echo "export DOCKER=$DOCKER BASE_IMAGE=$BASE_IMAGE"
