import { describe, expect, it } from 'vitest';
import { rolloutStatus } from './rollout-status.js';

/** The cases of kubectl's rollout_status.go, in its order. */
describe('rolloutStatus, as kubectl rollout status reads a Deployment', () => {
  const d = (status: Record<string, unknown>, generation = 2, replicas: number | null = 3) => ({
    metadata: { name: 'web', generation },
    spec: replicas === null ? {} : { replicas },
    status,
  });

  it.each([
    ['the controller has not seen the change', d({ observedGeneration: 1, updatedReplicas: 3, replicas: 3, availableReplicas: 3 }), 'waiting', 'spec update to be observed'],
    [
      'the progress deadline passed',
      d({ observedGeneration: 2, conditions: [{ type: 'Progressing', reason: 'ProgressDeadlineExceeded', message: 'ReplicaSet "web-1" has timed out progressing.' }] }),
      'failed',
      'exceeded its progress deadline (ReplicaSet "web-1" has timed out progressing.)',
    ],
    ['fewer replicas updated than wanted', d({ observedGeneration: 2, updatedReplicas: 1, replicas: 4, availableReplicas: 3 }), 'waiting', '1 of 3 new replicas of "web" updated'],
    ['old replicas still terminating', d({ observedGeneration: 2, updatedReplicas: 3, replicas: 4, availableReplicas: 3 }), 'waiting', '1 old replicas of "web" pending termination'],
    ['updated replicas not yet available', d({ observedGeneration: 2, updatedReplicas: 3, replicas: 3, availableReplicas: 2 }), 'waiting', '2 of 3 updated replicas of "web" available'],
    ['everything updated and available', d({ observedGeneration: 2, updatedReplicas: 3, replicas: 3, availableReplicas: 3 }), 'done', 'successfully rolled out'],
    ['one replica by default, with no status yet', d({}, 0, null), 'waiting', '0 of 1 new replicas'],
  ])('%s', (_, deployment, state, message) => {
    const status = rolloutStatus(deployment);
    expect(status.state).toBe(state);
    expect(status.message).toContain(message);
  });

  it('a deadline with no message still says which deployment', () => {
    expect(rolloutStatus(d({ observedGeneration: 2, conditions: [{ type: 'Progressing', reason: 'ProgressDeadlineExceeded' }] }))).toEqual({
      state: 'failed',
      message: 'deployment "web" exceeded its progress deadline',
    });
  });

  it('an unnamed deployment is called deployment', () => {
    expect(rolloutStatus({ status: {} }).message).toContain('"deployment"');
  });
});
