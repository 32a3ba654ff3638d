import type { RDSClient } from '@aws-sdk/client-rds';
import { z } from 'zod';
import { awsClient, awsSend, sdk as awsSdk } from '../aws/client.js';
import { duration } from '../config/fields.js';
import type { Probe } from '../ports/probe.js';
import type { ProviderDeps } from '../ports/provider-deps.js';
import type { StepContext } from '../ports/step-context.js';
import { codeOf, type Measured, measureAws, needing } from './aws/probe.js';

/*
 * The state of an RDS instance or an Aurora cluster: `value` is RDS's status word (available,
 * backing-up, modifying, failing-over, storage-full, maintenance…), so a stage can wait for the
 * database or skip while it is changing. ok when the status is one of `okWhen` (available).
 */

export const type = 'aws-rds';

export const configSchema = z
  .strictObject({
    type: z.literal(type),
    instance: z.string().min(1).optional().describe('DB instance identifier (or ARN)'),
    cluster: z.string().min(1).optional().describe('Aurora / Multi-AZ DB cluster identifier (or ARN)'),
    okWhen: z
      .array(z.string().min(1))
      .min(1)
      .default(['available'])
      .describe('Statuses that count as ok (default: available; add backing-up to let a backup pass)'),
    maintenance: z
      .boolean()
      .default(false)
      .describe('Also read its pending maintenance actions (DescribePendingMaintenanceActions; needs rds:DescribePendingMaintenanceActions): details maintenanceActions, maintenance, maintenanceDueInMinutes'),
    timeout: duration('Give up on this probe after this long (the whole snapshot stops at 4.9s)').prefault('3s'),
  })
  .refine((c) => (c.instance === undefined) !== (c.cluster === undefined), { message: 'give `instance` or `cluster` (one of them)', path: ['instance'] })
  .describe('Reads an RDS DB instance’s or cluster’s status (value: available, modifying, backing-up…) and its pending modifications, through DescribeDBInstances / DescribeDBClusters');
export type AwsRdsProbeConfig = z.output<typeof configSchema>;

const sdk = () => awsSdk(import('@aws-sdk/client-rds'));

interface Found {
  arn?: string | undefined;
  status: string;
  engine?: string | undefined;
  engineVersion?: string | undefined;
  multiAZ?: boolean | undefined;
  instanceClass?: string | undefined;
  pending: Record<string, unknown>;
}

export function create(config: AwsRdsProbeConfig, deps: ProviderDeps): Probe {
  const client = awsClient(deps, 'rds', async () => (await sdk()).RDSClient);
  const kind = config.instance !== undefined ? 'instance' : 'cluster';
  const id = (config.instance ?? config.cluster) as string;
  const name = `DB ${kind} ${id}`;
  return {
    type,
    check: (ctx) => measureAws(type, config.timeout, ctx, measure),
  };

  async function measure(ctx: StepContext): Promise<Measured> {
    let found: Found | undefined;
    try {
      found = kind === 'instance' ? await readInstance(await client(ctx), ctx) : await readCluster(await client(ctx), ctx);
    } catch (err) {
      if (!codeOf(err, 'DBInstanceNotFound', 'DBInstanceNotFoundFault', 'DBClusterNotFoundFault')) throw err;
    }
    if (!found) return { ok: false, value: null, details: { exists: false }, error: `the ${name} does not exist in this account and region; check the identifier and aws.region` };
    const maintenance = config.maintenance && found.arn ? await readMaintenance(found.arn, ctx) : {};
    const pendingNames = Object.keys(found.pending).filter((k) => found.pending[k] !== undefined && k !== '$metadata');
    const ok = config.okWhen.includes(found.status);
    return {
      ok,
      value: found.status,
      details: {
        exists: true,
        status: found.status,
        engine: found.engine ?? null,
        engineVersion: found.engineVersion ?? null,
        multiAZ: found.multiAZ ?? null,
        ...(found.instanceClass ? { instanceClass: found.instanceClass } : {}),
        pendingModifications: pendingNames.length,
        pending: pendingNames.map((k) => `${k}=${String(found.pending[k])}`).join(', '),
        ...maintenance,
      },
      ...(ok ? {} : { error: `the ${name} is ${found.status}, not ${config.okWhen.join(' or ')}` }),
    };
  }

  async function readMaintenance(arn: string, ctx: StepContext) {
    return maintenanceOf(await client(ctx), arn, name, ctx);
  }

  async function readInstance(rds: RDSClient, ctx: StepContext): Promise<Found | undefined> {
    const { DescribeDBInstancesCommand } = await sdk();
    const out = await needing('rds:DescribeDBInstances', awsSend(rds, new DescribeDBInstancesCommand({ DBInstanceIdentifier: id }), { service: type, what: `read the ${name}`, ctx }));
    const db = out.DBInstances?.[0];
    if (!db) return undefined;
    return {
      arn: db.DBInstanceArn,
      status: db.DBInstanceStatus ?? 'unknown',
      engine: db.Engine,
      engineVersion: db.EngineVersion,
      multiAZ: db.MultiAZ,
      instanceClass: db.DBInstanceClass,
      pending: flat(db.PendingModifiedValues),
    };
  }

  async function readCluster(rds: RDSClient, ctx: StepContext): Promise<Found | undefined> {
    const { DescribeDBClustersCommand } = await sdk();
    const out = await needing('rds:DescribeDBClusters', awsSend(rds, new DescribeDBClustersCommand({ DBClusterIdentifier: id }), { service: type, what: `read the ${name}`, ctx }));
    const db = out.DBClusters?.[0];
    if (!db) return undefined;
    return { arn: db.DBClusterArn, status: db.Status ?? 'unknown', engine: db.Engine, engineVersion: db.EngineVersion, multiAZ: db.MultiAZ, pending: flat(db.PendingModifiedValues) };
  }
}

/**
 * The pending maintenance actions of the resource: how many, what they are, and in how many
 * minutes the earliest of them is applied (the earliest of all their dates), so a stage can stay clear of it.
 */
async function maintenanceOf(rds: RDSClient, arn: string, name: string, ctx: StepContext): Promise<Record<string, number | string | null>> {
  const { DescribePendingMaintenanceActionsCommand } = await sdk();
  const command = new DescribePendingMaintenanceActionsCommand({ ResourceIdentifier: arn });
  const out = await needing('rds:DescribePendingMaintenanceActions', awsSend(rds, command, { service: type, what: `read the pending maintenance of the ${name}`, ctx }));
  const actions = (out.PendingMaintenanceActions ?? []).flatMap((r) => r.PendingMaintenanceActionDetails ?? []);
  const dates = actions.flatMap((a) => [a.CurrentApplyDate, a.AutoAppliedAfterDate, a.ForcedApplyDate]).filter((d): d is Date => d instanceof Date);
  const due = dates.length ? Math.min(...dates.map((d) => d.getTime())) : undefined;
  const described = actions.map((a) => `${a.Action ?? '?'}${a.AutoAppliedAfterDate ? ` (auto-applied after ${a.AutoAppliedAfterDate.toISOString()})` : ''}${a.ForcedApplyDate ? ` (forced on ${a.ForcedApplyDate.toISOString()})` : ''}`);
  return {
    maintenanceActions: actions.length,
    maintenance: described.join('; '),
    maintenanceDueInMinutes: due === undefined ? null : Math.max(0, Math.floor((due - ctx.clock.now()) / 60_000)),
  };
}

/** The pending modifications as name → value; nested ones (log exports, processor features) as JSON. */
function flat(pending: object | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(pending ?? {})) {
    if (v === undefined || v === null) continue;
    // A pending password change is named, never shown (RDS masks it anyway).
    out[k] = /password|secret/i.test(k) ? 'pending' : typeof v === 'object' ? JSON.stringify(v) : v;
  }
  return out;
}
