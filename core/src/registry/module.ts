import { z } from 'zod';
import { InternalError } from '../errors.js';
import type { ProviderDeps } from '../ports/provider-deps.js';
import type { Strategy } from '../ports/strategy.js';
import type { TargetCapability } from '../ports/target.js';

/*
 * What every implementation file exports, and the registries built from them. A registry (one per
 * port, in that port's folder: `targets/index.ts`, `probes/index.ts`…) is the single source of
 * truth: the workflow schema's unions, the JSON Schema, the README reference, the allowed values
 * in error messages and the capability checks all come from it. Adding an implementation is one
 * file and one registry line.
 */

/** A config object of an implementation: its fields, with `type` naming the implementation. */
export type TypedConfig = { type: string };

/** The zod schema of one implementation's config: an object with a literal `type`. */
export type ConfigSchema = z.ZodObject<{ type: z.ZodLiteral<string> } & z.ZodRawShape>;

/** One implementation of a port: `type`, `configSchema` and `create(config, deps)`. */
export interface ProviderModule<Port> {
  readonly type: string;
  readonly configSchema: ConfigSchema;
  // The config's type is the module's own; registries only need to know it is typed.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  create(config: any, deps: ProviderDeps): Port;
  /**
   * `true` when it waits only through the clock it is given (nothing real runs): a run whose stage
   * providers all say so may use a virtual clock, on which a 30-minute rollout costs no real time.
   */
  readonly virtualTime?: boolean;
  /**
   * The probes its config names (to read through `deps.probe`), each at its path in the config:
   * validation refuses a name that is not declared under `probes`.
   */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  probesNamed?(config: any): Array<{ path: Array<string | number>; name: string }>;
}

/** A target module also declares what it can do beyond deploy and revert. */
export interface TargetModule<Port> extends ProviderModule<Port> {
  readonly capabilities: readonly TargetCapability[];
}

/** A strategy is a pure planner: its module's `create()` takes no dependencies. */
export interface StrategyModule {
  readonly type: string;
  readonly configSchema: ConfigSchema;
  create(): Strategy<never>;
}

/** The config output of every module of a registry, as one union. */
export type ConfigOf<R extends Record<string, { configSchema: z.ZodType }>> = z.output<R[keyof R]['configSchema']>;

/**
 * The workflow schema's view of a registry: a discriminated union on `type` of every module's
 * config schema, so an unknown `type` is a parse error listing the registered ones.
 */
export function unionOf<R extends Record<string, { configSchema: ConfigSchema }>>(registry: R): z.ZodType<ConfigOf<R>> {
  const schemas = Object.values(registry).map((m) => m.configSchema);
  // zod types its union by a tuple of members; the registry's values are that tuple, built at run time.
  return z.discriminatedUnion('type', schemas as unknown as [ConfigSchema, ...ConfigSchema[]]) as unknown as z.ZodType<ConfigOf<R>>;
}

/**
 * Creates the implementation a validated config names. The schema only admits registered types,
 * so a miss is a bug in rollgate, not in the workflow.
 */
export function createFrom<Port>(kind: string, registry: Record<string, ProviderModule<Port>>, config: TypedConfig, deps: ProviderDeps): Port {
  const module = Object.hasOwn(registry, config.type) ? registry[config.type] : undefined;
  if (!module) throw new InternalError(`no ${kind} of type '${config.type}' is registered, although the workflow validated`);
  return module.create(config, deps);
}

/** The module of a registry a config names, or an `InternalError`. */
export function moduleOf<M>(kind: string, registry: Record<string, M>, type: string): M {
  const module = Object.hasOwn(registry, type) ? registry[type] : undefined;
  if (!module) throw new InternalError(`no ${kind} of type '${type}' is registered, although the workflow validated`);
  return module;
}

/**
 * A family of providers with settings of their own, written once at the top of the workflow and
 * per environment (`sim:`), shared by its providers through `deps.settings` and `deps.shared`.
 */
export interface FamilyModule {
  /** The key of its block, at the top of the workflow and under each environment. */
  readonly name: string;
  readonly settingsSchema: z.ZodType;
  /** The clock its settings ask for; a virtual clock is used only when every stage provider can run on one. */
  clock?(settings: unknown): 'virtual' | 'real';
}
