import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { resumeRun, runWorkflow } from '../../core/src/engine/executor.js';
import { FileRunStore } from '../../core/src/engine/file-run-store.js';
import { MemoryRunStore } from '../../core/src/engine/memory-run-store.js';
import { inspectPlan } from '../../core/src/engine/plan-inspect.js';
import { planRun } from '../../core/src/engine/plan.js';
import type { RunEvent } from '../../core/src/model/events.js';
import { createVirtualClock } from '../../core/src/clocks/virtual.js';
import { loadTestWorkflow } from '../../core/src/testing/workflows.js';

/*
 * What values reach, and what they must not reach: undo of a change that never began, the
 * environment commands get, secrets in plan output and warnings, secret inputs across a resume,
 * what approvers are told, and when a person's decision is recorded.
 */

const PATH = process.env.PATH ?? '/usr/bin:/bin';
const context = { actor: 'alice', ci: 'local' as const };

async function dir(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'rollgate-values-'));
}

/** A one-stage workflow whose command target keeps its "deployment" in files of `cwd`. */
function commandStage(target: Record<string, unknown>, extra: Record<string, unknown> = {}) {
  return loadTestWorkflow({ environments: { prod: {} }, stages: [{ name: 'web', environment: 'prod', target: { type: 'command', ...target }, ...extra }] });
}

async function run(loaded: ReturnType<typeof loadTestWorkflow>, env: Record<string, string>, extra: Record<string, unknown> = {}) {
  const events: RunEvent[] = [];
  const warnings: string[] = [];
  const store = (extra.store as MemoryRunStore | undefined) ?? new MemoryRunStore();
  const outcome = await runWorkflow({ loaded, store, context, env: { PATH, ...env }, subscribers: [(e) => events.push(e)], onWarning: (w) => warnings.push(w), ...extra });
  return { outcome, events, warnings, store };
}

describe('an undo of a change that never began', () => {
  it('is not run: a misspelt deploy program leaves the running version alone', async () => {
    const cwd = await dir();
    await writeFile(join(cwd, 'state'), 'v1');
    const loaded = commandStage({
      deploy: ['deploy-tool-that-does-not-exist', 'web'],
      revert: ['sh', '-c', `printf '%s' "$ROLLGATE_PREVIOUS_VERSION" > ${join(cwd, 'state')}; echo reverted > ${join(cwd, 'reverted')}`],
    });
    const { outcome, events } = await run(loaded, {});
    expect(outcome.status).toBe('failed');
    expect(outcome.journal.stages.web?.message).toMatch(/command 'deploy-tool-that-does-not-exist' not found on PATH: install it on the runner or give its full path.*; nothing had been changed$/s);
    expect(events.some((e) => e.kind === 'rollback.started')).toBe(false);
    expect(await readFile(join(cwd, 'state'), 'utf8')).toBe('v1');
    expect(outcome.journal.stages.web?.compensations[0]).toMatchObject({ status: 'done', error: expect.stringMatching(/^not needed: the change never began/) });
  });

  it('tells a revert whether the previous version is known, nothing, or unknown (ROLLGATE_PREVIOUS_STATE)', async () => {
    const cwd = await dir();
    const record = `echo "$ROLLGATE_PREVIOUS_STATE:$ROLLGATE_PREVIOUS_VERSION" >> ${join(cwd, 'log')}`;
    const failing = ['sh', '-c', 'exit 1'];
    const withCurrent = (current: string) =>
      commandStage({ current: ['sh', '-c', `printf '%s' '${current}'`], deploy: ['true'], health: failing, revert: ['sh', '-c', record] }, { verify: { timeout: '1s', interval: '1s', failureThreshold: 1 } });
    await run(withCurrent('v1'), {});
    await run(withCurrent(''), {});
    await run(commandStage({ deploy: ['true'], health: failing, revert: ['sh', '-c', record] }, { verify: { timeout: '1s', interval: '1s', failureThreshold: 1 } }), {});
    expect((await readFile(join(cwd, 'log'), 'utf8')).trim().split('\n')).toEqual(['version:v1', 'none:', 'unknown:']);
  });
});

describe('the environment of commands', () => {
  it('never holds rollgate’s own keys: the audit HMAC key and the tokens rollgate reads stay out', async () => {
    const cwd = await dir();
    const out = join(cwd, 'env');
    const loaded = loadTestWorkflow({
      environments: { prod: {} },
      audit: { sinks: [{ type: 'file', dir: join(cwd, 'audit') }], hmacKeyEnv: 'AUDIT_KEY' },
      probes: { api: { type: 'http', url: 'http://127.0.0.1:9/health', bearerTokenEnv: 'API_TOKEN' } },
      stages: [{ name: 'web', environment: 'prod', target: { type: 'command', deploy: ['sh', '-c', `env > ${out}`] } }],
    });
    const { outcome } = await run(loaded, { AUDIT_KEY: 'audit-key-value', API_TOKEN: 'api-token-value', ROLLGATE_AUDIT_KEY: 'default-key', KUBECONFIG: '/ci/kubeconfig' });
    expect(outcome.status).toBe('succeeded');
    const env = await readFile(out, 'utf8');
    expect(env).not.toMatch(/AUDIT_KEY=|API_TOKEN=|audit-key-value|api-token-value|default-key/);
    expect(env).toMatch(/^KUBECONFIG=\/ci\/kubeconfig$/m);
    expect(env).toMatch(/^ROLLGATE_PROCESS_TOKEN=[0-9a-f]{24}$/m);
  });
});

describe('secrets in what rollgate prints', () => {
  it('plan masks probe values and errors, as run does', async () => {
    const loaded = loadTestWorkflow({
      secrets: ['DB_PASSWORD'],
      environments: { prod: {} },
      probes: {
        leaky: { type: 'command', run: ['sh', '-c', 'echo "$DB_PASSWORD"'] },
        failing: { type: 'command', run: ['sh', '-c', 'echo "cannot log in with $DB_PASSWORD" >&2; exit 3'] },
      },
      stages: [{ name: 'web', environment: 'prod', when: 'probes.leaky.ok && probes.failing.ok', target: { type: 'command', deploy: ['true'] } }],
    });
    const env = { PATH, DB_PASSWORD: 'pa55-w0rd-value' };
    const inspected = await inspectPlan(loaded, planRun(loaded.workflow, { version: 'v2' }), { version: 'v2' }, env);
    const text = JSON.stringify(inspected);
    expect(text).not.toContain('pa55-w0rd-value');
    expect(inspected.stages[0]?.probes.leaky?.value).toBe('***');
    expect(inspected.stages[0]?.probes.failing?.error).toBe('command exited with code 3: cannot log in with ***');
  });

  it('masks the clouds’ standard credential variables without being told, and still hands them to commands (the aws CLI reads them)', async () => {
    const loaded = loadTestWorkflow({
      environments: { prod: {} },
      probes: { leaky: { type: 'command', run: ['sh', '-c', 'echo "$AWS_SECRET_ACCESS_KEY $AWS_SESSION_TOKEN $AZURE_CLIENT_SECRET $CLOUDSDK_AUTH_ACCESS_TOKEN $AWS_ACCESS_KEY_ID"'] } },
      stages: [{ name: 'web', environment: 'prod', when: 'probes.leaky.ok', target: { type: 'command', deploy: ['true'] } }],
    });
    const secrets = { AWS_SECRET_ACCESS_KEY: 'aws-secret-value-1', AWS_SESSION_TOKEN: 'aws-session-value-2', AZURE_CLIENT_SECRET: 'azure-secret-value-3', CLOUDSDK_AUTH_ACCESS_TOKEN: 'gcloud-token-value-4' };
    const { events } = await run(loaded, { ...secrets, AWS_ACCESS_KEY_ID: 'AKIDVISIBLE' });
    const measured = events.find((e) => e.kind === 'probes.measured');
    expect(measured?.kind === 'probes.measured' ? measured.snapshot.leaky?.value : undefined).toBe('*** *** *** *** AKIDVISIBLE');
    for (const value of Object.values(secrets)) expect(JSON.stringify(events)).not.toContain(value);
  });

  it('a probe’s output cut at its limit keeps no part of a secret', async () => {
    const secret = 'tail-of-this-secret-must-not-leak';
    const loaded = loadTestWorkflow({
      secrets: ['TOKEN'],
      environments: { prod: {} },
      // The secret straddles the 64 KiB the probe keeps: only its end would be left after the cut.
      probes: { big: { type: 'command', run: ['sh', '-c', `printf '%s' "$TOKEN"; head -c 65526 /dev/zero | tr '\\\\0' 'x'`] } },
      stages: [{ name: 'web', environment: 'prod', when: 'probes.big.ok', target: { type: 'command', deploy: ['true'] } }],
    });
    const { events } = await run(loaded, { TOKEN: secret });
    const measured = events.find((e) => e.kind === 'probes.measured');
    const value = measured?.kind === 'probes.measured' ? String(measured.snapshot.big?.value) : '';
    expect(value.length).toBeGreaterThan(65_000);
    for (let n = 4; n <= secret.length; n++) expect(value).not.toContain(secret.slice(-n));
  });

  it('warnings are masked at the edge: a failing subscriber that quotes a secret', async () => {
    const loaded = loadTestWorkflow({ secrets: ['TOKEN'], environments: { prod: {} }, stages: [{ name: 'web', environment: 'prod', target: { type: 'command', deploy: ['true'] } }] });
    const { warnings } = await run(loaded, { TOKEN: 'tok-123456-secret' }, {
      subscribers: [
        () => {
          throw new Error('could not post with tok-123456-secret');
        },
      ],
    });
    expect(warnings).toEqual(['an event subscriber failed and was dropped: could not post with ***']);
  });
});

describe('an input that holds a secret', () => {
  const gated = (cwd: string) =>
    loadTestWorkflow({
      inputs: { version: { default: 'v2' }, token: { required: true } },
      secrets: ['DEPLOY_TOKEN'],
      environments: { prod: {} },
      stages: [
        {
          name: 'web',
          environment: 'prod',
          approval: { type: 'manual' },
          target: { type: 'command', deploy: ['sh', '-c', `printf '%s' "$ROLLGATE_INPUT_TOKEN" > ${join(cwd, 'received')}`] },
        },
      ],
    });

  it('is kept out of the journal and read again from the environment on resume', async () => {
    const cwd = await dir();
    const loaded = gated(cwd);
    const store = new FileRunStore(join(cwd, 'run.json'));
    const env = { PATH, DEPLOY_TOKEN: 'dt-5ecret-value' };
    const first = await run(loaded, env, { store, inputs: { version: 'v2', token: 'Bearer-ish:dt-5ecret-value' } });
    expect(first.outcome.status).toBe('paused');
    const file = await readFile(join(cwd, 'run.json'), 'utf8');
    expect(file).not.toContain('dt-5ecret-value');
    expect(JSON.parse(file).secretInputs).toEqual({ token: ['Bearer-ish:', { env: 'DEPLOY_TOKEN' }] });
    const resumed = await resumeRun({ loaded, store, context, env, decision: { approve: true, by: 'bob' } });
    expect(resumed.status).toBe('succeeded');
    expect(await readFile(join(cwd, 'received'), 'utf8')).toBe('Bearer-ish:dt-5ecret-value');
  });

  it('says which variable to set when it is missing on resume, and changes nothing', async () => {
    const cwd = await dir();
    const loaded = gated(cwd);
    const store = new FileRunStore(join(cwd, 'run.json'));
    await run(loaded, { DEPLOY_TOKEN: 'dt-5ecret-value' }, { store, inputs: { token: 'dt-5ecret-value' } });
    const before = await readFile(join(cwd, 'run.json'), 'utf8');
    await expect(resumeRun({ loaded, store, context, env: { PATH }, decision: { approve: true, by: 'bob' } })).rejects.toThrow(
      /has inputs built from secrets, which the journal does not keep: set DEPLOY_TOKEN in this job's environment \(as in the job that started the run\) and resume again/,
    );
    expect(await readFile(join(cwd, 'run.json'), 'utf8')).toBe(before);
  });
});

describe('approvals', () => {
  it('show the gate’s message to approvers (event, pause message), and record the decision at real time', async () => {
    const loaded = loadTestWorkflow({
      environments: { prod: {} },
      sim: { services: { web: { version: 'v1' } } },
      stages: [{ name: 'web', environment: 'prod', approval: { type: 'manual', message: 'check the error budget first' }, target: { type: 'sim' } }],
    });
    const store = new MemoryRunStore();
    const events: RunEvent[] = [];
    const clock = createVirtualClock(Date.UTC(2026, 0, 1));
    await runWorkflow({ loaded, store, context, clock, subscribers: [(e) => events.push(e)] });
    const requested = events.find((e) => e.kind === 'approval.requested');
    expect(requested).toMatchObject({ message: 'check the error budget first', version: 'v2', environment: 'prod' });
    const paused = events.find((e) => e.kind === 'run.paused');
    expect(paused?.kind === 'run.paused' && paused.message).toMatch(/^approve web \(v2 to prod\): check the error budget first: rollgate resume/);
    const before = Date.now();
    const later: RunEvent[] = [];
    await resumeRun({ loaded, store, context, clock: createVirtualClock(Date.UTC(2026, 0, 1) + 3_600_000), decision: { approve: true, by: 'bob' }, subscribers: [(e) => later.push(e)] });
    const decided = later.find((e) => e.kind === 'approval.decided');
    expect(decided?.kind === 'approval.decided' && Date.parse(decided.decision.at ?? '')).toBeGreaterThanOrEqual(before);
    expect(decided?.wallTime && Date.parse(decided.wallTime)).toBeGreaterThanOrEqual(before);
    expect(decided?.time).toBe('2026-01-01T01:00:00.000Z');
  });
});

describe('plan over many stages', () => {
  it('measures the probes of 2,000 stages without a listener-limit warning', async () => {
    const stages = Array.from({ length: 2000 }, (_, i) => ({ name: `s${i}`, environment: 'prod', when: 'probes.db.ok', target: { type: 'sim', service: `svc${i}` } }));
    const loaded = loadTestWorkflow({ environments: { prod: {} }, probes: { db: { type: 'sim', measure: 'database' } }, stages });
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(w.name);
    process.on('warning', onWarning);
    try {
      const inspected = await inspectPlan(loaded, planRun(loaded.workflow, { version: 'v2' }), { version: 'v2' }, { PATH });
      expect(inspected.stages).toHaveLength(2000);
      expect(inspected.stages.every((s) => s.wouldRun === true)).toBe(true);
      await new Promise((r) => setImmediate(r));
      expect(warnings).not.toContain('MaxListenersExceededWarning');
    } finally {
      process.off('warning', onWarning);
    }
  });
});
