import { GoogleFault } from './errors.js';

/*
 * Cloud SQL Admin API v1 instances (their state as a test sets it) and the Cloud Monitoring PromQL
 * query API (answers as a test sets them, in the Prometheus HTTP API's shape).
 */

export type SqlState = 'RUNNABLE' | 'SUSPENDED' | 'PENDING_CREATE' | 'MAINTENANCE' | 'FAILED' | 'UNKNOWN_STATE';

export interface SqlInstance {
  state: SqlState;
  activationPolicy?: 'ALWAYS' | 'NEVER' | 'ON_DEMAND';
  databaseVersion?: string;
  region?: string;
  /** A maintenance Google has scheduled (ISO time), shown as scheduledMaintenance.startTime. */
  maintenanceAt?: string;
}

export class CloudSql {
  readonly instances = new Map<string, SqlInstance>();

  set(project: string, instance: string, value: SqlInstance): void {
    this.instances.set(`${project}/${instance}`, value);
  }

  get(project: string, instance: string): unknown {
    const i = this.instances.get(`${project}/${instance}`);
    // Cloud SQL answers 403 for an instance that does not exist, as for one the caller may not see.
    if (!i) throw new GoogleFault(403, 'PERMISSION_DENIED', `The client is not authorized to make this request.`);
    return {
      kind: 'sql#instance',
      name: instance,
      project,
      connectionName: `${project}:${i.region ?? 'europe-west1'}:${instance}`,
      state: i.state,
      databaseVersion: i.databaseVersion ?? 'POSTGRES_16',
      region: i.region ?? 'europe-west1',
      settings: { tier: 'db-custom-1-3840', activationPolicy: i.activationPolicy ?? 'ALWAYS' },
      ...(i.maintenanceAt ? { scheduledMaintenance: { startTime: i.maintenanceAt, canDefer: true, canReschedule: true } } : {}),
    };
  }
}

/** One answer of the PromQL API: a number (one series), `undefined` (an empty vector), or an error. */
export type PromAnswer = number | undefined | { error: string; errorType?: string; status?: number };

export class Monitoring {
  private readonly answers: { query: string | RegExp; answer: () => PromAnswer }[] = [];

  /** How `query` (a string, or a pattern) is answered from now on. */
  on(query: string | RegExp, answer: PromAnswer | (() => PromAnswer)): void {
    this.answers.unshift({ query, answer: typeof answer === 'function' ? answer : () => answer });
  }

  query(project: string, query: string, now: number): { status: number; body: unknown } {
    if (!query) throw new GoogleFault(400, 'INVALID_ARGUMENT', 'query is required');
    const found = this.answers.find((a) => (typeof a.query === 'string' ? a.query === query : a.query.test(query)));
    const answer = found?.answer();
    if (answer !== undefined && typeof answer === 'object') return { status: answer.status ?? 400, body: { status: 'error', errorType: answer.errorType ?? 'bad_data', error: answer.error } };
    const result = answer === undefined ? [] : [{ metric: { project_id: project }, value: [now / 1000, String(answer)] }];
    return { status: 200, body: { status: 'success', data: { resultType: 'vector', result } } };
  }
}
