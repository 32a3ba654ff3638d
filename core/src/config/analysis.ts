import { z } from 'zod';
import { METRIC_UNITS } from '../util/format-number.js';
import { duration } from './fields.js';

/**
 * Metric checks, after Argo Rollouts' AnalysisTemplate: each metric is measured `count` times,
 * `interval` apart, and every measurement is judged by the conditions over `result`.
 */
export const metricSchema = z
  .strictObject({
    name: z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'expected lowercase letters, digits and dashes').describe('Names the metric in events and the audit trail'),
    provider: z.string().default('sim').describe('Name of an entry in `metricProviders`'),
    query: z
      .string()
      .min(1)
      .describe("The provider's query (sim: error-rate, candidate-error-rate, latency-p99, …); {{ inputs.NAME }}, {{ vars.NAME }}, {{ stage }} and {{ environment }} are filled in for each stage"),
    successCondition: z.string().optional().describe('CEL over `result`: true means this measurement is good'),
    failureCondition: z.string().optional().describe('CEL over `result`: true means this measurement is bad (checked first)'),
    interval: duration('Time between measurements').prefault('30s'),
    count: z
      .number()
      .int()
      .min(1)
      .max(1000)
      .optional()
      .describe('Measurements in all (default 1; a background analysis measures until promotion unless you give it)'),
    initialDelay: duration('Wait before the first measurement').prefault('0s'),
    failureLimit: z.number().int().min(0).default(0).describe('Failed measurements tolerated; one more fails the analysis'),
    consecutiveErrorLimit: z.number().int().min(0).default(4).describe('Provider errors in a row tolerated; one more makes the analysis errored'),
    inconclusiveLimit: z.number().int().min(0).default(0).describe('Inconclusive measurements tolerated; one more pauses the run for a person'),
    onNoData: z
      .enum(['fail', 'inconclusive', 'pass'])
      .default('inconclusive')
      .describe('What a measurement with no data counts as: never a silent pass unless you say so'),
    dryRun: z.boolean().default(false).describe('Measure and record, but never let this metric decide'),
    unit: z
      .enum(METRIC_UNITS)
      .optional()
      .describe('How to show a value: ratio (0.0293 reads 2.93%), percent, ms, seconds, bytes, count; without it, three significant digits'),
  })
  .refine((m) => m.successCondition !== undefined || m.failureCondition !== undefined, {
    message: 'give successCondition, failureCondition or both',
  })
  .transform((m) => ({
    name: m.name,
    provider: m.provider,
    query: m.query,
    ...(m.successCondition !== undefined ? { successCondition: m.successCondition } : {}),
    ...(m.failureCondition !== undefined ? { failureCondition: m.failureCondition } : {}),
    intervalMs: m.interval,
    ...(m.count !== undefined ? { count: m.count } : {}),
    initialDelayMs: m.initialDelay,
    failureLimit: m.failureLimit,
    consecutiveErrorLimit: m.consecutiveErrorLimit,
    inconclusiveLimit: m.inconclusiveLimit,
    onNoData: m.onNoData,
    dryRun: m.dryRun,
    ...(m.unit !== undefined ? { unit: m.unit } : {}),
  }));

export const analysisTemplateSchema = z
  .strictObject({ metrics: z.array(metricSchema).min(1) })
  .describe('A named set of metric checks, used by strategies as analysis: { templates: [NAME] }');

export const analysisRefSchema = z
  .strictObject({
    templates: z.array(z.string()).optional().describe('Names of entries in `analyses`'),
    metrics: z.array(metricSchema).optional().describe('Metrics written here'),
  })
  .refine((a) => (a.templates?.length ?? 0) + (a.metrics?.length ?? 0) > 0, { message: 'name templates, give metrics, or both' })
  .describe('Metric checks: named templates and/or inline metrics');
export type AnalysisRefConfig = z.output<typeof analysisRefSchema>;
