/**
 * Offline `terraform init` (provider mirror only), `validate` and `plan` (mock credentials) of
 * (1) the example CDKTF stack as `npm run synth` writes it and (2) the plain-module example in
 * examples/terraform. The plan must create exactly the resources the construct synthesized.
 *
 * Without terraform or the provider mirror these tests skip with a warning, except under CI=true,
 * where they fail.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { App } from 'cdktf';
import { PLAIN_MODULE_DIR, renderPlainModule, renderPlainModules } from '../../scripts/synth-module';
import { ImageResizeChainStack } from '../../modules/example-stacks';
import { MODULE_IMAGE_VARS, TEST_IMAGES, TfJson, countedResourceAddresses, resourceAddresses } from './synth';
import { describeWhen } from '../helpers/requires';
import {
  findOfflineTerraform,
  runTerraform,
  writeMockCredentials,
  runTerraformOrThrow,
  offlineWorkDir,
} from './terraform-cli';

const ROOT = resolve(__dirname, '..', '..');
const terraform = findOfflineTerraform();

describeWhen(terraform.missing, 'offline terraform', () => {
  let work: string;
  let cli: string;
  const tf = (cwd: string, args: string[]): string => runTerraformOrThrow(terraform.bin!, cli, cwd, args);

  /** init + validate + plan -out + show -json: the planned `create` addresses and the summary line. */
  function initValidatePlan(dir: string, planArgs: string[] = []): { created: string[]; summary: string } {
    tf(dir, ['init', '-input=false', '-no-color']);
    expect(tf(dir, ['validate', '-no-color'])).toContain('Success! The configuration is valid.');
    const plan = tf(dir, ['plan', '-input=false', '-no-color', '-lock=false', '-out=tfplan', ...planArgs]);
    const summary = /Plan: .*/.exec(plan)?.[0] ?? '';
    console.log(`${dir}: ${summary}`);
    const shown = JSON.parse(tf(dir, ['show', '-json', 'tfplan'])) as {
      resource_changes: Array<{ address: string; change: { actions: string[] } }>;
    };
    const created = shown.resource_changes.filter((c) => c.change.actions.includes('create')).map((c) => c.address);
    return { created, summary };
  }

  beforeAll(() => {
    ({ work, cli } = offlineWorkDir('irc-tf-', terraform.mirror!));
  });

  afterAll(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  test('the example stack from `tsx main.ts` inits from the mirror, validates and plans', () => {
    const outdir = join(work, 'cdktf.out');
    const synth = spawnSync(process.execPath, [join(ROOT, 'node_modules', 'tsx', 'dist', 'cli.mjs'), 'main.ts'], {
      cwd: ROOT,
      env: { ...process.env, CDKTF_OUTDIR: outdir, RESIZE_IMAGE_URI: '', PUBLISH_IMAGE_URI: '' },
      encoding: 'utf8',
    });
    expect({ code: synth.status, stderr: synth.stderr }).toEqual({ code: 0, stderr: '' });
    const stackDir = join(outdir, 'stacks', 'image-resize-chain');
    const doc = JSON.parse(readFileSync(join(stackDir, 'cdk.tf.json'), 'utf8')) as TfJson;
    writeMockCredentials(stackDir);
    const { created, summary } = initValidatePlan(stackDir);
    expect(created.sort()).toEqual(resourceAddresses(doc).sort());
    expect(summary).toBe(`Plan: ${resourceAddresses(doc).length} to add, 0 to change, 0 to destroy.`);
    // The deploy-time image build is part of the plan (it runs only on apply).
    expect(created.filter((a) => a.startsWith('terraform_data.'))).toHaveLength(2);
  });

  test(
    'a chain with provisioned concurrency on both stages validates and plans (version, ' +
      'alias, config, mapping on the alias)',
    () => {
      const outdir = join(work, 'pc.out');
      const app = new App({ outdir });
      new ImageResizeChainStack(app, 'pc', {
        chain: { images: TEST_IMAGES, resize: { provisionedConcurrency: 2 }, publish: { provisionedConcurrency: 1 } },
      });
      app.synth();
      const stackDir = join(outdir, 'stacks', 'pc');
      const doc = JSON.parse(readFileSync(join(stackDir, 'cdk.tf.json'), 'utf8')) as TfJson;
      writeMockCredentials(stackDir);
      const { created } = initValidatePlan(stackDir);
      expect(created.sort()).toEqual(resourceAddresses(doc).sort());
      expect(created).toEqual(
        expect.arrayContaining([
          'aws_lambda_alias.chain_resize_alias',
          'aws_lambda_alias.chain_publish_alias',
          'aws_lambda_provisioned_concurrency_config.chain_resize_provisioned_concurrency',
          'aws_lambda_provisioned_concurrency_config.chain_publish_provisioned_concurrency',
        ]),
      );
    },
  );

  test('examples/terraform plans with the plain module (rendered fresh from the construct)', () => {
    const moduleDir = join(work, 'modules', 'terraform', 'image-resize-chain');
    const exampleDir = join(work, 'examples', 'terraform');
    mkdirSync(moduleDir, { recursive: true });
    const rendered = renderPlainModule();
    writeFileSync(join(moduleDir, 'main.tf.json'), rendered);
    cpSync(join(ROOT, 'examples', 'terraform', 'main.tf'), join(exampleDir, 'main.tf'));
    writeMockCredentials(exampleDir);
    const { created, summary } = initValidatePlan(exampleDir, [...MODULE_IMAGE_VARS]);
    // Every module resource except the optional ones (count = 0: no webhook secret, no provisioned concurrency), plus
    // the example's SNS topic.
    const counted = countedResourceAddresses(JSON.parse(rendered) as TfJson);
    expect(counted.sort()).toEqual([
      'aws_iam_role_policy.chain_publish_secret_policy',
      'aws_lambda_alias.chain_publish_alias',
      'aws_lambda_alias.chain_resize_alias',
      'aws_lambda_provisioned_concurrency_config.chain_publish_provisioned_concurrency',
      'aws_lambda_provisioned_concurrency_config.chain_resize_provisioned_concurrency',
    ]);
    const expected = resourceAddresses(JSON.parse(rendered) as TfJson)
      .filter((a) => !counted.includes(a))
      .map((a) => `module.image_resize_chain.${a}`)
      .concat('aws_sns_topic.alarms', 'aws_kms_key.alarms');
    expect(created.sort()).toEqual(expected.sort());
    expect(summary).toBe(`Plan: ${expected.length} to add, 0 to change, 0 to destroy.`);
  });

  test(
    'examples/terraform plans with its own terraform.tfvars.example ' +
      '(the tags name the architecture main.tf deploys)',
    () => {
      const exampleDir = join(work, 'examples', 'terraform');
      cpSync(join(ROOT, 'examples', 'terraform', 'terraform.tfvars.example'), join(exampleDir, 'example.tfvars'));
      try {
        const run = runTerraform(terraform.bin!, cli, exampleDir, [
          'plan',
          '-input=false',
          '-no-color',
          '-lock=false',
          '-var-file=example.tfvars',
        ]);
        expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 0, stderr: '' });
      } finally {
        rmSync(join(exampleDir, 'example.tfvars'));
      }
    },
  );

  test('the plain module refuses at plan an image whose <arch>-<hash> tag names the other architecture', () => {
    const exampleDir = join(work, 'examples', 'terraform');
    const run = runTerraform(terraform.bin!, cli, exampleDir, [
      'plan',
      '-input=false',
      '-no-color',
      '-lock=false',
      '-var',
      'resize_image_uri=123456789012.dkr.ecr.eu-west-1.amazonaws.com/irc-resize:x86_64-0123456789abcdef',
      '-var',
      'publish_image_uri=123456789012.dkr.ecr.eu-west-1.amazonaws.com/irc-publish:arm64-0123456789abcdef',
    ]);
    expect(run.code).toBe(1);
    const stderr = run.stderr.replace(/\s*\n[\s│]*/g, ' ');
    expect(stderr).toMatch(/The tag of resize_image_uri names the other architecture than var.architecture/);
    expect(stderr).not.toMatch(/The tag of publish_image_uri/);
  });

  test('the plain module refuses bad variables at plan time (validation and preconditions)', () => {
    const exampleDir = join(work, 'examples', 'terraform');
    const base = [
      'plan',
      '-input=false',
      '-no-color',
      '-lock=false',
      '-var',
      'resize_image_uri=x',
      '-var',
      'publish_image_uri=y',
    ];
    writeFileSync(
      join(exampleDir, 'zz_bad_override.tf'),
      'module "image_resize_chain" {\n  variants_json = ' +
        '"[{\\"name\\":\\"Thumb\\",\\"width\\":320,\\"format\\":\\"webp\\"}]"\n  batch_size ' +
        '= 50\n  maximum_batching_window = 0\n}\n',
    );
    try {
      const run = runTerraform(terraform.bin!, cli, exampleDir, base);
      expect(run.code).not.toBe(0);
      expect(run.stderr).toMatch(/variants_json must be a JSON array/);
    } finally {
      rmSync(join(exampleDir, 'zz_bad_override.tf'));
    }
    writeFileSync(
      join(exampleDir, 'zz_bad_override.tf'),
      'module "image_resize_chain" {\n  uploads_expiration_days = 5\n}\n',
    );
    try {
      const run = runTerraform(terraform.bin!, cli, exampleDir, base);
      expect(run.code).not.toBe(0);
      const stderr = run.stderr.replace(/\s*\n[\s│]*/g, ' ');
      expect(stderr).toMatch(/uploads_expiration_days must be 0 \(keep uploads\) or an integer from 15 to 36500/);
    } finally {
      rmSync(join(exampleDir, 'zz_bad_override.tf'));
    }
  });
});

test.each(Object.entries(renderPlainModules()))(
  'the committed plain module file %s is what `npm run synth:module` renders',
  (path, rendered) => {
    const committed = readFileSync(join(PLAIN_MODULE_DIR, path), 'utf8');
    expect(committed).toBe(rendered);
  },
);
