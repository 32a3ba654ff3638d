import { describeProbeContract } from '../testing/contracts/probe.js';
import * as command from './command.js';

describeProbeContract('command', () => {
  const probe = (input: Record<string, unknown>) => command.configSchema.parse({ type: 'command', ...input });
  return {
    working: (deps) => command.create(probe({ run: ['echo', '42'] }), deps),
    failing: (deps) => command.create(probe({ run: { run: 'echo "not ready" >&2; exit 3', shell: true } }), deps),
    // Its own timeout is far beyond the test's: only the signal can end it in time.
    hanging: (deps) => command.create(probe({ run: ['sleep', '600'], timeout: '10m' }), deps),
  };
});
