#!/bin/sh
# Assembles, inside a stage FROM the base image, the minimal root filesystem the handler images run
# on: `sh runtime-root.sh /rootfs`. It holds the base image's Node binary, a POSIX shell for the
# entrypoint, the shared libraries they and the native modules (aws-lambda-ric, sharp's libvips)
# link against, and a non-root user: no package manager, no npm, no compiler, no CA store (Node
# carries its own). That is what keeps the images small (node:22-bookworm-slim alone is ~200 MB),
# whichever Debian-based Node 22 image BASE_IMAGE names.
set -eu
R="$1"
node="$(command -v node)"
sh_bin="$(readlink -f /bin/sh)"   # dash on Debian

mkdir -p "$R/usr/local/bin" "$R/bin" "$R/usr/bin" "$R/etc" "$R/var/task" "$R/var/runtime"
mkdir -m 1777 "$R/tmp"
cp "$node" "$R/usr/local/bin/node"
cp "$sh_bin" "$R/bin/sh"
# sharp's detect-libc reads this file to tell glibc from musl; without it, it builds a full
# diagnostic report (or spawns getconf) at every cold start. The script itself is never run.
if [ -f /usr/bin/ldd ]; then cp /usr/bin/ldd "$R/usr/bin/ldd"; chmod 0644 "$R/usr/bin/ldd"; fi

# Libraries: what node and sh link against, plus what the prebuilt native modules need
# (libvips-cpp: libresolv, libdl, libpthread; rapid-client.node: libstdc++, libgcc_s, libm).
copy_lib() {
  src="$1"
  mkdir -p "$R$(dirname "$src")"
  cp -L "$src" "$R$src"
}
for bin in "$node" "$sh_bin"; do
  ldd "$bin" | awk '/=>/ { print $3 } /^[[:space:]]*\// { print $1 }' | while read -r lib; do
    [ -n "$lib" ] && copy_lib "$lib"
  done
done
for name in libstdc++.so.6 libgcc_s.so.1 libm.so.6 libdl.so.2 libpthread.so.0 libresolv.so.2 librt.so.1; do
  path="$(ldconfig -p | awk -v n="$name" '$1 == n && !done { print $NF; done = 1 }')"
  if [ -z "$path" ]; then echo "runtime-root: $name not found in the base image" >&2; exit 1; fi
  copy_lib "$path"
done
# The loader's cache, so libraries are found wherever the base keeps them.
libdir="$(dirname "$(ldconfig -p | awk '$1 == "libc.so.6" { print $NF; exit }')")"
printf '%s\n' "$libdir" "/usr$libdir" > "$R/etc/ld.so.conf"
ldconfig -r "$R"

# Lambda runs functions as sbx_user1051 (993:990); the image does too outside Lambda.
printf 'root:x:0:0:root:/root:/bin/sh\nsbx_user1051:x:993:990::/tmp:/bin/sh\n' > "$R/etc/passwd"
printf 'root:x:0:\nsbx_user1051:x:990:\n' > "$R/etc/group"
printf 'passwd: files\ngroup: files\nhosts: files dns\n' > "$R/etc/nsswitch.conf"
[ -f /etc/os-release ] && cp -L /etc/os-release "$R/etc/os-release"

# Fail here, not at the first invoke, if something is missing.
chroot "$R" /usr/local/bin/node -e 'process.exit(0)'
chroot "$R" /bin/sh -c 'exit 0'
