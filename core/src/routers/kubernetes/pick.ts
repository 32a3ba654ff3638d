import { ProviderError } from '../../errors.js';

/** How a router finds the one rule it splits among an object's rules (HTTPRoute rules, VirtualService http routes). */
export interface RuleChoice<R> {
  /** The router's type, first in every message. */
  router: string;
  /** What the rules are called in the workflow and in messages: `rule`, `http route`. */
  noun: string;
  /** The config field that chooses one, for hints: `rule`. */
  field: string;
  nameOf(rule: R): string | undefined;
  /** Whether the rule sends traffic to the stable backend. */
  holdsStable(rule: R): boolean;
  /** The stable backend as messages name it. */
  stable: string;
}

/** The chosen rule's index and its name in messages: `rule 1`, `rule 'api' (1)`. */
export interface Picked {
  index: number;
  label: string;
}

/**
 * The rule `choice` names (an index or a rule's name), or without one the only rule that sends
 * traffic to the stable backend. Throws a ProviderError naming `what` (the object) when there is
 * no such rule, or several could be meant.
 */
export function pickRule<R>(rules: readonly R[], choice: number | string | undefined, how: RuleChoice<R>, what: string): Picked {
  const label = (i: number) => {
    const name = how.nameOf(rules[i] as R);
    return name === undefined ? `${how.noun} ${i}` : `${how.noun} '${name}' (${i})`;
  };
  const all = () => rules.map((_, i) => label(i)).join(', ') || 'none';
  const fail = (message: string) => new ProviderError(`${how.router} router: ${message}`);
  if (typeof choice === 'number') {
    if (choice >= rules.length) throw fail(`${what} has no ${how.noun} ${choice} (its ${how.noun}s: ${all()}); ${how.field} counts from 0`);
    return { index: choice, label: label(choice) };
  }
  if (typeof choice === 'string') {
    const index = rules.findIndex((r) => how.nameOf(r) === choice);
    if (index < 0) throw fail(`${what} has no ${how.noun} named '${choice}' (its ${how.noun}s: ${all()})`);
    return { index, label: label(index) };
  }
  const holding = rules.flatMap((r, i) => (how.holdsStable(r) ? [i] : []));
  if (holding.length === 0) throw fail(`no ${how.noun} of ${what} sends traffic to ${how.stable} (its ${how.noun}s: ${all()}); check the stable backend, or set ${how.field}`);
  if (holding.length > 1) {
    throw fail(`${holding.map(label).join(' and ')} of ${what} all send traffic to ${how.stable}; set ${how.field} (an index or a name) to say which one rollgate splits`);
  }
  const index = holding[0] as number;
  return { index, label: label(index) };
}
