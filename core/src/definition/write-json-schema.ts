import { existsSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { renderJsonSchema } from './json-schema.js';

/**
 * Writes `workflow.schema.json` at the repository root: `npm run schema` (after a build, from
 * dist/), or `writeJsonSchema()` from a test. A test fails while the committed file is stale.
 */
export const SCHEMA_FILE = 'workflow.schema.json';

/** The folder holding rollgate's package.json, searched upwards from `from`. */
export function repoRoot(from: string = dirname(fileURLToPath(import.meta.url))): string {
  for (let dir = resolve(from); ; dir = dirname(dir)) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest) && (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }).name === 'rollgate') return dir;
    if (dirname(dir) === dir) throw new Error(`cannot find rollgate's package.json above ${from}`);
  }
}

export async function writeJsonSchema(path: string = join(repoRoot(), SCHEMA_FILE)): Promise<string> {
  await writeFile(path, renderJsonSchema());
  return path;
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  console.log(`wrote ${await writeJsonSchema()}`);
}
