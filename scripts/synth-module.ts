/**
 * `npm run synth:module`: writes the plain Terraform module to
 * modules/terraform/image-resize-chain/main.tf.json (or the directory given as the first argument).
 * The file is committed so Terraform/OpenTofu users can use it as a module source straight from git.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { synthPlainModule } from '../modules/terraform-module';

export const PLAIN_MODULE_DIR = resolve(__dirname, '..', 'modules', 'terraform', 'image-resize-chain');

/** Renders the module as stable, human-diffable JSON. */
export function renderPlainModule(): string {
  return `${JSON.stringify(synthPlainModule(), null, 2)}\n`;
}

if (require.main === module) {
  const dir = resolve(process.argv[2] ?? PLAIN_MODULE_DIR);
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'main.tf.json');
  writeFileSync(file, renderPlainModule());
  console.log(`wrote ${file}`);
}
