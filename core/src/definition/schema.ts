import { z } from 'zod';
import { analysisTemplateSchema } from '../config/analysis.js';
import { duration, envVarName, identifier, slug } from '../config/fields.js';
import { approvers, auditSinks, defaultMetricProviders, families, metricProviders, notifiers, probes, routers, strategies, targets } from '../registries.js';
import { unionOf } from '../registry/module.js';
import { SAFE_VALUE_RULE } from './input-values.js';

/**
 * The workflow file's structure. Each implementation contributes its own `configSchema`, and the
 * unions below are built from the registries (a `type` with no implementation cannot parse, and
 * the error lists the registered ones); a provider family adds its settings block at the top and
 * under each environment.
 */
export const probeConfig = unionOf(probes);
export const targetConfig = unionOf(targets);
export const strategyConfig = unionOf(strategies);
export const routerConfig = unionOf(routers);
export const metricProviderConfig = unionOf(metricProviders);
export const approvalConfig = unionOf(approvers);
export const notifierConfig = unionOf(notifiers);
export const auditSinkConfig = unionOf(auditSinks);

/** Each family's settings block, optional: `where` says what the block applies to. */
function familyBlocks(where: string): { [K in keyof typeof families]: z.ZodOptional<(typeof families)[K]['settingsSchema']> } {
  return Object.fromEntries(
    Object.values(families).map((f) => [f.name, f.settingsSchema.optional().describe(`${f.settingsSchema.description ?? f.name} ${where}`)]),
  ) as { [K in keyof typeof families]: z.ZodOptional<(typeof families)[K]['settingsSchema']> };
}

const environment = z
  .strictObject({
    description: z.string().optional(),
    url: z.string().optional().describe('Where the environment is reachable; shown in notifications'),
    variables: z
      .record(z.string(), z.string())
      .default({})
      .describe('Plain values for this environment: {{ vars.NAME }} in workflow values, ROLLGATE_VAR_NAME in commands'),
    ...familyBlocks('for this environment (replaces the top-level block)'),
  })
  .describe('A place to deploy to, with its own variables and settings');

const input = z
  .strictObject({
    description: z.string().optional(),
    default: z.string().optional().describe('Value when the run does not give one'),
    required: z.boolean().default(false),
    allowed: z.array(z.string()).optional().describe('The only values accepted'),
    pattern: z
      .string()
      .optional()
      .describe(
        `RE2 regular expression the whole value must match (without one: ${SAFE_VALUE_RULE}, unless \`allowed\` lists the values); control characters are never accepted`,
      ),
  })
  .describe('A value given at run time with --input NAME=VALUE (ROLLGATE_INPUT_NAME in commands)');

export const retrySchema = z
  .strictObject({
    attempts: z.number().int().min(1).max(20).default(3).describe('Tries in all, for retryable provider errors only'),
    initialDelay: duration('Delay before the second try; doubles each time, with jitter').prefault('1s'),
    maxDelay: duration('Longest delay between tries').prefault('30s'),
  })
  .describe('Retries of steps that failed with a retryable provider error (rate limits, 5xx, timeouts)');

const check = z
  .strictObject({
    check: z.string().describe('CEL condition over probes.NAME, inputs.NAME and vars.NAME; it must hold'),
    message: z.string().optional().describe('What it means when it does not hold (shown and recorded)'),
  })
  .describe('A condition on the infrastructure');

const stage = z
  .strictObject({
    name: slug.describe('Unique stage name'),
    description: z.string().optional(),
    environment: z.string().describe('Name of an entry in `environments`'),
    needs: z.array(z.string()).default([]).describe('Stages that must succeed first'),
    when: z
      .string()
      .optional()
      .describe('CEL condition over probes.NAME.{ok,value,latencyMs,error}, inputs.NAME and vars.NAME; false skips the stage'),
    version: z
      .string()
      .default('{{ inputs.version }}')
      .describe('Version to deploy; placeholders such as {{ inputs.version }} are filled at run time'),
    approval: approvalConfig.optional().describe('Gate before the stage changes anything'),
    target: targetConfig.describe('Where the version runs'),
    strategy: strategyConfig.prefault({ type: 'direct' }).describe('How the version is rolled out'),
    router: routerConfig
      .optional()
      .describe('How traffic is split between the stable and the new version; without one, weights are approximated by replica counts'),
    waitFor: z
      .strictObject({
        check: z.string().describe('CEL condition over probes.NAME, inputs.NAME and vars.NAME; the stage waits until it holds'),
        message: z.string().optional().describe('What the stage waits for (shown while it waits, and recorded)'),
        timeout: duration('Give up after this long: the stage fails with nothing changed').prefault('10m'),
        interval: duration('Time between two measurements of the probes it reads').prefault('15s'),
      })
      .optional()
      .describe('A condition to wait for before anything changes (a schema migration applied, a dependency up); checked after the approval, before the pre-flight checks'),
    preflight: z
      .array(check)
      .default([])
      .describe('Conditions checked once before anything changes; one that fails stops the stage with nothing changed'),
    guards: z
      .array(check)
      .default([])
      .describe('Conditions watched for the whole rollout; one that breaks stops it and rolls back'),
    monitor: z
      .strictObject({
        interval: duration('Time between two samples of the guards and the target health').prefault('5s'),
        failureThreshold: z.number().int().positive().default(2).describe('Unhealthy samples in a row (every unit up) that count as a breach'),
      })
      .prefault({})
      .describe('The health monitor that runs beside every rollout'),
    verify: z
      .strictObject({
        timeout: duration('Give up waiting for the target to become healthy after this long').prefault('5m'),
        interval: duration('Time between health checks').prefault('5s'),
        failureThreshold: z
          .number()
          .int()
          .positive()
          .default(3)
          .describe('Fail after this many unhealthy checks in a row once every unit is up (a bad version, not a slow start)'),
      })
      .prefault({})
      .describe('How verification polls the target health'),
    timeout: duration('Deadline for the whole stage; passing it rolls the stage back').optional(),
    retry: retrySchema.optional(),
  })
  .describe('One deployment to one environment');

export const workflowSchema = z
  .strictObject({
    $schema: z.string().optional().describe('Editor hint; ignored by rollgate'),
    version: z.literal(1).describe('Workflow file format version'),
    name: slug.describe('Workflow name, used in run ids, notifications and the audit trail'),
    description: z.string().optional(),
    inputs: z.record(identifier, input).default({}).describe('Run-time values'),
    secrets: z
      .array(envVarName('Name of an environment variable whose value is a secret'))
      .default([])
      .describe('Names of environment variables whose values are masked in every output'),
    environments: z.record(slug, environment).describe('Where to deploy'),
    ...familyBlocks('shared by all environments'),
    probes: z.record(identifier, probeConfig).default({}).describe('Named infrastructure checks, used in conditions as probes.NAME'),
    metricProviders: z
      .record(slug, metricProviderConfig)
      .default(defaultMetricProviders)
      .describe(`Named metric sources for analysis (default: ${Object.keys(defaultMetricProviders).join(', ')})`),
    analyses: z.record(slug, analysisTemplateSchema).default({}).describe('Named metric checks, used by strategies as analysis: { templates: [NAME] }'),
    stages: z.array(stage).min(1).describe('Deployments, run as a graph through `needs`'),
    notifications: z.array(notifierConfig).default([]).describe('Who is told, and about what'),
    audit: z
      .strictObject({
        sinks: z.array(auditSinkConfig).prefault([{ type: 'file' }]).describe('Where the audit trail is written'),
        hmacKeyEnv: envVarName('Environment variable holding a key: each entry then also carries an HMAC, so only the key holder can write a valid trail').optional(),
      })
      .prefault({})
      .describe('The audit trail'),
    defaults: z
      .strictObject({
        maxParallelStages: z.number().int().min(1).max(64).default(4).describe('Stages that may run at the same time'),
        stageTimeout: duration('Deadline for a stage without its own `timeout`').prefault('30m'),
        stepTimeout: duration('Deadline for one step (deploy, verify…)').prefault('15m'),
        retry: retrySchema.prefault({}),
      })
      .prefault({})
      .describe('Settings that apply to every stage'),
  })
  .describe('A rollgate workflow');

export type WorkflowInput = z.input<typeof workflowSchema>;
export type Workflow = z.output<typeof workflowSchema>;
export type Stage = Workflow['stages'][number];
export type ProbeConfig = z.output<typeof probeConfig>;
export type TargetConfig = z.output<typeof targetConfig>;
export type StrategyConfig = z.output<typeof strategyConfig>;
export type RouterConfig = z.output<typeof routerConfig>;
export type MetricProviderConfig = z.output<typeof metricProviderConfig>;
export type ApprovalConfig = z.output<typeof approvalConfig>;
export type NotifierConfig = z.output<typeof notifierConfig>;
export type AuditSinkConfig = z.output<typeof auditSinkConfig>;
export type EnvironmentConfig = Workflow['environments'][string];
