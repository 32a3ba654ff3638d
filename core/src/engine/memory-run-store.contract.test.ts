import { describeRunStoreContract } from '../testing/contracts/run-store.js';
import { MemoryRunStore } from './memory-run-store.js';

// The journal lives in this process: no later process, no raw bytes to damage.
describeRunStoreContract('memory', () => ({ store: new MemoryRunStore() }));
