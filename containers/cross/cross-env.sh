# Sourced (`CROSS_TARGET=<TARGETARCH>; . containers/cross/cross-env.sh`: POSIX `.` takes no arguments)
# by the Dockerfile's build stages, which
# run on the build machine's CPU: when the target CPU differs, npm's install scripts compile native
# code (aws-lambda-ric's curl, aws-lambda-cpp and its Node addon) with Debian's cross compiler
# instead of under QEMU, where the same step takes over 20 minutes (measured: its configure alone).
#   - autoconf (curl): CONFIG_SITE names the host triplet and declares a cross build;
#   - cmake (aws-lambda-cpp): the cmake wrapper in ./bin sets the target system and compilers;
#   - node-gyp (rapid-client.node): npm_config_arch, and CC/CXX/LINK for its make generator.
# Sets CROSS_PACKAGES (the apt packages the cross build needs, empty for a native one) either way.
# CROSS_DIR: this folder (default /build/containers/cross, where the Dockerfile copies it).
cross_target="${CROSS_TARGET:?set CROSS_TARGET to amd64 or arm64 before sourcing cross-env.sh}"
case "$cross_target" in
  amd64|x64) cross_cpu=x64; CROSS_TRIPLET=x86_64-linux-gnu ;;
  arm64) cross_cpu=arm64; CROSS_TRIPLET=aarch64-linux-gnu ;;
  *) echo "cross-env: unsupported target architecture $cross_target" >&2; return 1 2>/dev/null || exit 1 ;;
esac
CROSS_PACKAGES=
if [ "$cross_cpu" != "$(node -p process.arch)" ]; then
  # Debian names the cross compilers with '-' for '_' (g++-x86-64-linux-gnu).
  CROSS_PACKAGES="g++-$(echo "$CROSS_TRIPLET" | tr _ -)"
  cross_dir="${CROSS_DIR:-/build/containers/cross}"
  export CROSS_TRIPLET
  export CC="$CROSS_TRIPLET-gcc" CXX="$CROSS_TRIPLET-g++" LINK="$CROSS_TRIPLET-g++" \
         AR="$CROSS_TRIPLET-ar" RANLIB="$CROSS_TRIPLET-ranlib" STRIP="$CROSS_TRIPLET-strip" NM="$CROSS_TRIPLET-nm"
  export CONFIG_SITE="$cross_dir/config.site"
  export npm_config_arch="$cross_cpu"
  export PATH="$cross_dir/bin:$PATH"
fi
