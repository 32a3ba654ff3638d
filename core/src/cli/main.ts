#!/usr/bin/env node
import * as nodeModule from 'node:module';

/*
 * The entry point. Before any of rollgate is loaded, Node's compile cache is switched on where
 * Node has one (22.1 and later, so GitHub's node24 runtime; Node 20 has none and starts as before):
 * code compiled by an earlier start is read back instead of compiled again, about 40 ms of a
 * 300 ms start. The cache lives in the OS temp folder (NODE_COMPILE_CACHE names another one,
 * NODE_DISABLE_COMPILE_CACHE=1 turns it off); a stale or broken entry is only recompiled.
 */
(nodeModule as { enableCompileCache?: () => unknown }).enableCompileCache?.();
await import('./process-edge.js');
