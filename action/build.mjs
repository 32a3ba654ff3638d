// Bundles the GitHub Action: action/src/main.ts and action/src/post.ts, with core and every
// dependency, into ESM files under action/dist/ that run with no node_modules (a JavaScript
// action runs straight from the git ref). esbuild, because @vercel/ncc cannot bundle the
// ESM-only @actions/* packages.
//
//   node action/build.mjs           build into action/dist/ (the committed bundle)
//   node action/build.mjs --check   build into a temporary folder and exit 1 when it differs
//                                   from action/dist/ (CI: the committed bundle is current)
//
// The output is deterministic: no timestamps, no absolute paths, content-hashed chunk names.
import { build } from 'esbuild';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { zodEnglishOnly } from '../scripts/esbuild-plugins.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const DIST = join(ROOT, 'action', 'dist');

/**
 * @actions/core imports @actions/http-client (and with it undici, half a megabyte) for one
 * function only, getIDToken (OIDC), which rollgate never calls; loading it costs every run its
 * start-up. For @actions/core's OIDC client only, the two imports are replaced by a module that
 * loads the real ones when a request is made: getIDToken still works, it just loads them then.
 * Everything else (the Octokit of @actions/github, the artifact client) imports the real package.
 */
const LAZY_OIDC_HTTP = `
export class BearerCredentialHandler {
  constructor(token) { this.token = token; }
}
export class HttpClient {
  constructor(userAgent, handlers, options) { this.args = [userAgent, handlers, options]; }
  async getJson(url, headers) {
    const [{ HttpClient: Real }, { BearerCredentialHandler: Bearer }] = await Promise.all([
      import('@actions/http-client'),
      import('@actions/http-client/lib/auth'),
    ]);
    const [userAgent, handlers, options] = this.args;
    return new Real(userAgent, handlers.map((h) => new Bearer(h.token)), options).getJson(url, headers);
  }
}
`;

const lazyOidcHttp = {
  name: 'lazy-oidc-http-client',
  setup(b) {
    b.onResolve({ filter: /^@actions\/http-client(\/lib\/auth)?$/ }, (args) =>
      args.importer.replaceAll('\\', '/').endsWith('node_modules/@actions/core/lib/oidc-utils.js')
        ? { path: 'oidc-http-client', namespace: 'rollgate-lazy' }
        : undefined,
    );
    b.onLoad({ filter: /.*/, namespace: 'rollgate-lazy' }, () => ({
      contents: LAZY_OIDC_HTTP,
      loader: 'js',
      resolveDir: join(ROOT, 'node_modules', '@actions', 'core', 'lib'),
    }));
  },
};

/** The options, shared by the build and the check so both produce the same bytes. */
export function options(outdir) {
  return {
    absWorkingDir: ROOT,
    entryPoints: { main: 'action/src/start-main.ts', post: 'action/src/start-post.ts' },
    outdir,
    bundle: true,
    platform: 'node',
    target: 'node24',
    format: 'esm',
    // main and post share core, @actions/core and the engine: one copy of each, in chunks.
    splitting: true,
    chunkNames: 'chunks/[name]-[hash]',
    minifyWhitespace: true,
    minifySyntax: true,
    legalComments: 'eof',
    // Bundled CommonJS dependencies call require(): give the ESM output one, as the CLI bundle does.
    banner: { js: "import { createRequire as __rollgateRequire } from 'node:module'; const require = __rollgateRequire(import.meta.url);" },
    // Optional tracing hooks of dependencies, loaded only when installed (never, in an action), and
    // optional speed-ups of the Kubernetes client's node-fetch and ws, each required inside a try.
    external: ['@opentelemetry/api', '@opentelemetry/api-logs', 'encoding', 'bufferutil', 'utf-8-validate'],
    plugins: [lazyOidcHttp, zodEnglishOnly()],
    metafile: true,
    logLevel: 'warning',
  };
}

function files(dir) {
  if (!statSync(dir, { throwIfNoEntry: false })) return [];
  return readdirSync(dir, { recursive: true })
    .map(String)
    .filter((f) => statSync(join(dir, f)).isFile())
    .sort();
}

async function buildInto(outdir) {
  rmSync(outdir, { recursive: true, force: true });
  return build(options(outdir));
}

function sizes(result, outdir) {
  const rows = Object.entries(result.metafile.outputs).map(([file, out]) => [relative(outdir, resolve(ROOT, file)), out.bytes]);
  const total = rows.reduce((sum, [, bytes]) => sum + bytes, 0);
  const kb = (n) => `${(n / 1024).toFixed(1)} KiB`;
  return [...rows.map(([f, b]) => `  ${f.padEnd(40)} ${kb(b).padStart(12)}`), `  ${'total'.padEnd(40)} ${kb(total).padStart(12)}`].join('\n');
}

const isEntry = process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url);
if (isEntry && process.argv.includes('--check')) {
  const tmp = mkdtempSync(join(tmpdir(), 'rollgate-action-dist-'));
  try {
    await buildInto(tmp);
    const fresh = files(tmp);
    const committed = files(DIST);
    const problems = [
      ...fresh.filter((f) => !committed.includes(f)).map((f) => `missing from action/dist: ${f}`),
      ...committed.filter((f) => !fresh.includes(f)).map((f) => `not produced by a fresh build: action/dist/${f}`),
      ...fresh.filter((f) => committed.includes(f) && !readFileSync(join(tmp, f)).equals(readFileSync(join(DIST, f)))).map((f) => `differs: action/dist/${f}`),
    ];
    if (problems.length > 0) {
      console.error(`action/dist is not the bundle of the current sources (run: npm run bundle:action):\n  ${problems.join('\n  ')}`);
      process.exitCode = 1;
    } else {
      console.log(`action/dist matches a fresh build (${fresh.length} files)`);
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
} else if (isEntry) {
  const result = await buildInto(DIST);
  console.log(`action/dist:\n${sizes(result, DIST)}`);
}
