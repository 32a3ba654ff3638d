import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type ConfigIssue, formatIssue } from '../errors.js';
import { parseWorkflow } from './load.js';
import { repoRoot } from './write-json-schema.js';

/**
 * Golden files: every `valid/*` workflow must load (its warnings, if any, are listed in
 * `<name>.warnings.txt`); every `invalid/*` workflow must fail with exactly the issues in
 * `<name>.errors.txt`. After an intended change of messages, regenerate them with
 * `npx vitest run -u core/src/definition/fixtures.test.ts` and review the diff.
 */
const root = join(repoRoot(), 'tests/fixtures/workflows');
const workflowFiles = (dir: string) => readdirSync(join(root, dir)).filter((f) => /\.(ya?ml|json)$/.test(f));

function render(errors: ConfigIssue[], warnings: ConfigIssue[]): string {
  const lines = [...errors.map((i) => `error: ${formatIssue(i)}`), ...warnings.map((i) => `warning: ${formatIssue(i)}`)];
  return lines.length ? `${lines.join('\n')}\n` : '';
}

async function golden(path: string, actual: string): Promise<void> {
  // A workflow with nothing to report has no golden file at all.
  if (!actual && !existsSync(path)) return;
  await expect(actual, `${path} differs; run vitest with -u to regenerate, then review`).toMatchFileSnapshot(path);
}

describe('valid workflows', () => {
  it.each(workflowFiles('valid'))('%s loads', async (name) => {
    const result = parseWorkflow(readFileSync(join(root, 'valid', name), 'utf8'), `valid/${name}`);
    if (!result.ok) expect.fail(render(result.errors, result.warnings));
    await golden(join(root, 'valid', name.replace(/\.\w+$/, '.warnings.txt')), render([], result.warnings));
  });
});

describe('invalid workflows', () => {
  it.each(workflowFiles('invalid'))('%s is rejected with the expected issues', async (name) => {
    const result = parseWorkflow(readFileSync(join(root, 'invalid', name), 'utf8'), `invalid/${name}`);
    expect(result.ok).toBe(false);
    const errors = result.ok ? [] : result.errors;
    await golden(join(root, 'invalid', name.replace(/\.\w+$/, '.errors.txt')), render(errors, result.warnings));
  });

  it('every expected-issues file belongs to a fixture', () => {
    for (const dir of ['valid', 'invalid']) {
      const fixtures = new Set(workflowFiles(dir).map((f) => f.replace(/\.\w+$/, '')));
      for (const file of readdirSync(join(root, dir)).filter((f) => f.endsWith('.txt'))) {
        expect(fixtures, `${dir}/${file} has no workflow file`).toContain(file.replace(/\.(errors|warnings)\.txt$/, ''));
      }
    }
  });
});
