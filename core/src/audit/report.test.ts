import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { entry, lines, RUN, sealAll, tempDir, writeTrail } from '../../../tests/fixtures/audit/trails.js';
import { resumeRun } from '../engine/executor.js';
import { createVirtualClock } from '../clocks/virtual.js';
import { loadTestWorkflow, runTestWorkflow } from '../testing/workflows.js';
import type { UnsealedEntry } from './entry.js';
import { reportRun } from './report.js';

/**
 * A real run that needs everything the report shows: paused at an approval gate, approved on
 * GitHub Actions, a bad version rolled back, an undo that fails (manual intervention), and a
 * second resume that finishes the rollback. Three sessions, one file, HMAC-signed.
 */
async function gatedRunWithRollback(key?: string) {
  const dir = await tempDir();
  const loaded = loadTestWorkflow({
    sim: { services: { web: { version: 'v1' } }, failures: [{ kind: 'bad-version', version: 'v2' }, { kind: 'compensation-fails', operation: 'revert', count: 3 }] },
    audit: { ...(key ? { hmacKeyEnv: 'AUDIT_KEY' } : {}), sinks: [{ type: 'file', dir }] },
    stages: [{ name: 'web', environment: 'production', approval: { type: 'manual' }, target: { type: 'sim', service: 'web' } }],
  });
  const env: Record<string, string> = key ? { AUDIT_KEY: key } : {};
  const { outcome, store } = await runTestWorkflow(loaded, { env });
  const github = { actor: 'bob', ci: 'github' as const, repository: 'acme/web', commit: 'abc123', ref: 'refs/heads/main', runUrl: 'https://github.com/acme/web/actions/runs/1' };
  const decision = { approve: true, by: 'carol', comment: 'dashboards | green' };
  await resumeRun({ loaded, store, env, context: github, clock: createVirtualClock(Date.UTC(2026, 0, 2)), decision });
  await resumeRun({ loaded, store, env, context: { actor: 'bob', ci: 'local' }, clock: createVirtualClock(Date.UTC(2026, 0, 3)) });
  const runId = outcome.journal.runId;
  return { dir, runId, file: join(dir, `${runId}.jsonl`) };
}

/** `md` holds `template`, where `<T>` stands for any time: a simulated run's entries are at real times. */
function expectHas(md: string, template: string): void {
  const escaped = template.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replaceAll('<T>', '\\d{4}-\\d{2}-\\d{2} \\d{2}:\\d{2}:\\d{2}');
  expect(md).toMatch(new RegExp(escaped));
}

describe('reportRun on a real run', () => {
  it('tells the whole story: header, sessions, timeline, changes, decisions, approvals, rollback, integrity', async () => {
    const { dir, runId, file } = await gatedRunWithRollback();
    const md = await reportRun([dir], runId);
    expect(md).toContain(`# Run report: ${runId}\n\n- **Workflow:** web\n- **Run:** ${runId}\n- **Started by:** alice\n- **CI:** local\n- **Run URL:** —\n`);
    // The run was simulated: its entries are at real times, with the simulated clock's beside them.
    expectHas(md, '- **Start:** <T> UTC\n- **Clock:** simulated: times are real (UTC); the Timeline also shows each event on the simulated clock\n- **End:** <T> UTC\n- **Final status:** **rolled-back**\n- **Audit chain:** verifies (see Integrity)\n');
    expectHas(md, `| <T> | 2026-01-01 00:00:00 | — | run ${runId} of web started by alice |`);
    expectHas(md, '| <T> | resumed | bob | github | acme/web | abc123 | refs/heads/main | https://github.com/acme/web/actions/runs/1 |');
    expectHas(md, '| <T> | web | service/web | version | v1 → v2 |\n| <T> | web | service/web | version | v2 → v1 |');
    expect(md).toMatch(/\| \d{4}-[\d:\- ]+ \| web \| abort \| web: abort because health check failed: .* \| — \| health: \{"healthy":false,.*\}; detectedAt: 2026-01-02T00:00:20.000Z \|/);
    expectHas(md, '| <T> | web | — | requested | — | — | web: approval needed (approval-web, manual)');
    expectHas(md, '| <T> | web | approval-web | approved | carol | <T> | dashboards \\| green |');
    expect(md).toMatch(/\| \d{4}-[\d:\- ]+ \| web \| \*\*undo failed\*\* \| web: undo revert web to v1 FAILED: sim: revert of web failed/);
    expect(md).toMatch(/\| \d{4}-[\d:\- ]+ \| web \| \*\*rollback incomplete\*\* \|/);
    expect(md).toMatch(/\| \d{4}-[\d:\- ]+ \| web \| \*\*manual intervention required\*\* \| web: MANUAL INTERVENTION REQUIRED: revert web to v1/);
    expectHas(md, '| <T> | web | undone | web: undo revert web to v1 done |\n| <T> | web | rollback complete | web: rollback complete |');
    expect(md).toContain(`line(s) of step output are left out: \`rollgate audit query --run ${runId} --kind step.output\` lists them.`);
    expect(md).toContain('## Analysis\n\n_No analysis ran._');
    expect(md).toMatch(/## Integrity\n\nThe chain verifies: \d+ entries, each hash matches its entry and links to the one before\.\n\nRead from: `.*\.jsonl`\.\n$/);
    expect(md).not.toContain('step.output |');
    // The same run found by file name or by content gives the same report.
    expect(await reportRun([file], runId)).toBe(md);
  });

  it('names the CI job and the pull request of the run in its header, when the platform gave them', async () => {
    const dir = await tempDir();
    const loaded = loadTestWorkflow({
      sim: { services: { web: { version: 'v1' } } },
      audit: { sinks: [{ type: 'file', dir }] },
      stages: [{ name: 'web', environment: 'staging', target: { type: 'sim', service: 'web' } }],
    });
    const context = { actor: 'alice', ci: 'jenkins' as const, job: 'web/PR-42 #7', commit: 'abc123', ref: 'PR-42', change: 'PR-42', runUrl: 'https://ci/job/web/7/' };
    const { outcome } = await runTestWorkflow(loaded, { context });
    const md = await reportRun([dir], outcome.journal.runId);
    expect(md).toContain('- **CI:** jenkins · web/PR-42 #7 · commit abc123 · PR-42 · change PR-42\n- **Run URL:** https://ci/job/web/7/\n');
  });

  it('checks the HMACs when given the key, and says so when they were not checked', async () => {
    const { dir, runId } = await gatedRunWithRollback('k3y');
    expect(await reportRun([dir], runId, { key: 'k3y' })).toContain('links to the one before. Every HMAC matches the key given.');
    expect(await reportRun([dir], runId)).toContain('links to the one before. The entries carry HMACs, not checked (no key given).');
    const wrong = await reportRun([dir], runId, { key: 'nope' });
    expect(wrong).toContain('- **Audit chain:** **BROKEN** at');
    expect(wrong).toMatch(/\*\*The chain does not verify\*\*: .*\.jsonl:1: HMAC of entry 1 does not match \(wrong key, or written by someone without it\)\. Entries from there on/);
  });

  it('makes one report of a run resumed into several files, each event once', async () => {
    const { dir, runId, file } = await gatedRunWithRollback();
    const all = (await readFile(file, 'utf8')).trim().split('\n');
    const split = await tempDir();
    // Job 1 kept its part; job 2 downloaded it, continued it, and uploaded the whole (renamed).
    await writeTrail(split, `job1/${runId}.jsonl`, all.slice(0, 4));
    await writeTrail(split, 'job2/trail.jsonl', all);
    const md = await reportRun([split], runId);
    expect(md.match(/\| resumed \|/g)).toHaveLength(2);
    expect(md.match(/web: approved by carol/g)).toHaveLength(1);
    expect(md).toContain('Read from: `' + join(split, `job1/${runId}.jsonl`) + '`, `' + join(split, 'job2/trail.jsonl') + '`.');
    expect(md).toContain('The chain verifies');
    // A resume that continued the chain in a file of its own.
    const continued = await tempDir();
    await writeTrail(continued, 'a.jsonl', all.slice(0, 4));
    await writeTrail(continued, 'b.jsonl', all.slice(4));
    expect(await reportRun([continued], runId)).toBe((await reportRun([dir], runId)).replace(`Read from: \`${file}\``, `Read from: \`${join(continued, 'a.jsonl')}\`, \`${join(continued, 'b.jsonl')}\``));
  });
});

describe('reportRun on entries a run can carry', () => {
  const at = (s: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, s)).toISOString();
  const ci = { platform: 'gitlab' as const, repository: 'acme/api', commit: 'def456', ref: 'main', runUrl: 'https://gitlab.example/p/1' };
  const specs: Partial<UnsealedEntry>[] = [
    { kind: 'run.started', outcome: 'info', message: 'run started by dana', actor: 'dana', ci },
    { kind: 'stage.skipped', outcome: 'skipped', stage: 'db', message: 'stage db skipped: <b>maintenance</b>', evidence: { condition: 'probes.db.ok', values: { maintenance: true }, verdict: 'skip' } },
    { kind: 'stage.skipped', outcome: 'skipped', stage: 'cache', message: 'stage cache skipped: not selected' },
    {
      kind: 'probes.measured',
      outcome: 'info',
      stage: 'web',
      message: 'probes: api=ok(200) db=FAIL',
      evidence: { probes: { api: { ok: true, value: 200, latencyMs: 3 }, db: { ok: false, value: null, latencyMs: 5, error: 'connection refused' }, q: { ok: false, value: 7, latencyMs: 1 } } },
    },
    { kind: 'analysis.measured', outcome: 'succeeded', stage: 'web', message: 'm', evidence: { condition: 'result < 0.01', values: { metric: 'error-rate', value: 0.0029286442, unit: 'ratio' }, verdict: 'succeeded' } },
    { kind: 'analysis.measured', outcome: 'info', stage: 'web', message: 'm', evidence: { condition: 'result < 0.01', values: { metric: 'error-rate', value: null, reason: 'no data yet' }, verdict: 'inconclusive' } },
    { kind: 'analysis.measured', outcome: 'info', stage: 'web', message: 'an analysis entry from another writer, without evidence' },
    { kind: 'approval.decided', outcome: 'paused', stage: 'web', message: 'web: pending', approval: { status: 'pending', gate: 'g' } },
    { kind: 'weight.changed', outcome: 'info', stage: 'web', message: 'web: weight 0% -> 10%', changes: [{ object: 'traffic/web', field: 'weight', before: 0, after: 10 }] },
    { kind: 'step.output', outcome: 'info', stage: 'web', message: 'web/deploy | line' },
    {
      kind: 'manual-intervention.required',
      outcome: 'manual-intervention-required',
      stage: 'web',
      message: 'web: MANUAL INTERVENTION REQUIRED: revert',
      evidence: { values: { instructions: ['put v1 back on web', 'then run rollgate resume --resolved'] } },
    },
    { kind: 'manual-intervention.required', outcome: 'manual-intervention-required', stage: 'db', message: 'db: MANUAL INTERVENTION REQUIRED: x' },
    { kind: 'stage.started', outcome: 'info', stage: 'web', message: 'stage web started' },
  ];
  const trail = () => sealAll(specs.map((s, i) => entry({ eventSeq: i + 1, ts: at(i), ...s })));

  it('shows evidence, probe readings, analysis without data, pending approvals and instructions; an unfinished run says so', async () => {
    const dir = await tempDir();
    await writeTrail(dir, `${RUN}.jsonl`, trail());
    const md = await reportRun([dir], RUN);
    expect(md).toContain('- **Started by:** dana\n- **CI:** gitlab · acme/api · commit def456 · main\n- **Run URL:** https://gitlab.example/p/1\n');
    expect(md).toContain('- **End:** —\n- **Final status:** unfinished: the trail ends at stage.started (still running, or its process died)\n');
    expect(md).toContain('| 2026-01-01 00:00:01 | db | skip | stage db skipped: &lt;b>maintenance&lt;/b> | probes.db.ok | maintenance: true |');
    expect(md).not.toContain('stage cache skipped: not selected | —');
    expect(md).toContain('| probes measured | probes: api=ok(200) db=FAIL | — | api: 200 (ok); db: (none) (FAIL: connection refused); q: 7 (FAIL) |');
    expect(md).toContain('| 2026-01-01 00:00:04 | web | error-rate | 0.293% | result &lt; 0.01 | succeeded | — |\n| 2026-01-01 00:00:05 | web | error-rate | no data | result &lt; 0.01 | inconclusive | no data yet |\n| 2026-01-01 00:00:06 | web | — | no data | — | — | — |');
    expect(md).toContain('| 2026-01-01 00:00:07 | web | g | pending | unknown | — | — |');
    expect(md).toContain('| 2026-01-01 00:00:08 | web | traffic/web | weight | 0 → 10 |');
    expect(md).toContain('\nWhat to do by hand (stage web, 2026-01-01 00:00:10 UTC):\n\n1. put v1 back on web\n2. then run rollgate resume --resolved\n');
    expect(md).toContain('1 line(s) of step output are left out');
    // Without instructions in the entry, the row alone.
    expect(md).toContain('| db | **manual intervention required** | db: MANUAL INTERVENTION REQUIRED: x |\n\nWhat to do by hand (stage web');
  });

  it('says what is missing: no run.started, no changes, no decision, no approval, no rollback, no step output', async () => {
    const dir = await tempDir();
    await writeTrail(dir, `${RUN}.jsonl`, sealAll([entry({ kind: 'stage.started', message: 'a \\ b' }), entry({ eventSeq: 2, kind: 'run.finished', outcome: 'succeeded' })]));
    const md = await reportRun([dir], RUN);
    expect(md).toContain('- **Started by:** alice\n- **CI:** local\n');
    expect(md).toContain('- **Final status:** **succeeded**');
    expect(md).toContain('## Sessions\n\n_No run.started entry in the trail._');
    expect(md).toContain('| 2026-01-01 00:00:00 | — | a \\\\ b |');
    for (const none of ['No infrastructure change recorded.', 'No decision recorded.', 'No approval gate.', 'Nothing was rolled back.']) expect(md).toContain(`_${none}_`);
    expect(md).not.toContain('step output');
  });

  it('reports a broken chain and a torn last line, and still shows the entries as written', async () => {
    const dir = await tempDir();
    const t = lines(trail());
    const edited = t.map((l, i) => (i === 3 ? l.replace('connection refused', 'all fine') : l));
    await writeTrail(dir, `${RUN}.jsonl`, `${edited.join('\n')}\n{"format":"rollg`);
    const md = await reportRun([dir], RUN);
    expect(md).toContain(`- **Audit chain:** **BROKEN** at ${join(dir, `${RUN}.jsonl`)}:4 (see Integrity)`);
    expect(md).toContain(`**The chain does not verify**: ${join(dir, `${RUN}.jsonl`)}:4: entry 4 was changed (its hash does not match its content).`);
    expect(md).toContain('(FAIL: all fine)');
    const intactButTorn = await tempDir();
    await writeTrail(intactButTorn, `${RUN}.jsonl`, `${t.join('\n')}\n{"format":"rollg`);
    expect(await reportRun([intactButTorn], RUN)).toContain(
      `The chain verifies: 13 entries, each hash matches its entry and links to the one before.\nWarning: ${join(intactButTorn, `${RUN}.jsonl`)}:14: the last line is incomplete: the writer stopped mid-write.`,
    );
  });
});

describe('reportRun on a simulated run', () => {
  it('shows real times, says the clock was simulated, and gives each event its simulated time beside', async () => {
    const dir = await tempDir();
    const sim = (s: number) => new Date(Date.UTC(2026, 0, 1, 13, 0, s)).toISOString();
    const real = (s: number) => new Date(Date.UTC(2026, 5, 1, 9, 0, s)).toISOString();
    const specs: Partial<UnsealedEntry>[] = [
      { kind: 'run.started', outcome: 'info', message: 'run started' },
      { kind: 'approval.decided', outcome: 'succeeded', stage: 'web', message: 'web: approved by carol', approval: { status: 'approved', by: 'carol', gate: 'approval-web' } },
      { kind: 'step.output', outcome: 'info', stage: 'web', message: 'web/deploy | line' },
      { kind: 'run.finished', outcome: 'succeeded', message: 'done' },
    ];
    await writeTrail(dir, `${RUN}.jsonl`, sealAll(specs.map((x, i) => entry({ eventSeq: i + 1, ts: real(i), simTime: sim(i * 60), ...x }))));
    const md = await reportRun([dir], RUN);
    expect(md).toContain('- **Start:** 2026-06-01 09:00:00 UTC\n- **Clock:** simulated: times are real (UTC); the Timeline also shows each event on the simulated clock\n');
    expect(md).toContain('| Time (UTC) | Simulated time | Stage | What happened |');
    expect(md).toContain('| 2026-06-01 09:00:01 | 2026-01-01 13:01:00 | web | web: approved by carol |');
    // A run on the real clock has no such column.
    const plain = await tempDir();
    await writeTrail(plain, `${RUN}.jsonl`, sealAll([entry({ kind: 'run.finished', outcome: 'succeeded' })]));
    const md2 = await reportRun([plain], RUN);
    expect(md2).not.toContain('Simulated');
    expect(md2).not.toContain('**Clock:**');
  });
});

describe('reportRun errors', () => {
  it('lists the runs it found when the run is not there', async () => {
    const dir = await tempDir();
    for (let i = 0; i < 12; i++) {
      const id = `web-202601${String(i + 10)}-000000-abcdef`;
      await writeTrail(dir, `${id}.jsonl`, sealAll([entry({ runId: id })]));
    }
    await expect(reportRun([dir], 'web-nope')).rejects.toThrow(
      `run web-nope is not in the audit trail at ${dir} (12 files); runs found: web-20260110-000000-abcdef, web-20260111-000000-abcdef, web-20260112-000000-abcdef, web-20260113-000000-abcdef, web-20260114-000000-abcdef, web-20260115-000000-abcdef, web-20260116-000000-abcdef, web-20260117-000000-abcdef, web-20260118-000000-abcdef, web-20260119-000000-abcdef, … (12 in all). Pass one of those to --run, or the folder that holds the run's trail.`,
    );
    const one = await tempDir();
    await writeTrail(one, 'a.jsonl', sealAll([entry()]));
    await expect(reportRun([one], 'x')).rejects.toThrow(`(1 file); runs found: ${RUN}. Pass one`);
  });

  it('says when there are no files, or no readable entries', async () => {
    const empty = await tempDir();
    await expect(reportRun([empty], RUN)).rejects.toThrow(`no audit files (*.jsonl) in ${empty}: pass the folder or files that hold the run's trail`);
    await writeFile(join(empty, 'junk.jsonl'), 'junk\n');
    await expect(reportRun([empty], RUN)).rejects.toThrow('(1 file); they hold no readable entries.');
  });
});
