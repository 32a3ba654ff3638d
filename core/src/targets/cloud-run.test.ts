import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ProviderError } from '../errors.js';
import * as router from '../routers/cloud-run.js';
import { fakeDeps, fakeStepContext } from '../testing/fakes.js';
import { type GcpFixture, gcpFixture, PROJECT, REGION, servingView } from '../testing/gcp/fixture.js';
import { MemoryProviderStates } from '../testing/state.js';
import * as cloudRun from './cloud-run.js';
import { REVISION } from './cloud-run/traffic.js';

/* Every message a user can meet from the cloud-run target and router, against the Google double. */
let gcp: GcpFixture;
beforeEach(async () => {
  gcp = await gcpFixture();
  gcp.server.run.seed(PROJECT, REGION, 'web', 'europe-docker.pkg.dev/acme/web/web:1.0.0');
});
afterEach(() => gcp.cleanup());

const ctx = () => fakeStepContext({ clock: gcp.clock, env: gcp.env });
const target = (config: Record<string, unknown> = {}, states = new MemoryProviderStates()) =>
  cloudRun.create(cloudRun.configSchema.parse({ type: 'cloud-run', service: 'web', interval: '1s', ...config }), gcp.deps(states));
const failure = async (p: Promise<unknown>) => {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e as ProviderError,
  );
  if (!err) throw new Error('expected a failure');
  return err;
};
const label = `Cloud Run service ${PROJECT}/${REGION}`;

describe('cloud-run target messages', () => {
  it('a service that does not exist: create it first, or set create', async () => {
    const t = target({ service: 'api' });
    expect(await t.current(ctx())).toBeUndefined();
    expect((await failure(t.deploy('2.0.0', ctx()))).message).toBe(
      `cloud-run target: the ${label}/api does not exist; create it first (gcloud run deploy api), or set create: true to let rollgate create it with default settings`,
    );
    expect((await failure(target({ service: 'api', create: true }).deploy('2.0.0', ctx()))).message).toBe(
      `cloud-run target: to create the ${label}/api, rollgate needs the image repository: set image on the target`,
    );
    expect(await t.health(ctx())).toEqual({ healthy: false, ready: 0, total: 0, message: `the ${label}/api does not exist` });
  });

  it('no project or region anywhere says where to set them', async () => {
    const deps = fakeDeps({ clock: gcp.clock }, { settings: { gcp: { endpoint: gcp.server.url } } });
    const t = cloudRun.create(cloudRun.configSchema.parse({ type: 'cloud-run', service: 'web' }), deps);
    const noProject = fakeStepContext({ clock: gcp.clock, env: { CLOUDSDK_AUTH_ACCESS_TOKEN: 'x' } });
    expect((await failure(t.current(noProject))).message).toBe(
      "cloud-run: no Google Cloud project: set `project` in the workflow's gcp block (or the provider's own), or GOOGLE_CLOUD_PROJECT in the environment",
    );
    expect((await failure(t.current(ctx()))).message).toBe("cloud-run: no region: set `region` in the workflow's gcp block, or on the cloud-run provider");
  });

  it('a container that is not in the template is named, with the ones that are', async () => {
    expect((await failure(target({ container: 'sidecar' }).deploy('2.0.0', ctx()))).message).toBe(`cloud-run target: the ${label}/web has no container 'sidecar' (its containers: app)`);
  });

  it('a revision that is still not Ready when the timeout passes', async () => {
    const err = await failure(target({ timeout: '30s' }).deploy('slow', ctx()));
    // The update's operation waits for the revision: it is what runs out first.
    expect(err.message).toMatch(/^cloud-run target: deploy slow as revision web-slow: the operation \w+ did not finish within 30s; timeout waits longer$/);
    expect(servingView(gcp.server)).toEqual([{ type: REVISION, revision: 'web-00001-abc', percent: 100 }]);
  });

  it('an operation that fails says what Cloud Run said, and the traffic stays', async () => {
    gcp.server.failOperation('Quota exceeded for total allowable CPU per project per region.');
    expect((await failure(target().deploy('2.0.0', ctx()))).message).toBe(
      'cloud-run target: deploy 2.0.0 as revision web-2-0-0 failed: Quota exceeded for total allowable CPU per project per region.',
    );
    expect(servingView(gcp.server)).toEqual([{ type: REVISION, revision: 'web-00001-abc', percent: 100 }]);
  });

  it('permission denied names the call and the fix', async () => {
    gcp.server.fail(/\/services\/web$/, 403, { method: 'PATCH' });
    expect((await failure(target().deploy('2.0.0', ctx()))).message).toBe(
      `cloud-run: cannot deploy 2.0.0 as revision web-2-0-0 (update the ${label}/web): permission denied (HTTP 403 PERMISSION_DENIED): Injected PERMISSION_DENIED.; grant the permission to the identity rollgate runs as`,
    );
  });

  it('revert refuses to move traffic off a revision someone else deployed since', async () => {
    const states = new MemoryProviderStates();
    const t = target({}, states);
    const previous = JSON.parse(JSON.stringify(await t.current(ctx())));
    await t.deploy('2.0.0', ctx());
    // Someone deploys 3.0.0 by hand (gcloud run deploy): a new revision with all the traffic.
    const s = gcp.server.run.get(PROJECT, REGION, 'web');
    gcp.server.run.update(s, { template: { revision: 'web-hotfix', containers: [{ name: 'app', image: 'europe-docker.pkg.dev/acme/web/web:3.0.0' }] }, traffic: [{ type: REVISION, revision: 'web-hotfix', percent: 100 }] });
    gcp.clock.advance(10_000);
    expect((await failure(target({}, states).revert(previous, ctx()))).message).toBe(
      `cloud-run target: the ${label}/web sends traffic to web-hotfix, which rollgate did not deploy (it deployed web-2-0-0): someone else deployed since, so rollgate does not move the traffic back to web-00001-abc over it; check it, and revert by hand (gcloud run services update-traffic web) if it should go`,
    );
    expect(servingView(gcp.server)).toEqual([{ type: REVISION, revision: 'web-hotfix', percent: 100 }]);
  });

  it('the health of a candidate that failed says why; a revert without traffic in the journal says what to do', async () => {
    const t = target();
    const candidates = t.candidates as NonNullable<typeof t.candidates>;
    await failure(candidates.deployCandidate('bad', 1, ctx()));
    expect(await candidates.candidateHealth(ctx())).toMatchObject({ healthy: false, ready: 0, total: 1, message: expect.stringMatching(/^revision web-bad: The user-provided container failed to start/) });
    expect((await failure(t.revert({ version: '1.0.0' }, ctx()))).message).toBe(
      `cloud-run target: cannot tell which revisions served 1.0.0 on the ${label}/web (the journal has no traffic for it); move the traffic back by hand (gcloud run services update-traffic web)`,
    );
  });
});

describe('cloud-run candidates', () => {
  it("a candidate left by an earlier run is replaced, its share going back to the others; the switched candidate is what current reports", async () => {
    const s = gcp.server.run.get(PROJECT, REGION, 'web');
    gcp.server.run.update(s, { template: { revision: 'web-old', containers: [{ name: 'app', image: 'europe-docker.pkg.dev/acme/web/web:1.5.0' }] }, traffic: [
      { type: REVISION, revision: 'web-00001-abc', percent: 90 },
      { type: REVISION, revision: 'web-old', percent: 10, tag: 'candidate' },
    ] });
    gcp.clock.advance(10_000);
    const t = target();
    const candidates = t.candidates as NonNullable<typeof t.candidates>;
    await candidates.deployCandidate('2.0.0', 1, ctx());
    expect(servingView(gcp.server)).toEqual([
      { type: REVISION, revision: 'web-00001-abc', percent: 100 },
      { type: REVISION, revision: 'web-2-0-0', percent: 0, tag: 'candidate' },
    ]);
    await candidates.scale({ stable: 0, candidate: 100 }, ctx());
    expect((await t.current(ctx()))?.version).toBe('2.0.0');
    await candidates.removeCandidate(ctx());
    expect(servingView(gcp.server)).toEqual([{ type: REVISION, revision: 'web-00001-abc', percent: 100 }]);
    expect((await t.current(ctx()))?.version).toBe('1.0.0');
  });
});

describe('cloud-run undo after a promotion', () => {
  it('a later process reverts a promoted candidate: the traffic back on the revision that served, the tagless new revision kept', async () => {
    const states = new MemoryProviderStates();
    const first = target({}, states);
    const previous = JSON.parse(JSON.stringify(await first.current(ctx())));
    await first.candidates?.deployCandidate('2.0.0', 100, ctx());
    await first.candidates?.promote(ctx());
    expect(servingView(gcp.server)).toEqual([{ type: REVISION, revision: 'web-2-0-0', percent: 100 }]);
    const later = target({}, states);
    await later.revert(previous, ctx());
    expect(servingView(gcp.server)).toEqual([{ type: REVISION, revision: 'web-00001-abc', percent: 100 }]);
    // The rest of a rollback after a promotion finds no candidate: nothing more changes.
    const r = router.create(router.configSchema.parse({ type: 'cloud-run' }), { ...gcp.deps(new MemoryProviderStates()), target: { type: 'cloud-run', service: 'web' } });
    await r.setWeights({ canary: 0 }, ctx());
    await later.candidates?.removeCandidate(ctx());
    await r.finalize(ctx());
    expect(servingView(gcp.server)).toEqual([{ type: REVISION, revision: 'web-00001-abc', percent: 100 }]);
    expect(gcp.server.run.get(PROJECT, REGION, 'web').revisions.map((x) => x.id)).toEqual(['web-00001-abc', 'web-2-0-0']);
  });
});

describe('cloud-run router messages', () => {
  const make = (config: Record<string, unknown>, targetConfig?: Record<string, unknown>) =>
    router.create(router.configSchema.parse({ type: 'cloud-run', ...config }), { ...gcp.deps(new MemoryProviderStates()), ...(targetConfig ? { target: { type: 'cloud-run', ...targetConfig } } : {}) });

  it('without a candidate revision, a share above 0 is refused and 0 changes nothing', async () => {
    const r = make({}, { service: 'web' });
    expect((await failure(r.setWeights({ canary: 20 }, ctx()))).message).toBe(
      `cloud-run router: the ${label}/web has no revision tagged 'candidate', so there is no candidate to send 20% to; the cloud-run target tags the revision it starts in a canary or blue-green stage`,
    );
    await r.setWeights({ canary: 0 }, ctx());
    expect(await r.getWeights(ctx())).toEqual({ canary: 0 });
  });

  it('without a service of its own or a cloud-run target, it says what to set', async () => {
    expect((await failure(make({}).getWeights(ctx()))).message).toBe('cloud-run router: no service: set `service` on the router, or use it in a stage whose target is cloud-run');
    expect((await failure(make({ service: 'api' }).getWeights(ctx()))).message).toBe(`cloud-run router: the ${label}/api does not exist`);
  });
});

describe("someone else's traffic during a rollout", () => {
  const hotfix = () => {
    // `gcloud run deploy --no-traffic` + `gcloud run services update-traffic` to a hotfix while the canary pauses.
    const s = gcp.server.run.get(PROJECT, REGION, 'web');
    gcp.server.run.update(s, {
      template: { revision: 'web-hotfix', containers: [{ name: 'app', image: 'europe-docker.pkg.dev/acme/web/web:1.0.1' }] },
      traffic: [
        { type: REVISION, revision: 'web-hotfix', percent: 90 },
        { type: REVISION, revision: 'web-2-0-0', percent: 10, tag: 'candidate' },
      ],
    });
    gcp.clock.advance(10_000);
  };
  const hotfixed = [
    { type: REVISION, revision: 'web-2-0-0', percent: 10, tag: 'candidate' },
    { type: REVISION, revision: 'web-hotfix', percent: 90 },
  ];
  const refusal = (who: string, doing: string) =>
    `${who}: the ${label}/web sends 90% to revision web-hotfix, which rollgate neither found there nor deployed: someone else changed its traffic during the rollout, so rollgate does not ${doing} over it; check it (gcloud run services describe web --region ${REGION} --project ${PROJECT}), then set the traffic by hand (gcloud run services update-traffic web) or move it back to what rollgate left and run again`;

  it('the target refuses to set a share, to put the found traffic back or to promote over it, naming the revision and what to do', async () => {
    const states = new MemoryProviderStates();
    const t = target({}, states);
    const candidates = t.candidates as NonNullable<typeof t.candidates>;
    await candidates.deployCandidate('2.0.0', 0, ctx());
    await candidates.scale({ stable: 90, candidate: 10 }, ctx());
    hotfix();
    expect((await failure(candidates.scale({ stable: 50, candidate: 50 }, ctx()))).message).toBe(refusal('cloud-run target', 'send 50% to the candidate'));
    expect((await failure(candidates.removeCandidate(ctx()))).message).toBe(refusal('cloud-run target', 'put back the traffic it found'));
    expect((await failure(candidates.promote(ctx()))).message).toBe(refusal('cloud-run target', 'promote revision web-2-0-0'));
    expect(servingView(gcp.server)).toEqual(hotfixed);
  });

  it('the router refuses to set a weight or to finalize over it', async () => {
    const states = new MemoryProviderStates();
    const t = target({}, states);
    await (t.candidates as NonNullable<typeof t.candidates>).deployCandidate('2.0.0', 0, ctx());
    const r = router.create(router.configSchema.parse({ type: 'cloud-run' }), { ...gcp.deps(states, 'router'), target: { type: 'cloud-run', service: 'web' } });
    await r.setWeights({ canary: 10 }, ctx());
    hotfix();
    expect((await failure(r.setWeights({ canary: 50 }, ctx()))).message).toBe(refusal('cloud-run router', 'send 50% to the candidate'));
    expect((await failure(r.finalize(ctx()))).message).toBe(refusal('cloud-run router', 'put back the traffic it found'));
    expect(servingView(gcp.server)).toEqual(hotfixed);
  });
});

describe('cloud-run traffic after a promotion', () => {
  it('a service whose traffic followed LATEST follows it again, so a later gcloud run deploy gets the traffic', async () => {
    const t = target();
    await t.deploy('2.0.0', ctx());
    expect(gcp.server.run.get(PROJECT, REGION, 'web').traffic).toEqual([{ type: 'TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST', percent: 100 }]);
    const s = gcp.server.run.get(PROJECT, REGION, 'web');
    gcp.server.run.update(s, { template: { revision: 'web-later', containers: [{ name: 'app', image: 'europe-docker.pkg.dev/acme/web/web:3.0.0' }] } });
    gcp.clock.advance(10_000);
    expect(servingView(gcp.server)).toEqual([{ type: REVISION, revision: 'web-later', percent: 100 }]);
  });

  it('a service whose traffic was pinned to a revision before rollgate stays pinned, to the promoted revision', async () => {
    const s = gcp.server.run.get(PROJECT, REGION, 'web');
    gcp.server.run.update(s, { traffic: [{ type: REVISION, revision: 'web-00001-abc', percent: 100 }] });
    gcp.clock.advance(10_000);
    const t = target();
    const candidates = t.candidates as NonNullable<typeof t.candidates>;
    await candidates.deployCandidate('2.0.0', 0, ctx());
    await candidates.promote(ctx());
    expect(gcp.server.run.get(PROJECT, REGION, 'web').traffic).toEqual([{ type: REVISION, revision: 'web-2-0-0', percent: 100 }]);
  });
});

describe('cloud-run traffic tag length', () => {
  it('a service name and candidateTag longer than 46 characters together are refused in the config, naming both', () => {
    const service = 'checkout-payments-gateway-eu'; // 28
    const parsed = cloudRun.configSchema.safeParse({ type: 'cloud-run', service, candidateTag: 'candidate-preview-1234' }); // 22
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues).toEqual([
      expect.objectContaining({
        path: ['candidateTag'],
        message: `Cloud Run refuses a traffic tag and service name longer than 46 characters together: service '${service}' (28) and candidateTag 'candidate-preview-1234' (22) make 50; shorten candidateTag`,
      }),
    ]);
    expect(cloudRun.configSchema.safeParse({ type: 'cloud-run', service, candidateTag: 'candidate' }).success).toBe(true);
    expect(router.configSchema.safeParse({ type: 'cloud-run', service, candidateTag: 'candidate-preview-1234' }).error?.issues[0]?.message).toBe(
      `Cloud Run refuses a traffic tag and service name longer than 46 characters together: service '${service}' (28) and candidateTag 'candidate-preview-1234' (22) make 50; shorten candidateTag`,
    );
  });

  it('the double refuses such a tag as Cloud Run does', async () => {
    const id = 'checkout-payments-gateway-eu';
    gcp.server.run.seed(PROJECT, REGION, id, 'europe-docker.pkg.dev/acme/web/web:1.0.0');
    // Past the config check (a router given its own service), the API's refusal reaches the user.
    const t = cloudRun.create({ ...cloudRun.configSchema.parse({ type: 'cloud-run', service: id, interval: '1s' }), candidateTag: 'candidate-preview-1234' }, gcp.deps(new MemoryProviderStates()));
    expect((await failure((t.candidates as NonNullable<typeof t.candidates>).deployCandidate('2.0.0', 0, ctx()))).message).toContain(
      `refused (HTTP 400 INVALID_ARGUMENT): Combined traffic tag and service name cannot exceed 46 characters (tag 'candidate-preview-1234', service '${id}').`,
    );
  });
});

describe('cloud-run revision reuse', () => {
  it('an existing revision of the version is reused only while the template is the same; after an env change a hash-named revision runs it', async () => {
    const states = new MemoryProviderStates();
    const t = target({}, states);
    await t.deploy('2.0.0', ctx());
    await t.deploy('1.0.0', ctx());
    // Same template: going back to 2.0.0 reuses its revision.
    await t.deploy('2.0.0', ctx());
    expect(gcp.server.run.get(PROJECT, REGION, 'web').revisions.map((r) => r.id)).toEqual(['web-00001-abc', 'web-2-0-0', 'web-1-0-0']);
    // Someone sets an env var (gcloud run services update --update-env-vars): the template moved on.
    const s = gcp.server.run.get(PROJECT, REGION, 'web');
    gcp.server.run.update(s, { template: { ...s.template, revision: undefined, containers: [{ name: 'app', image: 'europe-docker.pkg.dev/acme/web/web:2.0.0', env: [{ name: 'FLAG', value: 'on' }] }] } });
    gcp.clock.advance(10_000);
    await t.deploy('1.0.0', ctx());
    const made = gcp.server.run.get(PROJECT, REGION, 'web').revisions.at(-1);
    expect(made?.id).toMatch(/^web-1-0-0-[0-9a-f]{7}$/);
    expect(made?.template.containers).toEqual([{ name: 'app', image: 'europe-docker.pkg.dev/acme/web/web:1.0.0', env: [{ name: 'FLAG', value: 'on' }] }]);
    expect(servingView(gcp.server)).toEqual([{ type: REVISION, revision: made?.id, percent: 100 }]);
    // Deploying it again finds the same revision: nothing new is made.
    const count = gcp.server.run.get(PROJECT, REGION, 'web').revisions.length;
    await target({}, new MemoryProviderStates()).deploy('1.0.0', ctx());
    expect(gcp.server.run.get(PROJECT, REGION, 'web').revisions).toHaveLength(count);
  });
});
