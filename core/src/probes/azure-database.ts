import { z } from 'zod';
import { armClient, isNotFound } from '../azure/arm.js';
import { duration } from '../config/fields.js';
import { errorMessage } from '../errors.js';
import type { ProbeResult } from '../model/results.js';
import type { Probe } from '../ports/probe.js';
import type { ProviderDeps } from '../ports/provider-deps.js';
import { formatLimit } from '../util/command-runner.js';

/*
 * The state of an Azure database as Resource Manager reports it, for a gate before a deploy (the
 * database is not being updated or failed over) or a wait (a restored server is Ready):
 *   - Azure Database for PostgreSQL or MySQL flexible server: `properties.state` (Ready, Starting,
 *     Stopping, Stopped, Updating, Disabled, Dropping…), ok when Ready; high availability (mode,
 *     state: Healthy, FailingOver, CreatingStandby…) in the details;
 *   - Azure SQL Database: `properties.status` of the database (Online, Paused, Resuming, Scaling,
 *     Offline…), ok when Online.
 * A probe never throws: a missing server, refused credentials or throttling are `ok: false` with
 * the reason.
 */
export const type = 'azure-database';

const KINDS = {
  'postgres-flexible': { provider: 'Microsoft.DBforPostgreSQL/flexibleServers', apiVersion: '2022-12-01', what: 'PostgreSQL flexible server', ready: 'Ready' },
  'mysql-flexible': { provider: 'Microsoft.DBforMySQL/flexibleServers', apiVersion: '2023-12-30', what: 'MySQL flexible server', ready: 'Ready' },
  sql: { provider: 'Microsoft.Sql/servers', apiVersion: '2021-11-01', what: 'SQL database', ready: 'Online' },
} as const;

export const configSchema = z
  .strictObject({
    type: z.literal(type),
    server: z.string().min(1).max(63).describe('Name of the server (the flexible server, or the logical SQL server)'),
    kind: z.enum(['postgres-flexible', 'mysql-flexible', 'sql']).describe('`postgres-flexible`, `mysql-flexible` (Azure Database flexible servers) or `sql` (an Azure SQL database on a logical server)'),
    database: z.string().min(1).optional().describe('The database on the SQL server (kind sql)'),
    resourceGroup: z.string().min(1).max(90).optional().describe("The server's resource group (default: the environment's azure.resourceGroup)"),
    timeout: duration('Give up on this probe after this long (the whole snapshot stops at 4.9s, so a state check ends within 5s)').prefault('3s'),
  })
  .refine((c) => c.kind !== 'sql' || c.database !== undefined, { message: 'kind sql reads one database: give database', path: ['database'] })
  .describe('The state of an Azure database (PostgreSQL or MySQL flexible server, Azure SQL database): ok when Ready (Online for SQL); value: the state');
export type AzureDatabaseProbeConfig = z.output<typeof configSchema>;

interface ServerBody {
  properties?: {
    state?: string;
    status?: string;
    highAvailability?: { mode?: string; state?: string; standbyAvailabilityZone?: string } | null;
    availabilityZone?: string;
    currentServiceObjectiveName?: string;
  };
}

export function create(config: AzureDatabaseProbeConfig, deps: ProviderDeps): Probe {
  const client = armClient(deps, `azure-database probe`);
  const kind = KINDS[config.kind];
  const name = config.kind === 'sql' ? `${kind.what} ${config.server}/${String(config.database)}` : `${kind.what} ${config.server}`;

  /** What to do about a database that is not ready, by its state. */
  const notReady = (state: string): string => {
    const group = config.resourceGroup ? ` --resource-group ${config.resourceGroup}` : '';
    if (config.kind === 'sql') {
      if (state === 'Paused') return 'a serverless database resumes on its first connection: connect to it once (or run again after it resumes), or turn off auto-pause';
      return `wait for it to become Online and run again (az sql db show --server ${config.server} --name ${String(config.database)}${group})`;
    }
    const cli = config.kind === 'postgres-flexible' ? 'postgres' : 'mysql';
    if (state === 'Stopped') return `start it (az ${cli} flexible-server start --name ${config.server}${group}) and run again`;
    return `wait for the operation in progress to end and run again (az ${cli} flexible-server show --name ${config.server}${group})`;
  };

  return {
    type,
    async check(ctx): Promise<ProbeResult> {
      const started = performance.now();
      const latencyMs = () => Math.round(performance.now() - started);
      const signal = AbortSignal.any([ctx.signal, AbortSignal.timeout(config.timeout)]);
      try {
        if (ctx.signal.aborted) throw new Error('cancelled');
        const arm = await client({ ...ctx, signal });
        const path = `${arm.scope(config.resourceGroup)}/providers/${kind.provider}/${encodeURIComponent(config.server)}${config.kind === 'sql' ? `/databases/${encodeURIComponent(String(config.database))}` : ''}`;
        const body = (await arm.call<ServerBody>({ path, apiVersion: kind.apiVersion, what: `read ${name}` })).body?.properties ?? {};
        const state = (config.kind === 'sql' ? body.status : body.state) ?? 'Unknown';
        const ha = body.highAvailability;
        const details: Record<string, string> = {
          state,
          ...(ha?.mode ? { haMode: ha.mode } : {}),
          ...(ha?.state ? { haState: ha.state } : {}),
          ...(ha?.standbyAvailabilityZone ? { standbyZone: ha.standbyAvailabilityZone } : {}),
          ...(body.availabilityZone ? { zone: body.availabilityZone } : {}),
          ...(body.currentServiceObjectiveName ? { serviceObjective: body.currentServiceObjectiveName } : {}),
        };
        const ok = state === kind.ready;
        return { ok, value: state, latencyMs: latencyMs(), details, ...(ok ? {} : { error: `azure-database probe: ${name} is ${state}, not ${kind.ready}; ${notReady(state)}` }) };
      } catch (err) {
        const why =
          signal.aborted && !ctx.signal.aborted
            ? `no answer within ${formatLimit(config.timeout)}`
            : ctx.signal.aborted
              ? 'cancelled'
              : isNotFound(err)
                ? `${name} does not exist (HTTP 404): check the name, kind and resource group (the probe's resourceGroup, else azure.resourceGroup)`
                : callError(errorMessage(err), name);
        return { ok: false, value: null, latencyMs: latencyMs(), error: `azure-database probe: ${why}` };
      }
    },
  };
}

/** An error as the probe says it: ARM's answers already name the call; a credential failure is told which call it stopped. */
function callError(message: string, name: string): string {
  const own = /^azure-database probe: /;
  return own.test(message) ? message.replace(own, '') : `cannot read ${name}: ${message}`;
}
