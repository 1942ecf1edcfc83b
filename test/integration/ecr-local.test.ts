/**
 * ECR against `resize-chain up` and its real registry (Debian's docker-registry): Terraform applies
 * an aws_ecr_repository and an aws_ecr_lifecycle_policy (a second plan shows no changes), the AWS
 * CLI's get-login-password logs docker in, docker pushes the publish image to the repository URI,
 * `aws ecr describe-images` lists it; Lambda's image check (resolveLambdaImage) takes the pushed
 * image with its entrypoint and command and refuses an index with an attestation manifest, as
 * Lambda does; destroy leaves no repository. Also: up without a registry binary refuses ECR calls
 * naming what to install, and up's registry ends with up, also when up's launcher is killed.
 *
 * Needs terraform with the provider mirror, the AWS CLI, Docker and docker-registry: skipped loudly
 * without them, failing under CI=true. Run it under `flock /tmp/irc-docker.lock` beside other image builds.
 */
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createHash, randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { describeWhen } from '../helpers/requires';
import { AWS_CLI_MISSING, awsCliEnv, findAwsCli, killUp, runAws, startUp, type UpProcess } from '../helpers/up-process';
import { waitFor } from '../helpers/wait';
import { findOfflineTerraform, runTerraformAsync, writeCliConfig, type TerraformRun } from '../module/terraform-cli';
import { DOCKER, docker, ensureImages, missingDocker } from '../containers/docker';
import { findRegistryBinary, REGISTRY_BIN_ENV } from '../../src/local/cloud/ecr/registry-process';
import { resolveLambdaImage } from '../../src/local/cloud/ecr/lambda-image';
import { OCI_INDEX, OCI_MANIFEST, RegistryApi } from '../../src/local/cloud/ecr/registry-api';
import { BUILD_AND_PUSH_SCRIPT } from '../../modules/image-repository';

const ROOT = resolve(__dirname, '..', '..');
const FIXTURE = join(ROOT, 'test', 'fixtures', 'terraform-ecr', 'main.tf');
const terraform = findOfflineTerraform();
const cli = findAwsCli();
const REGISTRY_MISSING = findRegistryBinary()
  ? undefined
  : `no docker-registry binary (apt-get install docker-registry, or set ${REGISTRY_BIN_ENV})`;
const missing = terraform.missing ?? (cli ? undefined : AWS_CLI_MISSING) ?? REGISTRY_MISSING ?? missingDocker();

/** The registry host (`127.0.0.1:<port>`) up's banner names. */
function registryHostOf(up: UpProcess): string {
  const line = up.stdout.find((l) => l.includes('ECR registry'));
  const host = /ECR registry\s+(\S+)/.exec(line ?? '')?.[1];
  if (!host) throw new Error(`no ECR registry line in up's banner:\n${up.stdout.join('\n')}`);
  return host;
}

/** True while something answers the registry API at `host`. */
async function registryAnswers(host: string): Promise<boolean> {
  try {
    return (await fetch(`http://${host}/v2/`)).status === 200;
  } catch {
    return false;
  }
}

/** Runs `program` with `input` on stdin and the AWS CLI's environment plus `env`; rejects on a non-zero exit. */
function pipeInto(program: string, args: string[], input: string, env: NodeJS.ProcessEnv): Promise<string> {
  return new Promise((done, fail) => {
    const child = spawn(program, args, { env: { ...awsCliEnv(), ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (err += c));
    child.once('error', fail);
    child.once('close', (code) =>
      code === 0 ? done(out) : fail(new Error(`${program} ${args.join(' ')}: ${code} ${err}`)),
    );
    child.stdin.end(input);
  });
}

/** Uploads `body` as a blob of `repository` (the registry's two-step upload); resolves with its digest. */
async function uploadBlob(registry: string, repository: string, body: Buffer): Promise<string> {
  const digest = `sha256:${createHash('sha256').update(body).digest('hex')}`;
  const started = await fetch(`http://${registry}/v2/${repository}/blobs/uploads/`, { method: 'POST' });
  expect(started.status).toBe(202);
  const location = new URL(started.headers.get('location')!, `http://${registry}`);
  location.searchParams.set('digest', digest);
  const put = await fetch(location, { method: 'PUT', headers: { 'content-type': 'application/octet-stream' }, body });
  expect(put.status).toBe(201);
  return digest;
}

describeWhen(missing, 'ECR on resize-chain up: terraform, docker login/push, Lambda image check', () => {
  const name = `tfe-${randomBytes(3).toString('hex')}`;
  const repositoryName = `${name}/publish`;
  let up: UpProcess | undefined;
  let work: string;
  let cliConfig: string;
  let dockerConfig: string;
  let registry: string;
  let repositoryUri: string;
  let publishImage: string;

  async function tf(args: string[], codes: number[] = [0]): Promise<TerraformRun> {
    const run = await runTerraformAsync(terraform.bin!, cliConfig, work, [...args, '-no-color']);
    if (!codes.includes(run.code))
      throw new Error(`terraform ${args.join(' ')} exited ${run.code}:\n${run.stderr}\n${run.stdout.slice(-6000)}`);
    return run;
  }
  const aws = async (args: string[]): Promise<unknown> =>
    JSON.parse(await runAws(cli!.path, up!.endpoint, [...args, '--output', 'json'], 60_000)) as unknown;

  beforeAll(async () => {
    publishImage = ensureImages(['publish']).images.publish!;
    work = mkdtempSync(join(tmpdir(), 'irc-ecr-local-'));
    dockerConfig = join(work, 'docker-config');
    cpSync(FIXTURE, join(work, 'main.tf'));
    cliConfig = writeCliConfig(work, terraform.mirror!);
    up = await startUp();
    registry = registryHostOf(up);
    const written = spawnSync(
      process.execPath,
      [join(ROOT, 'dist', 'cli.js'), 'tf-override', '--dir', work, '--endpoint', up.endpoint],
      { encoding: 'utf8' },
    );
    expect({ code: written.status, stderr: written.stderr }).toEqual({ code: 0, stderr: '' });
    await tf(['init', '-input=false']);
  }, 600_000);

  afterAll(async () => {
    await killUp(up);
    if (repositoryUri) docker(['image', 'rm', '-f', `${repositoryUri}:v1`], { allowFail: true });
    if (work) rmSync(work, { recursive: true, force: true });
  });

  test('terraform apply creates the repository and its lifecycle policy; a second plan shows no changes', async () => {
    const apply = await tf(['apply', '-auto-approve', '-input=false', '-var', `name=${name}`]);
    expect(/Apply complete! Resources: .*/.exec(apply.stdout)?.[0]).toBe(
      'Apply complete! Resources: 2 added, 0 changed, 0 destroyed.',
    );
    repositoryUri = (await tf(['output', '-raw', 'repository_url'])).stdout.trim();
    expect(repositoryUri).toBe(`${registry}/${repositoryName}`);
    const plan = await tf(['plan', '-detailed-exitcode', '-input=false', '-var', `name=${name}`], [0, 2]);
    expect({ code: plan.code, diff: plan.code === 0 ? '' : plan.stdout }).toEqual({ code: 0, diff: '' });

    const { repositories } = (await aws(['ecr', 'describe-repositories', '--repository-names', repositoryName])) as {
      repositories: Array<Record<string, unknown>>;
    };
    expect(repositories).toMatchObject([
      {
        repositoryName,
        repositoryUri,
        imageTagMutability: 'IMMUTABLE',
        imageScanningConfiguration: { scanOnPush: true },
        encryptionConfiguration: { encryptionType: 'AES256' },
      },
    ]);
    const policy = (await aws(['ecr', 'get-lifecycle-policy', '--repository-name', repositoryName])) as {
      lifecyclePolicyText: string;
    };
    expect(JSON.parse(policy.lifecyclePolicyText)).toMatchObject({ rules: [{ rulePriority: 1 }, { rulePriority: 2 }] });
  }, 600_000);

  test('get-login-password | docker login, docker push to the repository URI, describe-images lists it', async () => {
    const password = (await runAws(cli!.path, up!.endpoint, ['ecr', 'get-login-password'])).trim();
    expect(password.length).toBeGreaterThan(10);
    const login = await pipeInto(DOCKER, ['login', '--username', 'AWS', '--password-stdin', registry], password, {
      DOCKER_CONFIG: dockerConfig,
    });
    expect(login).toContain('Login Succeeded');
    docker(['tag', publishImage, `${repositoryUri}:v1`]);
    const pushed = spawnSync(DOCKER, ['push', `${repositoryUri}:v1`], {
      encoding: 'utf8',
      env: { ...process.env, DOCKER_CONFIG: dockerConfig },
    });
    expect({ status: pushed.status, stderr: pushed.stderr }).toEqual({ status: 0, stderr: '' });
    const digest = /digest: (sha256:[0-9a-f]{64})/.exec(pushed.stdout)?.[1];

    const { imageDetails } = (await aws(['ecr', 'describe-images', '--repository-name', repositoryName])) as {
      imageDetails: Array<Record<string, unknown>>;
    };
    expect(imageDetails).toMatchObject([
      {
        repositoryName,
        imageDigest: digest,
        imageTags: ['v1'],
        imageManifestMediaType: 'application/vnd.docker.distribution.manifest.v2+json',
      },
    ]);
    expect(imageDetails[0].imageSizeInBytes).toBeGreaterThan(1_000_000);
  }, 600_000);

  test("the module's build-and-push step pushes to the local ECR, then finds the tag pushed", () => {
    const bin = join(work, 'bin');
    mkdirSync(bin);
    // The one stand-in: `docker build` tags the already built publish image (the build itself is the images
    // tests' subject); login, push and every other docker call go to the real client.
    writeFileSync(
      join(bin, 'docker'),
      [
        '#!/bin/sh',
        'if [ "$1" = build ] && [ "$2" != --help ]; then',
        '  while [ "$#" -gt 0 ]; do [ "$1" = -t ] && exec ' + DOCKER + ` tag ${publishImage} "$2"; shift; done`,
        'fi',
        `exec ${DOCKER} "$@"`,
        '',
      ].join('\n'),
      { mode: 0o755 },
    );
    const tag = 'x86_64-0123456789abcdef';
    const step = (): ReturnType<typeof spawnSync> =>
      spawnSync('/bin/sh', ['-c', BUILD_AND_PUSH_SCRIPT], {
        cwd: work,
        encoding: 'utf8',
        env: {
          ...awsCliEnv(),
          // The CLI found (Debian's 2.9 predates AWS_ENDPOINT_URL: the script passes it as --endpoint-url).
          AWS_ENDPOINT_URL: up!.endpoint,
          PATH: `${bin}:${dirname(cli!.path)}:${process.env.PATH ?? '/usr/bin:/bin'}`,
          DOCKER: join(bin, 'docker'),
          DOCKER_CONFIG: dockerConfig,
          REGION: 'us-east-1',
          REPOSITORY: repositoryName,
          REGISTRY: registry,
          TAG: tag,
          IMAGE: `${repositoryUri}:${tag}`,
          HANDLER: 'publish',
          PLATFORM: 'linux/amd64',
          EXTRA_BUILD_ARGS: '',
        },
      });
    const first = step();
    expect({
      status: first.status,
      stderr: String(first.stderr)
        .split('\n')
        .filter((l) => /error|denied/i.test(l)),
    }).toEqual({
      status: 0,
      stderr: [],
    });
    const manifestType = 'application/vnd.docker.distribution.manifest.v2+json';
    expect(String(first.stdout)).toContain(
      `image ${repositoryUri}:${tag} is a single-platform manifest (${manifestType})`,
    );
    const second = step();
    expect(second.status).toBe(0);
    expect(String(second.stdout)).toContain(`image ${repositoryUri}:${tag} already pushed`);
    docker(['image', 'rm', '-f', `${repositoryUri}:${tag}`], { allowFail: true });
  }, 600_000);

  test('Lambda image check: the pushed image resolves with its entrypoint, command and working directory', async () => {
    const image = await resolveLambdaImage(`${repositoryUri}:v1`);
    const manifest = await new RegistryApi(`http://${registry}`).manifest(repositoryName, 'v1');
    expect(image).toMatchObject({
      imageUri: `${repositoryUri}:v1`,
      digest: manifest!.digest,
      entrypoint: ['/var/runtime/entrypoint.sh'],
      cmd: ['publish.handler'],
      workingDir: '/var/task',
      runRef: `${repositoryUri}@${manifest!.digest}`,
    });
    expect(image.env.some((v) => v.startsWith('PATH='))).toBe(true);
    // A local tag (no registry host): read from the engine, run by image id.
    const local = await resolveLambdaImage(publishImage);
    const id = docker(['image', 'inspect', '--format', '{{.Id}}', publishImage]).stdout.trim();
    expect(local).toMatchObject({ digest: id, runRef: id, cmd: ['publish.handler'], workingDir: '/var/task' });
    await expect(resolveLambdaImage('image-resize-chain/no-such-image:latest')).rejects.toMatchObject({
      code: 'InvalidParameterValueException',
      message: 'Source image image-resize-chain/no-such-image:latest does not exist. Provide a valid source image.',
    });
    // Pulled: the local engine can run what runRef names.
    expect(docker(['image', 'inspect', '--format', '{{json .Config.Cmd}}', image.runRef]).stdout.trim()).toBe(
      '["publish.handler"]',
    );
  }, 600_000);

  test("Lambda image check: an index with an attestation manifest is refused with Lambda's message", async () => {
    const api = new RegistryApi(`http://${registry}`);
    const image = (await api.manifest(repositoryName, 'v1'))!;
    // What buildx pushes with provenance on: the image, an in-toto attestation manifest, an OCI index over both.
    const statement = Buffer.from(JSON.stringify({ _type: 'https://in-toto.io/Statement/v0.1', subject: [] }));
    const layer = await uploadBlob(registry, repositoryName, statement);
    const configBody = Buffer.from(
      JSON.stringify({
        architecture: 'unknown',
        os: 'unknown',
        config: {},
        rootfs: { type: 'layers', diff_ids: [layer] },
      }),
    );
    const config = await uploadBlob(registry, repositoryName, configBody);
    const attestation = JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: config, size: configBody.length },
      layers: [
        {
          mediaType: 'application/vnd.in-toto+json',
          digest: layer,
          size: statement.length,
          annotations: { 'in-toto.io/predicate-type': 'https://slsa.dev/provenance/v0.2' },
        },
      ],
    });
    const attestationDigest = await api.putManifest(repositoryName, 'attestation', OCI_MANIFEST, attestation);
    const index = JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_INDEX,
      manifests: [
        {
          mediaType: image.mediaType,
          digest: image.digest,
          size: Buffer.byteLength(image.body),
          platform: { architecture: 'amd64', os: 'linux' },
        },
        {
          mediaType: OCI_MANIFEST,
          digest: attestationDigest,
          size: Buffer.byteLength(attestation),
          annotations: {
            'vnd.docker.reference.digest': image.digest,
            'vnd.docker.reference.type': 'attestation-manifest',
          },
          platform: { architecture: 'unknown', os: 'unknown' },
        },
      ],
    });
    await api.putManifest(repositoryName, 'attested', OCI_INDEX, index);

    const { imageDetails } = (await aws([
      'ecr',
      'describe-images',
      '--repository-name',
      repositoryName,
      '--image-ids',
      'imageTag=attested',
    ])) as { imageDetails: Array<Record<string, unknown>> };
    expect(imageDetails).toMatchObject([{ imageManifestMediaType: OCI_INDEX }]);

    for (const uri of [`${repositoryUri}:attested`, `${repositoryUri}@${attestationDigest}`]) {
      await expect(resolveLambdaImage(uri)).rejects.toMatchObject({
        code: 'InvalidParameterValueException',
        message: `The image manifest, config or layer media type for the source image ${uri} is not supported.`,
      });
    }
    // The build-and-push step's clean-up of a tag pushed as an index, then its existence check.
    const deleted = (await aws([
      'ecr',
      'batch-delete-image',
      '--repository-name',
      repositoryName,
      '--image-ids',
      'imageTag=attested',
    ])) as { imageIds: unknown[]; failures: unknown[] };
    expect(deleted).toMatchObject({ imageIds: [{ imageTag: 'attested' }], failures: [] });
    await expect(
      runAws(cli!.path, up!.endpoint, [
        'ecr',
        'describe-images',
        '--repository-name',
        repositoryName,
        '--image-ids',
        'imageTag=attested',
      ]),
    ).rejects.toThrow(/ImageNotFoundException.*imageTag:'attested'/);
    await expect(resolveLambdaImage(`${repositoryUri}:no-such-tag`)).rejects.toMatchObject({
      code: 'InvalidParameterValueException',
      message: `Source image ${repositoryUri}:no-such-tag does not exist. Provide a valid source image.`,
    });
  }, 600_000);

  test('terraform destroy removes the repository (with its images); describe-repositories lists none', async () => {
    const destroy = await tf(['destroy', '-auto-approve', '-input=false', '-var', `name=${name}`]);
    expect(/Destroy complete! Resources: .*/.exec(destroy.stdout)?.[0]).toBe(
      'Destroy complete! Resources: 2 destroyed.',
    );
    expect(await aws(['ecr', 'describe-repositories'])).toEqual({ repositories: [] });
    expect(await new RegistryApi(`http://${registry}`).tags(repositoryName)).toEqual([]);
  }, 600_000);
});

describeWhen(REGISTRY_MISSING ?? (cli ? undefined : AWS_CLI_MISSING), "up's registry lives and ends with up", () => {
  test('killing the launcher of up (SIGKILL) still stops its registry', async () => {
    const up = await startUp();
    try {
      const host = registryHostOf(up);
      expect(await registryAnswers(host)).toBe(true);
      up.child.kill('SIGKILL');
      await up.exited;
      await waitFor('the registry to stop', async () => !(await registryAnswers(host)), 60_000);
    } finally {
      await killUp(up);
    }
  }, 120_000);

  test('killing the launcher and its worker at once (SIGKILL both, as `pkill -9 -f "cli.js up"` does) still stops its registry', async () => {
    const up = await startUp();
    try {
      const host = registryHostOf(up);
      expect(await registryAnswers(host)).toBe(true);
      // No exit handler runs in either: the registry must learn of its parent's death from the kernel.
      const workers = spawnSync('pgrep', ['-P', String(up.child.pid)], { encoding: 'utf8' })
        .stdout.split('\n')
        .filter(Boolean)
        .map(Number);
      expect(workers.length).toBeGreaterThan(0);
      for (const pid of workers) process.kill(pid, 'SIGKILL');
      up.child.kill('SIGKILL');
      await up.exited;
      await waitFor('the registry to stop', async () => !(await registryAnswers(host)), 30_000);
    } finally {
      await killUp(up);
    }
  }, 120_000);

  test('a registry that does not start ends up with a coded error, leaving no temporary storage', () => {
    const leftovers = (): string[] => readdirSync(tmpdir()).filter((f) => f.startsWith('resize-chain-registry-'));
    const before = leftovers();
    const res = spawnSync(process.execPath, [join(ROOT, 'dist', 'cli.js'), 'up', '--port', '0'], {
      encoding: 'utf8',
      timeout: 60_000,
      env: { ...process.env, [REGISTRY_BIN_ENV]: '/bin/false' },
    });
    expect(res.status).toBe(1);
    expect(JSON.parse(res.stderr.trim().split('\n').pop()!)).toMatchObject({
      level: 'error',
      error: {
        code: 'INTERNAL',
        message: expect.stringContaining('container registry /bin/false: exited before serving'),
      },
    });
    expect(leftovers().filter((f) => !before.includes(f))).toEqual([]);
  }, 120_000);

  test('without a registry binary, up runs and every ECR call is refused naming what to install', async () => {
    const saved = process.env[REGISTRY_BIN_ENV];
    process.env[REGISTRY_BIN_ENV] = '/nonexistent/docker-registry';
    let up: UpProcess | undefined;
    try {
      up = await startUp();
      expect(up.stderr.join('\n')).toContain('ECR: no container registry');
      await expect(runAws(cli!.path, up.endpoint, ['ecr', 'describe-repositories'])).rejects.toThrow(
        /ServerException.*runs no container registry.*apt-get install docker-registry/s,
      );
    } finally {
      if (saved === undefined) delete process.env[REGISTRY_BIN_ENV];
      else process.env[REGISTRY_BIN_ENV] = saved;
      await killUp(up);
    }
  }, 120_000);
});
