import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The folder holding rollgate's own package.json, searched upwards: the same code runs from
 * core/src (tests) and from dist/core/src (the built CLI).
 */
export function repoRoot(from: string = dirname(fileURLToPath(import.meta.url))): string {
  for (let dir = resolve(from); ; dir = dirname(dir)) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest) && (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }).name === 'rollgate') return dir;
    if (dirname(dir) === dir) throw new Error(`cannot find rollgate's package.json above ${from}`);
  }
}
