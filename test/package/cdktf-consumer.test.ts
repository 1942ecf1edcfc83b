/**
 * The construct package as another project uses it, in a fresh directory outside the repository:
 * `npm pack ./packages/image-resize-chain`, `npm install --offline` of the tarball with the peer
 * dependencies at the repository's versions (their registry tarballs, from the npm cache), the
 * ten-line app of examples/cdktf-app type-checked against the package's declarations and
 * synthesized, then `terraform init`/`validate`/`plan` offline against the provider mirror.
 * These are the commands of the README's "Use it in your own project".
 *
 * Needs terraform with the provider mirror and the peers' tarballs in the npm cache (`npm ci` puts
 * them there); without them the suite skips loudly, under CI=true it fails.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { hashImageSources } from '../../modules/source-hash';
import { describeWhen } from '../helpers/requires';
import { TfJson, resourceAddresses } from '../module/synth';
import { findOfflineTerraform, runTerraform, writeCliConfig, writeMockCredentials } from '../module/terraform-cli';

const ROOT = resolve(__dirname, '..', '..');
const PACKAGE_DIR = join(ROOT, 'packages', 'image-resize-chain');
const PEERS = ['cdktf', 'constructs', '@cdktf/provider-aws'] as const;
const STACK = 'media';

/**
 * npm's environment without the npm_* variables of the `npm test` that runs jest (they would configure the inner npm).
 */
function npmEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    npm_config_update_notifier: 'false',
    npm_config_fund: 'false',
    npm_config_audit: 'false',
  };
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('npm_')) env[k] = v;
  return env;
}

/**
 * Each peer at the version the repository's lockfile pins, with its registry tarball URL (npm's own
 * layout, `<registry><name>/-/<name without scope>-<version>.tgz`: the lockfile records no URL).
 */
function pinnedPeers(): { spec: string; tarball: string }[] {
  const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as {
    packages: Record<string, { version?: string }>;
  };
  const registry = execFileSync('npm', ['config', 'get', 'registry'], { encoding: 'utf8', env: npmEnv() })
    .trim()
    .replace(/\/?$/, '/');
  return PEERS.map((name) => {
    const version = lock.packages[`node_modules/${name}`]?.version;
    if (!version) throw new Error(`package-lock.json pins no ${name}`);
    return { spec: `${name}@${version}`, tarball: `${registry}${name}/-/${name.split('/').pop()}-${version}.tgz` };
  });
}

/** Why the peers cannot be installed offline here, or undefined when the npm cache holds their tarballs. */
function uncachedPeers(): string | undefined {
  const peers = pinnedPeers();
  const listed = spawnSync('npm', ['cache', 'ls', ...peers.map((p) => p.spec)], { encoding: 'utf8' }).stdout ?? '';
  const missing = peers.filter((p) => !listed.includes(p.tarball)).map((p) => p.tarball);
  return missing.length ? `the npm cache lacks ${missing.join(', ')} (npm ci puts them there)` : undefined;
}

const terraform = findOfflineTerraform();
const missing = terraform.missing ?? uncachedPeers();

function run(cmd: string, args: string[], cwd: string): string {
  return execFileSync(cmd, args, {
    cwd,
    env: npmEnv(),
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    maxBuffer: 64 * 1024 * 1024,
  });
}

interface PackResult {
  filename: string;
  size: number;
  files: { path: string }[];
}

type PolicyDocument = { Statement: { Sid: string; Action: string | string[]; Resource: string | string[] }[] };

describeWhen(
  missing,
  'the construct package in a fresh project (npm pack, npm install --offline, synth, terraform plan)',
  () => {
    let app: string;
    let packed: PackResult;
    let synthesized: TfJson;
    const stackDir = (): string => join(app, 'cdktf.out', 'stacks', STACK);
    const tf = (args: string[]) => runTerraform(terraform.bin!, join(app, 'offline.tfrc'), stackDir(), args);

    beforeAll(() => {
      app = mkdtempSync(join(tmpdir(), 'irc-cdktf-app-'));
      // npm pack runs the package's prepack (scripts/build-package.mjs) first.
      packed = (
        JSON.parse(run('npm', ['pack', PACKAGE_DIR, '--pack-destination', app, '--json'], ROOT)) as PackResult[]
      )[0]!;
      writeFileSync(
        join(app, 'package.json'),
        `${JSON.stringify({ name: 'media-app', version: '1.0.0', private: true }, null, 2)}\n`,
      );
      run('npm', ['install', '--offline', `./${packed.filename}`, ...pinnedPeers().map((p) => p.tarball)], app);
      for (const file of ['main.ts', 'tsconfig.json'])
        cpSync(join(ROOT, 'examples', 'cdktf-app', file), join(app, file));
      // The user's TypeScript would do; the repository's is at hand offline.
      run(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', '.'], app);
      run(process.execPath, ['main.js'], app);
      synthesized = JSON.parse(readFileSync(join(stackDir(), 'cdk.tf.json'), 'utf8')) as TfJson;
      writeCliConfig(app, terraform.mirror!);
      writeMockCredentials(stackDir());
    }, 300000);

    afterAll(() => {
      if (app) rmSync(app, { recursive: true, force: true });
    });

    test(
      'the tarball holds the compiled constructs with declarations, ' +
        'the image build context and nothing of the repository besides',
      () => {
        const paths = packed.files.map((f) => f.path);
        for (const file of [
          'package.json',
          'README.md',
          'LICENSE',
          'CHANGELOG.md',
          'lib/modules/index.js',
          'lib/modules/index.d.ts',
          'image-context/Dockerfile',
          'image-context/package-lock.json',
          'image-context/containers/resize/image.json',
          'image-context/src/handlers/resize.ts',
        ]) {
          expect(paths).toContain(file);
        }
        expect(
          paths.filter(
            (p) =>
              !/^(lib|image-context)\//.test(p) &&
              !['package.json', 'README.md', 'LICENSE', 'NOTICE', 'CHANGELOG.md'].includes(p),
          ),
        ).toEqual([]);
        // Everything the compiled constructs load by relative path (src/core included) is in the tarball.
        const installed = join(app, 'node_modules', 'image-resize-chain');
        for (const file of paths.filter((p) => p.startsWith('lib/') && p.endsWith('.js'))) {
          for (const [, spec] of readFileSync(join(installed, file), 'utf8').matchAll(
            /require\("(\.{1,2}\/[^"]+)"\)/g,
          )) {
            expect(paths).toContain(join(dirname(file), `${spec}.js`));
          }
        }
        // The handler code the constructs never run (it loads sharp) stays out of lib/.
        expect(paths.filter((p) => p.startsWith('lib/') && /pipeline|resize-batch|handlers/.test(p))).toEqual([]);
      },
    );

    test('the installed package depends on nothing but its peers, at stated ranges, and nothing else was installed', () => {
      const manifest = JSON.parse(
        readFileSync(join(app, 'node_modules', 'image-resize-chain', 'package.json'), 'utf8'),
      ) as Record<string, unknown>;
      expect(manifest.dependencies).toBeUndefined();
      expect(manifest.optionalDependencies).toBeUndefined();
      expect(manifest.peerDependencies).toEqual({
        cdktf: '^0.21.0',
        constructs: '^10.4.2',
        '@cdktf/provider-aws': '^20.1.0',
      });
      for (const runtimeOnly of ['sharp', 'aws-lambda-ric', 'fauxqs'])
        expect(existsSync(join(app, 'node_modules', runtimeOnly))).toBe(false);
      const lock = JSON.parse(readFileSync(join(app, 'package-lock.json'), 'utf8')) as {
        packages: Record<string, unknown>;
      };
      // Top-level packages only: cdktf's bundled dependencies come inside its own tarball.
      expect(
        Object.keys(lock.packages)
          .filter((p) => /^node_modules\/(@[^/]+\/)?[^/]+$/.test(p))
          .sort(),
      ).toEqual([
        'node_modules/@cdktf/provider-aws',
        'node_modules/cdktf',
        'node_modules/constructs',
        'node_modules/image-resize-chain',
      ]);
    });

    test(
      'the images are built from the context inside node_modules, ' +
        'which hashes as the repository does (same image tags)',
      () => {
        const steps = Object.values(synthesized.resource?.terraform_data ?? {}) as {
          provisioner: { 'local-exec': { working_dir: string } }[];
        }[];
        expect(steps.length).toBe(2);
        for (const step of steps) {
          const workingDir = step.provisioner[0]['local-exec'].working_dir;
          expect(workingDir).toBe('${path.module}/../../../node_modules/image-resize-chain/image-context');
          const context = resolve(stackDir(), workingDir.replace('${path.module}/', ''));
          expect(existsSync(join(context, 'Dockerfile'))).toBe(true);
          expect(hashImageSources(context)).toBe(hashImageSources(ROOT));
        }
      },
    );

    test(
      "the user's stage has exactly the permissions its grants gave: " +
        'its own logs, consuming the resized queue, reading the outputs',
      () => {
        const policies = Object.values(synthesized.resource?.aws_iam_role_policy ?? {}).filter((p) =>
          String(p.role).includes('aws_iam_role.indexer_role'),
        );
        expect(policies).toHaveLength(1);
        expect(Object.keys(synthesized.resource?.aws_iam_role_policy_attachment ?? {})).toEqual([]);
        const queueArn = '${aws_sqs_queue.chain_resized_queue_';
        const bucketArn = '${aws_s3_bucket.chain_output_bucket_';
        const statements = (JSON.parse(String(policies[0].policy)) as PolicyDocument).Statement.map((s) => ({
          sid: s.Sid,
          actions: [s.Action].flat().sort(),
          resources: [s.Resource].flat(),
        }));
        expect(statements).toEqual([
          {
            sid: 'WriteOwnLogs',
            actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
            resources: [expect.stringMatching(/^\$\{aws_cloudwatch_log_group\.indexer_log-group_[^}]+\.arn\}:\*$/)],
          },
          {
            sid: 'ConsumeResized',
            actions: ['sqs:DeleteMessage', 'sqs:GetQueueAttributes', 'sqs:ReceiveMessage'],
            resources: [expect.stringMatching(new RegExp(`^${escape(queueArn)}[^}]+\\.arn\\}$`))],
          },
          {
            sid: 'ReadOutputsObjects',
            actions: ['s3:GetObject'],
            resources: [expect.stringMatching(new RegExp(`^${escape(bucketArn)}[^}]+\\.arn\\}/\\*$`))],
          },
          {
            sid: 'ListOutputBucket',
            actions: ['s3:ListBucket'],
            resources: [expect.stringMatching(new RegExp(`^${escape(bucketArn)}[^}]+\\.arn\\}$`))],
          },
        ]);
      },
    );

    test('terraform init, validate and plan succeed offline and plan every synthesized resource', () => {
      for (const args of [
        ['init', '-input=false', '-no-color'],
        ['validate', '-no-color'],
        ['plan', '-input=false', '-no-color', '-out=tfplan'],
      ]) {
        const res = tf(args);
        if (res.code !== 0) throw new Error(`terraform ${args[0]} failed (${res.code}):\n${res.stdout}\n${res.stderr}`);
      }
      const plan = JSON.parse(tf(['show', '-json', 'tfplan']).stdout) as {
        resource_changes: { address: string; change: { actions: string[] } }[];
      };
      const planned = plan.resource_changes
        .filter((c) => c.change.actions.includes('create'))
        .map((c) => c.address.replace(/\[\d+\]$/, ''));
      expect(planned.sort()).toEqual(resourceAddresses(synthesized).sort());
      const indexerMapping = Object.keys(synthesized.resource!.aws_lambda_event_source_mapping).find((n) =>
        n.startsWith('indexer-stage'),
      );
      expect(planned).toContain(`aws_lambda_event_source_mapping.${indexerMapping}`);
    }, 240000);
  },
);

/** `text` with the regular-expression metacharacters escaped. */
function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
