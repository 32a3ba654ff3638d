import type { Action, TargetGroupTuple } from '@aws-sdk/client-elastic-load-balancing-v2';
import { ProviderError } from '../../errors.js';
import type { EntryModel, SplitWeights } from '../kubernetes/split.js';

/*
 * The forward action of an ALB rule (or a listener's default actions) as the alb router reads and
 * writes it: its weighted target groups (`ForwardConfig.TargetGroups`, weights 0–999) are the split;
 * everything else in the action (stickiness, order) and every other action travel untouched.
 */

/** A target group as messages name it: `target group web-green` (the name inside its ARN). */
export function groupName(arn: string | undefined): string {
  const m = /:targetgroup\/([^/]+)\//.exec(arn ?? '');
  return `target group ${m ? m[1] : (arn ?? '?')}`;
}

export function entryModel(stable: string, candidate: string): EntryModel<TargetGroupTuple> {
  return {
    router: 'alb',
    names: { stable: groupName(stable), canary: groupName(candidate) },
    role: (g) => (g.TargetGroupArn === stable ? 'stable' : g.TargetGroupArn === candidate ? 'canary' : undefined),
    weight: (g) => g.Weight ?? 1,
    withWeight: (g, Weight) => ({ ...g, Weight }),
    canaryFrom: () => ({ TargetGroupArn: candidate, Weight: 0 }),
    label: (g) => groupName(g.TargetGroupArn),
  };
}

/**
 * ELB weights (whole numbers 0–999, relative) that send exactly `canary` %: whole percents as a
 * person writes them (10 % is 10 and 90), tenths over 1,000 (2.5 % is 25 and 975), else the
 * smallest exact fraction that fits (0.25 % is 1 and 399). A share no pair under 1,000 carries
 * exactly is refused before anything changes.
 */
export function albWeights(canary: number): SplitWeights {
  if (Number.isInteger(canary)) return { stable: 100 - canary, canary };
  if (Number.isInteger(canary * 10)) return { stable: 1000 - canary * 10, canary: canary * 10 };
  for (let total = 2; total <= 1998; total++) {
    const c = (canary * total) / 100;
    if (Math.abs(c - Math.round(c)) < 1e-9 && Math.round(c) <= 999 && total - Math.round(c) <= 999) return { stable: total - Math.round(c), canary: Math.round(c) };
  }
  throw new ProviderError(`alb router: ELB target group weights are whole numbers from 0 to 999, so ${canary} % cannot be written exactly; use whole or tenth percents`, { nothingChanged: true });
}

/** The forward action in `actions`, and its target groups as a list (a lone TargetGroupArn is one group of weight 1). */
export function forwardOf(actions: Action[], where: string): { index: number; action: Action; groups: TargetGroupTuple[] } {
  const index = actions.findIndex((a) => a.Type === 'forward');
  if (index < 0) {
    throw new ProviderError(
      `alb router: ${where} has no forward action (its actions: ${actions.map((a) => a.Type).join(', ') || 'none'}); rollgate weighs the target groups of a forward action, so point it at the stable target group first`,
    );
  }
  const action = actions[index] as Action;
  const listed = action.ForwardConfig?.TargetGroups ?? [];
  const groups = listed.length > 0 ? listed : action.TargetGroupArn ? [{ TargetGroupArn: action.TargetGroupArn, Weight: 1 }] : [];
  return { index, action, groups };
}

/** `actions` with the forward action's target groups set to `groups` (stickiness and the other actions kept). */
export function withGroups(actions: Action[], index: number, groups: TargetGroupTuple[]): Action[] {
  return actions.map((a, i) => {
    if (i !== index) return writable(a);
    const { TargetGroupArn: _single, ...rest } = a;
    // ELB refuses a TargetGroupArn beside a forward config of several groups.
    return { ...rest, ...(groups.length === 1 ? { TargetGroupArn: groups[0]?.TargetGroupArn } : {}), ForwardConfig: { ...a.ForwardConfig, TargetGroups: groups } };
  });
}

/** An action as read, made fit to write back: describe never returns an OIDC client secret, so the one stored is kept. */
export function writable(a: Action): Action {
  if (a.Type === 'authenticate-oidc' && a.AuthenticateOidcConfig && a.AuthenticateOidcConfig.ClientSecret === undefined) {
    return { ...a, AuthenticateOidcConfig: { ...a.AuthenticateOidcConfig, UseExistingClientSecret: true } };
  }
  return a;
}

/** The weights of a list, as a change reports them: `{ "web-blue": 90, "web-green": 10 }`. */
export function weightsOf(groups: TargetGroupTuple[]): Record<string, number> {
  return Object.fromEntries(groups.map((g) => [groupName(g.TargetGroupArn).replace(/^target group /, ''), g.Weight ?? 1]));
}
