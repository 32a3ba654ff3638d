import { readFile } from 'node:fs/promises';
import { isAbsolute, resolve } from 'node:path';
import { parse } from 'yaml';
import { ProviderError } from '../../errors.js';
import { DEPLOYMENTS, KubeClient, type KubeObject } from '../../kubernetes/client.js';
import { rolloutStatus } from '../../kubernetes/rollout-status.js';
import type { HealthReport } from '../../model/results.js';
import type { StepContext } from '../../ports/step-context.js';
import { formatLimit } from '../../util/command-runner.js';

/*
 * What the kubernetes target does to one Deployment: read its image, write a new pod template at
 * the resourceVersion it was read at (a 409 Conflict is read again and retried, never overwritten
 * blindly), and wait for the rollout as `kubectl rollout status` does.
 */

/** Attempts at a write that meets 409 Conflict before giving up (each re-reads the object). */
const CONFLICT_ATTEMPTS = 5;

/** What the kubernetes target keeps in the journal, before each change it may have to undo. */
export interface Kept {
  /** rollgate created the Deployment (a first deploy from the manifest): undoing it deletes it. */
  created?: boolean;
  /** The image each version ran as before rollgate changed it: what a revert to that version puts back. */
  images?: Record<string, string>;
  /** Every image rollgate set: a revert undoes only those, never an image someone else deployed since. */
  wrote?: string[];
  /** The stable Deployment's replicas before a candidate split changed them. */
  stableReplicas?: number;
  /** The replicas rollgate last set on the stable Deployment: another count means someone else scaled it. */
  stableSet?: number;
}

export interface PodTemplate {
  metadata?: { labels?: Record<string, string>; annotations?: Record<string, string>; [k: string]: unknown };
  spec?: { containers?: Container[]; [k: string]: unknown };
  [k: string]: unknown;
}
export interface Container {
  name?: string;
  image?: string;
  [k: string]: unknown;
}

export const templateOf = (d: KubeObject): PodTemplate => ((d.spec ?? {}) as { template?: PodTemplate }).template ?? {};
export const replicasOf = (d: KubeObject): number => ((d.spec ?? {}) as { replicas?: number }).replicas ?? 1;

/** The container rollgate sets the image of: the one named, else the first. */
export function containerOf(template: PodTemplate, name: string | undefined, where: string): Container {
  const containers = template.spec?.containers ?? [];
  const found = name === undefined ? containers[0] : containers.find((c) => c.name === name);
  if (!found) {
    throw new ProviderError(
      name === undefined
        ? `kubernetes target: ${where} has no container`
        : `kubernetes target: ${where} has no container '${name}' (its containers: ${containers.map((c) => c.name).join(', ') || 'none'})`,
    );
  }
  return found;
}

/** The Deployment manifest of a first deploy, read from the workflow's folder. */
export async function readManifest(path: string, workDir: string, name: string, namespace: string): Promise<KubeObject> {
  const file = isAbsolute(path) ? path : resolve(workDir, path);
  let doc: unknown;
  try {
    doc = parse(await readFile(file, 'utf8'));
  } catch (err) {
    throw new ProviderError(`kubernetes target: cannot read the manifest ${file}: ${(err as Error).message}`);
  }
  const d = doc as KubeObject | null;
  if (!d || typeof d !== 'object' || d.kind !== 'Deployment') throw new ProviderError(`kubernetes target: the manifest ${file} is not one Deployment (kind: Deployment)`);
  return { ...d, metadata: { ...(d.metadata ?? {}), name, namespace } };
}

/**
 * Reads the Deployment, changes it with `edit` (which returns `undefined` when nothing needs to
 * change) and writes it at the resourceVersion read; on 409 Conflict reads again and retries.
 * Returns the Deployment before and after (the same when nothing changed).
 */
export async function updateDeployment(
  api: KubeClient,
  namespace: string,
  name: string,
  edit: (d: KubeObject) => KubeObject | undefined,
  ctx: StepContext,
): Promise<{ before: KubeObject; after: KubeObject } | undefined> {
  for (let attempt = 1; ; attempt++) {
    const before = await api.get(DEPLOYMENTS, namespace, name, ctx.signal);
    if (!before) return undefined;
    const changed = edit(structuredClone(before));
    if (!changed) return { before, after: before };
    try {
      return { before, after: await api.replace(DEPLOYMENTS, changed, ctx.signal) };
    } catch (err) {
      if (!KubeClient.isConflict(err) || attempt >= CONFLICT_ATTEMPTS) throw err;
      ctx.log.info(`kubernetes: Deployment ${namespace}/${name} changed while rollgate wrote it (409 Conflict): reading it again (attempt ${attempt + 1} of ${CONFLICT_ATTEMPTS})`);
    }
  }
}

/**
 * Waits until the Deployment's rollout is done, reading its status every `intervalMs` (the step's
 * clock and signal), for at most `timeoutMs`. Throws when its progress deadline passes, when the
 * wait runs out, and when the Deployment disappears.
 */
export async function awaitRollout(api: KubeClient, namespace: string, name: string, limits: { intervalMs: number; timeoutMs: number }, ctx: StepContext): Promise<void> {
  const until = ctx.clock.now() + limits.timeoutMs;
  let said = '';
  for (;;) {
    const d = await api.get(DEPLOYMENTS, namespace, name, ctx.signal);
    if (!d) throw new ProviderError(`kubernetes target: Deployment ${namespace}/${name} was deleted while rollgate waited for its rollout`);
    if ((d.spec as { paused?: boolean } | undefined)?.paused) {
      throw new ProviderError(
        `kubernetes target: Deployment ${namespace}/${name} is paused (spec.paused), so its rollout will not progress; resume it (kubectl -n ${namespace} rollout resume deployment/${name}) and run again`,
      );
    }
    const status = rolloutStatus(d);
    if (status.state === 'done') return;
    if (status.state === 'failed') {
      throw new ProviderError(`kubernetes target: ${status.message}: its new pods did not become available (see \`kubectl -n ${namespace} describe deployment ${name}\` and its pods' events)`);
    }
    if (status.message !== said) ctx.log.info(`kubernetes: ${status.message}`);
    said = status.message;
    if (ctx.clock.now() >= until) {
      throw new ProviderError(`kubernetes target: the rollout of Deployment ${namespace}/${name} did not finish within ${formatLimit(limits.timeoutMs)} (${status.message}); rolloutTimeout waits longer`);
    }
    await ctx.clock.sleep(limits.intervalMs, ctx.signal);
  }
}

/** A Deployment's health from its status: its available replicas against those it wants, rollout done. */
export function healthOf(d: KubeObject | undefined, what: string): HealthReport {
  if (!d) return { healthy: false, ready: 0, total: 0, message: `${what} does not exist` };
  const wanted = replicasOf(d);
  const status = (d.status ?? {}) as { availableReplicas?: number; updatedReplicas?: number; replicas?: number };
  const rollout = rolloutStatus(d);
  // During a rollout the available count includes the old pods still serving: not this version's.
  const old = Math.max(0, (status.replicas ?? 0) - (status.updatedReplicas ?? 0));
  const ready = Math.max(0, Math.min(wanted, (status.availableReplicas ?? 0) - old));
  const healthy = rollout.state === 'done' && ready >= wanted;
  return { healthy, ready, total: wanted, ...(healthy ? {} : { message: `${what}: ${rollout.message}` }) };
}
