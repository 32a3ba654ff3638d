import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from './cli/support.js';

/*
 * The README's worked example of "Adding a provider" is code that runs: its target and its
 * contract test are tests/fixtures/readme-provider/, which the suite runs. This keeps the two the
 * same (the fixture's imports reach core/src from tests/, the README's from core/src/targets/).
 */
const HEADER = '// The worked example of README.md, "Adding a provider" (tests/readme.test.ts keeps the two the same).\n';

function readmeBlocks(): string[] {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## Adding a provider'), readme.indexOf('## Project layout'));
  return [...section.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1] as string);
}

const asFixture = (code: string) => HEADER + code.replace("// core/src/targets/webhook.ts\n", '').replaceAll("from '../", "from '../../../core/src/");

describe('README: Adding a provider', () => {
  it('shows the target and the contract test that tests/fixtures/readme-provider/ runs', () => {
    const [target, registryLine, contract] = readmeBlocks();
    expect(asFixture(target ?? '')).toBe(readFileSync(join(ROOT, 'tests/fixtures/readme-provider/webhook.ts'), 'utf8'));
    expect(asFixture(contract ?? '')).toBe(readFileSync(join(ROOT, 'tests/fixtures/readme-provider/webhook.contract.test.ts'), 'utf8'));
    expect(registryLine).toContain('satisfies Record<string, TargetModule<Target>>');
  });
});
