// The CLI that `bin` points to: core/src/cli/main.ts bundled into dist/cli/ (ESM, code-split, so a
// command loads only what it uses: the Teams and GitLab SDKs only when a run needs them).
// Run: node scripts/bundle-cli.mjs (npm run build calls it as `bundle`).
import { build } from 'esbuild';
import { rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { zodEnglishOnly } from './esbuild-plugins.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const OUT = join(ROOT, 'dist', 'cli');

rmSync(OUT, { recursive: true, force: true });
await build({
  absWorkingDir: ROOT,
  entryPoints: ['core/src/cli/main.ts'],
  outdir: OUT,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20.19',
  splitting: true,
  minifyWhitespace: true,
  minifySyntax: true,
  logLevel: 'warning',
  // Optional tracing hooks of the Teams SDK, loaded only when installed.
  external: ['@opentelemetry/api', '@opentelemetry/api-logs'],
  // Bundled CommonJS dependencies call require(): give the ESM output one.
  banner: { js: "import { createRequire as __rollgateRequire } from 'node:module'; const require = __rollgateRequire(import.meta.url);" },
  plugins: [zodEnglishOnly()],
});
