import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { auditTrailHead, type Workflow } from '../../core/src/index.js';

/**
 * Where a run's audit trail is on disk, from the workflow's own `audit.sinks`: the `file` sink's
 * `<dir>/<run-id>.jsonl` (the trail), and the `http` sink's spool of entries it could not deliver.
 * These are what the post step uploads and what the job summary is built from.
 */
export interface AuditFiles {
  /** The trail of the first `file` sink; absent when the workflow writes none. */
  trail?: string;
  /** Every file of the run that exists now: trails and spools. */
  existing: string[];
}

interface SinkShape {
  type: string;
  dir?: string;
  spoolDir?: string;
}

export function auditFiles(workflow: Workflow, runId: string, cwd = process.cwd()): AuditFiles {
  const sinks = workflow.audit.sinks as SinkShape[];
  const trails = sinks.filter((s) => s.type === 'file').map((s) => resolve(cwd, s.dir ?? '.rollgate/audit', `${runId}.jsonl`));
  const spools = sinks.filter((s) => s.type === 'http').map((s) => resolve(cwd, s.spoolDir ?? '.rollgate/audit', `${runId}.undelivered.jsonl`));
  const all = [...new Set([...trails, ...spools])];
  return { ...(trails[0] ? { trail: trails[0] } : {}), existing: all.filter((f) => existsSync(f)) };
}

/** The chain head to record (`audit-chain-head`): the hash of the trail's last whole entry. */
export async function chainHead(trail: string | undefined): Promise<{ seq: number; hash: string } | undefined> {
  if (!trail || !existsSync(trail)) return undefined;
  const head = await auditTrailHead(trail);
  return head.hash ? { seq: head.seq, hash: head.hash } : undefined;
}

/** A path as the user wrote paths: relative to the workspace when it is inside it. */
export function shown(path: string, workspace: string): string {
  const base = resolve(workspace);
  const full = resolve(path);
  return full.startsWith(`${base}/`) ? full.slice(base.length + 1) : full;
}
