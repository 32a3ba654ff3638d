import { describe, expect, it } from 'vitest';
import { exitCodeFor } from '../../core/src/engine/executor.js';
import { MemoryRunStore } from '../../core/src/engine/memory-run-store.js';
import { CancelledError } from '../../core/src/errors.js';
import type { RunJournal } from '../../core/src/model/journal.js';
import { createVirtualClock } from '../../core/src/clocks/virtual.js';
import { candidateErrors, changeLine, changes, first, load, ofKind, resume, run, savedService, stage, trail } from './support.js';

/*
 * When the rollback itself is in trouble: a compensation that keeps failing (manual intervention,
 * then resume), a cancelled run (Ctrl-C, SIGTERM from the CI runner), and a process killed
 * mid-rollout whose rollback a new process finishes from the journal.
 */

const router = { type: 'sim' };
const cluster = (failures: unknown[] = []) => ({ nodes: 4, services: { web: { version: 'v1' } }, failures });
const subtlyBad = { kind: 'bad-version', version: 'v2', errorRate: 0.04 };
const strict = candidateErrors({ successCondition: 'result < 0.01' });

describe('a failing compensation', () => {
  // Removing the candidate fails three times: the whole retry budget of the first rollback.
  const loaded = load({
    sim: cluster([subtlyBad, { kind: 'compensation-fails', operation: 'remove-candidate', count: 3 }]),
    stages: [stage('web', { router, strategy: { type: 'canary', abortScaleDownDelay: '0s', steps: [{ setWeight: 25 }, { analysis: { metrics: [strict] } }] } })],
  });

  it('ends in manual-intervention-required (exit 4) with what is left and how to finish it', async () => {
    const { outcome, events } = await run(loaded);
    expect(outcome.status).toBe('manual-intervention-required');
    expect(outcome.exitCode).toBe(4);
    expect(exitCodeFor(outcome.status)).toBe(4);
    expect(trail(events, ['step.failed', 'rollback.started', 'rollback.step', 'rollback.finished', 'manual-intervention.required', 'stage.finished'])).toEqual([
      'step.failed:analysis@2',
      'rollback.started',
      'rollback.step:ok', // traffic back to v1 (weight 0)
      'rollback.step:failed', // the candidate could not be removed
      'rollback.finished:incomplete',
      'manual-intervention.required',
      'stage.finished:manual-intervention-required',
    ]);
    const manual = first(events, 'manual-intervention.required');
    expect(manual.remaining).toEqual([
      'send all traffic back to v1 and remove v2 from web: sim: remove-candidate of web failed (injected compensation failure); undo it by hand',
    ]);
    expect(manual.instructions).toEqual([
      'remove v2 from stage web (environment production) and send all traffic to the stable version',
      'then run: rollgate resume --state memory (retries what is left), or fix it by hand',
    ]);
    const undo = outcome.journal.stages.web?.compensations.find((c) => c.op === 'candidate.remove');
    expect(undo).toMatchObject({ status: 'failed', attempts: 3 });
    // Traffic is safe (weight 0), the candidate still runs.
    expect(changes(events).map(changeLine)).toContain('route/web.weight: 25 -> 0');
    expect(savedService(outcome.journal)).toMatchObject({ version: 'v1', candidate: { version: 'v2' } });
  });

  it('resume retries what is left and finishes the rollback', async () => {
    const { store } = await run(loaded);
    // No clock given: resume continues the run's virtual clock from the journal.
    const resumed = await resume(loaded, store);
    expect(resumed.outcome.status).toBe('rolled-back');
    expect(resumed.outcome.exitCode).toBe(1);
    expect(first(resumed.events, 'run.started')).toMatchObject({ resumed: true });
    expect(first(resumed.events, 'rollback.started')).toMatchObject({ reason: 'retrying the rollback that was left incomplete', steps: 1 });
    expect(trail(resumed.events, ['rollback.step', 'rollback.finished', 'stage.finished', 'run.finished'])).toEqual([
      'rollback.step:ok',
      'rollback.finished:complete',
      'stage.finished:rolled-back',
      'run.finished:rolled-back',
    ]);
    expect(changes(resumed.events).map(changeLine)).toContain('service/web.candidate: v2 -> null');
    expect(resumed.outcome.journal.stages.web?.compensations.every((c) => c.status === 'done')).toBe(true);
    expect(savedService(resumed.outcome.journal)?.candidate).toBeUndefined();
  });

  it('resume --resolved records that a person finished it, and closes the stage as rolled back', async () => {
    const { store } = await run(loaded);
    const resumed = await resume(loaded, store, { resolved: { by: 'dana', comment: 'deleted the canary by hand' } });
    expect(resumed.outcome.status).toBe('rolled-back');
    expect(first(resumed.events, 'rollback.step').compensation).toBe(
      'send all traffic back to v1 and remove v2 from web (by hand, dana: deleted the canary by hand)',
    );
    expect(resumed.outcome.journal.stages.web).toMatchObject({
      status: 'rolled-back',
      message: 'rolled back; what was left was fixed by hand by dana: deleted the canary by hand',
    });
    // Nothing was retried: the person's word stands.
    expect(resumed.kinds).not.toContain('rollback.started');
    await expect(resume(loaded, store)).rejects.toThrow(/^run web-\S+ already ended \(rolled-back\); nothing to resume/);
  });

  it('refuses --resolved for a run that needs no person', async () => {
    const gated = load({ sim: cluster(), stages: [stage('web', { approval: { type: 'manual' } })] });
    const { store } = await run(gated);
    await expect(resume(gated, store, { resolved: { by: 'dana', comment: 'x' } })).rejects.toThrow(
      /^--resolved is for runs that need a manual intervention; run web-\S+ is paused$/,
    );
  });
});

describe('cancellation mid-rollout', () => {
  it('stops the canary pause, rolls back, and ends cancelled with exit 130', async () => {
    const loaded = load({
      sim: cluster(),
      stages: [
        stage('web', { router, strategy: { type: 'canary', abortScaleDownDelay: '10s', steps: [{ setWeight: 20 }, { pause: { duration: '10m' } }, { setWeight: 100 }] } }),
        stage('later', { needs: ['web'], target: { type: 'sim', service: 'api' } }),
      ],
    });
    const controller = new AbortController();
    const { outcome, events } = await run(loaded, {
      signal: controller.signal,
      subscribers: [
        (e) => {
          if (e.kind === 'step.started' && e.step === 'pause@2') setImmediate(() => controller.abort(new CancelledError('cancelled: received SIGINT')));
        },
      ],
    });
    expect(outcome.status).toBe('cancelled');
    expect(outcome.exitCode).toBe(130);
    expect(trail(events, ['step.started', 'step.failed', 'rollback.started', 'rollback.finished', 'stage.finished', 'stage.skipped', 'run.finished']).slice(-7)).toEqual([
      'step.started:pause@2',
      'step.failed:pause@2',
      'rollback.started',
      'rollback.finished:complete',
      'stage.finished:cancelled',
      'stage.skipped',
      'run.finished:cancelled',
    ]);
    expect(first(events, 'step.failed')).toMatchObject({ errorKind: 'CancelledError', error: 'cancelled: received SIGINT' });
    expect(first(events, 'rollback.started').reason).toBe('cancelled: received SIGINT');
    expect(changes(events).map(changeLine)).toEqual([
      'service/web.candidate: null -> v2',
      'service/web.candidate-replicas: 0 -> 1',
      'route/web.weight: null -> 20',
      'route/web.weight: 20 -> 0',
      'service/web.candidate: v2 -> null',
      'route/web.weight: 0 -> null',
    ]);
    expect(outcome.journal.stages.web?.message).toBe('cancelled: received SIGINT; rolled back');
    expect(outcome.journal.stages.later).toMatchObject({ status: 'skipped', message: 'needs web, which ended cancelled' });
    expect(savedService(outcome.journal)).toMatchObject({ version: 'v1', route: 'none' });
  });
});

describe('the process is killed mid-rollout', () => {
  const loaded = load({
    sim: cluster(),
    stages: [stage('web', { router, strategy: { type: 'canary', abortScaleDownDelay: '20s', steps: [{ setWeight: 20 }, { pause: { duration: '5m' } }, { setWeight: 100 }] } })],
  });

  /** Runs the workflow and keeps the journal as it was on disk when the canary reached 20%: what a kill -9 would leave. */
  async function crashAtTwentyPercent(): Promise<{ journal: RunJournal; seq: number }> {
    const store = new MemoryRunStore();
    let atCrash: { journal: RunJournal; seq: number } | undefined;
    await run(loaded, {
      store,
      subscribers: [
        (e) => {
          if (e.kind === 'weight.changed' && !atCrash) {
            // MemoryRunStore.load reads the saved text synchronously, before the next save.
            void store.load().then((j) => (atCrash ??= { journal: j as RunJournal, seq: e.seq }));
          }
        },
      ],
    });
    if (!atCrash) throw new Error('the run never reached 20%');
    return atCrash;
  }

  it('resume finishes the rollback from the journal, never going forward', async () => {
    const { journal } = await crashAtTwentyPercent();
    expect(journal.status).toBe('running');
    expect(journal.stages.web?.status).toBe('running');
    expect(journal.stages.web?.compensations.map((c) => c.op)).toEqual(['candidate.remove', 'router.reset']);
    const crashed = new MemoryRunStore();
    await crashed.save(journal);

    // A new process: a fresh virtual clock that continues from the time saved in the journal.
    const savedAt = journal.clock?.virtualNow as number;
    const resumed = await resume(loaded, crashed, { clock: createVirtualClock(savedAt) });
    expect(resumed.outcome.status).toBe('rolled-back');
    expect(resumed.outcome.exitCode).toBe(1);
    expect(resumed.events[0]?.seq).toBeGreaterThan(journal.seq);
    expect(trail(resumed.events, ['run.started', 'step.started', 'rollback.started', 'rollback.step', 'rollback.finished', 'stage.finished', 'run.finished'])).toEqual([
      'run.started',
      'rollback.started',
      'rollback.step:ok',
      'rollback.step:ok',
      'rollback.finished:complete',
      'stage.finished:rolled-back',
      'run.finished:rolled-back',
    ]);
    expect(first(resumed.events, 'rollback.started')).toMatchObject({
      reason: 'the process running this stage stopped before it finished; undoing what it changed',
      steps: 2,
    });
    expect(first(resumed.events, 'stage.finished').message).toBe('the process running this stage stopped before it finished; undoing what it changed: done');
    // No step of the strategy ran again: nothing went forward.
    expect(ofKind(resumed.events, 'weight.changed')).toEqual([]);
    // The canary is removed abortScaleDownDelay after the resumed rollback began.
    const removed = first(resumed.events, 'infra.changed', (e) => e.change.field === 'candidate');
    expect(Date.parse(removed.time) - savedAt).toBe(20_000);
    expect(savedService(resumed.outcome.journal)).toMatchObject({ version: 'v1', replicas: 4, route: 'none' });
    expect(savedService(resumed.outcome.journal)?.candidate).toBeUndefined();
  });
});

describe('the process is killed between two stages', () => {
  const loaded = load({
    sim: cluster(),
    stages: [stage('staging'), stage('production', { needs: ['staging'], approval: { type: 'manual' } })],
  });

  it('resume does not call it a success: the stage that never ran makes the run fail (exit 1)', async () => {
    const { store } = await run(loaded);
    // What a kill -9 just after staging finished leaves: the run still running, production not started.
    const journal = (await store.load()) as RunJournal;
    journal.status = 'running';
    journal.stages.production = { ...(journal.stages.production as NonNullable<RunJournal['stages'][string]>), status: 'pending' };
    delete journal.stages.production?.pausedAt;
    const crashed = new MemoryRunStore();
    await crashed.save(journal);
    const resumed = await resume(loaded, crashed);
    expect(resumed.outcome.status).toBe('failed');
    expect(resumed.outcome.exitCode).toBe(1);
    expect(resumed.outcome.journal.stages.staging?.status).toBe('succeeded');
    expect(resumed.outcome.journal.stages.production).toMatchObject({
      status: 'skipped',
      message: 'not run: the run was interrupted (its process died) before this stage started; start a new run to deploy it',
    });
  });
});
