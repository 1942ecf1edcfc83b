/**
 * `npm run synth:module`: writes the plain Terraform module and its submodules under
 * modules/terraform/image-resize-chain/ (or the directory given as the first argument):
 *   main.tf.json                        the chain (with optional provisioned concurrency)
 *   modules/upload-api/main.tf.json     the upload API (with optional keep-warm)
 *   modules/stream-source/main.tf.json  the Kinesis stream source of the resize function
 *   README.md of each                   generated from its variables and outputs (scripts/module-readme.ts)
 * The files are committed so Terraform/OpenTofu users can use them as module sources straight from git.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { synthPlainModule } from '../modules/terraform-module';
import { synthStreamSourceModule } from '../modules/terraform-stream-source';
import { synthUploadApiModule } from '../modules/terraform-upload-api';
import { ModuleReadme, renderModuleReadme } from './module-readme';

export const PLAIN_MODULE_DIR = resolve(__dirname, '..', 'modules', 'terraform', 'image-resize-chain');

/** Every file of the plain module, by path relative to `PLAIN_MODULE_DIR`, with the function that synthesizes it. */
export const PLAIN_MODULE_FILES: Readonly<Record<string, () => Record<string, unknown>>> = {
  'main.tf.json': synthPlainModule,
  'modules/upload-api/main.tf.json': synthUploadApiModule,
  'modules/stream-source/main.tf.json': synthStreamSourceModule,
};

const MAIN_DIR = 'modules/terraform/image-resize-chain';

/** The README of each file of `PLAIN_MODULE_FILES`: its path and what it says beyond the tables. */
const READMES: Readonly<Record<string, { path: string; readme: ModuleReadme }>> = {
  'main.tf.json': {
    path: 'README.md',
    readme: {
      dir: MAIN_DIR,
      blockName: 'image_resize_chain',
      title: 'image-resize-chain (Terraform module)',
      intro: [
        'S3 uploads → SQS ingest queue → **resize** (container Lambda) → SQS resized queue → **publish**',
        '(container Lambda), with a rejected-image queue, a dead-letter queue per queue, alarms, a dashboard',
        'and one least-privilege role per function. The images are yours to build and push (`docker build',
        '--build-arg HANDLER=resize|publish .` in the repository; tags `<arch>-<hash>` must name',
        '`architecture`). Two submodules add optional parts: [`modules/upload-api`](modules/upload-api)',
        '(presigned uploads over HTTP) and [`modules/stream-source`](modules/stream-source) (a Kinesis',
        'stream feeding the resize function).',
        '',
        'Generated from the `ImageResizeChain` CDKTF construct (`modules/` of the repository), which is also',
        'packaged for npm (`packages/image-resize-chain`).',
      ].join('\n'),
      usageInputs: [
        'resize_image_uri  = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/image-resize-chain-resize:v1"',
        'publish_image_uri = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/image-resize-chain-publish:v1"',
      ],
    },
  },
  'modules/upload-api/main.tf.json': {
    path: 'modules/upload-api/README.md',
    readme: {
      dir: `${MAIN_DIR}/modules/upload-api`,
      blockName: 'upload_api',
      title: 'upload-api (submodule of image-resize-chain)',
      intro:
        "An HTTP API `POST /uploads` answering with a presigned POST for the uploads prefix of the main module's " +
        'source bucket, with its own function (the upload image), access logs, optional JWT or ' +
        "IAM authorization and keep-warm pings. It takes the bucket from the main module's outputs.",
      usageInputs: [
        'image_uri          = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/image-resize-chain-upload:v1"',
        'source_bucket_name = module.image_resize_chain.source_bucket_name',
        'source_bucket_arn  = module.image_resize_chain.source_bucket_arn',
        'uploads_prefix     = module.image_resize_chain.uploads_prefix',
        'authorization_type = "AWS_IAM"',
      ],
    },
  },
  'modules/stream-source/main.tf.json': {
    path: 'modules/stream-source/README.md',
    readme: {
      dir: `${MAIN_DIR}/modules/stream-source`,
      blockName: 'stream_source',
      title: 'stream-source (submodule of image-resize-chain)',
      intro:
        'A Kinesis stream whose records reference S3 objects, ' +
        "feeding the main module's resize function beside the ingest queue: bisect on error, bounded retries, " +
        'an on-failure queue, and the read grants the resize role needs. ' +
        "It takes the function and role from the main module's outputs.",
      usageInputs: [
        'resize_invoke_target_arn = module.image_resize_chain.resize_invoke_target_arn',
        'resize_role_name         = module.image_resize_chain.resize_role_name',
        'source_bucket_arn        = module.image_resize_chain.source_bucket_arn',
      ],
    },
  },
};

/** The version the READMEs' git sources pin: the repository's (package.json, CHANGELOG.md). */
function releaseVersion(): string {
  return (JSON.parse(readFileSync(resolve(__dirname, '..', 'package.json'), 'utf8')) as { version: string }).version;
}

const render = (doc: Record<string, unknown>): string => `${JSON.stringify(doc, null, 2)}\n`;

/** Renders the main module as stable, human-diffable JSON. */
export function renderPlainModule(): string {
  return render(synthPlainModule());
}

/** Renders every file of `PLAIN_MODULE_FILES` and each module's README: relative path -> content. */
export function renderPlainModules(): Record<string, string> {
  const version = releaseVersion();
  return Object.fromEntries(
    Object.entries(PLAIN_MODULE_FILES).flatMap(([path, synth]) => {
      const doc = synth();
      const { path: readmePath, readme } = READMES[path];
      return [
        [path, render(doc)],
        [readmePath, renderModuleReadme(doc, readme, version)],
      ];
    }),
  );
}

/** Writes every rendered file under `dir`; returns the paths written. */
export function writePlainModules(dir: string): string[] {
  return Object.entries(renderPlainModules()).map(([path, content]) => {
    const file = join(dir, path);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, content);
    return file;
  });
}

if (require.main === module) {
  for (const file of writePlainModules(resolve(process.argv[2] ?? PLAIN_MODULE_DIR))) console.log(`wrote ${file}`);
}
