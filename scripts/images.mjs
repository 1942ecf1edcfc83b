#!/usr/bin/env node
// `npm run images`: builds every handler image from the one Dockerfile (containers/<handler>/).
//
//   node scripts/images.mjs [handler...] [--platform linux/amd64|linux/arm64] [--base IMAGE]
//                           [--tag TAG] [--if-missing] [--print-tags] [--json]
//
// Images are single-platform with no provenance or SBOM attestation (Lambda refuses an index):
// `--provenance=false --sbom=false` when the client knows them, BUILDX_NO_DEFAULT_ATTESTATIONS=1 always.
// --platform linux/arm64 on an x86_64 host builds under QEMU (scripts/docker-setup.sh --arm64 sets it
// up and builds the arm64 offline base); its default tag is latest-arm64, so both can sit side by side.
// The Dockerfile's build stages then run on this machine's CPU (cross-compiling), from the base for
// this machine's platform (--build-base, default: as for --base on this platform).
// Each image is tagged image-resize-chain/<handler>:<tag> (default latest, or latest-arm64) and
// image-resize-chain/<handler>:src-<hash> (src-<hash>-arm64 for arm64)
// (a build removes the pinned tags of earlier builds of that handler for the same platform),
// the hash covering everything the build reads (Dockerfile, .dockerignore, package*.json,
// tsconfig.json, containers/, src/ minus the folders .dockerignore keeps out), this script
// itself, the base image ids, the platform and the client-dependent flags:
// --if-missing skips a handler whose src-<hash> image exists (tests reuse builds this way).
// Environment: DOCKER (client; default /usr/bin/docker when present: the Debian client works with the
// engine's builtin BuildKit), BASE_IMAGE / BASE_IMAGE_ARM64 (the base for amd64 / arm64; default: the
// offline base of that architecture if built, else node:22-bookworm-slim),
// BUILD_CA or NODE_EXTRA_CA_CERTS (a CA file handed to the build stage as the BuildKit secret build_ca).
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
/** The offline bases that scripts/docker-setup.sh builds, by platform. */
export const OFFLINE_BASES = {
  'linux/amd64': 'image-resize-chain/base:node22-bookworm',
  'linux/arm64': 'image-resize-chain/base:node22-bookworm-arm64',
};
export const PUBLIC_BASE = 'node:22-bookworm-slim';
const BASE_ENV = { 'linux/amd64': 'BASE_IMAGE', 'linux/arm64': 'BASE_IMAGE_ARM64' };
const DEFAULT_TAGS = { 'linux/amd64': 'latest', 'linux/arm64': 'latest-arm64' };
const DEFAULT_HANDLERS = ['resize', 'publish', 'upload'];

const docker = process.env.DOCKER || (existsSync('/usr/bin/docker') ? '/usr/bin/docker' : 'docker');

function imageId(image) {
  const res = spawnSync(docker, ['image', 'inspect', '--format', '{{.Id}}', image], { encoding: 'utf8' });
  return res.status === 0 ? res.stdout.trim() : undefined;
}

function listFiles(dir, skip = () => false) {
  const out = [];
  for (const entry of readdirSync(join(root, dir), { withFileTypes: true })) {
    const rel = `${dir}/${entry.name}`;
    if (skip(rel)) continue;
    if (entry.isDirectory()) out.push(...listFiles(rel, skip));
    else if (entry.isFile()) out.push(rel);
  }
  return out;
}

/** The lines of .dockerignore that concern src/. */
function dockerignoreSrcLines() {
  return readFileSync(join(root, '.dockerignore'), 'utf8')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line.startsWith('src/') || line.startsWith('!src/'));
}

/** Folders under src/ that .dockerignore keeps out (`src/<dir>/` lines: the local cloud, the CLI, the tools). */
function ignoredSrcFolders() {
  return dockerignoreSrcLines().filter((line) => line.startsWith('src/') && line.endsWith('/'));
}

/** Files in those folders that .dockerignore lets back in (`!src/<file>` lines: what the image's emulator bundles). */
function reincludedLocalFiles() {
  return dockerignoreSrcLines()
    .filter((line) => line.startsWith('!src/'))
    .map((line) => line.slice(1));
}

/**
 * The files the image hash covers: the build's inputs as .dockerignore lets them through, and this
 * script (it holds the build command and its flags).
 */
function hashedFiles() {
  const local = new Set(reincludedLocalFiles());
  const ignored = ignoredSrcFolders();
  return [
    'Dockerfile',
    '.dockerignore',
    'package.json',
    'package-lock.json',
    'tsconfig.json',
    'scripts/images.mjs',
    ...listFiles('containers', (rel) => rel === 'containers/base'),
    ...listFiles(
      'src',
      (rel) =>
        rel.endsWith('.test.ts') ||
        (ignored.some((dir) => rel.startsWith(dir)) &&
          !local.has(rel) &&
          ![...local].some((file) => file.startsWith(`${rel}/`))),
    ),
  ].sort();
}

/** Hash of hashedFiles(), plus the base ids, the platform and the build arguments. */
function sourceHash(baseId, platform, buildArgs) {
  const files = hashedFiles();
  const hash = createHash('sha256').update(`${baseId}\n${platform}\n${buildArgs.join(' ')}\n`);
  for (const file of files) {
    const mode = statSync(join(root, file)).mode & 0o111 ? 'x' : '-';
    hash
      .update(`${file}\0${mode}\0`)
      .update(readFileSync(join(root, file)))
      .update('\0');
  }
  return hash.digest('hex').slice(0, 16);
}

/**
 * Lambda refuses image indexes, and buildx makes one by default (a provenance attestation beside the
 * image, with the containerd image store): a client that knows the flags gets them turned off. The
 * builder also reads BUILDX_NO_DEFAULT_ATTESTATIONS (set on every build), for clients that add
 * attestations without offering the flags.
 */
function attestationArgs() {
  const help = spawnSync(docker, ['build', '--help'], { encoding: 'utf8' });
  return `${help.stdout ?? ''}`.includes('--provenance') ? ['--provenance=false', '--sbom=false'] : [];
}

function run(args, env) {
  return new Promise((resolve) => {
    const child = spawn(docker, args, { stdio: ['ignore', 'inherit', 'inherit'], env: { ...process.env, ...env } });
    child.on('exit', (code) => resolve(code ?? 1));
    child.on('error', (err) => {
      console.error(`images: cannot run ${docker}: ${err.message}`);
      resolve(127);
    });
  });
}

/** The pinned tag's form per platform: src-<hash> (amd64), src-<hash>-arm64. */
const PINNED_SUFFIX = { 'linux/amd64': '', 'linux/arm64': '-arm64' };
const pinnedTagPattern = (platform) => new RegExp(`^src-[0-9a-f]{16}${PINNED_SUFFIX[platform]}$`);

/**
 * Removes the pinned tags of earlier builds of a handler for the same platform, so every source
 * change does not leave another image behind (the other platform's build stays). Only tags go:
 * layers the current image shares stay.
 */
function untagStaleBuilds(handler, platform, pinned) {
  const repository = `image-resize-chain/${handler}`;
  const listed = spawnSync(docker, ['image', 'ls', repository, '--format', '{{.Tag}}'], { encoding: 'utf8' });
  const stale = listed.stdout
    .split('\n')
    .filter((tag) => pinnedTagPattern(platform).test(tag) && `${repository}:${tag}` !== pinned)
    .map((tag) => `${repository}:${tag}`);
  if (stale.length) spawnSync(docker, ['rmi', ...stale], { stdio: 'ignore' });
}

async function main() {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      platform: { type: 'string', default: 'linux/amd64' },
      base: { type: 'string' },
      'build-base': { type: 'string' },
      tag: { type: 'string' },
      'if-missing': { type: 'boolean', default: false },
      'print-tags': { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
    },
  });
  const handlers = positionals.length ? positionals : DEFAULT_HANDLERS;
  for (const h of handlers) {
    if (!existsSync(join(root, 'containers', h, 'image.json'))) {
      console.error(`images: unknown handler ${JSON.stringify(h)} (no containers/${h}/image.json)`);
      return 2;
    }
  }
  const platform = values.platform;
  if (!(platform in OFFLINE_BASES)) {
    console.error(
      `images: --platform must be ${Object.keys(OFFLINE_BASES).join(' or ')}, not ${JSON.stringify(platform)}`,
    );
    return 2;
  }
  const baseFor = (p) => process.env[BASE_ENV[p]] ?? (imageId(OFFLINE_BASES[p]) ? OFFLINE_BASES[p] : PUBLIC_BASE);
  const base = values.base ?? baseFor(platform);
  const hostPlatform = process.arch === 'arm64' ? 'linux/arm64' : 'linux/amd64';
  // A single-platform (offline) base cannot serve both CPUs: the build stages get this machine's.
  const buildBase = values['build-base'] ?? (platform === hostPlatform ? base : baseFor(hostPlatform));
  const tag = values.tag ?? DEFAULT_TAGS[platform];
  const baseId = imageId(base) ?? base; // a public base not pulled yet: hash its name
  const buildBaseId = buildBase === base ? baseId : (imageId(buildBase) ?? buildBase);
  const noAttestations = attestationArgs();
  const hash = sourceHash(`${baseId} ${buildBaseId}`, platform, noAttestations);
  const tags = Object.fromEntries(
    handlers.map((h) => [
      h,
      {
        image: `image-resize-chain/${h}:${tag}`,
        pinned: `image-resize-chain/${h}:src-${hash}${PINNED_SUFFIX[platform]}`,
      },
    ]),
  );
  if (values['print-tags']) {
    const plan = { base, buildBase, platform, hash, tags, buildArgs: noAttestations, hashedFiles: hashedFiles() };
    process.stdout.write(`${JSON.stringify(plan)}\n`);
    return 0;
  }

  const ca = process.env.BUILD_CA || process.env.NODE_EXTRA_CA_CERTS;
  const secretArgs = ca && existsSync(ca) ? ['--secret', `id=build_ca,src=${ca}`] : [];
  const results = [];
  for (const handler of handlers) {
    const { image, pinned } = tags[handler];
    if (values['if-missing'] && imageId(pinned)) {
      await run(['tag', pinned, image]);
      results.push({ handler, image, pinned, built: false });
      continue;
    }
    const stages = buildBase === base ? '' : ` (build stages on ${buildBase})`;
    const secret = secretArgs.length ? ' (with the build CA secret)' : '';
    console.error(`images: building ${handler} on ${base} for ${platform}${stages}${secret}`);
    const started = Date.now();
    const code = await run(
      [
        'build',
        '--platform',
        platform,
        ...noAttestations,
        '--build-arg',
        `BASE_IMAGE=${base}`,
        '--build-arg',
        `BUILD_BASE_IMAGE=${buildBase}`,
        '--build-arg',
        `HANDLER=${handler}`,
        ...secretArgs,
        '-t',
        image,
        '-t',
        pinned,
        '.',
      ],
      { DOCKER_BUILDKIT: '1', BUILDX_NO_DEFAULT_ATTESTATIONS: '1' },
    );
    if (code !== 0) {
      console.error(`images: building ${handler} failed (exit ${code})`);
      return 1;
    }
    results.push({ handler, image, pinned, built: true, seconds: Number(((Date.now() - started) / 1000).toFixed(1)) });
    untagStaleBuilds(handler, platform, pinned);
  }
  for (const r of results) {
    const size = spawnSync(docker, ['image', 'inspect', '--format', '{{.Size}}', r.image], {
      encoding: 'utf8',
    }).stdout.trim();
    r.megabytes = Number((Number(size) / 1e6).toFixed(1));
  }
  if (values.json) process.stdout.write(`${JSON.stringify({ base, buildBase, platform, hash, images: results })}\n`);
  else
    for (const r of results)
      console.log(
        `${r.image}  ${r.megabytes} MB  ${r.built ? `built in ${r.seconds} s` : 'up to date'}  (${r.pinned})`,
      );
  return 0;
}

process.chdir(root);
main().then(
  (code) => (process.exitCode = code),
  (err) => {
    console.error(err);
    process.exitCode = 1;
  },
);
