/**
 * The image check Lambda makes when a function is created from an image URI, for the local cloud:
 * which image the URI names, whether Lambda would take it, the settings its config holds
 * (entrypoint, command, working directory, environment) and a reference `docker run` can use.
 *
 * By the kind of URI:
 * - An image in a registry on loopback (`127.0.0.1:<port>/<name>:<tag>` or `@sha256:…`, the local
 *   ECR's repository URIs): its manifest is read over the registry API. An index (a multi-platform
 *   list, or the OCI index buildx pushes for provenance/SBOM attestations), a manifest of another
 *   type, or a config or layer of a type other than an image's is refused as Lambda refuses it.
 *   The image is then pulled into the local Docker engine by digest; `runRef` names that digest,
 *   so a later push to the tag does not change what the function runs (Lambda also pins the digest).
 * - A local Docker tag without a registry host (`image-resize-chain/resize:latest`): a local-cloud
 *   convenience Lambda has no counterpart for (it takes ECR images only). It is read with
 *   `docker image inspect`; `runRef` is its image id. No manifest exists before a push, so there is
 *   no media-type check.
 * - An ECR URI of AWS (`<account>.dkr.ecr.<region>.amazonaws.com/…`): the local cloud cannot reach
 *   it; refused with the AccessDeniedException Lambda gives for an image it cannot pull.
 * - Any other registry (Docker Hub, public.ecr.aws, …) or a URI without a tag or digest: refused as
 *   Lambda refuses a source image that is not a private ECR image.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { JsonError } from '../json-protocol';
import { dockerClient } from '../lambda/container-host';
import {
  DOCKER_MANIFEST,
  OCI_MANIFEST,
  parseManifest,
  RegistryApi,
  type Descriptor,
  type RegistryManifest,
} from './registry-api';

const run = promisify(execFile);

/** What a function created from an image runs. */
export type LambdaImage = {
  imageUri: string;
  digest: string;
  entrypoint?: string[];
  cmd?: string[];
  workingDir?: string;
  env: string[];
  runRef: string /* what docker run uses */;
  /** The CPU architecture the image's config names (`amd64`, `arm64`), when it names one. */
  architecture?: string;
};

/** Manifest media types Lambda takes: one platform, no index. */
const MANIFEST_TYPES = new Set([DOCKER_MANIFEST, OCI_MANIFEST]);
/** Config media types of an image (an attestation or other artifact has its own). */
const CONFIG_TYPES = new Set([
  'application/vnd.docker.container.image.v1+json',
  'application/vnd.oci.image.config.v1+json',
]);
/** Layer media types of an image's filesystem. */
const LAYER_TYPES = new Set([
  'application/vnd.docker.image.rootfs.diff.tar.gzip',
  'application/vnd.oci.image.layer.v1.tar',
  'application/vnd.oci.image.layer.v1.tar+gzip',
  'application/vnd.oci.image.layer.v1.tar+zstd',
]);

/** A private ECR registry host of AWS. */
const AWS_ECR_HOST = /^\d{12}\.dkr\.ecr(?:-fips)?\.[a-z0-9-]+\.amazonaws\.com(?:\.cn)?$/;
/** A registry host on loopback, with its port. */
const LOOPBACK_HOST = /^(?:127(?:\.\d{1,3}){3}|localhost|\[::1\]):\d{1,5}$/;

/** An image URI cut into registry host (undefined for a local tag), repository and tag or digest. */
interface ImageReference {
  host?: string;
  repository: string;
  tag?: string;
  digest?: string;
}

/** Splits `[host/]repository[:tag][@digest]`; the first part is a host when it has a '.' or ':' or is localhost. */
export function parseImageUri(uri: string): ImageReference {
  const [name, digest] = uri.split('@', 2) as [string, string | undefined];
  const slash = name.indexOf('/');
  const first = slash > 0 ? name.slice(0, slash) : '';
  const hasHost = first !== '' && (first.includes('.') || first.includes(':') || first === 'localhost');
  const path = hasHost ? name.slice(slash + 1) : name;
  const colon = path.lastIndexOf(':');
  const tagged = colon > path.lastIndexOf('/');
  return {
    ...(hasHost ? { host: first } : {}),
    repository: tagged ? path.slice(0, colon) : path,
    ...(tagged ? { tag: path.slice(colon + 1) } : {}),
    ...(digest ? { digest } : {}),
  };
}

/** Lambda's refusal of a URI that names no image it can take. */
function notValid(uri: string): JsonError {
  return new JsonError(
    'InvalidParameterValueException',
    `Source image ${uri} is not valid. Provide a valid source image.`,
  );
}

/** Lambda's refusal of an image that is not there. */
function doesNotExist(uri: string): JsonError {
  return new JsonError(
    'InvalidParameterValueException',
    `Source image ${uri} does not exist. Provide a valid source image.`,
  );
}

/** Lambda's refusal of an index, an attestation, or any manifest, config or layer type it does not run. */
export function unsupportedImage(uri: string): JsonError {
  return new JsonError(
    'InvalidParameterValueException',
    `The image manifest, config or layer media type for the source image ${uri} is not supported.`,
  );
}

/** Lambda's refusal of an image it may not pull. */
function accessDenied(): JsonError {
  return new JsonError(
    'AccessDeniedException',
    'Lambda does not have permission to access the ECR image. Check the ECR permissions.',
    403,
  );
}

/** The image settings of a config blob (`config.Entrypoint`, `Cmd`, `WorkingDir`, `Env`). */
interface ImageConfig {
  Entrypoint?: string[] | null;
  Cmd?: string[] | null;
  WorkingDir?: string;
  Env?: string[] | null;
}

/** The LambdaImage fields an image config gives. */
function settingsOf(config: ImageConfig | undefined): Pick<LambdaImage, 'entrypoint' | 'cmd' | 'workingDir' | 'env'> {
  return {
    ...(config?.Entrypoint?.length ? { entrypoint: config.Entrypoint } : {}),
    ...(config?.Cmd?.length ? { cmd: config.Cmd } : {}),
    ...(config?.WorkingDir ? { workingDir: config.WorkingDir } : {}),
    env: config?.Env ?? [],
  };
}

/** The `architecture` field of a LambdaImage, present only when the image names one. */
function architectureOf(architecture: string | undefined): Pick<LambdaImage, 'architecture'> {
  return architecture ? { architecture } : {};
}

/** True when `manifest` is a single-platform image manifest with an image config and filesystem layers only. */
export function isLambdaManifest(manifest: Pick<RegistryManifest, 'mediaType' | 'body'>): boolean {
  if (!MANIFEST_TYPES.has(manifest.mediaType)) return false;
  const doc = parseManifest(manifest.body);
  const typed = (d: Descriptor | undefined, types: Set<string>): boolean => types.has(d?.mediaType ?? '');
  return typed(doc.config, CONFIG_TYPES) && (doc.layers ?? []).every((layer) => typed(layer, LAYER_TYPES));
}

/** An image of a loopback registry: checked as Lambda checks it, pulled into the engine by digest. */
async function resolveRegistryImage(uri: string, ref: ImageReference & { host: string }): Promise<LambdaImage> {
  const api = new RegistryApi(`http://${ref.host}`);
  let manifest: RegistryManifest | undefined;
  try {
    manifest = await api.manifest(ref.repository, ref.digest ?? ref.tag!);
  } catch {
    manifest = undefined; // no registry answering there: nothing to pull
  }
  if (!manifest) throw doesNotExist(uri);
  if (!isLambdaManifest(manifest)) throw unsupportedImage(uri);
  const configDigest = parseManifest(manifest.body).config?.digest;
  const blob = configDigest ? await api.blob(ref.repository, configDigest) : undefined;
  if (!blob) throw doesNotExist(uri);
  const { config, architecture } = JSON.parse(blob.toString('utf8')) as { config?: ImageConfig; architecture?: string };
  const runRef = `${ref.host}/${ref.repository}@${manifest.digest}`;
  const docker = dockerClient();
  try {
    await run(docker, ['pull', '--quiet', runRef], { timeout: 600_000 });
  } catch (error) {
    const detail = (error as { stderr?: string }).stderr ?? String(error);
    throw new JsonError(
      'ServiceException',
      `the local Docker engine (${docker}) could not pull ${runRef}: ${detail}`,
      500,
    );
  }
  return { imageUri: uri, digest: manifest.digest, ...settingsOf(config), runRef, ...architectureOf(architecture) };
}

/** A tag of the local Docker engine (no registry host): its config, run by image id. */
async function resolveLocalTag(uri: string): Promise<LambdaImage> {
  let inspected: { Id: string; Config?: ImageConfig; Architecture?: string };
  try {
    const { stdout } = await run(dockerClient(), ['image', 'inspect', '--format', '{{json .}}', uri], {
      timeout: 60_000,
    });
    inspected = JSON.parse(stdout) as typeof inspected;
  } catch {
    throw doesNotExist(uri);
  }
  return {
    imageUri: uri,
    digest: inspected.Id,
    ...settingsOf(inspected.Config),
    runRef: inspected.Id,
    ...architectureOf(inspected.Architecture),
  };
}

/**
 * Resolves the image a function's `ImageUri` names, as Lambda does at CreateFunction (see the file
 * comment for each kind of URI).
 * @throws JsonError InvalidParameterValueException with Lambda's message for an image Lambda would
 *   refuse or that does not exist, AccessDeniedException (403) for an image of AWS's ECR, and
 *   ServiceException (500) when the local Docker engine cannot pull an image the registry holds
 */
export async function resolveLambdaImage(imageUri: string): Promise<LambdaImage> {
  const ref = parseImageUri(imageUri);
  if (!ref.host) return resolveLocalTag(imageUri);
  if (!ref.tag && !ref.digest) throw notValid(imageUri);
  if (AWS_ECR_HOST.test(ref.host)) throw accessDenied();
  if (!LOOPBACK_HOST.test(ref.host)) throw notValid(imageUri);
  return resolveRegistryImage(imageUri, { ...ref, host: ref.host });
}
