import { describe, expect, it } from 'vitest';
import { checkConditionSyntax, compileCondition, CONDITION_LIMITS, ExpressionError, referencedProbes } from './expression.js';

const scope = (extra: Record<string, unknown> = {}) => ({
  probes: { db: { ok: true, value: 3.0, latencyMs: 12.0, error: '' } },
  inputs: { version: 'v2', branch: 'release/2026.12' },
  vars: { region: 'eu' },
  environment: 'staging',
  stage: 'deploy',
  ...extra,
});

const evaluate = (text: string, extra: Record<string, unknown> = {}) => compileCondition(text)(scope(extra));

describe('compileCondition', () => {
  it('evaluates CEL over probes, inputs, vars, stage and environment', () => {
    expect(evaluate('probes.db.ok && probes.db.value >= 2.0 && inputs.version != "" && vars.region == "eu"')).toBe(true);
    expect(evaluate('stage == "deploy" && environment == "prod"')).toBe(false);
    expect(evaluate('size(inputs.version) == 2 && {"eu": 1, "us": 2}[vars.region] == 1 && !(probes.db.error != "")')).toBe(true);
  });

  it('says what is wrong with a condition that does not parse, fails, or is not a boolean', () => {
    expect(() => compileCondition('probes.db.ok &&')).toThrow(ExpressionError);
    expect(() => compileCondition('probes.db.ok &&')).toThrow(/^cannot parse condition 'probes.db.ok &&': /);
    expect(() => evaluate('probes.nope.ok')).toThrow(/^condition 'probes.nope.ok' failed: /);
    expect(() => evaluate('probes.db.value')).toThrow("condition 'probes.db.value' gave number 3, expected true or false");
  });
});

describe('matches', () => {
  it('matches part of a string with RE2 syntax, as CEL says', () => {
    expect(evaluate('inputs.branch.matches("^release/[0-9]{4}\\\\.[0-9]+$")')).toBe(true);
    expect(evaluate('inputs.branch.matches("2026")')).toBe(true);
    expect(evaluate('inputs.branch.matches("^main$")')).toBe(false);
    expect(evaluate('inputs.branch.matches(vars.pattern)', { vars: { pattern: '^release/' } })).toBe(true);
    expect(evaluate('"Release".matches("(?i)^release$")')).toBe(true);
  });

  it('returns at once for a catastrophic-backtracking pattern on a long branch name', () => {
    // JavaScript's RegExp needs seconds per added character here; 100,000 would never finish.
    const branch = `release/${'a'.repeat(100_000)}!`;
    expect(evaluate('inputs.branch.matches("^release/(a+)+$")', { inputs: { branch } })).toBe(false);
    expect(evaluate('inputs.branch.matches("^release/(a|aa)*!$")', { inputs: { branch } })).toBe(true);
  });

  it('refuses, when compiling, a pattern RE2 cannot run, such as a backreference or a lookahead', () => {
    expect(() => compileCondition('inputs.branch.matches("^(a)\\\\1$")')).toThrow(
      "cannot parse condition 'inputs.branch.matches(\"^(a)\\\\1$\")': matches(): '^(a)\\1$' is not an RE2 regular expression (invalid escape sequence: `\\1`); RE2 has no backreferences or lookaround",
    );
    expect(checkConditionSyntax('inputs.branch.matches("^(?=release)")')).toMatch(/is not an RE2 regular expression \(invalid or unsupported Perl syntax: `\(\?=`\)/);
  });

  it('refuses, when evaluating, a pattern from a value that RE2 cannot run', () => {
    expect(() => evaluate('inputs.branch.matches(vars.pattern)', { vars: { pattern: '(x)\\1' } })).toThrow(
      /^condition 'inputs.branch.matches\(vars.pattern\)' failed: matches\(\): '\(x\)\\1' is not an RE2 regular expression/,
    );
  });

  it('takes strings only', () => {
    expect(() => evaluate('1.matches("1")')).toThrow(/found no matching overload for 'int.matches\(string\)'/);
    expect(() => evaluate('probes.db.value.matches("3")')).toThrow(/matches\(\) takes a string and a pattern, got number and string/);
  });
});

describe('condition limits', () => {
  it('refuses a condition longer than the limit, without quoting all of it', () => {
    const text = `inputs.version == "${'v'.repeat(CONDITION_LIMITS.maxLength)}"`;
    expect(() => compileCondition(text)).toThrow(
      `condition '${text.slice(0, 40)}...' is ${text.length} characters long; the limit is 4096: split it into several checks`,
    );
  });

  it('refuses too many terms, too deep nesting and too long lists', () => {
    const terms = Array(600).fill('a').join('||');
    expect(checkConditionSyntax(terms)).toMatch(/: it has more than 1000 terms; simplify it or split it into several checks$/);
    expect(checkConditionSyntax(`${'('.repeat(40)}true${')'.repeat(40)}`)).toMatch(/: it has more than 32 levels of nesting; simplify it/);
    expect(checkConditionSyntax(`inputs.version in [${Array.from({ length: 300 }, (_, i) => `"v${i}"`).join(', ')}]`)).toMatch(
      /: it has more than 256 items in one list; simplify it/,
    );
  });

  it('refuses comprehensions nested so deep that evaluation could take too many steps', () => {
    const list = `[${Array.from({ length: 100 }, (_, i) => i).join(', ')}]`;
    expect(() => compileCondition(`${list}.all(x, ${list}.all(y, ${list}.exists(z, x + y + z > 0)))`)).toThrow(
      /could take about 1\.0e\+7 steps to evaluate, more than the limit of 1,000,000: each comprehension \(all, exists, map, filter\) repeats its body for every item, so nest fewer of them$/,
    );
    expect(() => compileCondition('inputs.a.split(",").all(x, inputs.b.split(",").exists(y, x == y))')).toThrow(/steps to evaluate/);
    expect(evaluate(`${list}.all(x, ${list}.exists(y, x == y))`)).toBe(true);
    expect(evaluate('inputs.regions.split(",").all(r, r in ["eu", "us"])', { inputs: { regions: 'eu,us' } })).toBe(true);
  });
});

describe('referencedProbes', () => {
  it('lists each probe a condition names once', () => {
    expect(referencedProbes('probes.db.ok && probes.api.value > 1.0 || probes.db.latencyMs < 5.0')).toEqual(['db', 'api']);
  });
});
