import * as nodeModule from 'node:module';

/*
 * The bundle's entry for the action's post step (action/dist/post.js). Before any of the action is
 * loaded, Node's compile cache is switched on (Node 22.1+: the runner's node24): code compiled by
 * an earlier step on this runner is read back instead of compiled again. A fresh hosted runner
 * starts with an empty cache; the post step and self-hosted runners find it filled.
 * NODE_DISABLE_COMPILE_CACHE=1 turns it off.
 */
(nodeModule as { enableCompileCache?: () => unknown }).enableCompileCache?.();
const { run } = await import('./post.js');
await run();
