// Notifications: how fast an event reaches Slack, and what notifiers cost a rollout.
// Run: node bench/notifications.mjs   (after npm run build)
//
// 1. Event-to-delivery latency: 1,000 events a notifier wants, through the engine's notification
//    path (message model, delivery queue, the `slack` notifier and the real @slack/web-api) to the
//    local Slack server (core/src/testing/slack-server.ts), from the moment each event is emitted
//    to the moment the server receives its thread reply. Two loads: paced (one event every 5 ms,
//    a busy rollout) and a burst (all 1,000 at once, the worst case: one queue, in order).
//    Requirement: < 2 s; target: p99 < 200 ms.
// 2. A rollout on the wall clock with and without three notifiers (slack and webhook to local
//    servers, teams to a port where nothing listens), alternating runs, medians, until the run
//    returns (the end-of-run drain included). Target: ratio <= 1.01.
import { pathToFileURL } from 'node:url';
import { join } from 'node:path';
import { DIST, header, median, ms, percentile, ratio, requireBuild, table } from './lib.mjs';

requireBuild();
const imp = (p) => import(pathToFileURL(join(DIST, p)).href);
const lib = await imp('index.js');
const { Notifications } = await imp('engine/notifications.js');
const { notifierConfig } = await imp('definition/schema.js');
const { fakeDeps } = await imp('testing/fakes.js');
const { MemoryProviderStates } = await imp('testing/state.js');
const { startSlackServer } = await imp('testing/slack-server.js');
const { startWebhookReceiver } = await imp('testing/webhook-receiver.js');

const EVENTS = 1000;
const REPS = Math.max(5, Math.min(30, Number(process.env.BENCH_REPS ?? 9)));

header(`notifications: event-to-delivery latency to a local Slack (${EVENTS} events), and a rollout with vs without three notifiers`);

/** Emits `EVENTS` wanted events, `gapMs` apart (0: at once); resolves with each one's latency to the server. */
async function latency(gapMs) {
  const slack = await startSlackServer();
  const states = new MemoryProviderStates();
  const config = notifierConfig.parse({ type: 'slack', channel: '#deploys', apiUrl: slack.url, on: ['run.started', 'analysis.measured'] });
  const emitted = new Map();
  const notifications = new Notifications({
    configs: [config],
    deps: () => fakeDeps({ secret: () => slack.token }, { states, key: 'notifier/0' }),
    state: states.handle('notifications'),
    emit: () => {},
    onWarning: (w) => console.error(`warning: ${w}`),
  });
  let seq = 0;
  const at = () => new Date().toISOString();
  const emit = (body) => notifications.onEvent({ seq: ++seq, time: at(), runId: 'bench', ...body }, 'production');
  emit({ kind: 'run.started', workflow: 'bench', context: { actor: 'bench', ci: 'local' }, inputs: {}, resumed: false });
  emit({ kind: 'stage.started', stage: 'web', environment: 'production', strategy: 'canary', version: 'v2', steps: 3 });
  // The first message (and the client's lazy load) is not what this measures: wait for it.
  while (slack.messages('#deploys').length === 0) await new Promise((r) => setTimeout(r, 5));
  for (let i = 0; i < EVENTS; i++) {
    emitted.set(`m${i}`, Date.now());
    emit({ kind: 'analysis.measured', stage: 'web', metric: `m${i}`, value: 0.01, condition: 'result < 0.05', verdict: 'succeeded', unit: 'ratio' });
    if (gapMs > 0) await new Promise((r) => setTimeout(r, gapMs));
  }
  await notifications.close();
  const received = new Map();
  for (const r of slack.requests) {
    const text = r.body?.text ?? '';
    const match = /: (m\d+)=/.exec(text);
    if (match && r.body?.thread_ts && (r.status ?? 200) === 200) received.set(match[1], r.at);
  }
  await slack.close();
  const lat = [...emitted].filter(([k]) => received.has(k)).map(([k, t]) => received.get(k) - t);
  return { lat, delivered: received.size };
}

for (const [label, gap] of [
  ['paced, one event every 5 ms', 5],
  ['burst, all at once', 0],
]) {
  const { lat, delivered } = await latency(gap);
  console.log(`\n## latency, ${label}`);
  table([
    ['delivered', `${delivered} of ${EVENTS}`],
    ['p50', ms(percentile(lat, 50), 0)],
    ['p99', ms(percentile(lat, 99), 0)],
    ['max', ms(Math.max(...lat), 0)],
    ['requirement < 2 s', percentile(lat, 100) < 2000 ? 'MET' : 'MISSED'],
    ['target p99 < 200 ms', percentile(lat, 99) < 200 ? 'MET' : 'MISSED'],
  ]);
}

// 2. A rollout on the wall clock: three direct stages, 40 ms per start, with and without notifiers.
const slack = await startSlackServer();
const hook = await startWebhookReceiver();
const down = await startWebhookReceiver();
const downUrl = down.url;
await down.close();
const notifications = `notifications:
  - { type: slack, channel: "#deploys", apiUrl: ${slack.url}, on: ["run.*", "stage.*", "rollback.*"] }
  - { type: webhook, url: ${hook.url}, on: ["run.*", "stage.*"] }
  - { type: teams, urlEnv: TEAMS_URL }
`;
const text = (withNotifiers, startup) => `version: 1
name: bench
inputs: { version: { default: v2 } }
environments: { production: {} }
sim: { clock: real, services: { a: { version: v1 }, b: { version: v1 }, c: { version: v1 } }, versions: { v2: { startup: ${startup} } } }
stages:
  - { name: a, environment: production, target: { type: sim, service: a } }
  - { name: b, environment: production, needs: [a], target: { type: sim, service: b } }
  - { name: c, environment: production, needs: [b], target: { type: sim, service: c } }
${withNotifiers ? notifications : ''}`;
const env = { SLACK_BOT_TOKEN: slack.token, TEAMS_URL: downUrl.replace('/hooks/rollgate', '/workflows/x/triggers/manual/paths/invoke?sig=abc') };

async function rollout(withNotifiers, n, startup) {
  const parsed = lib.parseWorkflow(text(withNotifiers, startup), '/tmp/bench.yml');
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
  const loaded = { workflow: parsed.workflow, path: '/tmp/bench.yml', dir: '/tmp', text: text(withNotifiers, startup), sha256: 'x', warnings: [] };
  const warnings = [];
  const t0 = process.hrtime.bigint();
  let finishedMs = 0;
  const subscribers = [(e) => (e.kind === 'run.finished' ? (finishedMs = Number(process.hrtime.bigint() - t0) / 1e6) : undefined)];
  const outcome = await lib.runWorkflow({ loaded, store: new lib.MemoryRunStore(), context: { actor: 'bench', ci: 'local' }, env, runId: `bench-${withNotifiers}-${n}`, subscribers, onWarning: (w) => warnings.push(w) });
  const wallMs = Number(process.hrtime.bigint() - t0) / 1e6;
  if (outcome.status !== 'succeeded') throw new Error(`run ended ${outcome.status}`);
  return { wallMs, finishedMs, warnings };
}

for (const startup of ['40ms', '500ms']) {
  await rollout(false, 0, startup);
  await rollout(true, 0, startup);
  const off = [];
  const on = [];
  const offRollout = [];
  const onRollout = [];
  let lastWarnings = [];
  for (let i = 1; i <= REPS; i++) {
    const order = i % 2 ? [false, true] : [true, false];
    for (const w of order) {
      const r = await rollout(w, i, startup);
      (w ? on : off).push(r.wallMs);
      (w ? onRollout : offRollout).push(r.finishedMs);
      if (w) lastWarnings = r.warnings;
    }
  }
  console.log(`\n## a rollout on the wall clock (3 stages, ${startup} per start), ${REPS} alternating runs, medians`);
  table([
    ['rollout (to run.finished) without notifiers', ms(median(offRollout))],
    ['rollout (to run.finished) with slack, webhook, teams (down)', ms(median(onRollout))],
    ['rollout ratio', `${ratio(median(onRollout) / median(offRollout), 3)} (${median(onRollout) - median(offRollout) >= 0 ? '+' : ''}${ms(median(onRollout) - median(offRollout))})`],
    ['target <= 1.01', median(onRollout) / median(offRollout) <= 1.01 ? 'MET' : 'MISSED'],
    ['whole run (until it returns, the drain included) without', ms(median(off))],
    ['whole run with', ms(median(on))],
    ['whole-run ratio', `${ratio(median(on) / median(off), 3)} (+${ms(median(on) - median(off))}: the last messages delivered, the down one's last try)`],
    ['warning (the down one, once per run)', lastWarnings.join(' | ').slice(0, 160)],
  ]);
}
await slack.close();
await hook.close();
