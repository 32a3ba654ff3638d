import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { renderReference, updateReadme } from './reference-markdown.js';

describe('README workflow reference', () => {
  it('documents every kind of target, probe, approval and failure', () => {
    const text = renderReference();
    for (const heading of ['`stages[].target`: `command`', '`probes.NAME`: `http`', '`stages[].approval`: `manual`', '`sim.failures[]`: `bad-version`']) {
      expect(text).toContain(heading);
    }
    expect(text).toMatch(/\| `stages\[\]\.verify\.timeout` \| duration \| {2}\| `"5m"` \|/);
  });

  it('is up to date in README.md (run npm run schema when this fails)', async () => {
    const readme = await readFile(new URL('../../../README.md', import.meta.url), 'utf8');
    expect(updateReadme(readme) === readme, 'README.md workflow reference is stale: run npm run schema').toBe(true);
  });

  it('refuses a README without the markers', () => {
    expect(() => updateReadme('# nothing here')).toThrow('README.md lacks the workflow-reference markers');
  });
});
