import * as sim from './sim.js';

/** Every traffic router by its `type`. Adding one: a file, its test, one line here. */
export const routers = { sim } as const;
export type RouterType = keyof typeof routers;
