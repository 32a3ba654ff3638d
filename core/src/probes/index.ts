import * as command from './command.js';
import * as http from './http.js';
import * as sim from './sim.js';
import * as tcp from './tcp.js';

/** Every probe by its `type`. Adding one: a file, its test, one line here. */
export const probes = { http, tcp, command, sim } as const;
export type ProbeType = keyof typeof probes;
