import { createVirtualClock } from '../clocks/virtual.js';
import { describeApproverContract } from '../testing/contracts/approver.js';
import { fakeDeps } from '../testing/fakes.js';
import * as auto from './auto.js';

describeApproverContract('auto (approve)', () => {
  const clock = createVirtualClock();
  return {
    clock,
    deps: (states) => fakeDeps({ clock }, { states }),
    create: (deps) => auto.create(auto.configSchema.parse({ type: 'auto' }), deps),
    decides: 'approved',
  };
});

describeApproverContract('auto (reject)', () => ({
  deps: (states) => fakeDeps({}, { states }),
  create: (deps) => auto.create(auto.configSchema.parse({ type: 'auto', decision: 'reject', by: 'policy-bot' }), deps),
  decides: 'rejected',
}));
