// The deploy's build-and-push step (BUILD_AND_PUSH_SCRIPT) as /bin/sh runs it, with stand-ins for the
// two clients it drives: `docker` (a client with or without buildx's attestation flags, pushing a
// plain manifest or an index) and `aws ecr` (the registry's record of what was pushed). What is under
// test is the script's own logic: the flags it builds with, and what it does with each media type.
// Also the tag: every input of the build (script, platform, extra arguments) changes it.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BUILD_AND_PUSH_SCRIPT, imageBuildHash } from '../../modules/image-repository';
import { resourcesOf, synthChain } from './synth';

const INDEX = 'application/vnd.oci.image.index.v1+json';
const MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json';

/**
 * A stand-in `docker`: `build --help` lists --provenance when the client is buildx; push records what the registry
 * would hold.
 */
const DOCKER_STUB = `#!/bin/sh
echo "docker $*" >> "$STATE/calls"
case "$1" in
  build)
    if [ "$2" = "--help" ]; then
      echo "  --platform string"
      [ "$BUILDX" = 1 ] && echo "  --provenance string"
      exit 0
    fi
    echo "BUILDX_NO_DEFAULT_ATTESTATIONS=$BUILDX_NO_DEFAULT_ATTESTATIONS" >> "$STATE/calls" ;;
  login) cat > /dev/null ;;
  push) printf '%s' "$PUSHES_AS" > "$STATE/pushed" ;;
esac
`;

/** A stand-in `aws`: describe-images answers from what was pushed (254 ImageNotFound otherwise). */
const AWS_STUB = `#!/bin/sh
echo "aws $*" >> "$STATE/calls"
[ "$1" = --endpoint-url ] && shift 2
case "$2" in
  describe-images)
    [ -f "$STATE/pushed" ] || { echo "ImageNotFoundException" >&2; exit 254; }
    cat "$STATE/pushed"; echo ;;
  get-login-password) echo token ;;
  batch-delete-image) rm -f "$STATE/pushed" ;;
esac
`;

interface Run {
  status: number;
  stdout: string;
  stderr: string;
  calls: string[];
  stillPushed: boolean;
}

function runScript(opts: {
  buildx: boolean;
  pushesAs: string;
  alreadyPushed?: string;
  env?: Record<string, string>;
}): Run {
  const dir = mkdtempSync(join(tmpdir(), 'irc-push-'));
  try {
    writeFileSync(join(dir, 'docker'), DOCKER_STUB, { mode: 0o755 });
    writeFileSync(join(dir, 'aws'), AWS_STUB, { mode: 0o755 });
    writeFileSync(join(dir, 'calls'), '');
    if (opts.alreadyPushed) writeFileSync(join(dir, 'pushed'), opts.alreadyPushed);
    const res = spawnSync('/bin/sh', ['-c', BUILD_AND_PUSH_SCRIPT], {
      cwd: dir,
      encoding: 'utf8',
      env: {
        PATH: `${dir}:/usr/bin:/bin`,
        STATE: dir,
        BUILDX: opts.buildx ? '1' : '0',
        PUSHES_AS: opts.pushesAs,
        REGION: 'eu-west-1',
        REPOSITORY: 'irc-resize',
        REGISTRY: '123456789012.dkr.ecr.eu-west-1.amazonaws.com',
        TAG: 'x86_64-0123456789abcdef',
        IMAGE: '123456789012.dkr.ecr.eu-west-1.amazonaws.com/irc-resize:x86_64-0123456789abcdef',
        HANDLER: 'resize',
        PLATFORM: 'linux/amd64',
        EXTRA_BUILD_ARGS: '',
        ...opts.env,
      },
    });
    return {
      status: res.status ?? 1,
      stdout: res.stdout,
      stderr: res.stderr,
      calls: readFileSync(join(dir, 'calls'), 'utf8').trim().split('\n'),
      stillPushed: existsSync(join(dir, 'pushed')),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('BUILD_AND_PUSH_SCRIPT', () => {
  test('a buildx client builds one platform with provenance and SBOM attestations off', () => {
    const run = runScript({ buildx: true, pushesAs: MANIFEST });
    expect(run).toMatchObject({ status: 0, stillPushed: true });
    const build = run.calls.find((c) => c.startsWith('docker build --platform'));
    expect(build).toBe(
      'docker build --platform linux/amd64 --provenance=false --sbom=false --build-arg HANDLER=resize ' +
        '-t 123456789012.dkr.ecr.eu-west-1.amazonaws.com/irc-resize:x86_64-0123456789abcdef .',
    );
    expect(run.calls).toContain('BUILDX_NO_DEFAULT_ATTESTATIONS=1');
    expect(run.stdout).toContain(`single-platform manifest (${MANIFEST})`);
  });

  test('an older client gets no flags it does not know, but the variable buildx reads', () => {
    const run = runScript({ buildx: false, pushesAs: MANIFEST });
    expect(run.status).toBe(0);
    const build = run.calls.find((c) => c.startsWith('docker build --platform'));
    expect(build).not.toContain('--provenance');
    expect(run.calls).toContain('BUILDX_NO_DEFAULT_ATTESTATIONS=1');
  });

  test(
    'a push that lands as an index fails with IMAGE_MANIFEST_UNSUPPORTED ' +
      'and deletes the tag, so the next apply rebuilds',
    () => {
      const run = runScript({ buildx: true, pushesAs: INDEX });
      expect(run.status).toBe(1);
      expect(run.stderr).toContain(
        `IMAGE_MANIFEST_UNSUPPORTED: ` +
          `123456789012.dkr.ecr.eu-west-1.amazonaws.com/irc-resize:x86_64-0123456789abcdef was pushed as ${INDEX}`,
      );
      expect(run.calls.some((c) => c.startsWith('aws ecr batch-delete-image'))).toBe(true);
      expect(run.stillPushed).toBe(false);
    },
  );

  test('a tag already pushed is skipped when it is a manifest, refused when it is an index', () => {
    const skipped = runScript({ buildx: true, pushesAs: MANIFEST, alreadyPushed: MANIFEST });
    expect(skipped.status).toBe(0);
    expect(skipped.stdout).toContain('already pushed');
    expect(skipped.calls.some((c) => c.startsWith('docker build'))).toBe(false);
    const refused = runScript({ buildx: true, pushesAs: MANIFEST, alreadyPushed: INDEX });
    expect(refused.status).toBe(1);
    expect(refused.stderr).toContain('IMAGE_MANIFEST_UNSUPPORTED');
  });
});

describe('BUILD_AND_PUSH_SCRIPT endpoint', () => {
  const awsCalls = (run: Run): string[] => run.calls.filter((c) => c.startsWith('aws '));

  test('no AWS_ENDPOINT_URL(_ECR): the aws calls carry no --endpoint-url (AWS itself)', () => {
    const run = runScript({ buildx: true, pushesAs: MANIFEST });
    expect(run.status).toBe(0);
    expect(awsCalls(run).length).toBeGreaterThanOrEqual(3);
    expect(awsCalls(run).filter((c) => c.includes('--endpoint-url'))).toEqual([]);
  });

  test('AWS_ENDPOINT_URL is passed as --endpoint-url to every aws call (CLIs before 2.13 ignore the variable)', () => {
    const run = runScript({ buildx: true, pushesAs: MANIFEST, env: { AWS_ENDPOINT_URL: 'http://127.0.0.1:4566' } });
    expect(run.status).toBe(0);
    expect(awsCalls(run).length).toBeGreaterThanOrEqual(3);
    for (const call of awsCalls(run)) expect(call).toMatch(/^aws --endpoint-url http:\/\/127\.0\.0\.1:4566 ecr /);
  });

  test('AWS_ENDPOINT_URL_ECR wins over AWS_ENDPOINT_URL, as in the CLI', () => {
    const run = runScript({
      buildx: true,
      pushesAs: MANIFEST,
      env: { AWS_ENDPOINT_URL: 'http://127.0.0.1:1', AWS_ENDPOINT_URL_ECR: 'http://127.0.0.1:4566' },
    });
    expect(run.status).toBe(0);
    for (const call of awsCalls(run)) expect(call).toContain('--endpoint-url http://127.0.0.1:4566 ecr ');
  });
});

describe('the image tag', () => {
  test('changes with the build script, the platform and the extra build arguments', () => {
    const base = imageBuildHash('a'.repeat(64), 'linux/amd64', '');
    expect(imageBuildHash('a'.repeat(64), 'linux/amd64', '')).toBe(base);
    expect(imageBuildHash('a'.repeat(64), 'linux/amd64', '', `${BUILD_AND_PUSH_SCRIPT}\n# fixed`)).not.toBe(base);
    expect(imageBuildHash('a'.repeat(64), 'linux/amd64', '--build-arg BASE_IMAGE=x')).not.toBe(base);
    expect(imageBuildHash('a'.repeat(64), 'linux/arm64', '')).not.toBe(base);
  });

  test('a synthesized build step with other extra build arguments pushes another tag', () => {
    const tagOf = (extraBuildArgs?: string): string => {
      const doc = synthChain({ images: undefined, imageBuild: extraBuildArgs === undefined ? {} : { extraBuildArgs } });
      const steps = Object.values(resourcesOf(doc, 'terraform_data')) as Array<{
        provisioner: Array<{ 'local-exec': { environment: Record<string, string> } }>;
      }>;
      return steps
        .map((s) => s.provisioner[0]['local-exec'].environment.TAG)
        .sort()
        .join(' ');
    };
    expect(tagOf('--build-arg BASE_IMAGE=example/base:1')).not.toBe(tagOf());
  });
});
