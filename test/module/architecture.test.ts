/** The chain's architecture switch: every function, every image build step, and the refusal. */
import { isPipelineError } from '../../src/core/errors';
import { BUILD_AND_PUSH_SCRIPT } from '../../modules/image-repository';
import { synthPlainModule } from '../../modules/terraform-module';
import { synthUploadApiModule } from '../../modules/terraform-upload-api';
import { resourcesOf, synthChain, TEST_IMAGES, type TfJson } from './synth';

const UPLOAD_IMAGE = '123456789012.dkr.ecr.us-east-1.amazonaws.com/irc-upload:t1';

interface BuildStep {
  triggers_replace: { image: string };
  provisioner: Array<{ 'local-exec': { command: string; environment: Record<string, string> } }>;
}

function functionArchitectures(doc: TfJson): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(resourcesOf(doc, 'aws_lambda_function')).map(([name, fn]) => [name, fn.architectures]),
  );
}

function buildSteps(doc: TfJson): Record<string, BuildStep> {
  return resourcesOf(doc, 'terraform_data') as unknown as Record<string, BuildStep>;
}

describe('architecture', () => {
  test('x86_64 by default on resize, publish and upload', () => {
    const archs = functionArchitectures(
      synthChain({ images: { ...TEST_IMAGES, upload: UPLOAD_IMAGE }, uploadApi: { allowAnonymousUploads: true } }),
    );
    expect(Object.keys(archs)).toHaveLength(3);
    for (const value of Object.values(archs)) expect(value).toEqual(['x86_64']);
  });

  describe("'arm64'", () => {
    // No image URIs: repositories are created and each image is built during apply.
    const doc = synthChain({ images: undefined, architecture: 'arm64', uploadApi: { allowAnonymousUploads: true } });

    test('sets architectures = ["arm64"] on every function (resize, publish, upload)', () => {
      const archs = functionArchitectures(doc);
      expect(
        Object.keys(archs)
          .map((n) => /resize|publish|upload/.exec(n)?.[0])
          .sort(),
      ).toEqual(['publish', 'resize', 'upload']);
      for (const value of Object.values(archs)) expect(value).toEqual(['arm64']);
    });

    test('builds every image for linux/arm64 and tags it with the architecture', () => {
      const steps = Object.values(buildSteps(doc));
      expect(steps).toHaveLength(3);
      const handlers = steps.map((step) => step.provisioner[0]['local-exec'].environment.HANDLER).sort();
      expect(handlers).toEqual(['publish', 'resize', 'upload']);
      for (const step of steps) {
        const exec = step.provisioner[0]['local-exec'];
        expect(exec.command).toBe(BUILD_AND_PUSH_SCRIPT);
        expect(exec.command).toContain('--platform "$PLATFORM"');
        expect(exec.environment.PLATFORM).toBe('linux/arm64');
        expect(exec.environment.TAG).toMatch(/^arm64-[0-9a-f]{16}$/);
        expect(exec.environment.IMAGE).toMatch(/:arm64-[0-9a-f]{16}$/);
        expect(step.triggers_replace.image).toBe(exec.environment.IMAGE);
      }
      // Each function runs the image its own step pushes.
      for (const fn of Object.values(resourcesOf(doc, 'aws_lambda_function')))
        expect(String(fn.image_uri)).toMatch(/:arm64-[0-9a-f]{16}$/);
    });

    test('an x86_64 build of the same sources gets another tag (no arm64 image is overwritten or reused)', () => {
      const x86 = Object.values(
        buildSteps(synthChain({ images: undefined, uploadApi: { allowAnonymousUploads: true } })),
      );
      for (const step of x86) {
        expect(step.provisioner[0]['local-exec'].environment.PLATFORM).toBe('linux/amd64');
        expect(step.provisioner[0]['local-exec'].environment.TAG).toMatch(/^x86_64-[0-9a-f]{16}$/);
      }
    });
  });

  test.each(['arm', 'aarch64', 'ARM64', 'amd64'])('refuses %j with INVALID_CONFIG naming the prop', (architecture) => {
    let error: unknown;
    try {
      synthChain({ architecture: architecture as 'arm64' });
    } catch (err) {
      error = err;
    }
    expect(isPipelineError(error) && error.code).toBe('INVALID_CONFIG');
    expect(isPipelineError(error) && error.subject.field).toBe('architecture');
    expect((error as Error).message).toMatch(/x86_64, arm64/);
  });

  describe("images tagged <arch>-<hash> (the tags the module builds) must name the functions' architecture", () => {
    const ECR = '123456789012.dkr.ecr.us-east-1.amazonaws.com';
    const tagged = (arch: string) => ({
      resize: `${ECR}/irc-resize:${arch}-0123456789abcdef`,
      publish: `${ECR}/irc-publish:${arch}-0123456789abcdef`,
    });

    test.each([
      [
        { images: tagged('x86_64'), architecture: 'arm64' as const },
        'images.resize',
        /says x86_64, but the function runs on arm64/,
      ],
      [
        {
          images: { ...tagged('arm64'), publish: `${ECR}/irc-publish:x86_64-0123456789abcdef` },
          architecture: 'arm64' as const,
        },
        'images.publish',
        /says x86_64/,
      ],
      [{ images: tagged('arm64') }, 'images.resize', /says arm64, but the function runs on x86_64/],
      [
        {
          images: tagged('x86_64'),
          uploadApi: { imageUri: `${ECR}/irc-upload:arm64-0123456789abcdef`, allowAnonymousUploads: true },
        },
        'uploadApi.imageUri',
        /says arm64/,
      ],
    ])('refuses %j at synth', (props, field, message) => {
      let error: unknown;
      try {
        synthChain(props);
      } catch (err) {
        error = err;
      }
      expect(isPipelineError(error) && error.code).toBe('INVALID_CONFIG');
      expect(isPipelineError(error) && error.subject.field).toBe(field);
      expect((error as Error).message).toMatch(message);
    });

    test('accepts matching tags, tags outside the scheme and digests', () => {
      expect(() => synthChain({ images: tagged('arm64'), architecture: 'arm64' })).not.toThrow();
      expect(() =>
        synthChain({
          images: { resize: `${ECR}/irc-resize:v1`, publish: `${ECR}/irc-publish@sha256:${'a'.repeat(64)}` },
          architecture: 'arm64',
        }),
      ).not.toThrow();
    });

    test('the plain modules check it at plan time: a precondition on every function', () => {
      const main = synthPlainModule() as TfJson;
      const upload = synthUploadApiModule() as TfJson;
      const preconditions = (fn: Record<string, unknown>): string[] =>
        ((fn.lifecycle as { precondition?: Array<{ condition: string }> })?.precondition ?? []).map((p) => p.condition);
      const functions = { ...resourcesOf(main, 'aws_lambda_function'), ...resourcesOf(upload, 'aws_lambda_function') };
      expect(Object.keys(functions)).toHaveLength(3);
      for (const [name, fn] of Object.entries(functions)) {
        const variable = /var\.([a-z_]*image_uri)\b/.exec(String(fn.image_uri))?.[1];
        expect({
          name,
          check: preconditions(fn).some((c) =>
            c.includes(`var.${variable})[0], var.architecture) == var.architecture`),
          ),
        }).toEqual({ name, check: true });
      }
    });
  });
});
