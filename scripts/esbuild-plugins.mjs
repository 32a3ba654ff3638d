// esbuild plugins shared by the three bundles (the CLI, the GitHub Action, the self-contained
// file). Each removes code that every run would parse at start-up and no run uses.
import { dirname, join } from 'node:path';

/**
 * zod's `z` namespace re-exports every locale (`z.locales`, about 300 KB of the 580 KB zod puts in
 * a bundle). rollgate writes its own messages and only ever uses the English default that zod
 * installs itself, so `locales` keeps `en` alone: V8 no longer parses the other 40-odd languages
 * on every start.
 */
export function zodEnglishOnly() {
  return {
    name: 'zod-english-only',
    setup(build) {
      // The virtual module's path is a fixed name, not the checkout's absolute path: esbuild hashes
      // chunk names from their inputs, and the committed action bundle must not depend on where
      // it was built.
      build.onResolve({ filter: /\/locales\/index\.js$/ }, (args) => {
        if (!/[\\/]zod[\\/]v4[\\/](core|classic)[\\/]/.test(args.importer)) return undefined;
        return { path: 'zod-locales-en-only', namespace: 'zod-english-only', pluginData: { dir: join(dirname(args.importer), '..', 'locales') } };
      });
      build.onLoad({ filter: /.*/, namespace: 'zod-english-only' }, (args) => ({
        contents: "export { default as en } from './en.js';\n",
        resolveDir: args.pluginData.dir,
      }));
    },
  };
}


