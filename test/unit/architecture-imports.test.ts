/**
 * The rooms of src/ and what may import what (docs/ARCHITECTURE.md, "Rooms and what may import
 * what"), checked on the source text: every `import`/`export … from`/`import()`/`require()` of
 * every file under src/.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, posix } from 'node:path';

const ROOT = join(__dirname, '..', '..');

/** The rooms of src/ a file may import, by the room it is in (its own room is always allowed). */
const MAY_IMPORT: Readonly<Record<string, readonly string[]>> = {
  core: [],
  aws: ['core'],
  handlers: ['core', 'aws'],
  local: ['core', 'aws', 'local'],
  cli: ['core', 'aws', 'local', 'tools'],
  tools: ['core', 'local'],
};

/**
 * Node built-ins src/core may not import: the heart is logic over bytes and events, and the edges
 * (files, processes, sockets) belong to the adapters and the local cloud.
 */
const EDGE_BUILTINS = [
  'fs',
  'fs/promises',
  'child_process',
  'net',
  'http',
  'https',
  'http2',
  'dgram',
  'cluster',
  'worker_threads',
  'os',
  'tls',
];

/**
 * The one exception: the pipeline hands a JPEG to libvips by file name to get the DCT scale sharp
 * has no input option for (a per-process scratch folder under the OS temp dir).
 */
const CORE_EDGE_EXCEPTIONS: Readonly<Record<string, readonly string[]>> = { 'src/core/pipeline.ts': ['fs', 'os'] };

/** Packages src/core may import besides node built-ins. */
const CORE_PACKAGES = ['sharp'];

/**
 * The files of each local service (src/local/cloud/<service>/) that another service may import.
 * The gateway routes to every service, so it may import any of their files; between the others
 * only these entry points: anything else is a service's internals.
 */
const SERVICE_ENTRY_POINTS: Readonly<Record<string, readonly string[]>> = {
  gateway: ['gateway.ts', 'aws-request.ts'],
  lambda: ['invoke-contract.ts', 'lambda-api.ts', 'node-runtime.ts', 'container-host.ts', 'lambda-functions.ts'],
  kinesis: ['stream.ts', 'stream-control.ts'],
  standin: ['standin.ts'],
  s3: [],
  sqs: [],
  apigateway: ['apigateway.ts'],
  iam: ['sigv4-verify.ts', 'policy-evaluation.ts', 'operation-actions.ts', 'iam-store.ts', 'session-credentials.ts'],
  sts: [],
  logs: [],
  cloudwatch: [],
  events: [],
  kms: [],
  sns: [],
  ecr: ['registry-process.ts', 'lambda-image.ts'],
};

/** A module specifier in a file: the import statement's target. */
function specifiersOf(source: string): string[] {
  const pattern = /(?:\bfrom\s*|\bimport\s*\(\s*|\brequire\s*\(\s*|^\s*import\s+)'([^']+)'/gm;
  return [...source.matchAll(pattern)].map((match) => match[1]);
}

/** The src room of a repository path (`src/local/cloud/s3/x.ts` -> `local`), or undefined outside src/. */
function roomOf(file: string): string | undefined {
  return /^src\/([^/]+)\//.exec(file)?.[1];
}

/** The local service of a path (`src/local/cloud/s3/x.ts` -> `s3`), or undefined. */
function serviceOf(file: string): string | undefined {
  return /^src\/local\/cloud\/([^/]+)\//.exec(file)?.[1];
}

/** Every rule a file's imports break, as `file: what`. */
function violationsOf(file: string, source: string): string[] {
  const room = roomOf(file);
  if (!room) return [];
  const found: string[] = [];
  for (const spec of specifiersOf(source)) {
    if (spec.startsWith('.')) {
      const target = posix.normalize(posix.join(posix.dirname(file), spec));
      const targetRoom = roomOf(`${target}/`) ?? roomOf(target);
      if (targetRoom === undefined) {
        found.push(`${file}: imports ${spec}, outside src/`);
        continue;
      }
      if (targetRoom !== room && !(MAY_IMPORT[room] ?? []).includes(targetRoom)) {
        found.push(`${file}: src/${room} may not import src/${targetRoom} (${spec})`);
      }
      const from = serviceOf(file);
      const to = serviceOf(target);
      if (from && to && from !== to && from !== 'gateway') {
        const entry = posix.basename(target).replace(/(\.ts)?$/, '.ts');
        if (!(SERVICE_ENTRY_POINTS[to] ?? []).includes(entry)) {
          found.push(
            `${file}: the ${from} service imports ${to}'s internals (${spec}); ` +
              `entry points of ${to}: ${(SERVICE_ENTRY_POINTS[to] ?? []).join(', ') || 'none'}`,
          );
        }
      }
    } else if (room === 'core') {
      const builtin = spec.replace(/^node:/, '');
      const isBuiltin = spec.startsWith('node:');
      if (
        isBuiltin &&
        EDGE_BUILTINS.includes(builtin) &&
        !(CORE_EDGE_EXCEPTIONS[file] ?? []).includes(builtin.replace(/\/promises$/, ''))
      ) {
        found.push(`${file}: src/core may not import the edge module ${spec}`);
      }
      if (!isBuiltin && !CORE_PACKAGES.includes(spec))
        found.push(`${file}: src/core may not import the package ${spec}`);
    }
  }
  return found;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((entry) => {
    const rel = posix.join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(rel);
    return /\.(ts|mjs)$/.test(entry.name) ? [rel] : [];
  });
}

describe('rooms and what may import what', () => {
  const files = sourceFiles('src');

  test('every room of src/ has its rule', () => {
    expect(new Set(files.map((file) => roomOf(file)))).toEqual(new Set(Object.keys(MAY_IMPORT)));
  });

  test('every local service has its entry points declared', () => {
    const services = new Set(files.map((file) => serviceOf(file)).filter((service) => service !== undefined));
    expect(services).toEqual(new Set(Object.keys(SERVICE_ENTRY_POINTS)));
  });

  test('no file of src/ breaks them', () => {
    expect(files.flatMap((file) => violationsOf(file, readFileSync(join(ROOT, file), 'utf8')))).toEqual([]);
  });

  test('the check finds each kind of break', () => {
    expect(violationsOf('src/core/x.ts', "import { startLocalChain } from '../local/chain';")).toHaveLength(1);
    expect(violationsOf('src/core/x.ts', "import type { Ports } from '../aws/ports';")).toHaveLength(1);
    expect(violationsOf('src/core/x.ts', "import { spawn } from 'node:child_process';")).toHaveLength(1);
    expect(violationsOf('src/core/x.ts', "import { readFile } from 'node:fs/promises';")).toHaveLength(1);
    expect(violationsOf('src/core/x.ts', "import { S3Client } from '@aws-sdk/client-s3';")).toHaveLength(1);
    expect(violationsOf('src/core/pipeline.ts', "import { promises as fs } from 'node:fs';")).toEqual([]);
    expect(violationsOf('src/core/x.ts', "import { createHash } from 'node:crypto';")).toEqual([]);
    expect(violationsOf('src/local/chain.ts', "import { handler } from '../handlers/resize';")).toHaveLength(1);
    expect(violationsOf('src/tools/x.ts', "const m = await import('../cli/cli');")).toHaveLength(1);
    expect(
      violationsOf('src/local/cloud/kinesis/x.ts', "import { x } from '../lambda/event-source-mapping';"),
    ).toHaveLength(1);
    expect(
      violationsOf('src/local/cloud/kinesis/x.ts', "import type { InvokeFn } from '../lambda/invoke-contract';"),
    ).toEqual([]);
    expect(violationsOf('src/local/cloud/gateway/x.ts', "import { corsRules } from '../s3/s3-cors';")).toEqual([]);
  });
});
