import { readFile } from 'node:fs/promises';
import { isAbsolute, resolve } from 'node:path';
import { parse } from 'yaml';
import { ProviderError } from '../../errors.js';
import type { StepContext } from '../../ports/step-context.js';
import { DockerClient } from '../../swarm/client.js';
import { imageOfTemplate, type Service, type ServiceSpec, type UpdateConfig } from '../../swarm/types.js';
import { imageFor, repositoryOf, versionOfImage } from '../../util/image-ref.js';

/*
 * What the swarm target does to one service's spec: read it, change it, and write it at the
 * `Version.Index` it was read at. Swarm refuses a write at a stale index ("update out of
 * sequence"): the service is then read again and the change made again, never written blindly
 * over what someone else changed meanwhile.
 */

/** Attempts at a write that meets a stale `Version.Index` before giving up (each reads again). */
const CONFLICT_ATTEMPTS = 5;

/**
 * What the swarm target keeps in the journal, before each change it may have to undo: images and
 * settings, never the task template (its environment may hold secrets the journal must not carry).
 */
export interface Kept {
  /** rollgate created the service (a first deploy from `spec`): undoing it removes it. */
  created?: boolean;
  /** The image each version ran as before rollgate changed it: what a revert to that version puts back. */
  images?: Record<string, string>;
  /** Every image rollgate set: a revert undoes only those, never an image someone else deployed since. */
  wrote?: string[];
  /** The service's UpdateConfig before rollgate first set fields of it (`null`: it had none). */
  updateConfig?: UpdateConfig | null;
  /** The stable service's replicas before a candidate split changed them. */
  stableReplicas?: number;
  /** The replicas rollgate last set on the stable service: another count means someone else scaled it. */
  stableSet?: number;
}

/**
 * What to keep before `running` (the spec as read) becomes `next`: the image it ran, under its
 * version; the image rollgate is about to set; its UpdateConfig before rollgate first changes it.
 * `undefined` when all of that is kept already.
 */
export function toKeep(kept: Kept, running: ServiceSpec, next: ServiceSpec): Kept | undefined {
  const was = imageOfTemplate(running.TaskTemplate);
  const image = imageOfTemplate(next.TaskTemplate);
  const more: Kept = {};
  if (image !== was && kept.images?.[versionOf(was)] === undefined) more.images = { ...kept.images, [versionOf(was)]: was };
  if (image !== was && !kept.wrote?.includes(image)) more.wrote = [...(kept.wrote ?? []), image];
  if (!sameJson(next.UpdateConfig, running.UpdateConfig) && kept.updateConfig === undefined) more.updateConfig = running.UpdateConfig ?? null;
  return Object.keys(more).length > 0 ? more : undefined;
}

/**
 * `spec` with `image` back, and the UpdateConfig kept (when rollgate changed it). Throws when the
 * service runs an image rollgate did not set: someone else deployed it since, and a person decides.
 */
export function reverted(spec: ServiceSpec, image: string, kept: Kept, name: string): ServiceSpec {
  const live = imageOfTemplate(spec.TaskTemplate);
  if (live !== image && !kept.wrote?.includes(live)) {
    throw new ProviderError(
      `swarm target: service ${name} runs ${live}, which rollgate did not set (it set ${(kept.wrote ?? []).join(', ') || 'nothing'}): someone else deployed it since, so rollgate does not put ${image} back over it; check it, and revert by hand if it should go`,
    );
  }
  const next = structuredClone(spec);
  next.TaskTemplate = { ...next.TaskTemplate, ContainerSpec: { ...next.TaskTemplate?.ContainerSpec, Image: image } };
  if (kept.updateConfig === null) delete next.UpdateConfig;
  else if (kept.updateConfig !== undefined) next.UpdateConfig = kept.updateConfig;
  return next;
}

/**
 * The version an image runs, as the kubernetes target reads it (its tag, its digest, `latest`),
 * except that an image the Docker CLI pinned (`web:1.4.2@sha256:…`) runs its tag: that is what
 * the user deployed.
 */
export function versionOf(image: string): string {
  const at = image.indexOf('@');
  const named = at >= 0 ? image.slice(0, at) : image;
  const tagged = named.lastIndexOf(':') > named.lastIndexOf('/');
  return versionOfImage(at >= 0 && tagged ? named : image);
}

/** The image `version` means for a service whose image is `current` (or in `repository`). */
export function imageOf(version: string, current: string, repository: string | undefined): string {
  return imageFor(version, repository ?? repositoryOf(current));
}

/** JSON with its keys in order: two specs the daemon wrote in different orders compare equal. */
export function sameJson(a: unknown, b: unknown): boolean {
  return canonical(a) === canonical(b);
}

function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0))) : v,
  );
}

/**
 * Reads the service, changes its spec with `edit` (which returns `undefined` when nothing needs to
 * change) and writes it at the index read; when the service changed meanwhile, reads it again and
 * retries. The service before and the spec written (the one read when nothing changed);
 * `undefined` when the service does not exist.
 */
export async function writeService(
  api: DockerClient,
  name: string,
  edit: (spec: ServiceSpec) => ServiceSpec | undefined,
  ctx: StepContext,
): Promise<{ before: Service; after: ServiceSpec; changed: boolean } | undefined> {
  for (let attempt = 1; ; attempt++) {
    const before = await api.service(name, ctx.signal);
    if (!before) return undefined;
    const next = edit(structuredClone(before.Spec));
    if (!next || sameJson(next, before.Spec)) return { before, after: before.Spec, changed: false };
    try {
      await api.updateService(before, next, ctx.signal);
      return { before, after: next, changed: true };
    } catch (err) {
      if (!DockerClient.isConflict(err) || attempt >= CONFLICT_ATTEMPTS) throw err;
      ctx.log.info(`swarm: service ${name} changed while rollgate wrote it (update out of sequence): reading it again (attempt ${attempt + 1} of ${CONFLICT_ATTEMPTS})`);
    }
  }
}

/** The service spec of a first deploy, read from the workflow's folder (YAML or JSON, the Engine API's ServiceSpec). */
export async function readSpecFile(path: string, workDir: string, name: string): Promise<ServiceSpec> {
  const file = isAbsolute(path) ? path : resolve(workDir, path);
  let doc: unknown;
  try {
    doc = parse(await readFile(file, 'utf8'));
  } catch (err) {
    throw new ProviderError(`swarm target: cannot read the service spec ${file}: ${(err as Error).message}`);
  }
  const spec = doc as ServiceSpec | null;
  if (!spec || typeof spec !== 'object' || Array.isArray(spec) || typeof spec.TaskTemplate?.ContainerSpec !== 'object') {
    throw new ProviderError(`swarm target: the service spec ${file} has no TaskTemplate.ContainerSpec: write it as the Docker Engine API's ServiceSpec (as \`docker service inspect --format '{{json .Spec}}'\` prints it)`);
  }
  return { ...spec, Name: name };
}
