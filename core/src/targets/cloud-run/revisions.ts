import { ProviderError } from '../../errors.js';
import type { StepContext } from '../../ports/step-context.js';
import { imageFor, repositoryOf } from '../../util/image-ref.js';
import { notReady, readyOf, type RevisionBody, type RunService, type RunServiceBody } from './service.js';
import { explicit, REVISION, revisionName, sameTraffic, type TrafficEntry } from './traffic.js';

/*
 * Making the revision of a version: its name (`<service>-<version slug>`, so a later process and a
 * person both know which revision runs which version), its image (the version as the tag of the
 * target's repository, as the kubernetes target does), and the write that creates it with the
 * traffic a caller chooses (no share for it: deploy and deployCandidate move traffic afterwards).
 */

/** The part of the target's config revisions read. */
export interface RevisionConfig {
  service: string;
  container?: string | undefined;
  image?: string | undefined;
}

type Template = NonNullable<RunServiceBody['template']>;

/** The container rollgate sets the image of: the one named, else the first. */
export function containerOf(template: Template | undefined, config: RevisionConfig, label: string): { name?: string; image?: string } {
  const containers = template?.containers ?? [];
  const found = config.container === undefined ? containers[0] : containers.find((c) => c.name === config.container);
  if (!found) {
    throw new ProviderError(
      config.container === undefined
        ? `cloud-run target: the ${label} has no container in its template`
        : `cloud-run target: the ${label} has no container '${config.container}' (its containers: ${containers.map((c) => c.name ?? '(unnamed)').join(', ') || 'none'})`,
    );
  }
  return found;
}

/** The image `version` means for this service. */
export function imageOf(version: string, template: Template | undefined, config: RevisionConfig, label: string): string {
  if (config.image !== undefined) return imageFor(version, config.image);
  if (version.includes('/')) return version;
  return imageFor(version, repositoryOf(containerOf(template, config, label).image ?? ''));
}

/** The revision `version` runs as in this service, and its image; `undefined` when the service does not exist. */
export async function planRevision(service: RunService, config: RevisionConfig, version: string, ctx: StepContext): Promise<{ name: string; image: string } | undefined> {
  const live = await service.read(ctx);
  if (!live) return undefined;
  const image = imageOf(version, live.template, config, service.label);
  const wanted = structuredClone(live.template ?? {});
  containerOf(wanted, config, service.label).image = image;
  return { name: await nameFor(service, config.service, version, wanted, ctx), image };
}

/**
 * Makes sure revision `plan.name` (of `version`) exists and is Ready, writing `traffic(live)` as
 * the service's traffic in the same update (LATEST already pinned in what it is given). Returns
 * whether this call created the revision.
 */
export async function ensureRevision(
  service: RunService,
  config: RevisionConfig,
  version: string,
  plan: { name: string; image: string },
  traffic: (live: TrafficEntry[]) => TrafficEntry[],
  ctx: StepContext,
): Promise<boolean> {
  const { name, image } = plan;
  const existing = await service.revision(name, ctx);
  let created = false;
  try {
    const written = await service.write(
      (s) => {
        const pinned = explicit(s.traffic, s.latestReadyRevision);
        const next = traffic(pinned);
        if (existing) {
          // A revision is immutable, and the template may have moved on since: only the traffic changes.
          return sameTraffic(next, pinned) && (s.traffic ?? []).every((t) => t.type === REVISION) ? undefined : { ...s, traffic: next };
        }
        created = true;
        const template = structuredClone(s.template ?? {});
        const container = containerOf(template, config, service.label);
        container.image = image;
        return { ...s, template: { ...template, revision: name }, traffic: next };
      },
      `deploy ${version} as revision ${name}`,
      ctx,
    );
    if (!written) throw new ProviderError(`cloud-run target: the ${service.label} does not exist`);
  } catch (err) {
    // The operation's error is general; the revision's own condition says why it failed.
    const r = err instanceof ProviderError && !err.retryable ? await service.revision(name, ctx).catch(() => undefined) : undefined;
    if (r && readyOf(r).state === 'CONDITION_FAILED') throw notReady(service, name, readyOf(r));
    throw err;
  }
  await service.awaitReady(name, ctx);
  return created;
}

/**
 * The revision name of `version`. A revision is immutable: when one of that name exists with another
 * configuration (another image: 1.0.0 and 1-0-0; or the service's template changed since: env,
 * secrets, limits), the name gets a hash of the version and the template, so the revision made runs
 * the template as it is now, and a retried or resumed step finds the same name.
 */
async function nameFor(service: RunService, serviceId: string, version: string, wanted: Template, ctx: StepContext): Promise<string> {
  const name = revisionName(serviceId, version);
  const existing = await service.revision(name, ctx);
  if (existing === undefined || sameConfig(wanted, existing)) return name;
  const { createHash } = await import('node:crypto');
  const hash = createHash('sha256').update(`${version}\n${canonical(withoutName(wanted))}`).digest('hex').slice(0, 7);
  return `${name.slice(0, 55).replace(/-+$/, '')}-${hash}`;
}

/** Fields of a template that are not the revision's configuration (its name; labels and annotations Cloud Run adds to). */
const NOT_CONFIG = new Set(['revision', 'labels', 'annotations']);
const withoutName = (t: Template): Record<string, unknown> => Object.fromEntries(Object.entries(t).filter(([k]) => !NOT_CONFIG.has(k)));

/** Whether revision `r` runs `wanted` (a revision holds its template's fields at its top level). */
function sameConfig(wanted: Template, r: RevisionBody): boolean {
  const fields = r as Record<string, unknown>;
  return Object.entries(withoutName(wanted)).every(([k, v]) => canonical(v) === canonical(fields[k]));
}

/** JSON with sorted keys, undefined fields left out: two configurations compare whatever their order. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    const o = value as Record<string, unknown>;
    return `{${Object.keys(o)
      .filter((k) => o[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical(o[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}
