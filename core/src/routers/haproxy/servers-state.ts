import { ProviderError } from '../../errors.js';

/*
 * What the Runtime API answers, parsed: `show servers state <backend>` (format version 1: a
 * version line, a `# name name …` header, one line of space-separated fields per server) and
 * `show info` (`Name: value` lines).
 */

/** A server's administrative state, as rollgate sets and restores it. */
export type Admin = 'ready' | 'drain' | 'maint';

export interface ServerState {
  /** The weight set at run time (`srv_uweight`), 0–256. */
  weight: number;
  admin: Admin;
}

// srv_admin_state bits (HAProxy's SRV_ADMF_*): forced, inherited, configured, resolver and hostname
// maintenance; forced and inherited drain.
const MAINT = 0x01 | 0x02 | 0x04 | 0x20 | 0x40;
const DRAIN = 0x08 | 0x10;

/** The servers of a backend by name, from the answer to `show servers state <backend>`. */
export function parseServersState(answer: string, backend: string, socket: string): Map<string, ServerState> {
  const lines = answer.split('\n').filter((l) => l.trim() !== '');
  const header = lines.find((l) => l.startsWith('# '));
  if (lines[0]?.trim() !== '1' || !header) {
    const said = answer.trim() || 'nothing';
    const missing = /can't find backend/i.test(said);
    throw new ProviderError(
      missing
        ? `haproxy router: HAProxy at ${socket} has no backend ${backend}; check \`backend\` against haproxy.cfg`
        : `haproxy router: unexpected answer from HAProxy at ${socket} to \`show servers state ${backend}\`: ${said.split('\n')[0]}`,
    );
  }
  const columns = header.slice(2).trim().split(/\s+/);
  const at = (name: string) => columns.indexOf(name);
  const [name, admin, weight] = [at('srv_name'), at('srv_admin_state'), at('srv_uweight')];
  const servers = new Map<string, ServerState>();
  for (const line of lines.slice(1)) {
    if (line.startsWith('#')) continue;
    const fields = line.trim().split(/\s+/);
    const flags = Number(fields[admin]);
    servers.set(fields[name] as string, {
      weight: Number(fields[weight]),
      admin: flags & MAINT ? 'maint' : flags & DRAIN ? 'drain' : 'ready',
    });
  }
  return servers;
}

/** The share of traffic a server takes part in: none in maintenance or drain. */
export function effectiveWeight(server: ServerState): number {
  return server.admin === 'ready' ? server.weight : 0;
}

/** Which HAProxy process answers: a reload or restart starts another one, which has lost runtime changes. */
export interface ProcessIdentity {
  pid: number;
  /** Start time, epoch seconds. */
  started: number;
}

export function parseInfo(answer: string, socket: string, nowMs: number): ProcessIdentity {
  const fields = new Map(
    answer
      .split('\n')
      .map((l) => l.split(': '))
      .filter((kv) => kv.length >= 2)
      .map(([k, ...v]) => [k as string, v.join(': ').trim()]),
  );
  const pid = Number(fields.get('Pid'));
  const uptime = Number(fields.get('Uptime_sec'));
  const started = fields.has('Start_time_sec') ? Number(fields.get('Start_time_sec')) : Math.round(nowMs / 1000 - uptime);
  if (!Number.isFinite(pid) || !Number.isFinite(started)) {
    throw new ProviderError(`haproxy router: unexpected answer from HAProxy at ${socket} to \`show info\`: ${answer.trim().split('\n')[0] ?? 'nothing'}`);
  }
  return { pid, started };
}

/** Whether two looks saw the same process (a start time read from the uptime may be a second off). */
export function sameProcess(a: ProcessIdentity, b: ProcessIdentity): boolean {
  return a.pid === b.pid && Math.abs(a.started - b.started) <= 1;
}
