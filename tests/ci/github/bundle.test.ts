import { execFile } from 'node:child_process';
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isBuiltin } from 'node:module';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { build, type BuildOptions } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { startFakeGitHub } from './fake-github.js';
import { ACTION_DIST, githubEnv, mainAndPost, NODES, ROOT, workspace } from './support.js';

/*
 * action/dist is what GitHub runs: straight from the git ref, with no node_modules. It must be
 * the bundle of the current sources, and it must run on its own.
 */
const run = promisify(execFile);

describe('action/dist', () => {
  it('is what a fresh build of the sources produces (npm run bundle:action)', async () => {
    const { stdout } = await run(process.execPath, [join(ROOT, 'action/build.mjs'), '--check'], { cwd: ROOT });
    expect(stdout).toMatch(/^action\/dist matches a fresh build \(\d+ files\)/);
  });

  it('imports nothing that is not in it, but Node built-ins and optional packages (tracing hooks, the Kubernetes client’s speed-ups), loaded only by require', async () => {
    const { options } = (await import(pathToFileURL(join(ROOT, 'action/build.mjs')).href)) as { options: (outdir: string) => BuildOptions };
    const result = await build({ ...options(join(ROOT, 'action/dist')), write: false, logLevel: 'silent' });
    const external = Object.values(result.metafile?.outputs ?? {}).flatMap((o) => o.imports.filter((i) => i.external));
    const notBuiltIn = external.filter((i) => !i.path.startsWith('node:') && !isBuiltin(i.path));
    expect([...new Set(notBuiltIn.map((i) => `${i.kind} ${i.path}`))].sort()).toEqual([
      'require-call @opentelemetry/api',
      'require-call @opentelemetry/api-logs',
      'require-call bufferutil',
      'require-call encoding',
      'require-call utf-8-validate',
    ]);
  });

  it.each(NODES)('runs from a folder without node_modules, main and post, under %s', async (_label, node) => {
    const gh = await startFakeGitHub();
    try {
      const dir = await workspace();
      const dist = join(await workspace('rollgate-action-copy-'), 'dist');
      cpSync(ACTION_DIST, dist, { recursive: true });
      writeFileSync(join(dir, 'wf.yml'), readFileSync(join(ROOT, 'examples/approval-gate.yml')));
      const { main, post } = await mainAndPost({ dir, dist, node, inputs: { workflow: 'wf.yml', token: gh.token }, env: githubEnv(dir, gh) });
      expect(main.outputs.result).toBe('paused');
      expect(post.code).toBe(0);
      expect(gh.artifacts.map((a) => a.finalized)).toEqual([true]);
    } finally {
      await gh.close();
    }
  });
});
