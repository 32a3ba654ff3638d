import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { settingsSchema } from '../aws/family.js';
import { createVirtualClock, type VirtualClock } from '../clocks/virtual.js';
import type { Logger } from '../ports/logger.js';
import { rdsDouble, type RdsModel } from '../testing/aws/rds.js';
import { awsFault, AwsServer } from '../testing/aws/server.js';
import { fakeDeps, fakeStepContext } from '../testing/fakes.js';
import * as awsRds from './aws-rds.js';

let server: AwsServer;
let rds: RdsModel;
let clock: VirtualClock;
let lines: string[];
const log: Logger = { info: (l) => lines.push(l), warn: (l) => lines.push(l), output: () => {} };
beforeEach(async () => {
  server = await new AwsServer().start();
  clock = createVirtualClock();
  rds = rdsDouble(server, () => clock.now());
  rds.instance({ id: 'shop-db' });
  rds.cluster({ id: 'shop-aurora' });
  lines = [];
});
afterEach(() => server.stop());

const probe = (config: Record<string, unknown>) =>
  awsRds.create(awsRds.configSchema.parse({ type: 'aws-rds', ...config }), fakeDeps({ clock, log }, { settings: { aws: settingsSchema.parse({ endpoint: server.url }) } }));
const ctx = () => fakeStepContext({ clock, log, env: server.env() });

describe('aws-rds probe', () => {
  it('an available instance: ok, its status as value, engine and class in details', async () => {
    const result = await probe({ instance: 'shop-db' }).check(ctx());
    expect(result).toMatchObject({
      ok: true,
      value: 'available',
      details: { exists: true, status: 'available', engine: 'postgres', engineVersion: '16.3', multiAZ: true, instanceClass: 'db.r6g.large', pendingModifications: 0, pending: '' },
    });
    expect(server.calls.map((c) => [c.operation, c.params])).toEqual([['DescribeDBInstances', { DBInstanceIdentifier: 'shop-db' }]]);
  });

  it('follows a modification: modifying (not ok, pending changes listed) until RDS is done', async () => {
    rds.progress('instance', 'shop-db', [{ status: 'modifying', forMs: 600_000 }]);
    rds.pendingOf('instance', 'shop-db', { DBInstanceClass: 'db.r6g.xlarge', MasterUserPassword: '****' });
    const during = await probe({ instance: 'shop-db' }).check(ctx());
    expect(during).toMatchObject({ ok: false, value: 'modifying', details: { pendingModifications: 2, pending: 'DBInstanceClass=db.r6g.xlarge, MasterUserPassword=pending' } });
    expect(during.error).toBe('aws-rds probe: the DB instance shop-db is modifying, not available');
    clock.advance(600_000);
    rds.pendingOf('instance', 'shop-db', {});
    expect(await probe({ instance: 'shop-db' }).check(ctx())).toMatchObject({ ok: true, value: 'available' });
  });

  it('an Aurora cluster failing over, and okWhen letting a backup pass', async () => {
    rds.progress('cluster', 'shop-aurora', [{ status: 'failing-over', forMs: 60_000 }]);
    expect(await probe({ cluster: 'shop-aurora' }).check(ctx())).toMatchObject({ ok: false, value: 'failing-over', error: 'aws-rds probe: the DB cluster shop-aurora is failing-over, not available' });
    rds.progress('cluster', 'shop-aurora', [{ status: 'backing-up', forMs: 60_000 }]);
    expect(await probe({ cluster: 'shop-aurora', okWhen: ['available', 'backing-up'] }).check(ctx())).toMatchObject({ ok: true, value: 'backing-up', details: { engine: 'aurora-postgresql' } });
  });

  it('an instance or cluster that does not exist is data, saying to check the identifier and region', async () => {
    expect(await probe({ instance: 'shop-db2' }).check(ctx())).toMatchObject({
      ok: false,
      value: null,
      details: { exists: false },
      error: 'aws-rds probe: the DB instance shop-db2 does not exist in this account and region; check the identifier and aws.region',
    });
    expect((await probe({ cluster: 'nope' }).check(ctx())).error).toBe('aws-rds probe: the DB cluster nope does not exist in this account and region; check the identifier and aws.region');
  });

  it('access denied names the IAM action', async () => {
    server.fail('DescribeDBInstances', awsFault('AccessDenied', 'User: arn:aws:sts::123456789012:assumed-role/ci/rollgate is not authorized to perform: rds:DescribeDBInstances', 403));
    server.fail('DescribeDBClusters', awsFault('AccessDenied', 'User: arn:aws:sts::123456789012:assumed-role/ci/rollgate is not authorized', 403));
    expect((await probe({ instance: 'shop-db' }).check(ctx())).error).toBe(
      'aws-rds probe: aws-rds: cannot read the DB instance shop-db: access denied (AccessDenied): User: arn:aws:sts::123456789012:assumed-role/ci/rollgate is not authorized to perform: rds:DescribeDBInstances; grant the action to the role rollgate runs as',
    );
    expect((await probe({ cluster: 'shop-aurora' }).check(ctx())).error).toBe(
      'aws-rds probe: aws-rds: cannot read the DB cluster shop-aurora: access denied (AccessDenied): User: arn:aws:sts::123456789012:assumed-role/ci/rollgate is not authorized; grant rds:DescribeDBClusters to the role rollgate runs as',
    );
  });

  it('throttled then answering, retried on the step clock', async () => {
    server.throttle(2);
    expect(await probe({ instance: 'shop-db' }).check(ctx())).toMatchObject({ ok: true, value: 'available' });
    expect(lines).toEqual([expect.stringMatching(/^aws-rds: read the DB instance shop-db: throttled, retrying in/), expect.stringMatching(/attempt 3 of 6\)$/)]);
  });

  it('credentials that expired say to renew them, and no credential is shown', async () => {
    server.expireCredentials();
    const result = await probe({ instance: 'shop-db' }).check(ctx());
    expect(result.error).toBe(
      'aws-rds probe: aws-rds: cannot read the DB instance shop-db: the credentials were refused (ExpiredToken): they may have expired; renew them (the OIDC role session, the CI secret) and run `rollgate resume`',
    );
    const text = JSON.stringify(result) + lines.join('\n');
    expect(text).not.toContain(server.env().AWS_SECRET_ACCESS_KEY);
    expect(text).not.toContain(server.env().AWS_ACCESS_KEY_ID);
  });

  it('with maintenance: the pending maintenance actions and in how many minutes the first applies', async () => {
    expect(await probe({ instance: 'shop-db', maintenance: true }).check(ctx())).toMatchObject({
      ok: true,
      details: { maintenanceActions: 0, maintenance: '', maintenanceDueInMinutes: null },
    });
    rds.maintenanceOf('instance', 'shop-db', [{ action: 'system-update', description: 'Upgrade to the latest OS', autoAppliedAfter: new Date(clock.now() + 90 * 60_000) }]);
    const result = await probe({ instance: 'shop-db', maintenance: true }).check(ctx());
    expect(result.details).toMatchObject({
      maintenanceActions: 1,
      maintenance: `system-update (auto-applied after ${new Date(clock.now() + 90 * 60_000).toISOString()})`,
      maintenanceDueInMinutes: 90,
    });
    expect(server.calls.at(-1)).toMatchObject({ operation: 'DescribePendingMaintenanceActions', params: { ResourceIdentifier: 'arn:aws:rds:us-east-1:123456789012:db:shop-db' } });
    rds.maintenanceOf('cluster', 'shop-aurora', [{ action: 'db-upgrade', forcedApply: new Date(clock.now() + 30 * 60_000) }]);
    expect((await probe({ cluster: 'shop-aurora', maintenance: true }).check(ctx())).details).toMatchObject({ maintenanceActions: 1, maintenanceDueInMinutes: 30 });
  });

  it('maintenance without its permission names rds:DescribePendingMaintenanceActions', async () => {
    server.fail('DescribePendingMaintenanceActions', awsFault('AccessDenied', 'User is not authorized to perform this operation', 403));
    expect((await probe({ instance: 'shop-db', maintenance: true }).check(ctx())).error).toBe(
      'aws-rds probe: aws-rds: cannot read the pending maintenance of the DB instance shop-db: access denied (AccessDenied): User is not authorized to perform this operation; grant rds:DescribePendingMaintenanceActions to the role rollgate runs as',
    );
  });

  it('needs exactly one of instance and cluster', () => {
    expect(awsRds.configSchema.safeParse({ type: 'aws-rds' }).success).toBe(false);
    expect(awsRds.configSchema.safeParse({ type: 'aws-rds', instance: 'a', cluster: 'b' }).success).toBe(false);
  });
});
