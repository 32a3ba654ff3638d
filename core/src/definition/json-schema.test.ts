import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { renderJsonSchema, workflowJsonSchema, WORKFLOW_SCHEMA_ID } from './json-schema.js';
import { repoRoot, SCHEMA_FILE, writeJsonSchema } from './write-json-schema.js';

describe('workflow JSON Schema', () => {
  it('is committed and up to date', async () => {
    const committed = await readFile(join(repoRoot(), SCHEMA_FILE), 'utf8').catch(() => '');
    if (committed !== renderJsonSchema()) expect.fail('workflow.schema.json is stale: run npm run schema');
  });

  it('describes what users write, with an id, a title and descriptions', () => {
    const schema = workflowJsonSchema() as {
      $schema: string;
      $id: string;
      title: string;
      required: string[];
      additionalProperties: boolean;
      properties: Record<string, { description?: string; default?: unknown }>;
    };
    expect(schema.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
    expect(schema.$id).toBe(WORKFLOW_SCHEMA_ID);
    expect(schema.title).toBe('rollgate workflow');
    expect(schema.required).toEqual(['version', 'name', 'environments', 'stages']);
    expect(schema.additionalProperties).toBe(false);
    expect(schema.properties.stages?.description).toBe('Deployments, run as a graph through `needs`');
    expect(schema.properties.inputs?.default).toEqual({});
    // Durations are text in the file, not the milliseconds they parse to.
    expect(JSON.stringify(schema.properties.defaults)).toContain('"stageTimeout":{"default":"30m"');
  });

  it('is written as two-space JSON with a final newline', async () => {
    const path = join(await mkdtemp(join(tmpdir(), 'rollgate-schema-')), SCHEMA_FILE);
    expect(await writeJsonSchema(path)).toBe(path);
    const text = await readFile(path, 'utf8');
    expect(text).toBe(renderJsonSchema());
    expect(text.endsWith('}\n')).toBe(true);
    expect(text.split('\n')[1]).toMatch(/^ {2}"\$schema"/);
  });

  it('finds the repository root from a folder inside it, and fails outside it', () => {
    expect(repoRoot(join(repoRoot(), 'core/src/definition'))).toBe(repoRoot());
    expect(() => repoRoot(tmpdir())).toThrow(/cannot find rollgate's package.json above/);
  });
});
