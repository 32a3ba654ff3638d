import { createRequire as __rollgateRequire } from 'node:module'; const require = __rollgateRequire(import.meta.url);
import*as nodeModule from"node:module";nodeModule.enableCompileCache?.();var{run}=await import("./chunks/post-2JYV6XUI.js");await run();
