import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeTrafficRouterContract } from '../testing/contracts/traffic-router.js';
import { fakeDeps } from '../testing/fakes.js';
import * as command from './command.js';

/*
 * A command router whose "proxy" is one file, split.txt, holding the canary weight (no file: all
 * traffic to the stable version): what a real load balancer's CLI would change, read back without
 * the router. A `fault-<action>` file makes that command exit 75 once, which the config declares
 * retryable.
 */
const step = (action: string, body: string) => ({
  run: `if [ -e fault-${action} ]; then rm -f fault-${action}; exit 75; fi; ${body}`,
  shell: true,
  cwd: '.',
});

const config = command.configSchema.parse({
  type: 'command',
  set: step('set', 'if [ "$ROLLGATE_CANARY_WEIGHT" = 0 ]; then rm -f split.txt; else printf %s "$ROLLGATE_CANARY_WEIGHT" > split.txt; fi'),
  get: step('get', 'if [ -e split.txt ]; then printf \'{"stable": %s, "canary": %s}\' "$((100 - $(cat split.txt)))" "$(cat split.txt)"; else echo 0; fi'),
  finalize: step('finalize', 'if [ "$ROLLGATE_CANARY_WEIGHT" = 0 ]; then rm -f split.txt; else printf %s "$ROLLGATE_CANARY_WEIGHT" > split.txt; fi'),
  retryOn: { exitCodes: [75] },
});

describeTrafficRouterContract('command', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rollgate-contract-command-router-'));
  return {
    deps: (states) => fakeDeps({ workDir: dir, environment: 'production' }, { states }),
    create: (deps) => command.create(config, deps),
    observe() {
      try {
        return readFileSync(join(dir, 'split.txt'), 'utf8');
      } catch {
        return null;
      }
    },
    arrange: (_states, found) => writeFileSync(join(dir, 'split.txt'), String(found.canary)),
    injectFault(operation) {
      // A finalize before any change runs nothing (there is nothing to put back), so it cannot fail.
      if (operation === 'finalize') return false;
      writeFileSync(join(dir, `fault-${operation === 'setWeights' ? 'set' : 'get'}`), '');
      return true;
    },
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
});
