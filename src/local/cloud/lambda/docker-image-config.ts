/**
 * A ResolveImage over the local Docker engine's image store: an ImageUri is a tag (or id) the
 * engine holds, e.g. `image-resize-chain/resize:latest`, read with `docker image inspect`. For
 * functions whose image was built here and never pushed; the ECR resolver serves pushed images.
 */
import { spawn } from 'node:child_process';
import { dockerClient } from './container-host';
import { LambdaError, type LambdaImage, type ResolveImage } from './function-config';

/** The parts of `docker image inspect` a function's start needs. */
interface InspectedImage {
  Id?: string;
  RepoDigests?: string[] | null;
  Config?: { Entrypoint?: string[] | null; Cmd?: string[] | null; WorkingDir?: string; Env?: string[] | null };
}

/** The LambdaImage of one inspected image (pure: the inspect output's fields, Lambda's names). */
export function lambdaImageOf(imageUri: string, inspected: InspectedImage): LambdaImage {
  const config = inspected.Config ?? {};
  return {
    imageUri,
    digest: inspected.Id ?? '',
    ...(config.Entrypoint && config.Entrypoint.length > 0 ? { entrypoint: config.Entrypoint } : {}),
    ...(config.Cmd && config.Cmd.length > 0 ? { cmd: config.Cmd } : {}),
    ...(config.WorkingDir ? { workingDir: config.WorkingDir } : {}),
    env: config.Env ?? [],
    // The id, not the tag: a later build that moves the tag does not change what this function runs.
    runRef: inspected.Id ?? imageUri,
  };
}

/** Runs `docker image inspect` and resolves with its stdout, or undefined when the engine has no such image. */
function inspect(docker: string, imageUri: string): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const child = spawn(docker, ['image', 'inspect', '--format', '{{json .}}', imageUri], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
    child.once('error', reject);
    child.once('exit', (code) => {
      if (code === 0) return resolve(out);
      if (/no such image|not found/i.test(err)) return resolve(undefined);
      reject(new Error(`${docker} image inspect ${imageUri} exited ${code}: ${err.trim()}`));
    });
  });
}

/**
 * Resolves ImageUris against the local engine; an image it does not hold is refused as Lambda
 * refuses a missing source image. @default docker dockerClient()
 */
export function dockerImageResolver(docker = dockerClient()): ResolveImage {
  return async (imageUri) => {
    const out = await inspect(docker, imageUri);
    if (out === undefined)
      throw new LambdaError(
        'InvalidParameterValueException',
        `Source image ${imageUri} does not exist. Provide a valid source image.`,
      );
    return lambdaImageOf(imageUri, JSON.parse(out) as InspectedImage);
  };
}
