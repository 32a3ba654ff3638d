import { describeNotifierContract } from '../testing/contracts/notifier.js';
import { fakeDeps } from '../testing/fakes.js';
import * as consoleNotifier from './console.js';

// The job log is the destination: a logger that keeps lines, and one that cannot write.
describeNotifierContract('console', () => {
  const lines: string[] = [];
  const config = consoleNotifier.configSchema.parse({ type: 'console' });
  return {
    deps: (states) => fakeDeps({ log: { info: (m) => lines.push(m), warn: (m) => lines.push(m), output: () => {} } }, { states }),
    create: (deps) => consoleNotifier.create(config, deps),
    delivered: () => lines.length,
    failing: (deps) =>
      consoleNotifier.create(config, {
        ...deps,
        log: {
          info: () => {
            throw new Error('EPIPE: the job log is gone');
          },
          warn: () => {},
          output: () => {},
        },
      }),
  };
});
