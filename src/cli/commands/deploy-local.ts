/**
 * `resize-chain deploy-local [--example E] [--endpoint URL] [--dir D] [--destroy]`: deploys one of the
 * repository's Terraform examples, or the CDKTF main stack, to the local cloud with the real
 * terraform binary and the AWS provider from its filesystem mirror, the way it would go to AWS:
 * starts `resize-chain up` unless an endpoint is given (--endpoint, RESIZE_CHAIN_ENDPOINT). A
 * Terraform example is copied into a working folder with the provider override (`tf-override`),
 * then `terraform init` and `apply`; the CDKTF stack is deployed by the real `cdktf deploy` (as
 * `npx cdktf deploy` would, main.ts told where by RESIZE_CHAIN_ENDPOINT), synthesized into the
 * working folder. Then it uploads a sample image and waits for what the deployment makes of it
 * (the variants and the manifest; for the notifications example, the ObjectCreated message), and
 * prints what it created and how long each step took. --destroy then runs `terraform destroy` (or
 * `cdktf destroy`) and checks that no bucket or queue of the deployment is left.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
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
import {
  CDKTF_CHAIN_STACK,
  cdktfDeployArgs,
  cdktfDestroyArgs,
  cdktfStackDir,
  runCdktfAsync,
  type CdktfLocalTarget,
} from '../../local/cdktf-cli';
import { writeOverrideFile } from './tf-override';
import type { CommandUsage } from '../usage';

/** What `--example` names, and how each is deployed and tried. */
interface ExampleSpec {
  /** The folder (from the repository root) holding the configuration; '.' for the CDKTF app (main.ts). */
  readonly dir: string;
  /** `-var` values, from the options. */
  vars(opts: DeployLocalOptions): Record<string, string>;
  /** What the sample upload should produce. */
  readonly sample: 'variants' | 'notification';
  /** Where the variants go in the output bucket, unless the deployment outputs `output_prefix`. */
  readonly outputPrefix?: string;
  /** Deployed with `cdktf deploy` (main.ts, cdktf.json) rather than terraform. */
  readonly cdktf?: true;
}

/**
 * The local image of a function (`npm run images`; `--platform linux/arm64` tags latest-arm64). The
 * examples deploy arm64 functions, and Lambda cannot start an image of another architecture.
 */
const localImage = (handler: 'resize' | 'publish' | 'upload', architecture: 'x86_64' | 'arm64'): string =>
  `image-resize-chain/${handler}:latest${architecture === 'arm64' ? '-arm64' : ''}`;

/** The variables of the chain examples, whose functions are arm64. */
const chainVars = (opts: DeployLocalOptions): Record<string, string> => ({
  region: 'us-east-1',
  resize_image_uri: opts.resizeImage ?? localImage('resize', 'arm64'),
  publish_image_uri: opts.publishImage ?? localImage('publish', 'arm64'),
});

export const EXAMPLES: Readonly<Record<string, ExampleSpec>> = {
  terraform: { dir: 'examples/terraform', vars: chainVars, sample: 'variants', outputPrefix: 'images/' },
  'terraform-full': {
    dir: 'examples/terraform-full',
    vars: (opts) => ({ ...chainVars(opts), upload_image_uri: opts.uploadImage ?? localImage('upload', 'arm64') }),
    sample: 'variants',
    outputPrefix: 'images/',
  },
  cdktf: { dir: '.', vars: () => ({}), sample: 'variants', cdktf: true },
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
        `Uses the endpoint given (--endpoint, else ${LOCAL_ENDPOINT_ENV}), or starts resize-chain up --bare (IAM`,
        'enforced, over TLS, which the module requires) and keeps it running after the',
        'deployment (Ctrl-C stops it). Copies the example to --dir (default: a new',
        'temporary folder), writes the provider override, runs terraform init and apply (the AWS provider',
        'from its filesystem mirror: TF_PROVIDER_MIRROR, else found on the machine; TERRAFORM_BIN picks the',
        'binary), uploads a sample image, waits for its variants and manifest (for notifications: its',
        'ObjectCreated message), and prints what it created with the time of each step. --destroy then',
        'destroys it and checks that none of its buckets and queues is left. The function images are',
        `the local arm64 tags the examples' architecture needs (${localImage('resize', 'arm64')}, built by`,
        '`npm run images -- --platform linux/arm64`; --resize-image, --publish-image, --upload-image).',
        '--example cdktf runs the real cdktf deploy (then cdktf destroy) of the image-resize-chain stack of',
        'main.ts instead of terraform apply, synthesized into the working folder, which keeps its state.',
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
  /** @default image-resize-chain/resize:latest-arm64 (the examples' functions are arm64) */
  resizeImage?: string;
  /** @default image-resize-chain/publish:latest-arm64 (the examples' functions are arm64) */
  publishImage?: string;
  /** @default image-resize-chain/upload:latest-arm64 (the examples' functions are arm64) */
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

// The up started here is bare (no chain of its own: the example's names cannot collide with it, and
// what is left after destroy is all the example's). It enforces IAM, as AWS does, and is reached over
// TLS: the module's bucket and queue policies deny every request that is not (aws:SecureTransport).

/** Starts `resize-chain up --port 0 --bare` (this CLI); resolves with its endpoint once it is ready. */
function startUp(timeoutMs = 120_000): Promise<StartedUp> {
  const script = process.argv[1];
  if (!script) return Promise.reject(new Error('cannot tell which script to run up from'));
  const child: ChildProcess = spawn(process.execPath, [script, 'up', '--port', '0', '--bare'], {
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
export function copyExample(root: string, spec: Pick<ExampleSpec, 'dir'>, work: string): void {
  const from = join(root, spec.dir);
  if (!existsSync(from)) throw configError('--example', `${spec.dir} does not exist`);
  copyTerraformFiles(from, work);
}

/** Copies the `.tf` and `.tf.json` files of folder `from` into `work`, relative module sources made absolute. */
export function copyTerraformFiles(from: string, work: string): void {
  mkdirSync(work, { recursive: true });
  for (const name of readdirSync(from)) {
    if (!name.endsWith('.tf') && !name.endsWith('.tf.json')) continue;
    const text = readFileSync(join(from, name), 'utf8').replace(
      /(source\s*[=:]\s*")(\.\.?\/[^"]*)"/g,
      (_m, head: string, rel: string) => `${head}${resolve(from, rel)}"`,
    );
    writeFileSync(join(work, name), text);
  }
}

/** A sample JPEG (a gradient with a few shapes), made with sharp. */
export async function sampleImage(): Promise<Buffer> {
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

/** The terraform binary and the offline CLI config (provider from its filesystem mirror) in the working folder. */
interface OfflineTerraform {
  readonly bin: string;
  readonly cliConfig: string;
}

/** How an example is deployed: by terraform or by the cdktf CLI; each step fails with the tool's output. */
interface Deployment {
  /** Named in the steps and timings. */
  readonly tool: 'terraform' | 'cdktf';
  /** `apply` (terraform) or `deploy` (cdktf). */
  readonly applyVerb: string;
  /** Prepares the working folder (terraform init); cdktf deploy does its own. */
  readonly init?: () => Promise<TerraformRun>;
  readonly apply: () => Promise<TerraformRun>;
  /** The resource addresses in the state. */
  resources(): Promise<string[]>;
  /** The deployment's outputs, by name. */
  outputs(): Promise<Record<string, unknown>>;
  readonly destroy: () => Promise<TerraformRun>;
}

/** `run`, or a coded error with the end of its output when it failed. */
function succeeded(what: string, where: string, run: TerraformRun): TerraformRun {
  if (run.code === 0) return run;
  throw new PipelineError(
    'INVALID_CONFIG',
    `${what} failed (exit ${run.code}) in ${where}:\n${run.stderr.trim()}\n${run.stdout.slice(-3000)}`,
  );
}

/** The addresses `terraform state list` prints in `dir`. */
async function stateList(tf: OfflineTerraform, dir: string): Promise<string[]> {
  const run = await runTerraformAsync(tf.bin, tf.cliConfig, dir, ['state', 'list', '-no-color']);
  return succeeded('terraform state list', dir, run).stdout.split('\n').filter(Boolean);
}

/** A Terraform example copied into `work` with the provider override, applied with `-var` values from the options. */
function terraformDeployment(
  root: string,
  spec: ExampleSpec,
  opts: DeployLocalOptions,
  work: string,
  found: OfflineTerraform,
  endpoint: string,
): Deployment {
  copyExample(root, spec, work);
  writeOverrideFile(work, endpoint);
  const varArgs = Object.entries(spec.vars(opts)).flatMap(([k, v]) => ['-var', `${k}=${v}`]);
  const tf = async (args: string[]): Promise<TerraformRun> =>
    succeeded(
      `terraform ${args[0]}`,
      work,
      await runTerraformAsync(found.bin, found.cliConfig, work, [...args, '-no-color']),
    );
  return {
    tool: 'terraform',
    applyVerb: 'apply',
    init: () => tf(['init', '-input=false']),
    apply: () => tf(['apply', '-auto-approve', '-input=false', ...varArgs]),
    resources: () => stateList(found, work),
    outputs: async () =>
      Object.fromEntries(
        Object.entries(JSON.parse((await tf(['output', '-json'])).stdout) as Record<string, { value: unknown }>).map(
          ([k, v]) => [k, v.value],
        ),
      ),
    destroy: () => tf(['destroy', '-auto-approve', '-input=false', ...varArgs]),
  };
}

/**
 * main.ts's chain stack deployed by the real `cdktf deploy` from the repository root, synthesized into
 * `work`/cdktf.out (its state lands in `work`, three levels above the stack's folder), its outputs
 * written to `work`/outputs.json.
 */
function cdktfDeployment(root: string, work: string, found: OfflineTerraform, target: CdktfLocalTarget): Deployment {
  const output = join(work, 'cdktf.out');
  const outputsFile = join(work, 'outputs.json');
  const cdktf = async (args: string[]): Promise<TerraformRun> =>
    succeeded(`cdktf ${args[0]}`, root, await runCdktfAsync(root, found.cliConfig, target, args));
  return {
    tool: 'cdktf',
    applyVerb: 'deploy',
    apply: () => cdktf(cdktfDeployArgs(output, outputsFile)),
    resources: () => stateList(found, cdktfStackDir(output)),
    outputs: async () => {
      const byStack = JSON.parse(readFileSync(outputsFile, 'utf8')) as Record<string, Record<string, unknown>>;
      return byStack[CDKTF_CHAIN_STACK] ?? {};
    },
    destroy: () => cdktf(cdktfDestroyArgs(output)),
  };
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
    const work = resolve(opts.dir ?? mkdtempSync(join(tmpdir(), `resize-chain-${exampleName}-`)));
    mkdirSync(work, { recursive: true });
    const cliConfig = writeCliConfig(work, terraform.mirror);
    const found = { bin: terraform.bin, cliConfig };
    const deployment = spec.cdktf
      ? cdktfDeployment(root, work, found, {
          endpoint,
          resizeImage: opts.resizeImage ?? localImage('resize', 'x86_64'),
          publishImage: opts.publishImage ?? localImage('publish', 'x86_64'),
        })
      : terraformDeployment(root, spec, opts, work, found, endpoint);
    say(`working copy: ${work}`);
    if (deployment.init) await timed(`${deployment.tool} init`, deployment.init);
    const before = new Set(await bucketsAndQueues(s3, sqs));
    const apply = await timed(`${deployment.tool} ${deployment.applyVerb}`, deployment.apply);
    say(`  ${/Apply complete! Resources: .*/.exec(apply.stdout)?.[0] ?? 'applied'}`);
    // What it created: the managed resources, not the data sources it read (data.…, module.x.data.…).
    const resources = (await deployment.resources()).filter((address) => !/(^|\.)data\./.test(address));
    const outputs = await deployment.outputs();
    say(`created ${resources.length} resources:`);
    for (const r of resources) say(`  ${r}`);
    say('outputs:');
    for (const [k, v] of Object.entries(outputs)) say(`  ${k} = ${JSON.stringify(v)}`);
    await timed('sample image', () => trySample(spec, outputs, s3, sqs, (opts.timeoutSeconds ?? 300) * 1000, say));

    if (opts.destroy) {
      // S3 refuses to delete a bucket that holds objects (BucketNotEmpty), and the module's buckets are
      // not force_destroy: empty what the sample wrote, as one would before destroying on AWS.
      for (const bucket of bucketOutputs(outputs)) await emptyBucket(s3, bucket);
      const destroy = await timed(`${deployment.tool} destroy`, deployment.destroy);
      say(`  ${/Destroy complete! Resources: .*/.exec(destroy.stdout)?.[0] ?? 'destroyed'}`);
      const left = (await bucketsAndQueues(s3, sqs)).filter((name) => !before.has(name));
      if (left.length > 0)
        throw new PipelineError('INTERNAL', `${deployment.tool} destroy left behind: ${left.join(', ')}`);
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
  const manifest = manifestKey(
    key,
    typeof outputs.output_prefix === 'string' ? outputs.output_prefix : (spec.outputPrefix ?? ''),
  );
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
