/**
 * The whole module, as users deploy it: `terraform apply` of examples/terraform (55 resources: the
 * module, its alarm topic and KMS key) against a bare `resize-chain up` (no chain of its own), with
 * the real terraform binary, the AWS provider from the filesystem mirror, the real AWS CLI v2 and the
 * functions' arm64 images (the example's architecture) run by Docker. A second plan shows no
 * changes; a JPEG copied with `aws s3 cp` under uploads/ yields every variant and the manifest; a
 * text file named x.jpg yields a coded rejection on the rejected queue; a function whose
 * architecture is not its image's fails at invoke as on Lambda; `terraform destroy` then leaves every
 * list API empty. Prints the apply/plan/destroy summary lines and their durations.
 *
 * Needs terraform, the provider mirror, the AWS CLI, Docker and arm64 emulation: skipped loudly
 * without them, failing under CI=true.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describeWhen } from '../helpers/requires';
import { AWS_CLI_MISSING, findAwsCli } from '../helpers/up-process';
import { startTerraformAgainstUp, summaryLine as summary, type TerraformAgainstUp } from '../helpers/terraform-up';
import { waitFor } from '../helpers/wait';
import { findOfflineTerraform } from '../module/terraform-cli';
import { ensureImages, missingArm64, missingDocker } from '../containers/docker';
import { EXAMPLES } from '../../src/cli/commands/deploy-local';
import { synthesizeImage } from '../../src/tools/samples';

const ROOT = resolve(__dirname, '..', '..');
const EXAMPLE = join(ROOT, 'examples', 'terraform');
const terraform = findOfflineTerraform();
const cli = findAwsCli();
const missing = terraform.missing ?? (cli ? undefined : AWS_CLI_MISSING) ?? missingDocker() ?? missingArm64();

/** The example's outputs this test reads. */
interface Outputs {
  source_bucket_name: string;
  output_bucket_name: string;
  resized_queue_url: string;
}

interface SqsMessage {
  Body: string;
  ReceiptHandle: string;
}

describeWhen(missing, 'terraform apply of examples/terraform (the whole module) to resize-chain up --bare', () => {
  let deploy: TerraformAgainstUp | undefined;
  let vars: string[] = [];
  let outputs: Outputs;
  let rejectedQueueUrl = '';
  const files = mkdtempSync(join(tmpdir(), 'irc-tf-module-files-'));
  const tf: TerraformAgainstUp['tf'] = (args, codes) => deploy!.tf(args, codes);
  const aws = async <T>(args: string[]): Promise<T> => (await deploy!.aws(args)) as T;

  beforeAll(async () => {
    // The example's functions are arm64: their images must be too (Lambda cannot start another CPU's).
    const built = ensureImages(['resize', 'publish'], 'linux/arm64');
    vars = Object.entries(
      EXAMPLES.terraform.vars({ resizeImage: built.images.resize, publishImage: built.images.publish }),
    ).flatMap(([k, v]) => ['-var', `${k}=${v}`]);
    // IAM enforced (up's default), over TLS: the module's own roles and policies decide every call.
    deploy = await startTerraformAgainstUp(
      EXAMPLE,
      'irc-tf-module-',
      { bin: terraform.bin!, mirror: terraform.mirror! },
      cli!.path,
      ['--bare'],
    );
  }, 1_800_000);

  afterAll(async () => {
    await deploy?.stop();
    rmSync(files, { recursive: true, force: true });
  });

  test('terraform apply creates all 55 resources; a second plan shows no changes', async () => {
    const apply = await tf(['apply', '-auto-approve', '-input=false', ...vars]);
    const line = summary(apply, /Apply complete! Resources: .*/);
    console.log(`apply: ${line} (${apply.seconds} s)`);
    expect(line).toBe('Apply complete! Resources: 55 added, 0 changed, 0 destroyed.');
    const raw = JSON.parse((await tf(['output', '-json'])).stdout) as Record<string, { value: string }>;
    outputs = Object.fromEntries(Object.entries(raw).map(([k, v]) => [k, v.value])) as unknown as Outputs;
    expect(outputs.source_bucket_name).toMatch(/^image-resize-chain-src-/);

    const plan = await tf(['plan', '-detailed-exitcode', '-input=false', ...vars], [0, 2]);
    console.log(`plan: ${summary(plan, /No changes\..*|Plan: .*/)} (${plan.seconds} s)`);
    // Exit 2 means changes: the diff is shown as the failure.
    expect({ code: plan.code, diff: plan.code === 0 ? '' : plan.stdout }).toEqual({ code: 0, diff: '' });
  }, 1_800_000);

  test('a JPEG copied with aws s3 cp under uploads/ yields every variant and the manifest', async () => {
    const photo = join(files, 'photo.jpg');
    writeFileSync(photo, await synthesizeImage({ width: 1800, height: 1200, seed: 15, format: 'jpeg' }));
    await deploy!.awsText(['s3', 'cp', photo, `s3://${outputs.source_bucket_name}/uploads/photo.jpg`]);
    const manifestKey = 'images/uploads/photo/manifest.json';
    const begun = Date.now();
    const listed = await waitFor(
      `s3://${outputs.output_bucket_name}/${manifestKey}`,
      async () => {
        const page = await aws<{ Contents?: Array<{ Key: string }> }>([
          's3api',
          'list-objects-v2',
          '--bucket',
          outputs.output_bucket_name,
          '--prefix',
          'images/uploads/photo/',
        ]);
        const keys = (page.Contents ?? []).map((c) => c.Key);
        return keys.includes(manifestKey) ? keys : undefined;
      },
      600_000,
      1000,
    );
    console.log(`sample image: manifest after ${Math.round((Date.now() - begun) / 100) / 10} s`);
    const manifestFile = join(files, 'manifest.json');
    await deploy!.awsText(['s3', 'cp', `s3://${outputs.output_bucket_name}/${manifestKey}`, manifestFile]);
    const manifest = JSON.parse(readFileSync(manifestFile, 'utf8')) as {
      source: { key: string };
      variants: Array<{ name: string; key: string }>;
    };
    expect(manifest.source.key).toBe('uploads/photo.jpg');
    // The example's variants_json: thumb and large (webp), square (jpeg).
    expect(manifest.variants.map((v) => v.name).sort()).toEqual(['large', 'square', 'thumb']);
    for (const variant of manifest.variants) expect(listed).toContain(variant.key);
  }, 900_000);

  test('a text file named x.jpg yields a coded rejection naming its key on the rejected queue', async () => {
    rejectedQueueUrl = (
      await aws<{ QueueUrl: string }>(['sqs', 'get-queue-url', '--queue-name', 'image-resize-chain-rejected'])
    ).QueueUrl;
    const text = join(files, 'x.jpg');
    writeFileSync(text, 'this is plain text, not a JPEG\n');
    await deploy!.awsText(['s3', 'cp', text, `s3://${outputs.source_bucket_name}/uploads/x.jpg`]);
    const rejection = await waitFor(
      'the rejection of uploads/x.jpg',
      async () => {
        const { Messages = [] } = await aws<{ Messages?: SqsMessage[] }>([
          'sqs',
          'receive-message',
          '--queue-url',
          rejectedQueueUrl,
          '--max-number-of-messages',
          '10',
          '--wait-time-seconds',
          '2',
        ]);
        return Messages.map((m) => JSON.parse(m.Body) as Record<string, unknown>).find(
          (body) => (body.source as { key?: string } | undefined)?.key === 'uploads/x.jpg',
        );
      },
      600_000,
      1000,
    );
    console.log(`rejection: ${JSON.stringify(rejection)}`);
    expect(rejection).toMatchObject({
      type: 'image.rejected',
      version: 1,
      source: { bucket: outputs.source_bucket_name, key: 'uploads/x.jpg' },
      code: 'NOT_AN_IMAGE',
    });
  }, 900_000);

  test('a function whose architecture is not its image’s: created, its invoke fails with Runtime.InvalidEntrypoint', async () => {
    // A role Lambda may assume: the applied functions' own.
    const { Functions } = await aws<{ Functions: Array<{ Role: string }> }>(['lambda', 'list-functions']);
    expect(Functions.length).toBeGreaterThan(0);
    const roleArn = Functions[0].Role;
    const built = ensureImages(['publish'], 'linux/arm64');
    const created = await aws<{ Architectures: string[]; State?: string }>([
      'lambda',
      'create-function',
      '--function-name',
      'irc-arch-mismatch',
      '--package-type',
      'Image',
      '--code',
      `ImageUri=${built.images.publish}`,
      '--role',
      roleArn,
      '--architectures',
      'x86_64',
    ]);
    expect(created.Architectures).toEqual(['x86_64']);
    const response = join(files, 'response.json');
    const invoked = await aws<{ StatusCode: number; FunctionError?: string }>([
      'lambda',
      'invoke',
      '--function-name',
      'irc-arch-mismatch',
      '--cli-binary-format',
      'raw-in-base64-out',
      '--payload',
      '{}',
      response,
    ]);
    expect(invoked).toMatchObject({ StatusCode: 200, FunctionError: 'Unhandled' });
    const payload = JSON.parse(readFileSync(response, 'utf8')) as Record<string, string>;
    expect(payload).toMatchObject({ errorType: 'Runtime.InvalidEntrypoint' });
    expect(payload.errorMessage).toMatch(/^RequestId: [0-9a-f-]{36} Error: fork\/exec \S+: exec format error$/);
    await deploy!.awsText(['lambda', 'delete-function', '--function-name', 'irc-arch-mismatch']);
  }, 300_000);

  test('terraform destroy (buckets emptied first) leaves every list API empty', async () => {
    for (const bucket of [outputs.source_bucket_name, outputs.output_bucket_name])
      await deploy!.awsText(['s3', 'rm', `s3://${bucket}`, '--recursive']);
    const destroy = await tf(['destroy', '-auto-approve', '-input=false', ...vars]);
    const line = summary(destroy, /Destroy complete! Resources: .*/);
    console.log(`destroy: ${line} (${destroy.seconds} s)`);
    expect(line).toBe('Destroy complete! Resources: 55 destroyed.');

    // A bare up holds nothing of its own: whatever a list shows, the deployment left behind.
    const lists: Array<[string, string[], (out: Record<string, unknown>) => unknown[]]> = [
      ['s3api list-buckets', ['s3api', 'list-buckets'], (o) => o.Buckets as unknown[]],
      ['sqs list-queues', ['sqs', 'list-queues'], (o) => (o.QueueUrls as unknown[] | undefined) ?? []],
      ['lambda list-functions', ['lambda', 'list-functions'], (o) => o.Functions as unknown[]],
      [
        'lambda list-event-source-mappings',
        ['lambda', 'list-event-source-mappings'],
        (o) => o.EventSourceMappings as unknown[],
      ],
      ['iam list-roles', ['iam', 'list-roles'], (o) => o.Roles as unknown[]],
      ['iam list-policies --scope Local', ['iam', 'list-policies', '--scope', 'Local'], (o) => o.Policies as unknown[]],
      ['logs describe-log-groups', ['logs', 'describe-log-groups'], (o) => o.logGroups as unknown[]],
      ['cloudwatch describe-alarms', ['cloudwatch', 'describe-alarms'], (o) => o.MetricAlarms as unknown[]],
      ['ecr describe-repositories', ['ecr', 'describe-repositories'], (o) => o.repositories as unknown[]],
      ['sns list-topics', ['sns', 'list-topics'], (o) => o.Topics as unknown[]],
      ['kms list-aliases', ['kms', 'list-aliases'], (o) => o.Aliases as unknown[]],
    ];
    const left: Record<string, unknown[]> = {};
    for (const [name, args, items] of lists) left[name] = items(await aws<Record<string, unknown>>(args));
    expect(left).toEqual(Object.fromEntries(lists.map(([name]) => [name, []])));
    // A KMS key cannot be deleted at once: destroy schedules its deletion (PendingDeletion), as on AWS.
    const { Keys } = await aws<{ Keys: Array<{ KeyId: string }> }>(['kms', 'list-keys']);
    for (const key of Keys) {
      const { KeyMetadata } = await aws<{ KeyMetadata: { KeyState: string } }>([
        'kms',
        'describe-key',
        '--key-id',
        key.KeyId,
      ]);
      expect(KeyMetadata.KeyState).toBe('PendingDeletion');
    }
  }, 1_800_000);
});
