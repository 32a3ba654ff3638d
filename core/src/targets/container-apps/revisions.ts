import { readFile } from 'node:fs/promises';
import { isAbsolute, resolve } from 'node:path';
import { parse } from 'yaml';
import type { Arm } from '../../azure/arm.js';
import { ProviderError } from '../../errors.js';
import type { StepContext } from '../../ports/step-context.js';
import { imageFor, repositoryOf } from '../../util/image-ref.js';
import { type AppRef, API_VERSION, awaitRevision, type Container, type ContainerApp, patchApp, readApp, readRevision, revisionAction, setTraffic, type Template } from './api.js';
import { describeEntries, describeTraffic, followsLatest, type Pinned, pin, sameTraffic, suffixOf, type TrafficEntry } from './traffic.js';

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
  /**
   * The app's traffic entries exactly as read before rollgate's first change (`latestRevision`
   * ones included), written back once the traffic goes where they mean (restoreForm).
   */
  original?: TrafficEntry[];
  /** The traffic rollgate set last, once Container Apps applied it: other traffic means someone else changed it since. */
  set?: Pinned[];
  /** The traffic rollgate was setting last, kept before the call (which may have failed, or applied unseen). */
  intended?: Pinned[];
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
    await revisionAction(arm, ref, name, 'activate', ctx);
    ctx.recordChange({ object: ref.object, field: `revision ${name}`, before: 'inactive', after: 'active' });
  } else if (!existing) {
    await remember(parts, name);
    // Traffic pinned to the revisions it goes to now: a latestRevision entry would move to the new one.
    const ingress = app.properties?.configuration?.ingress;
    const raw = ingress?.traffic ?? [];
    const pinned = liveTraffic(app);
    if (followsLatest(raw)) await parts.keep(firstSeen(parts, app, pinned));
    const body = { properties: { template, ...(ingress ? { configuration: { ingress: { ...ingress, traffic: pinned } } } : {}) } };
    ctx.recordChange({ object: ref.object, field: `revision ${name}`, before: null, after: image });
    if (followsLatest(raw)) ctx.recordChange({ object: ref.object, field: 'traffic', before: describeEntries(raw, app.properties?.latestReadyRevisionName), after: describeTraffic(pinned) });
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
  // Kept before the call as intended, and as set once it is applied: a call that failed leaves
  // the traffic as rollgate set it before, which a revert still recognises as its own.
  await parts.keep({ ...(found ? (parts.kept().found ? {} : { found }) : firstSeen(parts, app, live)), intended: desired });
  await setTraffic(arm, ref, app, desired, ctx);
  await parts.keep({ set: desired });
  ctx.recordChange({ object: ref.object, field: 'traffic', before: describeTraffic(live), after: describeTraffic(desired) });
}

/** The traffic found and its entries as read, at rollgate's first change (nothing once kept). */
function firstSeen(parts: Parts, app: ContainerApp, live: Pinned[]): Kept {
  if (parts.kept().found) return {};
  return { found: live, original: structuredClone(app.properties?.configuration?.ingress?.traffic ?? []) };
}

/** Whether the traffic is what rollgate set: applied, or sent by a call whose outcome it did not see. */
export function setByRollgate(live: readonly Pinned[], kept: Kept): boolean {
  return (kept.set !== undefined && sameTraffic(live, kept.set)) || (kept.intended !== undefined && sameTraffic(live, kept.intended));
}

/**
 * The traffic entries written back as rollgate found them (a `latestRevision` entry, which it pins
 * while it works) once the traffic goes where they mean, so that a later `az containerapp update`
 * moves traffic again. Nothing when they named revisions only, or the traffic is someone else's;
 * said when the latest revision is one rollgate left behind, where that entry would send traffic.
 */
export async function restoreForm(parts: Parts, arm: Arm, ref: AppRef, ctx: StepContext): Promise<void> {
  const kept = parts.kept();
  if (!followsLatest(kept.original) || !kept.original) return;
  const app = await readApp(arm, ref);
  const raw = app?.properties?.configuration?.ingress?.traffic ?? [];
  if (!app || followsLatest(raw)) return;
  const live = liveTraffic(app);
  if (!setByRollgate(live, kept) && !(kept.found && sameTraffic(live, kept.found))) return;
  const latest = app.properties?.latestReadyRevisionName;
  const meant = describeEntries(kept.original, latest);
  if (!sameTraffic(live, pin(kept.original, latest))) {
    if (kept.found && sameTraffic(live, kept.found)) {
      ctx.log.warn(
        `container-apps: ${ref.what} sent ${describeEntries(kept.original, undefined)} when rollgate found it; its traffic stays pinned to ${describeTraffic(live)}, because its latest revision is now ${latest ?? 'none'}, where that entry would send it; once a good revision is the latest, follow it again with az containerapp ingress traffic set --name ${ref.name} --resource-group ${ref.group} --revision-weight latest=100`,
      );
    }
    return;
  }
  if (ctx.signal.aborted) throw ctx.signal.reason;
  await setTraffic(arm, ref, app, kept.original, ctx, `send ${meant} of ${ref.what}`);
  ctx.recordChange({ object: ref.object, field: 'traffic', before: describeTraffic(live), after: meant });
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
