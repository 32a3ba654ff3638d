import { approvers } from '../approvals/index.js';
import { auditSinks } from '../audit/index.js';
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
import { metricProviders } from '../metrics/index.js';
import type { MetricProvider } from '../ports/metric-provider.js';
import type { TrafficRouter } from '../ports/traffic-router.js';
import { routers } from '../routers/index.js';
import { notifiers } from '../notifiers/index.js';
import type { Approver } from '../ports/approver.js';
import type { AuditSink, AuditSinkDeps } from '../ports/audit-sink.js';
import type { Notifier } from '../ports/notifier.js';
import type { Probe } from '../ports/probe.js';
import type { ProviderDeps } from '../ports/provider-deps.js';
import type { Strategy } from '../ports/strategy.js';
import type { Target } from '../ports/target.js';
import { probes } from '../probes/index.js';
import { strategies } from '../strategies/index.js';
import { targets } from '../targets/index.js';

/*
 * Validated config → port instances through the registries. The schema only admits types that
 * have a registry entry, so a lookup here cannot miss; the casts only bridge TypeScript's view
 * of a union indexed by its own discriminant.
 */
type Factory<C, P> = { create(config: C, deps: ProviderDeps): P };

export function createTarget(config: TargetConfig, deps: ProviderDeps): Target {
  return (targets[config.type] as Factory<TargetConfig, Target>).create(config, deps);
}

export function createProbe(config: ProbeConfig, deps: ProviderDeps): Probe {
  return (probes[config.type] as Factory<ProbeConfig, Probe>).create(config, deps);
}

export function createStrategy(config: StrategyConfig): Strategy<StrategyConfig> {
  return (strategies[config.type] as unknown as { create(): Strategy<StrategyConfig> }).create();
}

export function createApprover(config: ApprovalConfig, deps: ProviderDeps): Approver {
  return (approvers[config.type] as Factory<ApprovalConfig, Approver>).create(config, deps);
}

export function createNotifier(config: NotifierConfig, deps: ProviderDeps): Notifier {
  return (notifiers[config.type] as Factory<NotifierConfig, Notifier>).create(config, deps);
}

export function createAuditSink(config: AuditSinkConfig, deps: AuditSinkDeps): AuditSink {
  return (auditSinks[config.type] as { create(c: AuditSinkConfig, d: AuditSinkDeps): AuditSink }).create(config, deps);
}

export function createRouter(config: RouterConfig, deps: ProviderDeps): TrafficRouter {
  return (routers[config.type] as Factory<RouterConfig, TrafficRouter>).create(config, deps);
}

export function createMetricProvider(config: MetricProviderConfig, deps: ProviderDeps): MetricProvider {
  return (metricProviders[config.type] as Factory<MetricProviderConfig, MetricProvider>).create(config, deps);
}
