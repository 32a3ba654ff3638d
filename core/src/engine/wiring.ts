import type {
  ApprovalConfig,
  AuditSinkConfig,
  MetricProviderConfig,
  NotifierConfig,
  ProbeConfig,
  RouterConfig,
  StrategyConfig,
  TargetConfig,
} from '../definition/schema.js';
import type { Approver } from '../ports/approver.js';
import type { AuditSink, AuditSinkDeps } from '../ports/audit-sink.js';
import type { MetricProvider } from '../ports/metric-provider.js';
import type { Notifier } from '../ports/notifier.js';
import type { Probe } from '../ports/probe.js';
import type { ProviderDeps } from '../ports/provider-deps.js';
import type { Strategy } from '../ports/strategy.js';
import type { Target } from '../ports/target.js';
import type { TrafficRouter } from '../ports/traffic-router.js';
import { approvers, auditSinks, metricProviders, notifiers, probes, routers, strategies, targets } from '../registries.js';
import { createFrom, moduleOf } from '../registry/module.js';

/*
 * Validated config → port instances, through the registries and one generic factory: the schema
 * only admits registered types, so a miss is a bug in rollgate (an InternalError), never a silent
 * fallback.
 */

export const createTarget = (config: TargetConfig, deps: ProviderDeps): Target => createFrom('target', targets, config, deps);
export const createProbe = (config: ProbeConfig, deps: ProviderDeps): Probe => createFrom('probe', probes, config, deps);
export const createRouter = (config: RouterConfig, deps: ProviderDeps): TrafficRouter => createFrom('router', routers, config, deps);
export const createMetricProvider = (config: MetricProviderConfig, deps: ProviderDeps): MetricProvider => createFrom('metric provider', metricProviders, config, deps);
export const createApprover = (config: ApprovalConfig, deps: ProviderDeps): Approver => createFrom('approver', approvers, config, deps);
export const createNotifier = (config: NotifierConfig, deps: ProviderDeps): Notifier => createFrom('notifier', notifiers, config, deps);
export const createAuditSink = (config: AuditSinkConfig, deps: AuditSinkDeps): AuditSink => createFrom('audit sink', auditSinks, config, deps);

export function createStrategy(config: StrategyConfig): Strategy<StrategyConfig> {
  return moduleOf('strategy', strategies, config.type).create() as Strategy<StrategyConfig>;
}
