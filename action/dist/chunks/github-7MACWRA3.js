import { createRequire as __rollgateRequire } from 'node:module'; const require = __rollgateRequire(import.meta.url);
import{context,getOctokit}from"./chunk-FYZBYGWG.js";import"./chunk-TLQWDQ5R.js";import"./chunk-GYWI2ROV.js";export{context,getOctokit};
