import { describe, expect, it } from 'vitest';
import { ProviderError } from '../../errors.js';
import { pickRule, type Picked, type RuleChoice } from './pick.js';

/* Rules as a name (or none) and the backends they send to. */
type Rule = { name?: string; to: string[] };
const how: RuleChoice<Rule> = {
  router: 'test',
  noun: 'rule',
  field: 'rule',
  stable: 'Service web',
  nameOf: (r) => r.name,
  holdsStable: (r) => r.to.includes('web'),
};
const WHAT = 'HTTPRoute default/web';
const rules: Rule[] = [{ to: ['docs'] }, { name: 'api', to: ['web'] }, { name: 'admin', to: ['admin'] }];

describe('pickRule', () => {
  it.each<[string, Rule[], number | string | undefined, Picked]>([
    ['by index', rules, 2, { index: 2, label: "rule 'admin' (2)" }],
    ['by index, unnamed', rules, 0, { index: 0, label: 'rule 0' }],
    ['by name', rules, 'api', { index: 1, label: "rule 'api' (1)" }],
    ['the only rule to the stable backend', rules, undefined, { index: 1, label: "rule 'api' (1)" }],
    ['a named rule that does not hold the stable backend (the split says so)', rules, 'admin', { index: 2, label: "rule 'admin' (2)" }],
  ])('%s', (_, list, choice, picked) => {
    expect(pickRule(list, choice, how, WHAT)).toEqual(picked);
  });

  it.each<[string, Rule[], number | string | undefined, string]>([
    ['an index past the end', rules, 3, "test router: HTTPRoute default/web has no rule 3 (its rules: rule 0, rule 'api' (1), rule 'admin' (2)); rule counts from 0"],
    ['an unknown name', rules, 'web', "test router: HTTPRoute default/web has no rule named 'web' (its rules: rule 0, rule 'api' (1), rule 'admin' (2))"],
    ['no rules at all', [], undefined, 'test router: no rule of HTTPRoute default/web sends traffic to Service web (its rules: none); check the stable backend, or set rule'],
    ['no rule to the stable backend', [{ to: ['docs'] }], undefined, 'test router: no rule of HTTPRoute default/web sends traffic to Service web (its rules: rule 0); check the stable backend, or set rule'],
    [
      'several rules to the stable backend',
      [{ to: ['web'] }, { to: ['docs'] }, { name: 'api', to: ['web'] }],
      undefined,
      "test router: rule 0 and rule 'api' (2) of HTTPRoute default/web all send traffic to Service web; set rule (an index or a name) to say which one rollgate splits",
    ],
  ])('refuses %s', (_, list, choice, message) => {
    expect(() => pickRule(list, choice, how, WHAT)).toThrow(new ProviderError(message));
  });
});
