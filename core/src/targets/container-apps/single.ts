import type { Arm } from '../../azure/arm.js';
import { ProviderError } from '../../errors.js';
import type { DeployedState } from '../../model/results.js';
import type { StepContext } from '../../ports/step-context.js';
import { type AppRef, awaitRevision, type ContainerApp, patchApp, readApp, readRevision } from './api.js';
import { deactivateIfIdle } from './candidates.js';
import { containerOf, imageOfRevision, type Parts, remember, templateFor } from './revisions.js';
import { suffixOf } from './traffic.js';

/*
 * Direct deploys to an app in Single revision mode, where Container Apps itself sends all traffic
 * to the latest revision once it is ready and deactivates the one before (and keeps the old one
 * serving when the new one fails). Revisions are immutable and an old one cannot take traffic
 * back in this mode, so a revert is a new revision with the previous image. Canary and
 * blue-green need Multiple revision mode.
 */

const SUFFIX_ATTEMPTS = 20;

/** The revision serving now: the latest ready one. */
async function serving(arm: Arm, ref: AppRef, app: ContainerApp, parts: Parts) {
  const name = app.properties?.latestReadyRevisionName;
  const revision = name ? await readRevision(arm, ref, name) : undefined;
  return name && revision ? { name, image: imageOfRevision({ ...revision, name } as never, parts) } : undefined;
}

/** A suffix no revision of the app has yet: the version's, else the version's with -2, -3… */
async function freshSuffix(arm: Arm, ref: AppRef, version: string): Promise<string> {
  const base = suffixOf(ref.name, version);
  for (let n = 1; n <= SUFFIX_ATTEMPTS; n++) {
    const suffix = n === 1 ? base : suffixOf(ref.name, version, undefined, n);
    if (!(await readRevision(arm, ref, `${ref.name}--${suffix}`))) return suffix;
  }
  throw new ProviderError(`container-apps: ${ref.what} already has ${SUFFIX_ATTEMPTS} revisions of ${version}; deactivate or remove old ones`);
}

/** A new revision running `image`, which Container Apps serves once it is ready; reported. */
async function roll(parts: Parts, arm: Arm, ref: AppRef, app: ContainerApp, version: string, image: string | undefined, was: string, ctx: StepContext): Promise<void> {
  const made = templateFor(parts, app.properties?.template, ref.name, version, ref.what);
  if (image !== undefined) containerOf(made.template, parts.config.container, ref.what).image = image;
  const after = image ?? made.image;
  const suffix = await freshSuffix(arm, ref, version);
  const name = `${ref.name}--${suffix}`;
  if (ctx.signal.aborted) throw ctx.signal.reason;
  await remember(parts, name);
  ctx.recordChange({ object: ref.object, field: `revision ${name}`, before: null, after });
  await patchApp(arm, ref, { properties: { template: { ...made.template, revisionSuffix: suffix } } }, `start revision ${name} (${after}) of ${ref.what}`, ctx, parts.limits.timeoutMs);
  await awaitRevision(arm, ref, name, parts.limits, ctx);
  ctx.recordChange({ object: ref.object, field: 'traffic', before: `${was} 100%`, after: `${name} 100%` });
}

/** Deploys `version` to an app in Single revision mode. Idempotent: nothing when its image already serves. */
export async function deploySingle(parts: Parts, arm: Arm, ref: AppRef, app: ContainerApp, version: string, ctx: StepContext): Promise<void> {
  const { image } = templateFor(parts, app.properties?.template, ref.name, version, ref.what);
  const now = await serving(arm, ref, app, parts);
  if (now?.image === image) return;
  await roll(parts, arm, ref, app, version, undefined, now?.name ?? 'nothing', ctx);
}

/**
 * Puts `previous` back on an app in Single revision mode: a new revision of its image, unless it
 * serves already. Refuses when the serving revision is not one rollgate made (someone deployed since).
 */
export async function revertSingle(parts: Parts, arm: Arm, ref: AppRef, previous: DeployedState, ctx: StepContext): Promise<void> {
  const app = await readApp(arm, ref);
  if (!app) throw new ProviderError(`container-apps: ${ref.what} does not exist any more, so ${previous.version} cannot be put back; someone deleted it`);
  const back = (previous.details as { image?: string } | undefined)?.image;
  const now = await serving(arm, ref, app, parts);
  const made = parts.kept().made ?? [];
  if (now && back !== undefined && now.image !== back) {
    if (!made.includes(now.name)) {
      throw new ProviderError(
        `container-apps: ${ref.what} serves revision ${now.name} (${now.image}), which rollgate did not make: someone else deployed it since, so rollgate does not put ${back} back over it; check it, and revert by hand if it should go`,
      );
    }
    await roll(parts, arm, ref, app, previous.version, back, now.name, ctx);
  }
  // A revision that failed, or one Container Apps left active: nothing may be left running of what rollgate made.
  const serves = (await readApp(arm, ref))?.properties?.latestReadyRevisionName;
  for (const name of made) if (name !== serves) await deactivateIfIdle(arm, ref, name, ctx);
}
