# One Dockerfile for every handler image; the build argument HANDLER picks it (containers/<HANDLER>/).
#
#   DOCKER_BUILDKIT=1 docker build --build-arg HANDLER=resize -t image-resize-chain/resize .
#   ... --platform linux/arm64              (see "Other CPUs" below)
#   ... --build-arg BASE_IMAGE=<tag>         (an offline-built base: containers/base/build-base.sh)
#   ... --build-arg BUILD_BASE_IMAGE=<tag>   (the base of the build stages, for the build machine's CPU;
#                                             default BASE_IMAGE, right for multi-platform images)
#   ... --secret id=build_ca,src=<ca.pem>    (a TLS-intercepting proxy's CA: build stage only)
#
# Needs BuildKit (RUN --mount). Stages: toolchain -> runtime-deps (aws-lambda-ric compiled, sharp for
# the target) and bundle (esbuild) -> runtime: a minimal root filesystem derived from BASE_IMAGE plus
# the handler's bundle and its native node_modules, run as a non-root user.
# Layer order keeps a source-only change to the bundle step: dependencies come before sources.
#
# Other CPUs: the build stages run on the build machine's CPU ($BUILDPLATFORM) and, when the target
# differs, compile aws-lambda-ric with Debian's cross compiler (containers/cross/) and install sharp's
# prebuilt binaries for the target. Only the runtime-root stage and the final load check run on the
# target CPU: on another CPU they need QEMU registered with binfmt_misc (scripts/docker-setup.sh --arm64).

ARG BASE_IMAGE=node:22-bookworm-slim
ARG BUILD_BASE_IMAGE=${BASE_IMAGE}
# The handler (containers/<HANDLER>/); global so the last FROM can pick its CMD stage.
ARG HANDLER=resize

# ---- toolchain: what compiling aws-lambda-ric needs (cmake, make, g++, python3, xz; a cross g++) ----
FROM --platform=$BUILDPLATFORM ${BUILD_BASE_IMAGE} AS toolchain
ARG TARGETARCH
COPY containers/cross/ /build/containers/cross/
RUN CROSS_TARGET="${TARGETARCH:-$(node -p process.arch)}" && . /build/containers/cross/cross-env.sh \
 && apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends cmake make g++ python3 xz-utils $CROSS_PACKAGES \
 && rm -rf /var/lib/apt/lists/*
# node-gyp builds against the base image's own headers (/usr/local/include/node): no download.
ENV npm_config_nodedir=/usr/local \
    npm_config_update_notifier=false npm_config_fund=false npm_config_audit=false npm_config_loglevel=warn
WORKDIR /build
COPY package.json package-lock.json ./
COPY containers/build.json containers/npm-manifest.mjs containers/

# ---- runtime-deps: every handler's native packages, for the target platform (shared by all images) ----
FROM toolchain AS runtime-deps
ARG TARGETARCH
# The secret is mounted for this step only; NODE_EXTRA_CA_CERTS makes npm trust it.
RUN --mount=type=secret,id=build_ca \
    if [ -s /run/secrets/build_ca ]; then export NODE_EXTRA_CA_CERTS=/run/secrets/build_ca; fi \
 && arch="${TARGETARCH:-$(node -p process.arch)}" \
 && CROSS_TARGET="$arch" && . /build/containers/cross/cross-env.sh \
 && case "$arch" in amd64|x64) cpu=x64 ;; arm64) cpu=arm64 ;; esac \
 && node containers/npm-manifest.mjs runtime /deps \
 && cd /deps && npm install --omit=dev --os=linux --cpu="$cpu" --no-save \
 && test -f node_modules/aws-lambda-ric/rapid-client.node

# ---- bundle-deps: what esbuild needs (pure JavaScript; no install scripts) ----
FROM toolchain AS bundle-deps
RUN --mount=type=secret,id=build_ca \
    if [ -s /run/secrets/build_ca ]; then export NODE_EXTRA_CA_CERTS=/run/secrets/build_ca; fi \
 && node containers/npm-manifest.mjs bundle /bundle-deps \
 && cd /bundle-deps && npm install --ignore-scripts --no-save \
 && ln -s /bundle-deps/node_modules /build/node_modules

# ---- per handler, from here on ----
FROM runtime-deps AS runtime-modules
ARG HANDLER=resize
COPY containers/runtime-closure.mjs containers/
COPY containers/${HANDLER}/image.json containers/${HANDLER}/
RUN node containers/runtime-closure.mjs "${HANDLER}" /deps/node_modules /out/node_modules

FROM bundle-deps AS bundle
ARG HANDLER=resize
COPY tsconfig.json ./
COPY containers/bundle.mjs containers/
COPY containers/${HANDLER}/ containers/${HANDLER}/
COPY containers/emulator/ containers/emulator/
COPY src/ src/
RUN node containers/bundle.mjs "${HANDLER}" /out/task && node containers/bundle.mjs --emulator /out/runtime

# ---- runtime-root: minimal root filesystem from BASE_IMAGE (node, sh, libraries, user) ----
FROM ${BASE_IMAGE} AS runtime-root
COPY containers/runtime-root.sh /tmp/runtime-root.sh
RUN sh /tmp/runtime-root.sh /rootfs

# ---- runtime: the image Lambda runs ----
FROM scratch AS runtime
ARG HANDLER=resize
COPY --from=runtime-root /rootfs/ /
COPY --from=runtime-modules /out/node_modules/ /var/task/node_modules/
COPY containers/entrypoint.sh /var/runtime/entrypoint.sh
# No _HANDLER here: Lambda treats it as its own variable; the handler comes as CMD (below) or the
# function's ImageConfig.Command, the entrypoint's argument.
ENV PATH=/usr/local/bin:/usr/bin:/bin \
    LANG=en_US.UTF-8 TZ=:UTC HOME=/tmp \
    LAMBDA_TASK_ROOT=/var/task LAMBDA_RUNTIME_DIR=/var/runtime
# Every native module must load on this root filesystem, as the user the function runs as.
USER 993:990
# (rapid-client.node reads AWS_LAMBDA_RUNTIME_API when loaded: any address will do, it connects later.)
RUN ["/usr/local/bin/node", "-e", "process.env.AWS_LAMBDA_RUNTIME_API='127.0.0.1:9';const fs=require('fs'),p=require('path');(function walk(d){for(const e of fs.readdirSync(d,{withFileTypes:true})){const f=p.join(d,e.name);if(e.isDirectory())walk(f);else if(f.endsWith('.node'))process.dlopen({exports:{}},f)}})('/var/task/node_modules')"]
COPY --from=bundle /out/task/ /var/task/
COPY --from=bundle /out/runtime/ /var/runtime/
WORKDIR /var/task
LABEL org.opencontainers.image.title="image-resize-chain ${HANDLER}" \
      org.opencontainers.image.source="https://github.com/image-resize-chain/image-resize-chain"
ENTRYPOINT ["/var/runtime/entrypoint.sh"]
EXPOSE 8080

# ---- the handler's CMD: exec-form CMD takes no build argument, so one stage per handler ----
FROM runtime AS cmd-resize
CMD ["resize.handler"]
FROM runtime AS cmd-publish
CMD ["publish.handler"]
FROM runtime AS cmd-upload
CMD ["upload.handler"]
FROM runtime AS cmd-baseline
CMD ["baseline.handler"]

FROM cmd-${HANDLER}
