import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CancelledError } from '../errors.js';
import type { RunEvent } from '../model/events.js';
import { createVirtualClock } from '../clocks/virtual.js';
import { loadTestWorkflow, runTestWorkflow } from '../testing/workflows.js';
import { exitCodeFor, resumeRun } from './executor.js';
import { MemoryRunStore } from './memory-run-store.js';

const load = loadTestWorkflow;

const simStage = (name: string, extra: Record<string, unknown> = {}) => ({
  name,
  environment: 'staging',
  target: { type: 'sim', service: 'web' },
  ...extra,
});

const run = runTestWorkflow;

const sim = { services: { web: { version: 'v1' } } };

describe('runWorkflow on the simulated infrastructure', () => {
  it('deploys, verifies and succeeds, recording the change', async () => {
    const { outcome, events } = await run(load({ sim, stages: [simStage('web')] }));
    expect(outcome.status).toBe('succeeded');
    expect(outcome.exitCode).toBe(0);
    expect(events.find((e) => e.kind === 'infra.changed')).toMatchObject({ change: { object: 'service/web', before: 'v1', after: 'v2' } });
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
    expect(outcome.journal.stages.web?.steps.map((s) => [s.id, s.status])).toEqual([
      ['deploy', 'succeeded'],
      ['verify', 'succeeded'],
    ]);
  });

  it('catches a bad version in verification and rolls back to the previous version', async () => {
    const loaded = load({ sim: { ...sim, failures: [{ kind: 'bad-version', version: 'v2', errorRate: 0.3 }] }, stages: [simStage('web')] });
    const { outcome, events, kinds } = await run(loaded);
    expect(outcome.status).toBe('rolled-back');
    expect(outcome.exitCode).toBe(1);
    expect(kinds).toContain('rollback.started');
    const changes = events.filter((e) => e.kind === 'infra.changed').map((e) => (e.kind === 'infra.changed' ? e.change.after : ''));
    expect(changes).toEqual(['v2', 'v1']);
    expect(outcome.journal.stages.web?.message).toMatch(/readiness failing: 30% of requests fail.*rolled back/);
  });

  it('handles a first deploy: rollback removes what was created', async () => {
    const loaded = load({ sim: { failures: [{ kind: 'bad-version', version: 'v2' }] }, stages: [simStage('web')] });
    const { outcome, events } = await run(loaded);
    expect(outcome.status).toBe('rolled-back');
    const rollback = events.find((e) => e.kind === 'rollback.step');
    expect(rollback).toMatchObject({ compensation: 'remove v2 from web (first deploy)', ok: true });
  });

  it('treats a re-deploy of the running version as a recorded no-op', async () => {
    const { outcome, events } = await run(load({ sim: { services: { web: { version: 'v2' } } }, stages: [simStage('web')] }));
    expect(outcome.status).toBe('succeeded');
    expect(events.find((e) => e.kind === 'decision.made')).toMatchObject({ decision: 're-deploy' });
    expect(events.filter((e) => e.kind === 'infra.changed')).toHaveLength(0);
  });

  it('skips a stage whose condition is false, with the probe values as evidence', async () => {
    const loaded = load({
      sim: { ...sim, database: { up: false } },
      probes: { db: { type: 'sim', measure: 'database' } },
      stages: [simStage('web', { when: 'probes.db.ok' })],
    });
    const { outcome, events } = await run(loaded);
    expect(outcome.status).toBe('succeeded');
    expect(outcome.journal.stages.web?.status).toBe('skipped');
    const skipped = events.find((e) => e.kind === 'stage.skipped');
    expect(skipped).toMatchObject({ reason: 'when: probes.db.ok is false', evidence: { probes: { db: { ok: false } } } });
  });

  it('fails a stage whose condition cannot be evaluated, changing nothing', async () => {
    const loaded = load({
      sim,
      probes: { ver: { type: 'sim', measure: 'version', service: 'web' } },
      stages: [simStage('web', { when: 'probes.ver.value > 3' })],
    });
    const { outcome } = await run(loaded);
    expect(outcome.status).toBe('failed');
    expect(outcome.journal.stages.web?.message).toMatch(/condition 'probes.ver.value > 3' failed.*nothing was changed/);
  });

  it('runs independent stages in parallel and blocks dependents of a failed stage', async () => {
    const loaded = load({
      sim: { ...sim, services: { web: { version: 'v1' }, api: { version: 'v1' } }, failures: [{ kind: 'bad-version', version: 'v2' }] },
      stages: [
        simStage('web'),
        { name: 'api', environment: 'staging', target: { type: 'sim', service: 'api' }, version: 'v9' },
        simStage('after-web', { needs: ['web'], target: { type: 'sim', service: 'web2' } }),
      ],
    });
    const { outcome, kinds, events } = await run(loaded);
    expect(kinds.filter((k) => k === 'stage.started').length).toBe(2);
    const startedBeforeFirstFinish = kinds.slice(0, kinds.indexOf('stage.finished')).filter((k) => k === 'stage.started').length;
    expect(startedBeforeFirstFinish).toBe(2);
    expect(outcome.journal.stages.api?.status).toBe('succeeded');
    expect(outcome.journal.stages['after-web']).toMatchObject({ status: 'skipped', blockedBy: 'web' });
    expect(events.find((e) => e.kind === 'stage.skipped')).toMatchObject({ reason: 'needs web, which ended rolled-back' });
    expect(outcome.status).toBe('rolled-back');
  });

  it('retries rate-limited API calls and succeeds', async () => {
    const loaded = load({ sim: { ...sim, failures: [{ kind: 'api-errors', operation: 'deploy', status: 429, count: 2 }] }, stages: [simStage('web')] });
    const { outcome, events } = await run(loaded);
    expect(outcome.status).toBe('succeeded');
    expect(events.filter((e) => e.kind === 'step.retrying').map((e) => (e.kind === 'step.retrying' ? e.attempt : 0))).toEqual([2, 3]);
  });

  it('fails cleanly when the API keeps failing past the retry budget', async () => {
    const loaded = load({ sim: { ...sim, failures: [{ kind: 'api-errors', operation: 'deploy', status: 503, count: 10 }] }, stages: [simStage('web')] });
    const { outcome } = await run(loaded);
    expect(outcome.status).toBe('rolled-back');
    expect(outcome.journal.stages.web?.steps[0]).toMatchObject({ status: 'failed', attempts: 3 });
  });

  it('rolls back when the stage deadline passes', async () => {
    const loaded = load({ sim: { ...sim, versions: { v2: { startup: '20m' } } }, stages: [simStage('web', { timeout: '5m' })] });
    const { outcome } = await run(loaded);
    expect(outcome.status).toBe('rolled-back');
    expect(outcome.journal.stages.web?.message).toMatch(/deadline passed: stage web \(its timeout\): deadline of 300s passed/);
  });

  it('ends in manual-intervention-required when a compensation keeps failing, and resume retries it', async () => {
    const loaded = load({
      sim: { ...sim, failures: [{ kind: 'bad-version', version: 'v2' }, { kind: 'compensation-fails', operation: 'revert', count: 3 }] },
      stages: [simStage('web')],
    });
    const { outcome, events, store } = await run(loaded);
    expect(outcome.status).toBe('manual-intervention-required');
    expect(outcome.exitCode).toBe(4);
    const manual = events.find((e) => e.kind === 'manual-intervention.required');
    expect(manual).toMatchObject({ stage: 'web' });
    expect(manual?.kind === 'manual-intervention.required' && manual.instructions[0]).toBe('put v1 back on the sim target of stage web (environment staging)');

    const resumed = await resumeRun({ loaded, store, context: { actor: 'bob', ci: 'local' }, clock: createVirtualClock(Date.UTC(2026, 0, 2)) });
    expect(resumed.status).toBe('rolled-back');
    expect(resumed.journal.stages.web?.compensations[0]?.status).toBe('done');
  });

  it('pauses at a manual gate, then resumes with the approver recorded', async () => {
    const loaded = load({ sim, stages: [simStage('web', { approval: { type: 'manual' } })] });
    const { outcome, store, kinds } = await run(loaded);
    expect(outcome.status).toBe('paused');
    expect(outcome.exitCode).toBe(3);
    expect(kinds).toContain('run.paused');
    await expect(resumeRun({ loaded, store, context: { actor: 'bob', ci: 'local' } })).rejects.toThrow(
      /is paused at web \(approval-web\): pass --approve or --reject/,
    );
    const events: RunEvent[] = [];
    const resumed = await resumeRun({
      loaded,
      store,
      context: { actor: 'bob', ci: 'local' },
      decision: { approve: true, by: 'carol', comment: 'dashboards green' },
      subscribers: [(e) => events.push(e)],
    });
    expect(resumed.status).toBe('succeeded');
    expect(events.find((e) => e.kind === 'approval.decided')).toMatchObject({ decision: { status: 'approved', by: 'carol', comment: 'dashboards green' } });
    expect(events[0]?.seq).toBeGreaterThan(outcome.journal.seq);
    await expect(resumeRun({ loaded, store, context: { actor: 'bob', ci: 'local' } })).rejects.toThrow(/already ended \(succeeded\); nothing to resume/);
  });

  it('fails a rejected stage without changing anything', async () => {
    const loaded = load({ sim, stages: [simStage('web', { approval: { type: 'auto', decision: 'reject', by: 'policy-bot' } })] });
    const { outcome, events } = await run(loaded);
    expect(outcome.status).toBe('failed');
    expect(outcome.journal.stages.web?.message).toBe('rejected by policy-bot; nothing was changed');
    expect(events.filter((e) => e.kind === 'infra.changed')).toHaveLength(0);
  });

  it('refuses to start over a journal of a run still in progress', async () => {
    const loaded = load({ sim, stages: [simStage('web', { approval: { type: 'manual' } })] });
    const { store } = await run(loaded);
    await expect(run(loaded, { store })).rejects.toThrow(/holds run .*, which is paused; finish it with 'rollgate resume --state memory'/);
  });

  it('refuses to resume with a changed workflow file', async () => {
    const loaded = load({ sim, stages: [simStage('web', { approval: { type: 'manual' } })] });
    const { store } = await run(loaded);
    await expect(resumeRun({ loaded: { ...loaded, sha256: 'f'.repeat(64) }, store, context: { actor: 'b', ci: 'local' } })).rejects.toThrow(
      /was started from a different version of \/tmp\/test.yml/,
    );
  });

  it('cancels: the step in flight stops, the stage rolls back, exit code 130', async () => {
    const controller = new AbortController();
    const loaded = load({ sim: { ...sim, versions: { v2: { startup: '1m' } } }, stages: [simStage('web'), simStage('later', { needs: ['web'] })] });
    const kinds: string[] = [];
    const { outcome } = await run(loaded, {
      signal: controller.signal,
      subscribers: [
        (e) => {
          kinds.push(e.kind);
          if (e.kind === 'infra.changed' && kinds.filter((k) => k === 'infra.changed').length === 1) {
            controller.abort(new CancelledError('cancelled: received SIGINT'));
          }
        },
      ],
    });
    expect(kinds).toContain('rollback.finished');
    expect(outcome.status).toBe('cancelled');
    expect(outcome.exitCode).toBe(130);
    expect(outcome.journal.stages.later?.message).toBe('needs web, which ended cancelled');
  });

  it('finishes the rollback of a run whose process died mid-stage', async () => {
    const loaded = load({ sim, stages: [simStage('web')] });
    const store = new MemoryRunStore();
    // Capture the journal as it was on disk right after the change began, as a crash would leave it.
    let atCrash: string | undefined;
    await run(loaded, {
      store,
      subscribers: [
        (e) => {
          if (e.kind === 'infra.changed') void store.load().then((j) => (atCrash ??= JSON.stringify(j)));
        },
      ],
    });
    const crashed = new MemoryRunStore();
    await crashed.save(JSON.parse(atCrash as string));
    expect((await crashed.load())?.stages.web?.status).toBe('running');
    const events: RunEvent[] = [];
    const resumed = await resumeRun({ loaded, store: crashed, context: { actor: 'ci', ci: 'local' }, subscribers: [(e) => events.push(e)] });
    expect(resumed.status).toBe('rolled-back');
    expect(events.find((e) => e.kind === 'rollback.started')).toMatchObject({ reason: expect.stringMatching(/process running this stage stopped/) });
  });
});

describe('verification, probes, secrets and sinks', () => {
  it('keeps polling through retryable health-check errors', async () => {
    const loaded = load({ sim: { ...sim, failures: [{ kind: 'api-errors', operation: 'health', status: 503, count: 2 }] }, stages: [simStage('web')] });
    const { outcome, events } = await run(loaded);
    expect(outcome.status).toBe('succeeded');
    // The verify step and the monitor share the injected errors; the rollout rides them out.
    expect(events.filter((e) => e.kind === 'step.output' && /health check errored: sim: service unavailable \(503\)/.test(e.line)).length).toBeGreaterThanOrEqual(1);
  });

  it('fails verification at its timeout while replicas are still starting', async () => {
    const loaded = load({
      // node-2 crashes while v2 starts: one replica is lost, which verification cannot tell from a slow start.
      sim: { ...sim, nodes: 2, failures: [{ kind: 'node-crash', node: 'node-2', at: '5s' }] },
      stages: [simStage('web', { verify: { timeout: '20s', interval: '5s' } })],
    });
    const { outcome } = await run(loaded);
    expect(outcome.status).toBe('rolled-back');
    expect(outcome.journal.stages.web?.message).toMatch(/web: target not healthy after 20s: .*\(1\/2 ready\)/);
  });

  it("fills a metric query's placeholders from the stage before the provider reads it", async () => {
    const loaded = load({
      sim,
      environments: { staging: { variables: { QUERY: 'candidate-error-rate' } } },
      analyses: { errors: { metrics: [{ name: 'errors', query: '{{ vars.QUERY }}', successCondition: 'result < 0.05', count: 1 }] } },
      stages: [simStage('web', { router: { type: 'sim', service: 'web' }, strategy: { type: 'canary', steps: [{ setWeight: 20 }, { analysis: { templates: ['errors'] } }] } })],
    });
    const { outcome, events } = await run(loaded);
    expect(outcome.status).toBe('succeeded');
    // The evidence keeps the query as it was sent.
    expect(events.find((e) => e.kind === 'analysis.measured')).toMatchObject({ metric: 'errors', query: 'candidate-error-rate', verdict: 'succeeded' });
  });

  it('records a hanging probe as timed out within the snapshot deadline', async () => {
    const loaded = load({
      sim: { ...sim, failures: [{ kind: 'slow-probe', probe: 'db', delay: '1h' }] },
      probes: { db: { type: 'sim', measure: 'database', timeout: '1s' } },
      stages: [simStage('web', { when: 'probes.db.ok' })],
    });
    const { outcome, events } = await run(loaded);
    expect(outcome.journal.stages.web?.status).toBe('skipped');
    const measured = events.find((e) => e.kind === 'probes.measured');
    expect(measured?.kind === 'probes.measured' && measured.snapshot.db).toMatchObject({ ok: false, error: expect.stringMatching(/timed out/) });
  });

  it('names every missing secret before anything runs', async () => {
    const loaded = load({
      sim,
      probes: { api: { type: 'http', url: 'http://127.0.0.1:9/', bearerTokenEnv: 'API_TOKEN' } },
      stages: [simStage('web', { when: 'probes.api.ok' })],
    });
    await expect(run(loaded, { env: {} })).rejects.toThrow(/missing secrets:\n {2}- probes.api.bearerTokenEnv: environment variable API_TOKEN is not set/);
  });

  it('reports a failing notifier or best-effort audit sink as a warning and finishes the run', async () => {
    const warnings: string[] = [];
    const file = join(await mkdtemp(join(tmpdir(), 'rollgate-sinks-')), 'not-a-dir');
    await writeFile(file, '');
    const loaded = load({ sim, stages: [simStage('web')], notifications: [{ type: 'console' }], audit: { sinks: [{ type: 'file', dir: file, bestEffort: true }] } });
    const { outcome } = await run(loaded, {
      onWarning: (w) => warnings.push(w),
      onNotice: () => {
        throw new Error('webhook down');
      },
    });
    expect(outcome.status).toBe('succeeded');
    expect(outcome.exitCode).toBe(0);
    expect(warnings).toContain(
      "notifier console (job log): 1 message not delivered: the job log cannot be written: webhook down; the deployment's result is not affected",
    );
    const failed = outcome.journal.seq;
    expect(failed).toBeGreaterThan(0);
    expect(warnings.some((w) => /^audit\.sinks\[0\] \(file\): .*not-a-dir/.test(w))).toBe(true);
  });

  it('refuses to start when an audit sink that is not best-effort cannot write: nothing is written or changed', async () => {
    const file = join(await mkdtemp(join(tmpdir(), 'rollgate-sinks-')), 'not-a-dir');
    await writeFile(file, '');
    const store = new MemoryRunStore();
    const loaded = load({ sim, stages: [simStage('web')], audit: { sinks: [{ type: 'file', dir: file }] } });
    await expect(run(loaded, { store })).rejects.toThrow(
      /^the audit trail cannot be written, so the run was not started:\n  - audit\.sinks\[0\] \(file\): audit file .*not-a-dir.*cannot be written: .*or set audit\.sinks\[0\]\.bestEffort: true to run without it/,
    );
    expect(await store.load()).toBeUndefined();
  });

  it('tells a human how to remove a first deploy that could not be undone', async () => {
    const loaded = load({ sim: { failures: [{ kind: 'bad-version', version: 'v2' }, { kind: 'compensation-fails' }] }, stages: [simStage('web')] });
    const { outcome, events } = await run(loaded);
    expect(outcome.status).toBe('manual-intervention-required');
    const manual = events.find((e) => e.kind === 'manual-intervention.required');
    expect(manual?.kind === 'manual-intervention.required' && manual.instructions[0]).toBe(
      'remove what stage web (environment staging) deployed (v2): it was a first deploy',
    );
  });
});

describe('a run journal that cannot be written', () => {
  class FailingStore extends MemoryRunStore {
    saves = 0;
    constructor(private readonly failFrom: number) {
      super();
    }
    override async save(journal: Parameters<MemoryRunStore['save']>[0]): Promise<void> {
      this.saves += 1;
      if (this.saves >= this.failFrom) throw new Error('ENOSPC: no space left on device');
      await super.save(journal);
    }
  }

  it('stops before the first change when the undo cannot be recorded', async () => {
    const warnings: string[] = [];
    const store = new FailingStore(2);
    const { outcome, events } = await run(load({ sim, stages: [simStage('web')] }), { store, onWarning: (w) => warnings.push(w) });
    expect(outcome.status).toBe('failed');
    expect(events.filter((e) => e.kind === 'infra.changed')).toHaveLength(0);
    expect(outcome.journal.stages.web?.message).toMatch(/ENOSPC.*nothing had been changed/);
    expect(warnings[0]).toMatch(/^the run failed, but its journal memory could not be written \(ENOSPC: no space left on device\), so the file does not say so/);
    expect(outcome.exitCode).toBe(5);
    expect(outcome.journalError).toBe(warnings[0]);
  });

  it('still rolls back when the journal fails after a change', async () => {
    const warnings: string[] = [];
    const loaded = load({ sim: { ...sim, failures: [{ kind: 'bad-version', version: 'v2' }] }, stages: [simStage('web')] });
    const { outcome, events } = await run(loaded, { store: new FailingStore(3), onWarning: (w) => warnings.push(w) });
    expect(outcome.status).toBe('rolled-back');
    expect(events.filter((e) => e.kind === 'infra.changed').map((e) => (e.kind === 'infra.changed' ? e.change.after : ''))).toEqual(['v2', 'v1']);
    expect(warnings).toHaveLength(1);
  });
});

describe('exitCodeFor', () => {
  it('maps every status to the documented exit code', () => {
    expect(['succeeded', 'failed', 'rolled-back', 'paused', 'manual-intervention-required', 'cancelled', 'running'].map((s) => exitCodeFor(s as never))).toEqual([0, 1, 1, 3, 4, 130, 70]);
  });
});
