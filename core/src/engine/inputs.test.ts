import { describe, expect, it } from 'vitest';
import { workflowSchema, type WorkflowInput } from '../definition/schema.js';
import { WorkflowConfigError } from '../errors.js';
import { resolveInputs } from './inputs.js';

const wf = (inputs: WorkflowInput['inputs']) =>
  workflowSchema.parse({
    version: 1,
    name: 'web',
    inputs,
    environments: { staging: {} },
    stages: [{ name: 'deploy', environment: 'staging', target: { type: 'sim' } }],
  });

/** The messages of the issues `resolveInputs` throws, or [] when it accepts. */
function problems(inputs: WorkflowInput['inputs'], given: Record<string, string>): string[] {
  try {
    resolveInputs(wf(inputs), given);
    return [];
  } catch (err) {
    expect(err).toBeInstanceOf(WorkflowConfigError);
    return (err as WorkflowConfigError).issues.map((i) => `${i.path}: ${i.message}`);
  }
}

describe('resolveInputs: safe values by default', () => {
  it('accepts what versions, tags, branches, commits and image references look like', () => {
    const values = [
      '1.2.3-rc.1+build.5',
      '9fceb02d0ae598e95dc970b74767f19372d61af8',
      'registry.example.com:5000/team/web:v2@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef',
      'release/2026.12',
      'feature/JIRA-123_fix~1',
      'alice@example.com',
      'eu,us',
      'key=value',
      '',
    ];
    for (const version of values) expect(problems({ version: {} }, { version }), version).toEqual([]);
  });

  it('refuses control characters, showing them escaped, even when a pattern would accept them', () => {
    expect(problems({ version: {} }, { version: 'v2\n::error::x' })).toEqual([
      "inputs.version: input 'version' is 'v2\\n::error::x': it contains a control character (newline), which is never accepted in an input",
    ]);
    expect(problems({ note: { pattern: '(?s).*' } }, { note: 'ok\u001b[2J' })).toEqual([
      "inputs.note: input 'note' is 'ok\\x1b[2J': it contains a control character (escape), which is never accepted in an input",
    ]);
    expect(problems({ tier: { allowed: ['a\u0007'] } }, { tier: 'a\u0007' })[0]).toContain('control character (U+0007)');
  });

  it('refuses whitespace, other characters, a leading dash and very long values, saying how to allow them', () => {
    const fix = 'an input may hold letters, digits and ._-+/:@=,~, at most 256 characters, not starting with -; set inputs.v.pattern to accept other values';
    expect(problems({ v: {} }, { v: 'v2 beta' })).toEqual([`inputs.v: input 'v' is 'v2 beta': it contains a space; ${fix}`]);
    expect(problems({ v: {} }, { v: '$(id)' })).toEqual([`inputs.v: input 'v' is '$(id)': it contains '$'; ${fix}`]);
    expect(problems({ v: {} }, { v: '--force' })).toEqual([`inputs.v: input 'v' is '--force': it starts with -, which a command would read as an option; ${fix}`]);
    expect(problems({ v: {} }, { v: 'a'.repeat(300) })[0]).toMatch(/^inputs.v: input 'v' is 'a{80}\.\.\.': it is 300 characters long; an input may hold/);
  });

  it('lets an input choose its own pattern (RE2, whole value) or list its allowed values', () => {
    expect(problems({ note: { pattern: '[A-Za-z ]+' } }, { note: 'a free text note' })).toEqual([]);
    expect(problems({ note: { pattern: '[a-z]+' } }, { note: 'abc1' })).toEqual([
      "inputs.note: input 'note' is 'abc1': it does not match inputs.note.pattern '[a-z]+'",
    ]);
    expect(problems({ region: { allowed: ['us east', 'eu'] } }, { region: 'us east' })).toEqual([]);
    expect(problems({ region: { allowed: ['eu'], pattern: 'e.' } }, { region: 'ex' })).toEqual(["inputs.region: input 'region' is 'ex'; allowed: eu"]);
  });

  it('escapes control characters in the name of an unknown input', () => {
    expect(problems({ version: {} }, { 'a\nb': 'x' })).toEqual(["inputs.a\\nb: unknown input 'a\\nb'; declared inputs: version"]);
  });

  it('checks defaults like given values', () => {
    expect(problems({ version: { default: 'v 1' } }, {})[0]).toMatch(/^inputs.version: input 'version' is 'v 1': it contains a space/);
  });
});
