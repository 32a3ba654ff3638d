import { z } from 'zod';
import { describe, expect, it } from 'vitest';
import { InternalError } from '../errors.js';
import { fakeDeps } from '../testing/fakes.js';
import { createFrom, moduleOf, unionOf } from './module.js';

/* The registries' helpers: a union that names every registered type, and one factory. */

const alpha = { type: 'alpha', configSchema: z.strictObject({ type: z.literal('alpha'), n: z.number() }), create: (config: { n: number }) => ({ got: config.n }) };
const beta = { type: 'beta', configSchema: z.strictObject({ type: z.literal('beta') }), create: () => ({ got: 0 }) };
const registry = { alpha, beta };

describe('unionOf', () => {
  it('parses each registered type and refuses any other, naming the registered ones', () => {
    const union = unionOf(registry);
    expect(union.parse({ type: 'alpha', n: 2 })).toEqual({ type: 'alpha', n: 2 });
    const failed = union.safeParse({ type: 'gamma' });
    expect(failed.success).toBe(false);
    expect(JSON.stringify(failed.error?.issues)).toContain('"options":["alpha","beta"]');
  });
});

describe('createFrom and moduleOf', () => {
  it('create the implementation a config names', () => {
    expect(createFrom('thing', registry, { type: 'alpha', n: 7 } as never, fakeDeps())).toEqual({ got: 7 });
    expect(moduleOf('thing', registry, 'beta')).toBe(beta);
  });

  it('treat an unregistered type as a bug in rollgate, not in the workflow', () => {
    expect(() => createFrom('thing', registry, { type: 'toString' }, fakeDeps())).toThrow(InternalError);
    expect(() => moduleOf('thing', registry, 'gamma')).toThrow("no thing of type 'gamma' is registered, although the workflow validated");
  });
});
