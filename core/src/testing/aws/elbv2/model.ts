import { AwsFault } from '../server.js';

/*
 * The state behind the ELBv2 API double (elbv2.ts): listeners with their default actions, rules,
 * target groups and the targets registered in each with their health. Pure: each operation takes
 * the Query request as the server parsed it (strings, `member` lists as arrays) and returns the
 * result element's content; errors are the codes and messages Elastic Load Balancing answers.
 */

export const ELBV2_XMLNS = 'http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/';
const ACCOUNT = '123456789012';

export type TargetState = 'initial' | 'healthy' | 'unhealthy' | 'draining' | 'unused' | 'unavailable';
export interface Target {
  id: string;
  port: number;
  health: TargetState;
  /** The reason ELB gives in place of the state's usual one (`unused` of a target in a zone the load balancer does not serve: Target.InvalidState). */
  reason?: string;
}

export interface TargetGroupRef {
  TargetGroupArn: string;
  Weight?: number;
}
export interface Action {
  Type: string;
  Order?: number;
  TargetGroupArn?: string;
  ForwardConfig?: { TargetGroups?: TargetGroupRef[]; TargetGroupStickinessConfig?: { Enabled?: boolean; DurationSeconds?: number } };
  [field: string]: unknown;
}
export interface Listener {
  ListenerArn: string;
  LoadBalancerArn: string;
  Port: number;
  Protocol: string;
  DefaultActions: Action[];
}
export interface Rule {
  RuleArn: string;
  ListenerArn: string;
  Priority: string;
  Conditions: unknown[];
  Actions: Action[];
}
export interface TargetGroup {
  TargetGroupArn: string;
  TargetGroupName: string;
  Protocol: string;
  Port: number;
  VpcId: string;
  TargetType: string;
}

const REASONS: Record<TargetState, { Reason?: string; Description?: string }> = {
  initial: { Reason: 'Elb.RegistrationInProgress', Description: 'Target registration is in progress' },
  healthy: {},
  unhealthy: { Reason: 'Target.FailedHealthChecks', Description: 'Health checks failed' },
  draining: { Reason: 'Target.DeregistrationInProgress', Description: 'Target deregistration is in progress' },
  unused: { Reason: 'Target.NotInUse', Description: 'Target group is not configured to receive traffic from the load balancer' },
  unavailable: { Reason: 'Elb.InternalError', Description: 'Health checks failed due to an internal error' },
};

const fault = (code: string, message: string) => new AwsFault(code, message);

export class Elbv2Model {
  readonly listeners = new Map<string, Listener>();
  readonly rules = new Map<string, Rule>();
  readonly targetGroups = new Map<string, TargetGroup>();
  private readonly registered = new Map<string, Target[]>();
  /** Targets registered by someone else (the ECS double registers its tasks): read at each DescribeTargetHealth. */
  targetSource: (targetGroupArn: string) => Target[] = () => [];
  private n = 0;

  constructor(readonly region = 'us-east-1') {}

  // ---- the test's handle ------------------------------------------------------------------

  /** A target group (its ARN made up unless given); returns its ARN. */
  targetGroup(name: string, port = 80, given?: string): string {
    const arn = given ?? `arn:aws:elasticloadbalancing:${this.region}:${ACCOUNT}:targetgroup/${name}/${(++this.n).toString(16).padStart(16, '0')}`;
    this.targetGroups.set(arn, { TargetGroupArn: arn, TargetGroupName: name, Protocol: 'HTTP', Port: port, VpcId: 'vpc-0rollgate', TargetType: 'ip' });
    return arn;
  }

  /** A listener on a new load balancer, with its default actions; returns its ARN. */
  listener(defaultActions: Action[], port = 443, given?: string): string {
    const id = (++this.n).toString(16).padStart(16, '0');
    const arn = given ?? `arn:aws:elasticloadbalancing:${this.region}:${ACCOUNT}:listener/app/web/${id}/${id}`;
    const lb = arn.replace(':listener/', ':loadbalancer/').replace(/\/[^/]+$/, '');
    this.listeners.set(arn, { ListenerArn: arn, LoadBalancerArn: lb, Port: port, Protocol: 'HTTPS', DefaultActions: this.actions(defaultActions) });
    return arn;
  }

  /** A rule of `listenerArn` at `priority`; returns its ARN. */
  rule(listenerArn: string, priority: number, actions: Action[], conditions: unknown[] = [{ Field: 'path-pattern', Values: ['/*'] }], given?: string): string {
    const arn = given ?? listenerArn.replace(':listener/', ':listener-rule/') + `/${(++this.n).toString(16).padStart(16, '0')}`;
    this.rules.set(arn, { RuleArn: arn, ListenerArn: listenerArn, Priority: String(priority), Conditions: conditions, Actions: this.actions(actions) });
    return arn;
  }

  /** Registers (or re-states) targets in a target group with a health state. */
  registerTargets(targetGroupArn: string, targets: Target[]): void {
    const list = (this.registered.get(targetGroupArn) ?? []).filter((t) => !targets.some((x) => x.id === t.id && x.port === t.port));
    this.registered.set(targetGroupArn, [...list, ...targets]);
  }

  deregisterTargets(targetGroupArn: string, ids: string[]): void {
    this.registered.set(targetGroupArn, (this.registered.get(targetGroupArn) ?? []).filter((t) => !ids.includes(t.id)));
  }

  /** The forward action's target groups and weights of a rule (or listener, by its ARN). */
  weights(arn: string): TargetGroupRef[] {
    const actions = this.rules.get(arn)?.Actions ?? this.listeners.get(arn)?.DefaultActions ?? [];
    return structuredClone(actions.find((a) => a.Type === 'forward')?.ForwardConfig?.TargetGroups ?? []);
  }

  // ---- operations -------------------------------------------------------------------------

  describeListeners(p: { ListenerArns?: string[]; LoadBalancerArn?: string }): unknown {
    const wanted = p.ListenerArns ?? [];
    for (const arn of wanted) if (!this.listeners.has(arn)) throw fault('ListenerNotFound', 'One or more listeners not found');
    const found = [...this.listeners.values()].filter((l) => wanted.includes(l.ListenerArn) || (p.LoadBalancerArn !== undefined && l.LoadBalancerArn === p.LoadBalancerArn));
    return { Listeners: structuredClone(found) };
  }

  describeRules(p: { ListenerArn?: string; RuleArns?: string[] }): unknown {
    if (p.ListenerArn !== undefined) {
      const listener = this.listeners.get(p.ListenerArn);
      if (!listener) throw fault('ListenerNotFound', 'One or more listeners not found');
      const rules = [...this.rules.values()].filter((r) => r.ListenerArn === listener.ListenerArn).map((r) => this.ruleView(r));
      const defaultRule = { RuleArn: `${listener.ListenerArn.replace(':listener/', ':listener-rule/')}/default`, Priority: 'default', Conditions: [], Actions: listener.DefaultActions, IsDefault: true };
      return { Rules: structuredClone([...rules, defaultRule]) };
    }
    const arns = p.RuleArns ?? [];
    if (arns.length === 0) throw fault('ValidationError', 'One of ListenerArn or RuleArns must be specified');
    for (const arn of arns) if (!this.rules.has(arn)) throw fault('RuleNotFound', 'One or more rules not found');
    return { Rules: structuredClone(arns.map((a) => this.ruleView(this.rules.get(a) as Rule))) };
  }

  private ruleView(r: Rule): unknown {
    return { RuleArn: r.RuleArn, Priority: r.Priority, Conditions: r.Conditions, Actions: r.Actions, IsDefault: false };
  }

  modifyRule(p: { RuleArn?: string; Actions?: unknown[]; Conditions?: unknown[] }): unknown {
    const rule = this.rules.get(p.RuleArn ?? '');
    if (!rule) {
      if (p.RuleArn?.endsWith('/default')) throw fault('OperationNotPermitted', 'Default rule cannot be modified; use ModifyListener');
      throw fault('RuleNotFound', 'One or more rules not found');
    }
    if (p.Actions !== undefined) rule.Actions = this.actions(p.Actions as Action[]);
    if (p.Conditions !== undefined) rule.Conditions = p.Conditions;
    return { Rules: [structuredClone(this.ruleView(rule))] };
  }

  modifyListener(p: { ListenerArn?: string; DefaultActions?: unknown[] }): unknown {
    const listener = this.listeners.get(p.ListenerArn ?? '');
    if (!listener) throw fault('ListenerNotFound', 'One or more listeners not found');
    if (p.DefaultActions !== undefined) listener.DefaultActions = this.actions(p.DefaultActions as Action[]);
    return { Listeners: [structuredClone(listener)] };
  }

  describeTargetGroups(p: { TargetGroupArns?: string[]; Names?: string[] }): unknown {
    const arns = p.TargetGroupArns ?? [];
    for (const arn of arns) if (!this.targetGroups.has(arn)) throw fault('TargetGroupNotFound', 'One or more target groups not found');
    const found = [...this.targetGroups.values()].filter((g) => arns.includes(g.TargetGroupArn) || (p.Names ?? []).includes(g.TargetGroupName) || (arns.length === 0 && !p.Names));
    return { TargetGroups: found.map((g) => ({ ...g, LoadBalancerArns: this.loadBalancersOf(g.TargetGroupArn) })) };
  }

  describeTargetHealth(p: { TargetGroupArn?: string; Targets?: Array<{ Id?: string }> }): unknown {
    const arn = p.TargetGroupArn ?? '';
    if (!this.targetGroups.has(arn)) throw fault('TargetGroupNotFound', 'One or more target groups not found');
    const inUse = this.loadBalancersOf(arn).length > 0;
    const targets = [...(this.registered.get(arn) ?? []), ...this.targetSource(arn)].filter((t) => !p.Targets?.length || p.Targets.some((x) => x.Id === t.id));
    return {
      TargetHealthDescriptions: targets.map((t) => {
        const state: TargetState = !inUse && t.health !== 'draining' ? 'unused' : t.health;
        const reason = state === t.health && t.reason !== undefined ? { Reason: t.reason } : {};
        return { Target: { Id: t.id, Port: t.port }, HealthCheckPort: String(t.port), TargetHealth: { State: state, ...REASONS[state], ...reason } };
      }),
    };
  }

  /** The load balancers whose listeners or rules forward to the target group (ECS's CreateService needs one). */
  loadBalancersOf(targetGroupArn: string): string[] {
    const uses = (actions: Action[]) => actions.some((a) => a.TargetGroupArn === targetGroupArn || (a.ForwardConfig?.TargetGroups ?? []).some((g) => g.TargetGroupArn === targetGroupArn));
    const lbs = new Set<string>();
    for (const l of this.listeners.values()) {
      if (uses(l.DefaultActions) || [...this.rules.values()].some((r) => r.ListenerArn === l.ListenerArn && uses(r.Actions))) lbs.add(l.LoadBalancerArn);
    }
    return [...lbs];
  }

  /** Actions as ELB validates and stores them (numbers and booleans from the form's strings; a forward's both spellings). */
  private actions(input: Action[]): Action[] {
    if (!Array.isArray(input) || input.length === 0) throw fault('ValidationError', 'An action must be specified');
    return input.map((raw, i) => {
      const a: Action = { ...structuredClone(raw), Type: String(raw.Type ?? '') };
      if (raw.Order !== undefined) a.Order = Number(raw.Order);
      if (a.Type !== 'forward') return a;
      const groups = (raw.ForwardConfig?.TargetGroups ?? []).map((g, j) => {
        const weight = g.Weight === undefined ? 1 : Number(g.Weight);
        if (!Number.isInteger(weight) || weight < 0 || weight > 999) {
          throw fault('ValidationError', `1 validation error detected: Value '${String(g.Weight)}' at 'actions.${i + 1}.member.forwardConfig.targetGroups.${j + 1}.member.weight' failed to satisfy constraint: Member must have value less than or equal to 999`);
        }
        return { TargetGroupArn: String(g.TargetGroupArn), Weight: weight };
      });
      const all = groups.length > 0 ? groups : raw.TargetGroupArn ? [{ TargetGroupArn: String(raw.TargetGroupArn), Weight: 1 }] : [];
      if (all.length === 0) throw fault('ValidationError', 'A target group ARN or a forward config must be specified for a forward action');
      if (all.length > 5) throw fault('TooManyTargetGroups', 'You have reached the maximum number of target groups in a forward action (5)');
      if (raw.TargetGroupArn && groups.length > 0 && (groups.length > 1 || groups[0]?.TargetGroupArn !== raw.TargetGroupArn)) {
        throw fault('ValidationError', 'You cannot specify a target group ARN and a forward config with different or multiple target groups');
      }
      for (const g of all) if (!this.targetGroups.has(g.TargetGroupArn)) throw fault('TargetGroupNotFound', 'One or more target groups not found');
      const sticky = raw.ForwardConfig?.TargetGroupStickinessConfig;
      const enabled = String(sticky?.Enabled) === 'true';
      const duration = sticky?.DurationSeconds === undefined ? undefined : Number(sticky.DurationSeconds);
      if (enabled && (duration === undefined || duration < 1 || duration > 604_800)) throw fault('ValidationError', 'The target group stickiness duration must be between 1 and 604800 seconds');
      const forward: Action = { ...a, ForwardConfig: { TargetGroups: all, TargetGroupStickinessConfig: { Enabled: enabled, ...(enabled ? { DurationSeconds: duration } : {}) } } };
      if (all.length === 1) forward.TargetGroupArn = all[0]?.TargetGroupArn as string;
      else delete forward.TargetGroupArn;
      return forward;
    });
  }
}
