import { describeApproverContract } from '../testing/contracts/approver.js';
import { fakeDeps } from '../testing/fakes.js';
import * as manual from './manual.js';

// Never decides in-process: the run pauses and `resume --approve|--reject` carries the decision.
describeApproverContract('manual', () => ({
  deps: (states) => fakeDeps({}, { states }),
  create: () => manual.create(),
  decides: 'pending',
}));
