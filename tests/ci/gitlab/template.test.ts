import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { ROOT, TEMPLATE } from './support.js';

/*
 * The component file as GitLab reads it, checked without running it: the authoring rules of
 * GitLab's component docs (a `spec` header, then jobs only: no global keyword leaks into the
 * consumer's pipeline; the job's name and stage are inputs), every input typed where it is not a
 * string, described, and used, and the README's inputs table saying the same as the file.
 */

interface InputSpec {
  description?: string;
  default?: unknown;
  type?: 'string' | 'number' | 'boolean' | 'array';
  options?: unknown[];
  regex?: string;
}

const text = readFileSync(TEMPLATE, 'utf8');
const [header, body] = parseAllDocuments(text).map((d) => d.toJS() as Record<string, unknown>);
const inputs = (header?.spec as { inputs: Record<string, InputSpec> }).inputs;
const bodyText = text.slice(text.indexOf('\n---\n'));
const GLOBAL_KEYWORDS = ['default', 'include', 'stages', 'variables', 'workflow', 'image', 'services', 'cache', 'before_script', 'after_script'];

describe('the component template', () => {
  it('has a spec header and one job named by an input, and no global keyword', () => {
    expect(Object.keys(header ?? {})).toEqual(['spec']);
    expect(Object.keys(body ?? {})).toEqual(['$[[ inputs.job-name ]]']);
    expect(Object.keys(body ?? {}).filter((k) => GLOBAL_KEYWORDS.includes(k))).toEqual([]);
    const job = body?.['$[[ inputs.job-name ]]'] as Record<string, unknown>;
    expect(job.stage).toBe('$[[ inputs.stage ]]');
    expect(job.environment).toEqual({ name: '$[[ inputs.environment ]]', url: '$ROLLGATE_ENVIRONMENT_URL', action: '$[[ inputs.environment-action ]]' });
    expect(job.artifacts).toMatchObject({ when: 'always', reports: { dotenv: 'rollgate.env' } });
    expect(job.resource_group).toBe('$[[ inputs.resource-group-prefix ]]$[[ inputs.environment ]]');
  });

  it('describes every input, types the ones that are not strings, and uses each of them', () => {
    for (const [name, spec] of Object.entries(inputs)) {
      expect(spec.description?.length, `${name} is described`).toBeGreaterThan(10);
      expect(bodyText, `${name} is declared but never used`).toContain(`$[[ inputs.${name} ]]`);
      if (spec.default !== undefined && typeof spec.default !== 'string') expect(spec.type, name).toBe(Array.isArray(spec.default) ? 'array' : typeof spec.default);
      if (spec.options) expect(spec.options, name).toContain(spec.default);
    }
    const used = [...bodyText.matchAll(/\$\[\[ inputs\.([\w-]+) \]\]/g)].map((m) => m[1]);
    expect(used.filter((u) => !(u as string in inputs))).toEqual([]);
    expect(Object.entries(inputs).filter(([, s]) => s.default === undefined).map(([n]) => n)).toEqual(['environment']);
  });

  it('pins the CLI: the default version is exact and the regex refuses a range', () => {
    const version = inputs['rollgate-version'] as InputSpec;
    const pinned = new RegExp(version.regex as string);
    expect(pinned.test(String(version.default))).toBe(true);
    for (const range of ['latest', '^0.1.0', '0.x', '~0.1', '>=0.1.0']) expect(pinned.test(range), range).toBe(false);
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string; name: string };
    expect(version.default, 'the component runs the version it is released with').toBe(pkg.version);
    expect(bodyText).toContain('npx --yes rollgate@$RG_VERSION');
  });

  it('matches the inputs table of its README', () => {
    const readme = readFileSync(join(ROOT, 'gitlab-component/README.md'), 'utf8');
    const rows = readme
      .slice(readme.indexOf('## Inputs'), readme.indexOf('## What the job exports'))
      .split('\n')
      .filter((l) => /^\| `/.test(l))
      .map((l) => l.split(' | ').map((c) => c.replace(/^\| /, '').trim()));
    expect(rows.map((r) => (r[0] as string).replace(/`/g, ''))).toEqual(Object.keys(inputs));
    for (const [name, type, fallback] of rows) {
      const spec = inputs[(name as string).replace(/`/g, '')] as InputSpec;
      const kind = spec.options ? spec.options.map((o) => `\`${String(o)}\``).join(' \\| ') : (spec.type ?? 'string');
      expect(type?.startsWith(kind), `${name} type`).toBe(true);
      const shown = spec.default === undefined ? 'required' : Array.isArray(spec.default) ? '`[{when: on_success}]`' : `\`${spec.default === '' ? '""' : String(spec.default)}\``;
      expect(fallback, `${name} default`).toBe(shown);
    }
  });
});
