#!/usr/bin/env bash
# Makes a Docker engine usable for the image builds and tests, idempotently (CI and first-time users):
#   1. installs the engine from Debian's docker.io package (and debootstrap) when dockerd is missing;
#   2. starts dockerd in the background when no engine answers, and waits for it;
#   3. builds the offline base image (containers/base/build-base.sh) when its tag is missing,
#      unless BASE_IMAGE names another base (e.g. node:22-bookworm-slim where a registry is reachable);
#   4. with --arm64 (for linux/arm64 images on an x86_64 host): installs Debian's qemu-user-static,
#      mounts binfmt_misc, registers the qemu-aarch64 handler (flag F: it works inside containers and
#      chroots) and builds the arm64 offline base, unless BASE_IMAGE_ARM64 names another base.
# Prints `export DOCKER=... BASE_IMAGE=... [BASE_IMAGE_ARM64=...]` for the caller to eval. Needs root.
# Environment: DOCKER (client; default /usr/bin/docker, the Debian client matching the engine: a newer
# client first on PATH may lack buildx), BASE_IMAGE, DOCKERD_LOG (default /tmp/dockerd.log).
set -euo pipefail
cd "$(dirname "$0")/.."

OFFLINE_BASE=image-resize-chain/base:node22-bookworm
OFFLINE_BASE_ARM64=image-resize-chain/base:node22-bookworm-arm64
log() { echo "docker-setup: $*" >&2; }
ARM64=false
for arg in "$@"; do
  case "$arg" in
    --arm64) ARM64=true ;;
    *) log "unknown argument $arg (usage: docker-setup.sh [--arm64])"; exit 2 ;;
  esac
done

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
exports="DOCKER=$DOCKER BASE_IMAGE=$BASE_IMAGE"

if $ARM64; then
  if [ "$(uname -m)" != aarch64 ]; then
    if [ ! -x /usr/bin/qemu-aarch64-static ]; then
      log "installing qemu-user-static from Debian (arm64 emulation)"
      apt-get update -qq
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends qemu-user-static >/dev/null
    fi
    binfmt=/proc/sys/fs/binfmt_misc
    if [ ! -f "$binfmt/register" ] && ! mount -t binfmt_misc binfmt_misc "$binfmt" 2>/dev/null; then
      # The amd64 setup above still holds; the arm64 image tests skip loudly (and fail under CI=true).
      log "WARNING: cannot mount binfmt_misc (a container without privileges?): no arm64 emulation, no arm64 base"
      echo "export $exports"
      exit 0
    fi
    if ! grep -qs '^enabled' "$binfmt/qemu-aarch64"; then
      # The package's own registration line (magic, mask, interpreter); flag F opens the interpreter now.
      line="$(cat /usr/lib/binfmt.d/qemu-aarch64.conf)"
      case "$line" in *:*F*) ;; *) line="${line}F" ;; esac
      printf '%s' "$line" > "$binfmt/register"
      log "registered qemu-aarch64 for binfmt_misc"
    fi
  fi
  BASE_IMAGE_ARM64="${BASE_IMAGE_ARM64:-$OFFLINE_BASE_ARM64}"
  if [ "$BASE_IMAGE_ARM64" = "$OFFLINE_BASE_ARM64" ] && ! "$DOCKER" image inspect "$OFFLINE_BASE_ARM64" >/dev/null 2>&1; then
    log "building the offline arm64 base $OFFLINE_BASE_ARM64"
    ARCH=arm64 DOCKER="$DOCKER" BASE_IMAGE_TAG="$OFFLINE_BASE_ARM64" containers/base/build-base.sh >/dev/null
  fi
  exports="$exports BASE_IMAGE_ARM64=$BASE_IMAGE_ARM64"
fi
echo "export $exports"
