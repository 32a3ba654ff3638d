import { readFile } from 'node:fs/promises';
import { isAbsolute, resolve } from 'node:path';
import { parse } from 'yaml';
import type { Arm } from '../../azure/arm.js';
import { ProviderError } from '../../errors.js';
import type { StepContext } from '../../ports/step-context.js';
import { imageFor, repositoryOf } from '../../util/image-ref.js';
import { type AppRef, API_VERSION, awaitRevision, type Container, type ContainerApp, patchApp, readRevision, revisionAction, setTraffic, type Template } from './api.js';
import { describeTraffic, type Pinned, pin, sameTraffic, suffixOf } from './traffic.js';

/*
 * What the container-apps target changes on an app, each change kept in the journal before it is
 * made (so that any later process can undo it) and reported: a revision started for a version
 * (a new one from the app's template with the version's image and suffix, or an inactive one of
 * that image activated again), the traffic set, the app created from a manifest on a first deploy.
 */

/** What the target keeps in the journal. */
export interface Kept {
  /** rollgate created the app (a first deploy from the manifest): undoing that deletes it. */
  created?: boolean;
  /** The traffic as rollgate found it before its first change (the stable revisions' proportions). */
  found?: Pinned[];
  /** The traffic rollgate set last: other traffic means someone else changed it since. */
  set?: Pinned[];
  /** Revisions rollgate created or activated: the ones an undo may deactivate. */
  made?: string[];
  /** Revisions that served before a promotion: retired once traffic has left them. */
  retire?: string[];
}

export interface Parts {
  /** The ARM client and the app, for this step. */
  where(ctx: StepContext): Promise<{ arm: Arm; ref: AppRef }>;
  kept(): Kept;
  keep(more: Kept): Promise<void>;
  limits: { intervalMs: number; timeoutMs: number };
  config: { container?: string | undefined; image?: string | undefined; manifest?: string | undefined };
  workDir: string;
}

/** The traffic of the app now, every entry naming its revision. */
export const liveTraffic = (app: ContainerApp): Pinned[] => pin(app.properties?.configuration?.ingress?.traffic ?? undefined, app.properties?.latestReadyRevisionName);

/** The container rollgate sets the image of: the one named, else the first. */
export function containerOf(template: Template | undefined, name: string | undefined, what: string): Container {
  const containers = template?.containers ?? [];
  const found = name === undefined ? containers[0] : containers.find((c) => c.name === name);
  if (!found) {
    throw new ProviderError(`container-apps: ${what} has no container${name === undefined ? '' : ` '${name}' (its containers: ${containers.map((c) => c.name).join(', ') || 'none'})`}`);
  }
  return found;
}

/** The template of `version`: the image set in the container rollgate sets, its revision suffix. */
export function templateFor(parts: Parts, from: Template | undefined, app: string, version: string, what: string): { template: Template; image: string } {
  const template = structuredClone(from ?? {});
  const container = containerOf(template, parts.config.container, what);
  const image = imageFor(version, parts.config.image ?? repositoryOf(container.image ?? ''));
  container.image = image;
  return { template: { ...template, revisionSuffix: suffixOf(app, version) }, image };
}

export async function remember(parts: Parts, revision: string): Promise<void> {
  const made = parts.kept().made ?? [];
  if (!made.includes(revision)) await parts.keep({ made: [...made, revision] });
}

/**
 * Makes sure a revision of `version` runs beside the others, taking no traffic by itself, and
 * waits until it serves. Returns its name. Idempotent.
 */
export async function ensureRevision(parts: Parts, arm: Arm, ref: AppRef, app: ContainerApp, version: string, ctx: StepContext): Promise<string> {
  let { template, image } = templateFor(parts, app.properties?.template, ref.name, version, ref.what);
  let name = `${ref.name}--${template.revisionSuffix}`;
  let existing = await readRevision(arm, ref, name);
  if (existing && imageOfRevision(existing, parts) !== image) {
    // Another image holds this version's plain suffix (1.0.0 and 1-0-0): this one gets a hashed suffix.
    template = { ...template, revisionSuffix: suffixOf(ref.name, version, image) };
    name = `${ref.name}--${template.revisionSuffix}`;
    existing = await readRevision(arm, ref, name);
  }
  if (ctx.signal.aborted) throw ctx.signal.reason;
  if (existing && existing.properties?.active === false) {
    await remember(parts, name);
    await revisionAction(arm, ref, name, 'activate');
    ctx.recordChange({ object: ref.object, field: `revision ${name}`, before: 'inactive', after: 'active' });
  } else if (!existing) {
    await remember(parts, name);
    // Traffic pinned to the revisions it goes to now: a latestRevision entry would move to the new one.
    const ingress = app.properties?.configuration?.ingress;
    const body = { properties: { template, ...(ingress ? { configuration: { ingress: { ...ingress, traffic: liveTraffic(app) } } } : {}) } };
    ctx.recordChange({ object: ref.object, field: `revision ${name}`, before: null, after: image });
    await patchApp(arm, ref, body, `start revision ${name} (${image}) of ${ref.what}`, ctx, parts.limits.timeoutMs);
  }
  await awaitRevision(arm, ref, name, parts.limits, ctx);
  return name;
}

/** The image a revision runs in the container rollgate sets. */
export function imageOfRevision(revision: { properties?: { template?: Template } }, parts: Pick<Parts, 'config'>): string {
  return containerOf(revision.properties?.template, parts.config.container, `revision ${String((revision as { name?: string }).name)}`).image ?? '';
}

/**
 * Sets the app's traffic to `desired`, kept first (and the traffic found, at the first change);
 * nothing when it already is. Reported as one change.
 */
export async function moveTraffic(parts: Parts, arm: Arm, ref: AppRef, app: ContainerApp, desired: Pinned[], ctx: StepContext, found?: Pinned[]): Promise<void> {
  const live = liveTraffic(app);
  if (sameTraffic(live, desired)) return;
  if (ctx.signal.aborted) throw ctx.signal.reason;
  await parts.keep({ ...(parts.kept().found ? {} : { found: found ?? live }), set: desired });
  await setTraffic(arm, ref, app, desired, ctx);
  ctx.recordChange({ object: ref.object, field: 'traffic', before: describeTraffic(live), after: describeTraffic(desired) });
}

/** A first deploy: the app created from the manifest, running `version` with all traffic, in Multiple revision mode. */
export async function createApp(parts: Parts, arm: Arm, ref: AppRef, version: string, ctx: StepContext): Promise<string> {
  const manifest = parts.config.manifest;
  if (manifest === undefined) {
    throw new ProviderError(`container-apps: ${ref.what} does not exist; create it first (az containerapp create), or give the target a manifest to create it from on a first deploy`);
  }
  const body = await readManifest(manifest, parts.workDir);
  const { template, image } = templateFor(parts, body.properties?.template, ref.name, version, `the manifest ${manifest}`);
  const name = `${ref.name}--${template.revisionSuffix}`;
  const configuration = body.properties?.configuration ?? {};
  const ingress = configuration.ingress ? { ...configuration.ingress, traffic: [{ revisionName: name, weight: 100 }] } : undefined;
  const created = { ...body, properties: { ...body.properties, template, configuration: { ...configuration, activeRevisionsMode: 'Multiple', ...(ingress ? { ingress } : {}) } } };
  // Kept before the change: a rollback from any later process deletes what this creates.
  await parts.keep({ created: true, made: [name] });
  const response = await arm.call({ method: 'PUT', path: ref.path, apiVersion: API_VERSION, body: created, what: `create ${ref.what}` });
  ctx.recordChange({ object: ref.object, field: 'created', before: null, after: image });
  await arm.poll(response, { what: `create ${ref.what}`, path: ref.path, apiVersion: API_VERSION, timeoutMs: parts.limits.timeoutMs });
  await awaitRevision(arm, ref, name, parts.limits, ctx);
  return name;
}

async function readManifest(path: string, workDir: string): Promise<ContainerApp & { location?: string }> {
  const file = isAbsolute(path) ? path : resolve(workDir, path);
  let doc: unknown;
  try {
    doc = parse(await readFile(file, 'utf8'));
  } catch (err) {
    throw new ProviderError(`container-apps: cannot read the manifest ${file}: ${(err as Error).message}`);
  }
  const d = doc as (ContainerApp & { location?: string }) | null;
  if (!d || typeof d !== 'object' || !d.location || !d.properties?.template) {
    throw new ProviderError(`container-apps: the manifest ${file} is not a container app's ARM body (location, properties.environmentId, properties.template)`);
  }
  return d;
}
