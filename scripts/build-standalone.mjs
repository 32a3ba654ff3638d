// The self-contained CLI: ONE file, dist/rollgate.mjs, that runs with nothing but Node (no
// node_modules, no package.json beside it): for Jenkins agents and other hosts without registry
// access. Run: node scripts/build-standalone.mjs (npm run build calls it as bundle:standalone;
// ROLLGATE_BUILD_VERBOSE=1 prints the size and the time).
//
// Every dependency is inlined, with no code splitting. The catch with no splitting: the SDKs core
// imports only when it needs them (the Teams bot SDK with MSAL and jose, about 1.2 MB; GitLab's
// client, 0.4 MB) would land in the file as code, and V8 compiles every byte of a module's code
// at start-up, whether it ever runs or not (measured: +70 ms on `--version` for the Teams SDK
// alone). So they are built apart as CommonJS and carried as string literals, which V8 only
// scans: each is compiled and evaluated on its first use, and never by a run that does not use it.
import { build } from 'esbuild';
import { chmodSync, readFileSync, statSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { zodEnglishOnly } from './esbuild-plugins.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const OUT = join(ROOT, 'dist', 'rollgate.mjs');
const SHEBANG = '#!/usr/bin/env node\n';
const TARGET = 'node20.19';

/**
 * Optional peers of the Teams SDK's telemetry: required inside a try (absent: telemetry off, one
 * debug line), so they stay out of the file and are looked up beside it only if the SDK loads.
 */
const OPTIONAL = [
  '@opentelemetry/api',
  '@opentelemetry/api-logs',
  // Optional peers of the Kubernetes client's HTTP and WebSocket packages (node-fetch, ws), each
  // required inside a try: absent, they fall back to Node's own code.
  'encoding',
  'bufferutil',
  'utf-8-validate',
];
/**
 * Packages carried as text (see above): heavy, and imported only inside what core loads with
 * import() (the Teams bot SDK, by the teams-bot notifier; GitLab's client, by the gitlab
 * approver; the Kubernetes client, by the kubernetes providers' first call; each AWS SDK client
 * and the credential providers, by the first call of an AWS provider). Only third-party packages: a copy of a core module inside the text would be a
 * second instance of it (its classes failing instanceof, its state split in two).
 */
const LAZY = [
  '@microsoft/agents-hosting',
  '@gitbeaker/rest',
  '@kubernetes/client-node',
  '@aws-sdk/client-ecs',
  '@aws-sdk/client-elastic-load-balancing-v2',
  '@aws-sdk/client-cloudwatch',
  '@aws-sdk/client-rds',
  '@aws-sdk/client-service-quotas',
  '@aws-sdk/credential-providers',
];

const { version } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
const common = {
  bundle: true,
  platform: 'node',
  target: TARGET,
  external: OPTIONAL,
  minifyWhitespace: true,
  minifySyntax: true,
  logLevel: 'warning',
  absWorkingDir: ROOT,
};

/** One lazy package as a CommonJS bundle, in memory; built once, when something imports it. */
const carried = new Map();
function commonJsBundle(pkg) {
  if (!carried.has(pkg)) {
    carried.set(
      pkg,
      build({
        ...common,
        stdin: { contents: `module.exports = require(${JSON.stringify(pkg)});`, resolveDir: ROOT, sourcefile: `${pkg}.cjs` },
        format: 'cjs',
        write: false,
      }).then((result) => result.outputFiles[0].text),
    );
  }
  return carried.get(pkg);
}

/**
 * Resolves a lazy package to a small CommonJS module that compiles the carried text, as Node's
 * own loader wraps a file. CommonJS, so that esbuild evaluates it only when first required (from
 * the import() that reaches it) and named imports read its exports like any CommonJS package.
 */
const lazyPackages = {
  name: 'lazy-packages',
  setup(b) {
    const filter = new RegExp(`^(${LAZY.map((p) => p.replace(/[/.]/g, '\\$&')).join('|')})$`);
    b.onResolve({ filter }, (args) => ({ path: args.path, namespace: 'lazy' }));
    b.onLoad({ filter: /.*/, namespace: 'lazy' }, async (args) => ({
      loader: 'js',
      resolveDir: ROOT,
      contents: [
        `const { compileFunction, constants } = require('node:vm');`,
        `const { dirname } = require('node:path');`,
        // __rollgateFile (the banner): the standalone file, which names the text in stack traces.
        // An import() in the text (an optional peer, tried in a try) goes to Node's own loader.
        `const wrapper = compileFunction(${JSON.stringify(await commonJsBundle(args.path))}, ['exports', 'require', 'module', '__filename', '__dirname'], { filename: __rollgateFile + '#${args.path}', importModuleDynamically: constants.USE_MAIN_CONTEXT_DEFAULT_LOADER });`,
        `wrapper(module.exports, require, module, __rollgateFile, dirname(__rollgateFile));`,
      ].join('\n'),
    }));
  },
};

const started = performance.now();
const result = await build({
  ...common,
  entryPoints: [join(ROOT, 'core/src/cli/main.ts')],
  outfile: OUT,
  format: 'esm',
  splitting: false,
  metafile: true,
  // `--version` reads package.json above the running file, and there is none beside this one.
  define: { __ROLLGATE_VERSION__: JSON.stringify(version) },
  // Inlined CommonJS code calls require() for Node's builtins; an ES module has none of its own.
  banner: {
    js: [
      "import { createRequire as __rollgateRequire } from 'node:module';",
      "import { fileURLToPath as __rollgateFileURLToPath } from 'node:url';",
      'const require = __rollgateRequire(import.meta.url);',
      'const __rollgateFile = __rollgateFileURLToPath(import.meta.url);',
    ].join(' '),
  },
  plugins: [lazyPackages, zodEnglishOnly()],
});

// What the file may still import: Node's builtins, and the optional peers inside the lazy text.
const builtins = new Set([...builtinModules, ...builtinModules.map((m) => `node:${m}`)]);
const outside = Object.values(result.metafile.outputs)
  .flatMap((o) => o.imports)
  .filter((i) => i.external && !builtins.has(i.path))
  .map((i) => i.path);
if (outside.length > 0) throw new Error(`build-standalone: ${OUT} imports packages it does not contain: ${[...new Set(outside)].join(', ')}`);

const text = readFileSync(OUT, 'utf8');
if (!text.startsWith(SHEBANG)) throw new Error(`build-standalone: ${OUT} does not start with ${SHEBANG.trim()}`);
chmodSync(OUT, 0o755);
const kb = (statSync(OUT).size / 1024).toFixed(0);
if (process.env.ROLLGATE_BUILD_VERBOSE) console.log(`${relative(ROOT, OUT)}: ${kb} KB in ${(performance.now() - started).toFixed(0)} ms`);
