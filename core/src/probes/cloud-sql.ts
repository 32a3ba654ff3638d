import { z } from 'zod';
import { duration } from '../config/fields.js';
import { gcpApi } from '../gcp/client.js';
import type { Probe } from '../ports/probe.js';
import type { ProviderDeps } from '../ports/provider-deps.js';
import { measureProbe } from './measure.js';

export const type = 'cloud-sql';

export const configSchema = z
  .strictObject({
    type: z.literal(type),
    instance: z.string().min(1).describe('The Cloud SQL instance ID (not its connection name)'),
    project: z.string().min(1).optional().describe("Its project (default: the environment's gcp.project, else the credentials' project)"),
    timeout: duration('Give up on this probe after this long (the whole snapshot stops at 4.9s)').prefault('3s'),
  })
  .describe(
    "Reads a Cloud SQL instance through the Cloud SQL Admin API: ok when its state is RUNNABLE and it is not stopped (activation policy NEVER); value: the state (RUNNABLE, SUSPENDED, PENDING_CREATE, MAINTENANCE, FAILED…); details: activation policy, database version and the start of a scheduled maintenance",
  );
export type CloudSqlProbeConfig = z.output<typeof configSchema>;

interface Instance {
  state?: string;
  databaseVersion?: string;
  settings?: { activationPolicy?: string };
  scheduledMaintenance?: { startTime?: string };
}

export function create(config: CloudSqlProbeConfig, deps: ProviderDeps): Probe {
  const api = gcpApi(deps, 'cloud-sql');
  return {
    type,
    check: (ctx) =>
      measureProbe('cloud-sql probe', config.timeout, ctx, async (c) => {
        const project = await api.project(c, config.project);
        const url = `${api.base('sqladmin')}/v1/projects/${encodeURIComponent(project)}/instances/${encodeURIComponent(config.instance)}`;
        const { body } = await api.call<Instance>({ url, what: `read the Cloud SQL instance ${project}/${config.instance}` }, c);
        const state = body.state ?? 'SQL_INSTANCE_STATE_UNSPECIFIED';
        const policy = body.settings?.activationPolicy ?? null;
        const maintenance = body.scheduledMaintenance?.startTime ?? null;
        const details = { activationPolicy: policy, databaseVersion: body.databaseVersion ?? null, scheduledMaintenance: maintenance };
        const stopped = state === 'RUNNABLE' && policy === 'NEVER';
        const ok = state === 'RUNNABLE' && !stopped;
        const error = ok
          ? undefined
          : stopped
            ? `instance ${project}/${config.instance} is stopped (activation policy NEVER); start it (gcloud sql instances patch ${config.instance} --activation-policy=ALWAYS)`
            : `instance ${project}/${config.instance} is ${state}, not RUNNABLE; ${nextStep(state, project, config.instance)}`;
        return { ok, value: state, details, ...(error ? { error } : {}) };
        // The API client's errors start with `cloud-sql: `, which the probe's own name replaces.
      }, /^cloud-sql: /),
  };
}

/** What to do about a Cloud SQL instance that is not RUNNABLE (its states as the Admin API names them). */
function nextStep(state: string, project: string, instance: string): string {
  const describe = `gcloud sql instances describe ${instance} --project ${project}`;
  switch (state) {
    case 'MAINTENANCE':
      return `it is in its maintenance window: wait for it to end and run again (${describe} shows the window)`;
    case 'SUSPENDED':
      return `Cloud SQL suspends an instance for billing or policy reasons: check the project's billing account and ${describe}`;
    case 'PENDING_CREATE':
      return 'it is still being created: wait and run again';
    default:
      return `check it (${describe}) and the instance's operations (gcloud sql operations list --instance ${instance} --project ${project})`;
  }
}
