/**
 * `resize-chain deploy-local [--example E] [--endpoint URL] [--dir D] [--destroy]`: deploys one of the
 * repository's Terraform examples (or the CDKTF main stack) to the local cloud with the real
 * terraform binary and the AWS provider from its filesystem mirror, the way it would go to AWS:
 * starts `resize-chain up` unless an endpoint is given (--endpoint, RESIZE_CHAIN_ENDPOINT), copies
 * the example into a working folder, writes the provider override (`tf-override`), runs
 * `terraform init` and `apply`, uploads a sample image and waits for what the deployment makes of it
 * (the variants and the manifest; for the notifications example, the ObjectCreated message), then
 * prints what it created and how long each step took. --destroy then runs `terraform destroy` and
 * checks that no bucket or queue of the deployment is left.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import {
  DeleteObjectsCommand,
  HeadObjectCommand,
  ListBucketsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { DeleteMessageCommand, ListQueuesCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { configError, PipelineError } from '../../core/errors';
import { manifestKey } from '../../core/keys';
import { localClientConfig } from '../../local/client-config';
import { DEFAULT_LOCAL_ENDPOINT, LOCAL_ENDPOINT_ENV, parseLocalEndpoint } from '../../local/terraform-provider';
import { findOfflineTerraform, runTerraformAsync, writeCliConfig, type TerraformRun } from '../../local/terraform-cli';
import { writeOverrideFile } from './tf-override';
import type { CommandUsage } from '../usage';

/** What `--example` names, and how each is deployed and tried. */
interface ExampleSpec {
  /** The folder (from the repository root) holding the configuration. */
  readonly dir: string;
  /** `-var` values, from the options. */
  vars(opts: DeployLocalOptions): Record<string, string>;
  /** What the sample upload should produce. */
  readonly sample: 'variants' | 'notification';
  /** Synthesized by `tsx main.ts` first (the CDKTF stack), then applied as its cdk.tf.json. */
  readonly cdktfStack?: string;
}

/** The local images of the functions (as `up --containers` runs them). */
const LOCAL_IMAGES = {
  resize: 'image-resize-chain/resize:latest',
  publish: 'image-resize-chain/publish:latest',
  upload: 'image-resize-chain/upload:latest',
} as const;

const chainVars = (opts: DeployLocalOptions): Record<string, string> => ({
  region: 'us-east-1',
  resize_image_uri: opts.resizeImage ?? LOCAL_IMAGES.resize,
  publish_image_uri: opts.publishImage ?? LOCAL_IMAGES.publish,
});

export const EXAMPLES: Readonly<Record<string, ExampleSpec>> = {
  terraform: { dir: 'examples/terraform', vars: chainVars, sample: 'variants' },
  'terraform-full': {
    dir: 'examples/terraform-full',
    vars: (opts) => ({ ...chainVars(opts), upload_image_uri: opts.uploadImage ?? LOCAL_IMAGES.upload }),
    sample: 'variants',
  },
  cdktf: {
    dir: 'cdktf.out/stacks/image-resize-chain',
    vars: () => ({}),
    sample: 'variants',
    cdktfStack: 'image-resize-chain',
  },
  notifications: { dir: 'examples/terraform-notifications', vars: () => ({}), sample: 'notification' },
};

/** `resize-chain deploy-local`: the options it reads and the help shown for them. */
export const DEPLOY_LOCAL_USAGE = {
  name: 'deploy-local',
  allowPositionals: false,
  options: {
    example: { type: 'string', shown: 'terraform' },
    endpoint: { type: 'string', shown: 'URL' },
    dir: { type: 'string', shown: 'DIR' },
    destroy: { type: 'boolean' },
    'resize-image': { type: 'string', shown: 'IMAGE' },
    'publish-image': { type: 'string', shown: 'IMAGE' },
    'upload-image': { type: 'string', shown: 'IMAGE' },
    timeout: { type: 'string', shown: '300' },
  },
  forms: [
    {
      shows: ['example', 'endpoint', 'dir', 'destroy', 'timeout'],
      description: [
        `Deploy an example to the local cloud with terraform: ${Object.keys(EXAMPLES).join(', ')}`,
        '(examples/terraform, examples/terraform-full, the CDKTF main stack, examples/terraform-notifications).',
        `Uses the endpoint given (--endpoint, else ${LOCAL_ENDPOINT_ENV}), or starts resize-chain up (IAM`,
        'enforced, over TLS, which the module requires) and keeps it running after the',
        'deployment (Ctrl-C stops it). Copies the example to --dir (default: a new',
        'temporary folder), writes the provider override, runs terraform init and apply (the AWS provider',
        'from its filesystem mirror: TF_PROVIDER_MIRROR, else found on the machine; TERRAFORM_BIN picks the',
        'binary), uploads a sample image, waits for its variants and manifest (for notifications: its',
        'ObjectCreated message), and prints what it created with the time of each step. --destroy then',
        'destroys it and checks that none of its buckets and queues is left. The function images are',
        `the local tags (${LOCAL_IMAGES.resize}; --resize-image, --publish-image, --upload-image).`,
      ].join('\n'),
    },
  ],
} satisfies CommandUsage;

export interface DeployLocalOptions {
  /** @default 'terraform' */
  example?: string;
  /** The local cloud to deploy to. @default RESIZE_CHAIN_ENDPOINT, else a `resize-chain up` started here */
  endpoint?: string;
  /** The working folder the example is copied to. @default a new temporary folder */
  dir?: string;
  /** Destroy the deployment after trying it. @default false */
  destroy?: boolean;
  /** @default image-resize-chain/resize:latest */
  resizeImage?: string;
  /** @default image-resize-chain/publish:latest */
  publishImage?: string;
  /** @default image-resize-chain/upload:latest */
  uploadImage?: string;
  /** Seconds to wait for the sample's outputs. @default 300 */
  timeoutSeconds?: number;
  /** The repository root (examples/, modules/terraform/). @default found from the current folder, then from the CLI */
  root?: string;
  /** Where the report goes. @default process.stdout */
  out?: NodeJS.WritableStream;
  /** Resolves when the command should stop a `up` it started (Ctrl-C). @default never (the caller's signal handling) */
  stop?: Promise<unknown>;
}

/** A step and how long it took. */
interface Timing {
  readonly step: string;
  readonly seconds: number;
}

/** The folder holding examples/ and modules/terraform/: the current folder or one above, else the CLI's repository. */
export function findRepositoryRoot(from: readonly string[] = [process.cwd(), __dirname]): string {
  for (const start of from) {
    for (let dir = resolve(start); ; dir = dirname(dir)) {
      if (existsSync(join(dir, 'examples', 'terraform')) && existsSync(join(dir, 'modules', 'terraform'))) return dir;
      if (dirname(dir) === dir) break;
    }
  }
  throw configError(
    'deploy-local',
    'run it from a checkout of image-resize-chain (no examples/ and modules/terraform/ found)',
  );
}

/** A `resize-chain up` started for the deployment: its endpoint, and how to stop it. */
interface StartedUp {
  readonly endpoint: string;
  /** Its banner's IAM line, e.g. `IAM enforced: …`. */
  readonly iam: string;
  stop(): Promise<number>;
}

/**
 * The name prefix of the chain `up` runs itself: not the module's default, so the example's buckets,
 * queues, roles and functions (named by the module's defaults) do not collide with it.
 */
const UP_OWN_PREFIX = 'resize-chain-up';

// The up started here enforces IAM (as on AWS) and is reached over TLS: the module's bucket and queue
// policies deny every request that is not (aws:SecureTransport).

/** Starts `resize-chain up --port 0` (this CLI) and resolves with its endpoint once it prints its ready line. */
function startUp(timeoutMs = 120_000): Promise<StartedUp> {
  const script = process.argv[1];
  if (!script) return Promise.reject(new Error('cannot tell which script to run up from'));
  const child: ChildProcess = spawn(process.execPath, [script, 'up', '--port', '0', '--name-prefix', UP_OWN_PREFIX], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<number>((done) => child.once('exit', (code) => done(code ?? 1)));
  const errors: string[] = [];
  createInterface({ input: child.stderr! }).on('line', (line) => errors.push(line));
  return new Promise((resolveUp, reject) => {
    let endpoint: string | undefined;
    let iam = 'IAM (not stated)';
    const timer = setTimeout(() => {
      child.kill('SIGTERM');
      reject(new Error(`resize-chain up was not ready after ${timeoutMs} ms: ${errors.slice(-5).join(' | ')}`));
    }, timeoutMs);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`resize-chain up exited (${code}) before it was ready: ${errors.slice(-5).join(' | ')}`));
    });
    createInterface({ input: child.stdout! }).on('line', (line) => {
      endpoint ??= /^export AWS_ENDPOINT_URL=(\S+)/.exec(line)?.[1];
      if (/^ {2}IAM {2,}/.test(line))
        iam = line
          .trim()
          .replace(/ {2,}/, ' ')
          .replace(/^(IAM \w+):/, '$1');
      if (!line.startsWith('ready:') || !endpoint) return;
      clearTimeout(timer);
      const url = endpoint;
      resolveUp({
        endpoint: url,
        iam,
        stop: async () => {
          child.kill('SIGTERM');
          return exited;
        },
      });
    });
  });
}

/** Copies the example into `work`, pointing its relative module sources at the repository's modules. */
export function copyExample(root: string, spec: ExampleSpec, work: string): void {
  const from = join(root, spec.dir);
  if (!existsSync(from))
    throw configError('--example', `${spec.dir} does not exist${spec.cdktfStack ? ' (synth failed?)' : ''}`);
  mkdirSync(work, { recursive: true });
  for (const name of readdirSync(from)) {
    if (!name.endsWith('.tf') && !name.endsWith('.tf.json')) continue;
    const text = readFileSync(join(from, name), 'utf8').replace(
      /(source\s*[=:]\s*")(\.\.?\/[^"]*)"/g,
      (_m, head: string, rel: string) => `${head}${resolve(from, rel)}"`,
    );
    writeFileSync(join(work, name), text);
  }
  if (spec.cdktfStack && existsSync(join(from, 'assets')))
    cpSync(join(from, 'assets'), join(work, 'assets'), { recursive: true });
}

/** `tsx main.ts` with RESIZE_CHAIN_ENDPOINT: the CDKTF stacks synthesized for the local cloud into cdktf.out/. */
async function synthCdktf(root: string, endpoint: string): Promise<void> {
  const tsx = join(root, 'node_modules', '.bin', 'tsx');
  const code = await new Promise<number>((done) => {
    const child = spawn(tsx, ['main.ts'], {
      cwd: root,
      stdio: 'inherit',
      env: { ...process.env, [LOCAL_ENDPOINT_ENV]: endpoint },
    });
    child.once('exit', (c) => done(c ?? 1));
    child.once('error', () => done(1));
  });
  if (code !== 0)
    throw new PipelineError('INVALID_CONFIG', `synthesizing main.ts for ${endpoint} failed (exit ${code})`);
}

/** A sample JPEG (a gradient with a few shapes), made with sharp. */
async function sampleImage(): Promise<Buffer> {
  const { default: sharp } = await import('sharp');
  const width = 1200;
  const height = 800;
  const svg =
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">` +
    '<defs><linearGradient id="g"><stop offset="0" stop-color="#1d4e89"/>' +
    '<stop offset="1" stop-color="#f29e4c"/></linearGradient></defs>' +
    `<rect width="${width}" height="${height}" fill="url(#g)"/><circle cx="400" cy="400" r="220" fill="#f1c453"/>` +
    '<rect x="700" y="250" width="300" height="300" fill="#0e6ba8"/></svg>';
  return sharp(Buffer.from(svg)).jpeg({ quality: 85 }).toBuffer();
}

/** Polls `probe` every second until it answers, or throws after `timeoutMs` naming `what`. */
async function pollUntil<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = await probe();
    if (found !== undefined) return found;
    if (Date.now() > deadline)
      throw new PipelineError('TIMEOUT', `timed out after ${timeoutMs / 1000} s waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 1000));
  }
}

/** The buckets an example's outputs name (`*_bucket_name`). */
function bucketOutputs(outputs: Record<string, unknown>): string[] {
  return Object.entries(outputs)
    .filter(([name, value]) => name.endsWith('_bucket_name') && typeof value === 'string')
    .map(([, value]) => value as string);
}

/** Deletes every object of `bucket` (a page of up to 1,000 keys at a time). */
async function emptyBucket(s3: S3Client, bucket: string): Promise<void> {
  for (;;) {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket }));
    const keys = (page.Contents ?? []).flatMap((o) => (o.Key ? [{ Key: o.Key }] : []));
    if (keys.length === 0) return;
    await s3.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: keys, Quiet: true } }));
  }
}

/** Deploys, tries and (with --destroy) destroys one example; returns the exit code. */
export async function deployLocalCommand(opts: DeployLocalOptions): Promise<number> {
  const out = opts.out ?? process.stdout;
  const say = (line: string): void => void out.write(`${line}\n`);
  const exampleName = opts.example ?? 'terraform';
  const spec = EXAMPLES[exampleName];
  if (!spec)
    throw configError(
      '--example',
      `wants one of ${Object.keys(EXAMPLES).join(', ')}, got ${JSON.stringify(exampleName)}`,
    );
  const terraform = findOfflineTerraform();
  if (!terraform.bin || !terraform.mirror)
    throw configError('terraform', `${terraform.missing ?? 'not found'} (set TERRAFORM_BIN, TF_PROVIDER_MIRROR)`);
  const root = opts.root ?? findRepositoryRoot();
  const given = opts.endpoint ?? process.env[LOCAL_ENDPOINT_ENV];
  if (given !== undefined && !parseLocalEndpoint(given))
    throw configError(
      '--endpoint',
      `wants http(s)://host:port such as ${DEFAULT_LOCAL_ENDPOINT}, got ${JSON.stringify(given)}`,
    );

  const timings: Timing[] = [];
  const timed = async <T>(step: string, work: () => Promise<T>): Promise<T> => {
    const started = Date.now();
    const result = await work();
    const seconds = Math.round((Date.now() - started) / 100) / 10;
    timings.push({ step, seconds });
    say(`  ${step}: ${seconds} s`);
    return result;
  };

  const up = given ? undefined : await timed('start resize-chain up', () => startUp());
  const endpoint = parseLocalEndpoint(given ?? up!.endpoint)!;
  const s3 = new S3Client(localClientConfig(endpoint));
  const sqs = new SQSClient(localClientConfig(endpoint));
  try {
    say(`deploying ${exampleName} to ${endpoint}${up ? ' (resize-chain up started for it)' : ''}`);
    if (up) say(`  ${up.iam}`);
    if (spec.cdktfStack) await timed('synthesize main.ts (cdktf)', () => synthCdktf(root, endpoint));
    const work = resolve(opts.dir ?? mkdtempSync(join(tmpdir(), `resize-chain-${exampleName}-`)));
    copyExample(root, spec, work);
    writeOverrideFile(work, endpoint);
    const cliConfig = writeCliConfig(work, terraform.mirror);
    const varArgs = Object.entries(spec.vars(opts)).flatMap(([k, v]) => ['-var', `${k}=${v}`]);
    const tf = async (args: string[]): Promise<TerraformRun> => {
      const run = await runTerraformAsync(terraform.bin!, cliConfig, work, [...args, '-no-color']);
      if (run.code !== 0)
        throw new PipelineError(
          'INVALID_CONFIG',
          `terraform ${args[0]} failed (exit ${run.code}) in ${work}:\n` +
            `${run.stderr.trim()}\n${run.stdout.slice(-3000)}`,
        );
      return run;
    };
    say(`working copy: ${work}`);
    await timed('terraform init', () => tf(['init', '-input=false']));
    const before = new Set(await bucketsAndQueues(s3, sqs));
    const apply = await timed('terraform apply', () => tf(['apply', '-auto-approve', '-input=false', ...varArgs]));
    say(`  ${/Apply complete! Resources: .*/.exec(apply.stdout)?.[0] ?? 'applied'}`);
    const resources = (await tf(['state', 'list'])).stdout.split('\n').filter(Boolean);
    const outputs = Object.fromEntries(
      Object.entries(JSON.parse((await tf(['output', '-json'])).stdout) as Record<string, { value: unknown }>).map(
        ([k, v]) => [k, v.value],
      ),
    );
    say(`created ${resources.length} resources:`);
    for (const r of resources) say(`  ${r}`);
    say('outputs:');
    for (const [k, v] of Object.entries(outputs)) say(`  ${k} = ${JSON.stringify(v)}`);
    await timed('sample image', () => trySample(spec, outputs, s3, sqs, (opts.timeoutSeconds ?? 300) * 1000, say));

    if (opts.destroy) {
      // S3 refuses to delete a bucket that holds objects (BucketNotEmpty), and the module's buckets are
      // not force_destroy: empty what the sample wrote, as one would before destroying on AWS.
      for (const bucket of bucketOutputs(outputs)) await emptyBucket(s3, bucket);
      const destroy = await timed('terraform destroy', () =>
        tf(['destroy', '-auto-approve', '-input=false', ...varArgs]),
      );
      say(`  ${/Destroy complete! Resources: .*/.exec(destroy.stdout)?.[0] ?? 'destroyed'}`);
      const left = (await bucketsAndQueues(s3, sqs)).filter((name) => !before.has(name));
      if (left.length > 0) throw new PipelineError('INTERNAL', `terraform destroy left behind: ${left.join(', ')}`);
      say('nothing left: no bucket or queue of the deployment remains');
    }
    say(
      `timings: ${timings.map((t) => `${t.step} ${t.seconds} s`).join(', ')}; ` +
        `total ${timings.reduce((n, t) => n + t.seconds, 0).toFixed(1)} s`,
    );
    if (up && !opts.destroy) {
      say(`resize-chain up keeps serving ${endpoint}; Ctrl-C stops it (the deployment goes with it)`);
      await (opts.stop ?? new Promise(() => {}));
    }
    return 0;
  } finally {
    s3.destroy();
    sqs.destroy();
    await up?.stop();
  }
}

/** Uploads the sample and waits for what the example makes of it; prints what it found. */
async function trySample(
  spec: ExampleSpec,
  outputs: Record<string, unknown>,
  s3: S3Client,
  sqs: SQSClient,
  timeoutMs: number,
  say: (line: string) => void,
): Promise<void> {
  const body = await sampleImage();
  const key = 'uploads/deploy-local-sample.jpg';
  if (spec.sample === 'notification') {
    const bucket = String(outputs.bucket);
    const queueUrl = String(outputs.queue_url);
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentType: 'image/jpeg' }));
    say(`uploaded s3://${bucket}/${key} (${body.length} bytes)`);
    const record = await pollUntil(
      `the ObjectCreated message for ${key} in ${queueUrl}`,
      async () => {
        const { Messages = [] } = await sqs.send(
          new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }),
        );
        for (const m of Messages) {
          await sqs.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: m.ReceiptHandle }));
          const records = (
            JSON.parse(m.Body ?? '{}') as { Records?: Array<{ eventName: string; s3: { object: { key: string } } }> }
          ).Records;
          const hit = records?.find((r) => r.s3.object.key === key);
          if (hit) return hit;
        }
        return undefined;
      },
      timeoutMs,
    );
    say(`queue ${queueUrl} received ${record.eventName} for ${record.s3.object.key}`);
    return;
  }
  const source = String(outputs.source_bucket_name);
  const output = String(outputs.output_bucket_name);
  await s3.send(new PutObjectCommand({ Bucket: source, Key: key, Body: body, ContentType: 'image/jpeg' }));
  say(`uploaded s3://${source}/${key} (${body.length} bytes)`);
  const manifest = manifestKey(key, 'images/');
  await pollUntil(
    `s3://${output}/${manifest}`,
    async () => {
      try {
        return await s3.send(new HeadObjectCommand({ Bucket: output, Key: manifest }));
      } catch {
        return undefined;
      }
    },
    timeoutMs,
  );
  say(`manifest and variants written: s3://${output}/${manifest}`);
}

/** Every bucket name and queue URL the local cloud lists. */
async function bucketsAndQueues(s3: S3Client, sqs: SQSClient): Promise<string[]> {
  const buckets = ((await s3.send(new ListBucketsCommand({}))).Buckets ?? []).map((b) => `s3://${b.Name ?? ''}`);
  const queues = (await sqs.send(new ListQueuesCommand({}))).QueueUrls ?? [];
  return [...buckets, ...queues];
}
