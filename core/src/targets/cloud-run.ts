import { z } from 'zod';
import { duration } from '../config/fields.js';
import { ProviderError } from '../errors.js';
import { gcpApi } from '../gcp/client.js';
import type { HealthReport } from '../model/results.js';
import type { ProviderDeps } from '../ports/provider-deps.js';
import type { StepContext } from '../ports/step-context.js';
import type { Target } from '../ports/target.js';
import { imageFor, versionOfImage } from '../util/image-ref.js';
import { cloudRunCandidates, type Kept, withoutTag } from './cloud-run/candidates.js';
import { ensureRevision, planRevision } from './cloud-run/revisions.js';
import { readyOf, RunService } from './cloud-run/service.js';
import { allTo, pinnedOf, setTraffic } from './cloud-run/share.js';
import { explicit, LATEST, REVISION, revisionName, shortName, type TrafficEntry } from './cloud-run/traffic.js';

/*
 * A Cloud Run service (Admin API v2). A version is a revision named `<service>-<version>`, made
 * with no traffic and moved to once Ready, so a version that never starts never takes a request.
 *
 * Why a router of its own (routers/cloud-run.ts) and not replica counts: Cloud Run splits traffic
 * between revisions natively, by percent, and scales instances itself. The target's candidates
 * capability starts the candidate revision tagged (no share) and, since its "replicas" are percent
 * (full scale 100), a canary without a router already gets exact shares through `scale`. But
 * blue-green needs a router, and a canary's router is where weight verification happens; so the
 * `cloud-run` router sets the candidate's share on the same service, defaulting service, region,
 * project and tag from the stage's cloud-run target (as gateway-api routers default from theirs),
 * and finds the candidate by its tag on the service itself: nothing is passed between the two
 * through the journal, and a resumed process finds the same candidate. After a promotion the tag is
 * gone, so the router's finalize leaves the promoted traffic alone.
 */

export const type = 'cloud-run';

export const capabilities = ['candidates'] as const;

export const configSchema = z
  .strictObject({
    type: z.literal(type),
    service: z
      .string()
      .regex(/^[a-z]([-a-z0-9]{0,47}[a-z0-9])?$/, 'expected a Cloud Run service name (lowercase letters, digits and -, at most 49)')
      .describe('Name of the Cloud Run service whose revisions rollgate deploys'),
    region: z.string().min(1).optional().describe("Its region (default: the environment's gcp.region)"),
    project: z.string().min(1).optional().describe("Its project (default: the environment's gcp.project, else the credentials' project)"),
    container: z.string().min(1).optional().describe('The container whose image is set (default: the first one of the template)'),
    image: z
      .string()
      .min(1)
      .optional()
      .describe(
        "The image repository; a version becomes its tag (`europe-docker.pkg.dev/acme/web/web` + `1.4.2`), or its digest when it starts with sha256:. Default: the container's current repository. A version holding / is a whole image reference",
      ),
    candidateTag: z
      .string()
      .regex(/^[a-z]([-a-z0-9]{0,44}[a-z0-9])?$/, 'expected a Cloud Run traffic tag (lowercase letters, digits and -)')
      .default('candidate')
      .describe('Traffic tag of the candidate revision in a canary or blue-green: it is reachable at https://TAG---SERVICE-….run.app before it takes traffic'),
    create: z
      .boolean()
      .default(false)
      .describe('Create the service (with the image only: default settings) on a first deploy when it does not exist; a rollback of that deploy deletes it'),
    interval: duration('How often the operation and the revision are read while rollgate waits').prefault('2s'),
    timeout: duration('How long a revision may take to become ready before rollgate gives up on it').prefault('10m'),
  })
  .superRefine((c, issues) => {
    // Cloud Run refuses a traffic tag whose URL prefix would be too long: the candidate would fail mid-rollout.
    if (c.service.length + c.candidateTag.length > 46) {
      issues.addIssue({
        code: 'custom',
        path: ['candidateTag'],
        message: `Cloud Run refuses a traffic tag and service name longer than 46 characters together: service '${c.service}' (${c.service.length}) and candidateTag '${c.candidateTag}' (${c.candidateTag.length}) make ${c.service.length + c.candidateTag.length}; shorten candidateTag`,
      });
    }
  })
  .describe('A Cloud Run service: deploy makes a revision with no traffic, waits until it is Ready, then moves the traffic to it; revert moves traffic back and keeps the revision');
export type CloudRunTargetConfig = z.output<typeof configSchema>;
type Config = CloudRunTargetConfig;

export function create(config: Config, deps: ProviderDeps): Target {
  const api = gcpApi(deps, 'cloud-run');
  const limits = { intervalMs: config.interval, timeoutMs: config.timeout };
  let resolved: RunService | undefined;
  const service = async (ctx: StepContext) => (resolved ??= new RunService(api, { project: await api.project(ctx, config.project), region: api.region(config.region), service: config.service }, limits));
  const kept = () => (deps.state.get() as Kept | undefined) ?? {};
  const keep = (more: Kept) => deps.state.put({ ...kept(), ...more } satisfies Kept);
  const wrote = (name: string) => [...new Set([...(kept().wrote ?? []), name])];

  /** A first deploy: the service made with `version` as its only revision, kept as created before it is. */
  async function createWith(version: string, tag: string | undefined, ctx: StepContext): Promise<void> {
    const s = await service(ctx);
    if (!config.create) {
      throw new ProviderError(`cloud-run target: the ${s.label} does not exist; create it first (gcloud run deploy ${config.service}), or set create: true to let rollgate create it with default settings`);
    }
    if (config.image === undefined && !version.includes('/')) throw new ProviderError(`cloud-run target: to create the ${s.label}, rollgate needs the image repository: set image on the target`);
    const name = revisionName(config.service, version);
    await keep({ created: tag ? 'candidate' : 'deploy', wrote: wrote(name), pinned: false });
    await s.create({ template: { revision: name, containers: [{ image: imageFor(version, config.image ?? '') }] }, traffic: [tag ? { type: REVISION, revision: name, percent: 100, tag } : { type: LATEST, percent: 100 }] }, ctx);
    ctx.recordChange({ object: s.label, field: 'created', before: null, after: name });
    await s.awaitReady(name, ctx);
  }

  const target: Target = {
    type,
    async current(ctx) {
      const s = await service(ctx);
      const live = await s.read(ctx);
      if (!live) return undefined;
      const all = explicit(live.traffic, live.latestReadyRevision);
      // The stable revisions; when the candidate took all the traffic (blue-green switched), it is what runs.
      const stable = withoutTag(all, config.candidateTag);
      const traffic = stable.length > 0 ? stable : all;
      const main = [...traffic].sort((a, b) => (b.percent ?? 0) - (a.percent ?? 0))[0];
      if (!main?.revision) return undefined;
      const image =
        main.revision === live.template?.revision
          ? (live.template.containers?.find((c) => config.container === undefined || c.name === config.container)?.image ?? '')
          : ((await s.revision(main.revision, ctx))?.containers?.find((c) => config.container === undefined || c.name === config.container)?.image ?? '');
      return { version: versionOfImage(image), details: { image, revision: main.revision, traffic: traffic.map((t) => ({ ...t })) } };
    },

    async deploy(version, ctx) {
      const s = await service(ctx);
      const plan = await planRevision(s, config, version, ctx);
      if (!plan) return createWith(version, undefined, ctx);
      const live = (await s.read(ctx)) ?? {};
      const now = explicit(live.traffic, live.latestReadyRevision);
      if (now.length === 1 && now[0]?.revision === plan.name && now[0].percent === 100 && !now[0].tag) {
        await s.awaitReady(plan.name, ctx);
        return;
      }
      await keep({ wrote: wrote(plan.name), pinned: kept().pinned ?? pinnedOf(live) });
      // The revision first, with the traffic where it is: a version that fails takes no request.
      const made = await ensureRevision(s, config, version, plan, (traffic) => traffic, ctx);
      if (made) ctx.recordChange({ object: s.label, field: 'revision', before: shortName(live.latestCreatedRevision) ?? null, after: plan.name });
      // LATEST when the revision is the latest one and the service followed LATEST before: a later `gcloud run deploy` gets the traffic.
      await setTraffic(s, (traffic, now) => [...traffic.filter((t) => t.tag && t.revision !== plan.name).map((t) => ({ ...t, percent: 0 })), allTo(plan.name, now, kept().pinned)], `send all traffic to revision ${plan.name}`, ctx);
    },

    async health(ctx): Promise<HealthReport> {
      const s = await service(ctx);
      const live = await s.read(ctx);
      if (!live) return { healthy: false, ready: 0, total: 0, message: `the ${s.label} does not exist` };
      const serving = explicit(live.traffic, live.latestReadyRevision).filter((t) => (t.percent ?? 0) > 0);
      const states = await Promise.all(serving.map(async (t) => ({ name: t.revision as string, r: await s.revision(t.revision as string, ctx) })));
      const sick = states.filter((x) => !x.r || readyOf(x.r).state !== 'CONDITION_SUCCEEDED');
      const failed = live.terminalCondition?.state === 'CONDITION_FAILED' ? live.terminalCondition.message : undefined;
      const healthy = sick.length === 0 && serving.length > 0;
      const message = sick.map((x) => `revision ${x.name}: ${x.r ? (readyOf(x.r).message ?? readyOf(x.r).state) : 'does not exist'}`).join('; ') || (serving.length === 0 ? 'no revision takes traffic' : '');
      return { healthy, ready: serving.length - sick.length, total: serving.length, ...(healthy ? (failed ? { message: `the last update failed: ${failed}` } : {}) : { message: `${s.label}: ${message}` }) };
    },

    async revert(previous, ctx) {
      const s = await service(ctx);
      if (previous === undefined) {
        // Nothing ran before: remove the service only when rollgate created it.
        if (!kept().created) return;
        if (await s.remove(ctx)) ctx.recordChange({ object: s.label, field: 'created', before: 'present', after: null });
        return;
      }
      const back = (previous.details?.traffic as TrafficEntry[] | undefined) ?? undefined;
      if (!back || back.length === 0) {
        throw new ProviderError(`cloud-run target: cannot tell which revisions served ${previous.version} on the ${s.label} (the journal has no traffic for it); move the traffic back by hand (gcloud run services update-traffic ${config.service})`);
      }
      const ours = new Set([...(kept().wrote ?? []), ...back.map((t) => t.revision)]);
      const done = await setTraffic(
        s,
        (live) => {
          // Only what rollgate set is undone: a revision someone else deployed since keeps its traffic, and a person decides.
          const theirs = live.filter((t) => (t.percent ?? 0) > 0 && !ours.has(t.revision));
          if (theirs.length > 0) {
            throw new ProviderError(
              `cloud-run target: the ${s.label} sends traffic to ${theirs.map((t) => t.revision).join(', ')}, which rollgate did not deploy (it deployed ${(kept().wrote ?? []).join(', ') || 'nothing'}): someone else deployed since, so rollgate does not move the traffic back to ${back.map((t) => t.revision).join(', ')} over it; check it, and revert by hand (gcloud run services update-traffic ${config.service}) if it should go`,
            );
          }
          return back;
        },
        `move the traffic back to ${previous.version}`,
        ctx,
      );
      if (!done) throw new ProviderError(`cloud-run target: the ${s.label} does not exist, so ${previous.version} cannot be put back`);
    },
  };
  return Object.assign(target, { candidates: cloudRunCandidates({ config, service, kept, keep, createWith }) });
}
