import { z } from 'zod';
import { duration } from '../config/fields.js';

/**
 * The simulated infrastructure: a cluster of nodes running services, versions with their error
 * rate and latency, and failures to inject. Declared under `sim:` in the workflow (and per
 * environment under `environments.NAME.sim`), or in a scenario file given with `--scenario`.
 */
const versionProfile = z
  .strictObject({
    errorRate: z.number().min(0).max(1).default(0.001).describe('Share of requests that fail (0–1)'),
    latencyMs: z.number().min(0).default(80).describe('p99 latency in milliseconds'),
    cpu: z.number().int().min(0).default(1).describe('Capacity units one replica needs'),
    startup: duration('How long a replica takes to become ready').prefault('10s'),
  })
  .describe('How a version behaves once deployed');

const at = duration('When, on the run clock, counted from the run start').optional();

/** Control-plane operations of the sim providers, which api-errors (and partitions) hit. */
export const SIM_OPERATIONS = [
  'deploy',
  'health',
  'current',
  'revert',
  'set-weight',
  'get-weight',
  'finalize',
  'probe',
  'metric',
  'deploy-candidate',
  'scale',
  'candidate-health',
  'promote',
  'remove-candidate',
  'deploy-unit',
  'revert-unit',
  'unit-health',
] as const;
/** The operations that undo something (a rollback runs them), which compensation-fails hits. */
export const SIM_COMPENSATIONS = ['revert', 'finalize', 'remove-candidate', 'revert-unit'] as const;

export const failureSchema = z.discriminatedUnion('kind', [
  z.strictObject({
    kind: z.literal('bad-version'),
    version: z.string().describe('Version that misbehaves'),
    errorRate: z.number().min(0).max(1).default(0.25),
    latencyMs: z.number().min(0).optional(),
  }),
  z.strictObject({
    kind: z.literal('node-crash'),
    node: z.string().optional().describe('Node name such as node-3 (default: the last node)'),
    count: z.number().int().positive().default(1).describe('How many nodes crash'),
    at,
  }),
  z.strictObject({
    kind: z.literal('api-errors'),
    operation: z.enum([...SIM_OPERATIONS, 'any']).default('any'),
    count: z.number().int().positive().default(2).describe('Calls that fail before it recovers'),
    status: z.union([z.literal(429), z.literal(500), z.literal(503)]).default(503).describe('429 is a rate limit'),
    at,
  }),
  z.strictObject({
    kind: z.literal('slow-probe'),
    probe: z.string().optional().describe('Probe name (default: every sim probe)'),
    delay: duration('Extra time the probe takes; longer than its timeout means it hangs'),
  }),
  z.strictObject({
    kind: z.literal('partition'),
    at,
    duration: duration('How long the control plane is unreachable').prefault('30s'),
  }),
  z.strictObject({
    kind: z.literal('compensation-fails'),
    operation: z.enum([...SIM_COMPENSATIONS, 'any']).default('any'),
    count: z.number().int().positive().optional().describe('Failures before it works (default: always fails)'),
  }),
  z.strictObject({
    kind: z.literal('database-down'),
    at,
  }),
  z.strictObject({
    kind: z.literal('migration-applied'),
    schemaVersion: z.number().int().describe('The schema version the database has from then on'),
    at,
  }),
]);
export type FailureSpec = z.infer<typeof failureSchema>;

export const simConfigSchema = z
  .strictObject({
    clock: z.enum(['virtual', 'real']).default('virtual').describe('virtual: waits cost no real time'),
    seed: z.number().int().default(1).describe('Seed for the simulated traffic, so runs repeat exactly'),
    nodes: z.number().int().positive().max(100_000).default(5),
    capacityPerNode: z.number().int().positive().default(4).describe('Capacity units each node offers'),
    services: z
      .record(z.string(), z.strictObject({ version: z.string(), replicas: z.number().int().nonnegative().optional() }))
      .default({})
      .describe('What runs before the workflow starts; a service not listed has nothing deployed'),
    versions: z.record(z.string(), versionProfile).default({}).describe('Behaviour per version (default: healthy)'),
    database: z
      .strictObject({ up: z.boolean().default(true), schemaVersion: z.number().int().default(1) })
      .prefault({})
      .describe('A database the services use'),
    failures: z.array(failureSchema).default([]).describe('Failures to inject'),
  })
  .describe('Simulated infrastructure (the world sim probes, targets, routers and metrics act on),');
export type SimConfig = z.infer<typeof simConfigSchema>;
