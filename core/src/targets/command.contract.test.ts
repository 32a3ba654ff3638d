import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { abortOnOutput } from '../testing/contracts/kit.js';
import { describeTargetContract } from '../testing/contracts/target.js';
import { fakeDeps } from '../testing/fakes.js';
import * as command from './command.js';

/*
 * A command target whose "infrastructure" is one file, state.txt, holding the deployed version:
 * what a real CLI would change, read back without the target. A `fault-<action>` file makes that
 * command exit 75 once, which the config declares retryable; version `slow` says it waits and hangs.
 */
const step = (action: string, body: string) => ({
  run: `if [ -e fault-${action} ]; then rm -f fault-${action}; exit 75; fi; ${body}`,
  shell: true,
  cwd: '.',
});

const config = command.configSchema.parse({
  type: 'command',
  current: step('current', 'cat state.txt 2>/dev/null || true'),
  deploy: step('deploy', 'printf %s "$ROLLGATE_VERSION" > state.txt; if [ "$ROLLGATE_VERSION" = slow ]; then echo waiting; exec sleep 600; fi'),
  health: { run: 'test -s state.txt', shell: true, cwd: '.' },
  revert: step('revert', 'if [ -n "$ROLLGATE_PREVIOUS_VERSION" ]; then printf %s "$ROLLGATE_PREVIOUS_VERSION" > state.txt; else rm -f state.txt; fi'),
  retryOn: { exitCodes: [75] },
});

describeTargetContract('command', command, () => {
  const dir = mkdtempSync(join(tmpdir(), 'rollgate-contract-command-'));
  return {
    deps: (states) => fakeDeps({ workDir: dir, environment: 'production' }, { states }),
    create: (deps) => command.create(config, deps),
    versions: ['1.0.0', '2.0.0'],
    slowVersion: 'slow',
    slowWaiting: (abort) => ({ log: abortOnOutput(abort, (line) => line === 'waiting') }),
    observe() {
      try {
        return readFileSync(join(dir, 'state.txt'), 'utf8');
      } catch {
        return null;
      }
    },
    injectFault(operation) {
      if (operation !== 'current' && operation !== 'deploy' && operation !== 'revert') return false;
      writeFileSync(join(dir, `fault-${operation}`), '');
      return true;
    },
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
});
