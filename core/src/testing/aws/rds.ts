import { awsFault, type AwsServer } from './server.js';

/*
 * The RDS API double: DescribeDBInstances and DescribeDBClusters on the Query protocol (namespace
 * http://rds.amazonaws.com/doc/2014-10-31/), over instances and Aurora clusters whose status
 * follows a timeline on the test's clock (`available`, then `modifying` for 10 minutes, then
 * `available` again…), with their pending modifications. A missing identifier answers the
 * documented faults: DBInstanceNotFound and DBClusterNotFoundFault (HTTP 404); and the pending
 * maintenance actions of a resource (DescribePendingMaintenanceActions by ResourceIdentifier).
 * Lists are written with RDS's own member names (DBInstance, DBCluster, PendingMaintenanceAction).
 * Not covered: describing more than one instance or cluster in one answer (the double answers the
 * one named), Filters, Marker, cluster members,
 * more than one pending maintenance action per resource (the first is answered), Filters of
 * DescribePendingMaintenanceActions.
 */

export const RDS_XMLNS = 'http://rds.amazonaws.com/doc/2014-10-31/';
const ACCOUNT = '123456789012';

export interface RdsResourceSpec {
  id: string;
  status?: string;
  engine?: string;
  engineVersion?: string;
  /** Instances only: the class (db.r6g.large). */
  instanceClass?: string;
  multiAZ?: boolean;
  /** PendingModifiedValues: what applies at the next maintenance window. */
  pending?: Record<string, string | number>;
}

/** A pending maintenance action, as DescribePendingMaintenanceActions lists it. */
export interface MaintenanceSpec {
  action: string;
  description?: string;
  autoAppliedAfter?: Date;
  forcedApply?: Date;
  currentApply?: Date;
}

interface Resource extends RdsResourceSpec {
  kind: 'instance' | 'cluster';
  /** Statuses to come: each lasts until its time (ms on the test's clock); the last one stays. */
  timeline: Array<{ status: string; until: number }>;
  maintenance?: MaintenanceSpec[];
}

export class RdsModel {
  private readonly resources = new Map<string, Resource>();

  constructor(
    private readonly now: () => number,
    readonly region = 'us-east-1',
  ) {}

  instance(spec: RdsResourceSpec): void {
    this.resources.set(`instance/${spec.id}`, { engine: 'postgres', engineVersion: '16.3', instanceClass: 'db.r6g.large', multiAZ: true, ...spec, kind: 'instance', timeline: [] });
  }

  cluster(spec: RdsResourceSpec): void {
    this.resources.set(`cluster/${spec.id}`, { engine: 'aurora-postgresql', engineVersion: '16.2', multiAZ: true, ...spec, kind: 'cluster', timeline: [] });
  }

  /** From now, `id` goes through `steps`: each status for its `forMs`, then `then` stays. */
  progress(kind: 'instance' | 'cluster', id: string, steps: Array<{ status: string; forMs: number }>, then = 'available'): void {
    const r = this.get(kind, id);
    let at = this.now();
    r.timeline = steps.map((s) => ({ status: s.status, until: (at += s.forMs) }));
    r.status = then;
  }

  /** Sets the pending modifications of `id` (empty: none). */
  pendingOf(kind: 'instance' | 'cluster', id: string, pending: Record<string, string | number>): void {
    this.get(kind, id).pending = pending;
  }

  /** The pending maintenance actions of `id` (empty: none). */
  maintenanceOf(kind: 'instance' | 'cluster', id: string, actions: MaintenanceSpec[]): void {
    this.get(kind, id).maintenance = actions;
  }

  statusOf(kind: 'instance' | 'cluster', id: string): string {
    const r = this.get(kind, id);
    return r.timeline.find((s) => s.until > this.now())?.status ?? r.status ?? 'available';
  }

  describeDBInstances(p: { DBInstanceIdentifier?: string }): unknown {
    const r = this.find('instance', p.DBInstanceIdentifier);
    if (!r) throw awsFault('DBInstanceNotFound', `DBInstance ${p.DBInstanceIdentifier ?? ''} not found.`, 404);
    return {
      DBInstances: [
        {
          DBInstanceIdentifier: r.id,
          DBInstanceClass: r.instanceClass,
          Engine: r.engine,
          EngineVersion: r.engineVersion,
          DBInstanceStatus: this.statusOf('instance', r.id),
          MultiAZ: r.multiAZ,
          DBInstanceArn: this.arn(r),
          PendingModifiedValues: r.pending ?? {},
        },
      ],
    };
  }

  describeDBClusters(p: { DBClusterIdentifier?: string }): unknown {
    const r = this.find('cluster', p.DBClusterIdentifier);
    if (!r) throw awsFault('DBClusterNotFoundFault', `DBCluster ${p.DBClusterIdentifier ?? ''} not found.`, 404);
    return {
      DBClusters: [
        {
          DBClusterIdentifier: r.id,
          Engine: r.engine,
          EngineVersion: r.engineVersion,
          Status: this.statusOf('cluster', r.id),
          MultiAZ: r.multiAZ,
          DBClusterArn: this.arn(r),
          ...(r.pending && Object.keys(r.pending).length ? { PendingModifiedValues: r.pending } : {}),
        },
      ],
    };
  }

  describePendingMaintenanceActions(p: { ResourceIdentifier?: string }): unknown {
    const r = [...this.resources.values()].find((x) => this.arn(x) === p.ResourceIdentifier);
    if (!r) throw awsFault('ResourceNotFoundFault', `The specified resource ARN ${p.ResourceIdentifier ?? ''} was not found.`, 404);
    const first = r.maintenance?.[0];
    if (!first) return {};
    return {
      PendingMaintenanceActions: [
        {
          ResourceIdentifier: this.arn(r),
          PendingMaintenanceActionDetails: [
            {
              Action: first.action,
              Description: first.description,
              AutoAppliedAfterDate: first.autoAppliedAfter,
              ForcedApplyDate: first.forcedApply,
              CurrentApplyDate: first.currentApply,
            },
          ],
        },
      ],
    };
  }

  private find(kind: 'instance' | 'cluster', id: string | undefined): Resource | undefined {
    const all = [...this.resources.values()].filter((r) => r.kind === kind);
    if (id === undefined) {
      if (all.length > 1) throw awsFault('InvalidParameterCombination', 'the double answers one resource: name it');
      return all[0];
    }
    return all.find((r) => r.id === id || this.arn(r) === id);
  }

  private get(kind: 'instance' | 'cluster', id: string): Resource {
    const r = this.resources.get(`${kind}/${id}`);
    if (!r) throw new Error(`no RDS ${kind} ${id} in the double`);
    return r;
  }

  private arn(r: Resource): string {
    return `arn:aws:rds:${this.region}:${ACCOUNT}:${r.kind === 'instance' ? 'db' : 'cluster'}:${r.id}`;
  }
}

/** Registers the RDS operations on `server` over a new model on the test's clock. */
export function rdsDouble(server: AwsServer, now: () => number, region = 'us-east-1'): RdsModel {
  const model = new RdsModel(now, region);
  const members = { DBInstances: 'DBInstance', DBClusters: 'DBCluster', PendingMaintenanceActions: 'ResourcePendingMaintenanceActions', PendingMaintenanceActionDetails: 'PendingMaintenanceAction' };
  server.query('DescribeDBInstances', (p) => model.describeDBInstances(p), { xmlns: RDS_XMLNS, members });
  server.query('DescribeDBClusters', (p) => model.describeDBClusters(p), { xmlns: RDS_XMLNS, members });
  server.query('DescribePendingMaintenanceActions', (p) => model.describePendingMaintenanceActions(p), { xmlns: RDS_XMLNS, members });
  return model;
}
