import { writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { repoRoot } from '../util/repo-root.js';
import { renderJsonSchema } from './json-schema.js';

/**
 * Writes `workflow.schema.json` at the repository root: `npm run schema` (after a build, from
 * dist/), or `writeJsonSchema()` from a test. A test fails while the committed file is stale.
 */
export { repoRoot };
export const SCHEMA_FILE = 'workflow.schema.json';

export async function writeJsonSchema(path: string = join(repoRoot(), SCHEMA_FILE)): Promise<string> {
  await writeFile(path, renderJsonSchema());
  return path;
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  console.log(`wrote ${await writeJsonSchema()}`);
}
