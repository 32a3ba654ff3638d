import { createRequire as __rollgateRequire } from 'node:module'; const require = __rollgateRequire(import.meta.url);
import{BasicCredentialHandler,BearerCredentialHandler,PersonalAccessTokenCredentialHandler}from"./chunk-WOYWBRCU.js";import"./chunk-GYWI2ROV.js";export{BasicCredentialHandler,BearerCredentialHandler,PersonalAccessTokenCredentialHandler};
