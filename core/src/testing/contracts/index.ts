/**
 * The shared contract suites, one per port: every implementation runs its port's suite, in a
 * `<impl>.contract.test.ts` file beside it, before its own backend-specific tests.
 *
 * A suite is a function that registers vitest `describe`/`it` blocks, so call it at the top level
 * of a test file. It takes a name and a `setup` that runs before every check and returns a
 * fixture: a factory creating the provider from deps (`deps(states)` then `create(deps)`, so a
 * later process is made from `states.reopen()`, the persisted state alone), a way to read the
 * infrastructure without the provider (`observe`), and where the implementation can, hooks that
 * inject a fault or say when a call waits. Checks that need a hook the fixture lacks are skipped
 * with the reason; a check an implementation fails is a contract breach, not a test to loosen.
 *
 * Slow or hanging things are aborted, never waited for: on a virtual clock the suites check that
 * no virtual time passed, and with real processes or sockets a call that ignores its signal makes
 * the test time out. Keep fixtures small: a temp dir, a local server on 127.0.0.1 port 0, the
 * simulated world of `simFamily`.
 *
 * Every implementation shipped with rollgate runs its suite: see the `*.contract.test.ts` files
 * beside them (targets/command.contract.test.ts is a target over files in a temp dir,
 * probes/http.contract.test.ts a probe against a local server).
 *
 * @example
 * // core/src/targets/kube.contract.test.ts
 * import { describeTargetContract } from '../testing/contracts/index.js';
 * import * as kube from './kube.js';
 * describeTargetContract('kube', kube, () => ({ deps, create: (d) => kube.create(config, d), versions: ['v1', 'v2'], slowVersion, observe }));
 */
export { describeApproverContract, type ApproverFixture, sampleApprovalRequest } from './approver.js';
export { type AuditSinkFixture, chainsOf, describeAuditSinkContract } from './audit-sink.js';
export { sampleEvents } from './events.js';
export {
  abortOnOutput,
  type CallOptions,
  CONTRACT_STAGE,
  type ContractCall,
  contractCall,
  type ContractProcess,
  depsOver,
  type Factory,
  type WaitArm,
} from './kit.js';
export { describeMetricProviderContract, type MetricProviderFixture } from './metric-provider.js';
export { describeNotifierContract, type NotifierFixture } from './notifier.js';
export { describeProbeContract, expectProbeResult, type ProbeFixture } from './probe.js';
export { describeRunStoreContract, type RunStoreFixture, sampleJournal } from './run-store.js';
export { serviceView, type SimFamilyFixture, simFamily } from './sim.js';
export { describeTargetContract, type TargetFixture, type TargetOperation, type TargetTraits } from './target.js';
export { describeTrafficRouterContract, type RouterOperation, type TrafficRouterFixture } from './traffic-router.js';
