import { access } from 'node:fs/promises';
import { findByToken, groupAlive, stopGroups, type StopResult } from '../util/process-scan.js';
import { SETTLE_MS } from './deadline.js';
import type { RunSession } from './run-session.js';

/** Where processes are looked up and how they are stopped: real by default, replaced in tests. */
export interface OrphanSeams {
  procRoot?: string;
  stop?: (groups: number[]) => Promise<StopResult>;
}

/**
 * Before a resumed run undoes anything, the commands that a killed rollgate left running must be
 * stopped: an undo that overlaps the deploy it undoes can be overtaken by it, and the new version
 * would be live after a rollback that says it is gone. They are found by the token of the dead
 * process in their environment (Linux), or by the process groups the journal recorded (elsewhere),
 * given SIGTERM, then SIGKILL after the usual settle time.
 *
 * Returns, per stage, what could not be stopped: those stages need a person before their undo runs.
 */
export async function stopOrphanedCommands(session: RunSession, os: OrphanSeams = {}): Promise<Map<string, string[]>> {
  const { journal } = session;
  const procRoot = os.procRoot ?? '/proc';
  const stop = os.stop ?? ((groups: number[]) => stopGroups(groups, SETTLE_MS));
  const here = session.processes.host;
  const recorded = (journal.processes ?? []).filter((p) => p.host === here);
  const elsewhere = (journal.processes ?? []).filter((p) => p.host !== here);
  const found = await findByToken(session.processes.otherTokens(), procRoot);
  // Where /proc cannot be read, the recorded groups are all there is to go on.
  const scanned = found.length > 0 || (await procReadable(procRoot));
  const groups = new Map<number, { stage: string; command: string }>();
  for (const p of found) groups.set(p.pgid, { stage: p.stage ?? stageOf(recorded, p.pgid) ?? '', command: commandOf(recorded, p.pgid) ?? `pid ${p.pid}` });
  if (!scanned) for (const p of recorded) if (groupAlive(p.pgid)) groups.set(p.pgid, { stage: p.stage, command: p.command });

  const left = new Map<string, string[]>();
  if (groups.size > 0) {
    const { stopped, survivors } = await stop([...groups.keys()]);
    const describe = (g: number) => `${groups.get(g)?.command ?? 'command'} (process group ${g})`;
    for (const [stage, list] of byStage(groups, stopped)) {
      session.emit({
        kind: 'decision.made',
        stage,
        decision: 'stop orphaned commands',
        reason: `the rollgate process that ran this stage died while ${list.length} command(s) still ran: ${list.map(describe).join(', ')}; stopped them before undoing anything`,
        evidence: { values: { processGroups: list, host: here } },
      });
    }
    for (const [stage, list] of byStage(groups, survivors)) left.set(stage, list.map((g) => `${describe(g)} still runs after SIGKILL on ${here}`));
  }
  for (const p of elsewhere) {
    session.emit({
      kind: 'decision.made',
      stage: p.stage,
      decision: 'orphaned command not checked',
      reason: `${p.command} (process group ${p.pgid}) was started on ${p.host}, not on this machine (${here}), so rollgate cannot tell whether it still runs; a CI runner that died usually took it with it`,
      evidence: { values: { processGroup: p.pgid, host: p.host } },
    });
  }
  journal.processes = [];
  return left;
}

function byStage(groups: Map<number, { stage: string }>, pgids: number[]): Map<string, number[]> {
  const out = new Map<string, number[]>();
  for (const g of pgids) {
    const stage = groups.get(g)?.stage ?? '';
    out.set(stage, [...(out.get(stage) ?? []), g]);
  }
  return out;
}

function stageOf(recorded: { pgid: number; stage: string }[], pgid: number): string | undefined {
  return recorded.find((r) => r.pgid === pgid)?.stage;
}

function commandOf(recorded: { pgid: number; command: string }[], pgid: number): string | undefined {
  return recorded.find((r) => r.pgid === pgid)?.command;
}

function procReadable(procRoot: string): Promise<boolean> {
  return access(`${procRoot}/self/environ`).then(
    () => true,
    () => false,
  );
}
