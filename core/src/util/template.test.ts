import { describe, expect, it } from 'vitest';
import { hasPlaceholder, isPlaceholderForm, placeholders, renderTemplate } from './template.js';

describe('renderTemplate', () => {
  it('fills the documented placeholders from a scope', () => {
    const scope = { inputs: { version: 'v2' }, vars: { 'db-host': 'db' }, stage: 'canary', environment: 'prod' };
    expect(renderTemplate('{{ inputs.version }}-{{vars.db-host}}@{{ stage }}/{{ environment }}', scope)).toBe('v2-db@canary/prod');
    expect(renderTemplate('no placeholders', scope)).toBe('no placeholders');
  });

  it('fills them from a lookup function', () => {
    expect(renderTemplate('{{ inputs.region }}', (name) => (name === 'inputs.region' ? 'eu' : undefined))).toBe('eu');
  });

  it('names the placeholder without a value and never lists what the scope holds', () => {
    const scope = { inputs: { ghp_token_input: 'x' }, vars: { AWS_SECRET_ACCESS_KEY: 'k' }, env: 'HOME' };
    const message = (text: string) => {
      try {
        renderTemplate(text, scope);
      } catch (err) {
        return (err as Error).message;
      }
      throw new Error('expected a throw');
    };
    expect(message('{{ inputs.version }}')).toBe("'{{ inputs.version }}' has no value: the run gave no input 'version' and it has no default");
    expect(message('{{ vars.host }}')).toBe("'{{ vars.host }}' has no value: the stage's environment has no variable 'host'");
    expect(message('{{ stage }}')).toBe("'{{ stage }}' has no value here");
    expect(message('{{ env }}')).toBe(
      "'{{ env }}' is not a placeholder rollgate fills; use {{ inputs.NAME }}, {{ vars.NAME }}, {{ stage }}, {{ environment }}",
    );
    expect(message('{{ env.HOME }}')).toMatch(/^'\{\{ env.HOME \}\}' is not a placeholder rollgate fills/);
    for (const text of ['{{ inputs.version }}', '{{ vars.host }}', '{{ env.HOME }}']) {
      expect(message(text)).not.toMatch(/ghp_token_input|AWS_SECRET_ACCESS_KEY/);
    }
  });
});

describe('placeholders', () => {
  it('lists the names used and recognises the documented forms', () => {
    expect(placeholders('{{ inputs.version }}-{{ vars.db-host }}-{{ commit.sha }}')).toEqual(['inputs.version', 'vars.db-host', 'commit.sha']);
    expect(hasPlaceholder('a {{ stage }}')).toBe(true);
    expect(hasPlaceholder('a { stage }')).toBe(false);
    expect(['inputs.version', 'vars.db-host', 'stage', 'environment'].map(isPlaceholderForm)).toEqual([true, true, true, true]);
    expect(['env.HOME', 'inputs', 'stage.name', 'inputs.a.b'].map(isPlaceholderForm)).toEqual([false, false, false, false]);
  });
});
