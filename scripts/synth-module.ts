/**
 * `npm run synth:module`: writes the plain Terraform module and its submodules under
 * modules/terraform/image-resize-chain/ (or the directory given as the first argument):
 *   main.tf.json                        the chain (with optional provisioned concurrency)
 *   modules/upload-api/main.tf.json     the upload API (with optional keep-warm)
 *   modules/stream-source/main.tf.json  the Kinesis stream source of the resize function
 * The files are committed so Terraform/OpenTofu users can use them as module sources straight from git.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { synthPlainModule } from '../modules/terraform-module';
import { synthStreamSourceModule } from '../modules/terraform-stream-source';
import { synthUploadApiModule } from '../modules/terraform-upload-api';

export const PLAIN_MODULE_DIR = resolve(__dirname, '..', 'modules', 'terraform', 'image-resize-chain');

/** Every file of the plain module, by path relative to `PLAIN_MODULE_DIR`, with the function that synthesizes it. */
export const PLAIN_MODULE_FILES: Readonly<Record<string, () => Record<string, unknown>>> = {
  'main.tf.json': synthPlainModule,
  'modules/upload-api/main.tf.json': synthUploadApiModule,
  'modules/stream-source/main.tf.json': synthStreamSourceModule,
};

const render = (doc: Record<string, unknown>): string => `${JSON.stringify(doc, null, 2)}\n`;

/** Renders the main module as stable, human-diffable JSON. */
export function renderPlainModule(): string {
  return render(synthPlainModule());
}

/** Renders every file of `PLAIN_MODULE_FILES`: relative path -> content. */
export function renderPlainModules(): Record<string, string> {
  return Object.fromEntries(Object.entries(PLAIN_MODULE_FILES).map(([path, synth]) => [path, render(synth())]));
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
