import { type Answer, type ArmRequest, type ArmServer, armFault } from './arm-server.js';

/*
 * Azure database doubles on an ArmServer, answering GET of the documented resources with their
 * documented state fields:
 *   …/Microsoft.DBforPostgreSQL/flexibleServers/{name}   properties.state, highAvailability {mode, state, standbyAvailabilityZone}
 *   …/Microsoft.DBforMySQL/flexibleServers/{name}        the same
 *   …/Microsoft.Sql/servers/{server}/databases/{db}      properties.status, currentServiceObjectiveName
 * A missing one is ARM's 404 ResourceNotFound. `hang(name)` holds the answer for a server until
 * the double stops (a probe's timeout and its signal are what end the wait).
 */

export type DatabaseKind = 'postgres' | 'mysql' | 'sql';

const PROVIDERS: Record<DatabaseKind, string> = {
  postgres: 'Microsoft.DBforPostgreSQL/flexibleServers',
  mysql: 'Microsoft.DBforMySQL/flexibleServers',
  sql: 'Microsoft.Sql/servers',
};

export interface FlexibleServer {
  state: string;
  highAvailability?: { mode: 'Disabled' | 'ZoneRedundant' | 'SameZone'; state?: string; standbyAvailabilityZone?: string };
  availabilityZone?: string;
}

export interface SqlDatabase {
  status: string;
  currentServiceObjectiveName?: string;
}

export class DatabasesDouble {
  private readonly servers = new Map<string, FlexibleServer | SqlDatabase>();
  private readonly hanging = new Map<string, () => void>();

  constructor(server: ArmServer) {
    const base = '/subscriptions/:sub/resourceGroups/:rg/providers';
    server.route('GET', `${base}/${PROVIDERS.postgres}/:name`, (r) => this.answer('postgres', r, r.params.name as string));
    server.route('GET', `${base}/${PROVIDERS.mysql}/:name`, (r) => this.answer('mysql', r, r.params.name as string));
    server.route('GET', `${base}/${PROVIDERS.sql}/:server/databases/:db`, (r) => this.answer('sql', r, `${r.params.server}/${r.params.db}`));
  }

  /** Adds or changes a PostgreSQL or MySQL flexible server (`name`), or an SQL database (`server/db`). */
  set(kind: 'postgres' | 'mysql', resourceGroup: string, name: string, server: FlexibleServer): void;
  set(kind: 'sql', resourceGroup: string, name: string, database: SqlDatabase): void;
  set(kind: DatabaseKind, resourceGroup: string, name: string, value: FlexibleServer | SqlDatabase): void {
    this.servers.set(key(kind, resourceGroup, name), structuredClone(value));
  }

  /** The next reads of `name` are held until the double stops; `onArrival` runs when one arrives. */
  hang(kind: DatabaseKind, resourceGroup: string, name: string, onArrival?: () => void): void {
    this.hanging.set(key(kind, resourceGroup, name), onArrival ?? (() => undefined));
  }

  private answer(kind: DatabaseKind, r: ArmRequest, name: string): Answer | Promise<Answer> {
    const k = key(kind, r.params.rg as string, name);
    const hang = this.hanging.get(k);
    if (hang) {
      hang();
      return new Promise<Answer>(() => undefined);
    }
    const found = this.servers.get(k);
    const type = kind === 'sql' ? `${PROVIDERS.sql}/databases` : PROVIDERS[kind];
    if (!found) throw armFault(404, 'ResourceNotFound', `The Resource '${type}/${name}' under resource group '${r.params.rg}' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix`);
    return { status: 200, body: { id: r.path, name: name.split('/').pop(), type, location: 'westeurope', properties: { ...found } } };
  }
}

const key = (kind: DatabaseKind, resourceGroup: string, name: string) => `${kind}:${resourceGroup.toLowerCase()}/${name.toLowerCase()}`;
