import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from './cli/support.js';

/*
 * The structure the code keeps: the simulation is one provider family among others (nothing in
 * the model, the ports, the engine or the definition layer imports it or names it), and no file
 * in core/src grows past 350 lines.
 */

const SRC = join(ROOT, 'core/src');

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return files(path);
    return path.endsWith('.ts') && !path.endsWith('.test.ts') ? [path] : [];
  });
}

/** The code of a file without its comments: what it imports and names, not what it explains. */
function code(text: string): string {
  return text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`])\/\/.*$/gm, '$1');
}

describe('the simulation is a provider family, not a part of the engine', () => {
  it('is neither imported nor named in model/, ports/, engine/ or definition/', () => {
    const offenders = ['model', 'ports', 'engine', 'definition'].flatMap((folder) =>
      files(join(SRC, folder)).flatMap((file) => {
        const text = code(readFileSync(file, 'utf8'));
        const found = [...text.matchAll(/from '[^']*\/sim\/[^']*'|import\('[^']*\/sim\/[^']*'\)|\bsim\b/g)].map((m) => m[0]);
        return found.map((what) => `${relative(ROOT, file)}: ${what}`);
      }),
    );
    expect(offenders).toEqual([]);
  });
});

describe('file sizes', () => {
  it('keeps every file of core/src at 350 lines or fewer', () => {
    const long = files(SRC)
      .map((file) => ({ file: relative(ROOT, file), lines: readFileSync(file, 'utf8').split('\n').length - 1 }))
      .filter((f) => f.lines > 350);
    expect(long).toEqual([]);
  });
});
