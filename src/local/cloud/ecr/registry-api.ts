/**
 * The registry's HTTP API (distribution's `/v2/`), as the local ECR and Lambda's image check read
 * it: tags, manifests with their media type and digest, blobs, manifest deletes.
 */

/** Docker's single-platform image manifest. */
export const DOCKER_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json';
/** Docker's multi-platform manifest list. */
export const DOCKER_MANIFEST_LIST = 'application/vnd.docker.distribution.manifest.list.v2+json';
/** OCI's single-platform image manifest. */
export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
/** OCI's image index (buildx pushes one for an image with provenance or SBOM attestations). */
export const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';

/** What every manifest request accepts: without it, the registry converts to (or refuses as) schema 1. */
export const MANIFEST_ACCEPT = [DOCKER_MANIFEST, OCI_MANIFEST, OCI_INDEX, DOCKER_MANIFEST_LIST].join(', ');

/** A manifest as the registry holds it. */
export interface RegistryManifest {
  /** `sha256:…` (Docker-Content-Digest). */
  readonly digest: string;
  readonly mediaType: string;
  /** The manifest's bytes, as stored (their hash is the digest). */
  readonly body: string;
}

/** One descriptor of a manifest (config, layer) or of an index (manifest). */
export interface Descriptor {
  readonly mediaType?: string;
  readonly digest?: string;
  readonly size?: number;
  readonly annotations?: Record<string, string>;
  readonly platform?: { architecture?: string; os?: string };
}

/** The parts of a manifest or index document the local cloud reads. */
export interface ManifestDocument {
  readonly mediaType?: string;
  readonly config?: Descriptor;
  readonly layers?: readonly Descriptor[];
  readonly manifests?: readonly Descriptor[];
}

/** A registry answer other than the one expected, with its status and the registry's error body. */
export class RegistryError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** Client for one registry at `url` (`http://127.0.0.1:<port>`). */
export class RegistryApi {
  constructor(readonly url: string) {}

  /** The repository's tags; [] for a repository nothing was pushed to. */
  async tags(repository: string): Promise<string[]> {
    const res = await fetch(`${this.url}/v2/${repository}/tags/list`);
    if (res.status === 404) return [];
    if (!res.ok) throw await this.failure(res, `tags of ${repository}`);
    const body = (await res.json()) as { tags?: string[] | null };
    return body.tags ?? [];
  }

  /** The manifest `reference` (tag or digest) names, or undefined when there is none. */
  async manifest(repository: string, reference: string): Promise<RegistryManifest | undefined> {
    const res = await fetch(`${this.url}/v2/${repository}/manifests/${reference}`, {
      headers: { accept: MANIFEST_ACCEPT },
    });
    if (res.status === 404) return undefined;
    if (!res.ok) throw await this.failure(res, `manifest ${repository}:${reference}`);
    const body = await res.text();
    const digest = res.headers.get('docker-content-digest') ?? '';
    const mediaType = (res.headers.get('content-type') ?? '').split(';')[0].trim();
    return { digest, mediaType, body };
  }

  /** A blob's bytes (an image config), or undefined when absent. */
  async blob(repository: string, digest: string): Promise<Buffer | undefined> {
    const res = await fetch(`${this.url}/v2/${repository}/blobs/${digest}`);
    if (res.status === 404) return undefined;
    if (!res.ok) throw await this.failure(res, `blob ${repository}@${digest}`);
    return Buffer.from(await res.arrayBuffer());
  }

  /** Deletes the manifest `digest` (every tag on it goes with it); false when it was not there. */
  async deleteManifest(repository: string, digest: string): Promise<boolean> {
    const res = await fetch(`${this.url}/v2/${repository}/manifests/${digest}`, { method: 'DELETE' });
    if (res.status === 404) return false;
    if (!res.ok) throw await this.failure(res, `delete ${repository}@${digest}`);
    return true;
  }

  /** Stores `body` as a manifest of `mediaType` under `reference`; resolves with its digest. */
  async putManifest(repository: string, reference: string, mediaType: string, body: string): Promise<string> {
    const res = await fetch(`${this.url}/v2/${repository}/manifests/${reference}`, {
      method: 'PUT',
      headers: { 'content-type': mediaType },
      body,
    });
    if (!res.ok) throw await this.failure(res, `put manifest ${repository}:${reference}`);
    return res.headers.get('docker-content-digest') ?? '';
  }

  private async failure(res: Response, what: string): Promise<RegistryError> {
    const text = (await res.text()).slice(0, 500);
    return new RegistryError(res.status, `registry ${this.url}: ${what}: HTTP ${res.status} ${text}`.trim());
  }
}

/** A manifest's JSON document; {} when the bytes are not a JSON object. */
export function parseManifest(body: string): ManifestDocument {
  try {
    const parsed: unknown = JSON.parse(body);
    return typeof parsed === 'object' && parsed !== null ? parsed : {};
  } catch {
    return {};
  }
}

/** True for the two index media types (several manifests under one tag). */
export function isIndex(mediaType: string): boolean {
  return mediaType === OCI_INDEX || mediaType === DOCKER_MANIFEST_LIST;
}
