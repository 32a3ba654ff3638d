import type { Probe } from '../ports/probe.js';
import type { ProviderModule } from '../registry/module.js';
import * as awsQuota from './aws-quota.js';
import * as awsRds from './aws-rds.js';
import * as awsTargetGroup from './aws-target-group.js';
import * as azureDatabase from './azure-database.js';
import * as cloudSql from './cloud-sql.js';
import * as command from './command.js';
import * as http from './http.js';
import * as kubernetes from './kubernetes.js';
import * as postgres from './postgres.js';
import * as prometheus from './prometheus.js';
import * as sim from './sim.js';
import * as swarm from './swarm.js';
import * as tcp from './tcp.js';

/** Every probe by its `type`: the one list the schema and the docs read. */
export const probes = { http, tcp, command, sim, postgres, prometheus, kubernetes, swarm, 'aws-target-group': awsTargetGroup, 'aws-rds': awsRds, 'aws-quota': awsQuota, 'azure-database': azureDatabase, 'cloud-sql': cloudSql } satisfies Record<string, ProviderModule<Probe>>;
export type ProbeType = keyof typeof probes;
