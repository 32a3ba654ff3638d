import { createRequire as __rollgateRequire } from 'node:module'; const require = __rollgateRequire(import.meta.url);
import*as nodeModule from"node:module";nodeModule.enableCompileCache?.();var{run}=await import("./chunks/main-6RHM5UQW.js");await run();
