import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TargetOperation } from '../testing/contracts/index.js';
import { abortOnOutput } from '../testing/contracts/kit.js';
import { describeTargetContract } from '../testing/contracts/target.js';
import { fakeDeps } from '../testing/fakes.js';
import * as fleet from './fleet.js';

/*
 * A fleet of three hosts whose "servers" are files in a temp dir: `<host>.version` holds what a
 * host runs, read back without the target. Each command is a small sh program given as argv (no
 * shell option: values arrive as ROLLGATE_* variables). A `fault-<action>` file makes that
 * command exit 75 once (`fault-deploy-<version>`: only for that version), which the config declares
 * retryable; version `slow` says it waits and hangs.
 */
const HOSTS = ['web-1', 'web-2', 'web-3'];

const step = (action: string, body: string) => ({
  run: ['sh', '-c', `for f in fault-${action} "fault-${action}-$ROLLGATE_VERSION"; do if [ -e "$f" ]; then rm -f "$f"; exit 75; fi; done; ${body}`],
  cwd: '.',
});

const config = fleet.configSchema.parse({
  type: 'fleet',
  hostsFile: 'hosts.txt',
  current: step('current', 'cat "$ROLLGATE_HOST.version" 2>/dev/null || true'),
  deploy: step('deploy', 'printf %s "$ROLLGATE_VERSION" > "$ROLLGATE_HOST.version"; if [ "$ROLLGATE_VERSION" = slow ]; then echo waiting; exec sleep 600; fi'),
  health: step('health', 'test "$(cat "$ROLLGATE_HOST.version" 2>/dev/null)" = "$ROLLGATE_VERSION"'),
  revert: step(
    'revert',
    'case "$ROLLGATE_PREVIOUS_STATE" in version) printf %s "$ROLLGATE_PREVIOUS_VERSION" > "$ROLLGATE_HOST.version";; none) rm -f "$ROLLGATE_HOST.version";; esac',
  ),
  retryOn: { exitCodes: [75] },
});

/** The fault file of a target operation: the candidate and unit deploys fail for 2.0.0, not for the 1.0.0 deployed before them. */
const faulted: Partial<Record<TargetOperation, string>> = {
  current: 'current',
  deploy: 'deploy',
  revert: 'revert',
  deployCandidate: 'deploy-2.0.0',
  removeCandidate: 'revert',
  deployUnit: 'deploy-2.0.0',
  revertUnit: 'revert',
};

describeTargetContract('fleet', fleet, () => {
  const dir = mkdtempSync(join(tmpdir(), 'rollgate-contract-fleet-'));
  writeFileSync(join(dir, 'hosts.txt'), `# the contract's fleet\n${HOSTS.join('\n')}\n`);
  return {
    deps: (states) => fakeDeps({ workDir: dir, environment: 'production' }, { states }),
    create: (deps) => fleet.create(config, deps),
    versions: ['1.0.0', '2.0.0'],
    slowVersion: 'slow',
    slowWaiting: (abort) => ({ log: abortOnOutput(abort, (line) => line.endsWith(': waiting')) }),
    observe() {
      return Object.fromEntries(
        HOSTS.map((host) => {
          try {
            return [host, readFileSync(join(dir, `${host}.version`), 'utf8')];
          } catch {
            return [host, null];
          }
        }),
      );
    },
    injectFault(operation) {
      const action = faulted[operation];
      if (!action) return false;
      writeFileSync(join(dir, `fault-${action}`), '');
      return true;
    },
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
});
