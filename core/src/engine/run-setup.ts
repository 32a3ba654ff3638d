import type { Workflow } from '../definition/schema.js';
import { type ConfigIssue, WorkflowConfigError } from '../errors.js';
import type { Clock } from '../ports/clock.js';
import { createVirtualClock } from '../clocks/virtual.js';
import { CREDENTIAL_VARIABLES } from '../util/credential-variables.js';
import { createMasker } from '../util/mask.js';
import { createRealClock } from '../clocks/real.js';
import { families, metricProviders, probes, routers, targets } from '../registries.js';
import { moduleOf } from '../registry/module.js';

/**
 * The virtual clock runs when every stage provider of the workflow (targets, routers, probes,
 * metric providers) waits only through the clock it is given (its module says `virtualTime`), and
 * no family's settings ask for real time: then a 30-minute rollout costs no real time. A workflow
 * that also runs real commands or probes uses wall time throughout, so a real command's deadline
 * is never reached early because virtual time jumped ahead. A resumed run's virtual clock
 * continues where it stopped.
 */
export function createRunClock(workflow: Workflow, resumeAtMs?: number): Clock {
  const modules = [
    ...workflow.stages.flatMap((s) => [moduleOf('target', targets, s.target.type), ...(s.router ? [moduleOf('router', routers, s.router.type)] : [])]),
    ...Object.values(workflow.probes).map((p) => moduleOf('probe', probes, p.type)),
    ...Object.values(workflow.metricProviders).map((m) => moduleOf('metric provider', metricProviders, m.type)),
  ];
  const allVirtual = modules.every((m) => 'virtualTime' in m && m.virtualTime === true);
  const askReal = Object.values(families).some((family) =>
    settingsBlocks(workflow, family.name).some((settings) => 'clock' in family && family.clock(settings) === 'real'),
  );
  if (!allVirtual || askReal) return createRealClock();
  return createVirtualClock(resumeAtMs ?? Date.now());
}

/** A family's settings blocks in the workflow: the top-level one and each environment's. */
function settingsBlocks(workflow: Workflow, family: string): unknown[] {
  const top = (workflow as unknown as Record<string, unknown>)[family];
  const own = Object.values(workflow.environments).map((e) => (e as Record<string, unknown>)[family]);
  return [top, ...own].filter((s) => s !== undefined);
}

/** Every `*Env` field in the workflow: the names of the environment variables it reads secrets from. */
export function referencedEnvVars(value: unknown, path = ''): { name: string; path: string }[] {
  if (Array.isArray(value)) return value.flatMap((v, i) => referencedEnvVars(v, `${path}[${i}]`));
  if (value === null || typeof value !== 'object') return [];
  return Object.entries(value).flatMap(([k, v]) => {
    const here = path ? `${path}.${k}` : k;
    if (k.endsWith('Env') && typeof v === 'string') return [{ name: v, path: here }];
    return referencedEnvVars(v, here);
  });
}

/** The variable `rollgate audit verify` reads the HMAC key from by default. */
const DEFAULT_AUDIT_KEY_VAR = 'ROLLGATE_AUDIT_KEY';

/**
 * Variables commands and probes never inherit: the credentials rollgate reads itself (every
 * `*Env` field of the workflow: the audit HMAC key, audit sink, notifier and probe tokens) and
 * the default audit key variable.
 */
export function withheldEnvVars(workflow: Workflow): Set<string> {
  return new Set([DEFAULT_AUDIT_KEY_VAR, ...referencedEnvVars(workflow).map((r) => r.name)]);
}

/**
 * The names of every variable whose value is a secret to this workflow: the `*Env` fields, the
 * `secrets` list, the default audit key variable and the clouds' standard credential variables. What a CI adapter registers with its
 * platform's own masking before anything is printed.
 */
export function secretVariableNames(workflow: Workflow): string[] {
  return [...new Set([...withheldEnvVars(workflow), ...workflow.secrets, ...CREDENTIAL_VARIABLES])];
}

/** The secret values the run knows, with the variable each came from (secrets and `*Env` fields). */
export function secretSources(workflow: Workflow, env: Record<string, string>): { name: string; value: string }[] {
  const names = new Set([...referencedEnvVars(workflow).map((r) => r.name), ...workflow.secrets, ...CREDENTIAL_VARIABLES]);
  return [...names].flatMap((name) => (env[name] ? [{ name, value: env[name] }] : []));
}

/** The audit HMAC key, when the workflow names one and it is set. */
export function auditKey(workflow: Workflow, env: Record<string, string>): string | undefined {
  const name = workflow.audit.hmacKeyEnv;
  return name && env[name] ? env[name] : undefined;
}

/**
 * Checks that every secret the workflow references is set, before anything runs, and returns the
 * masker that hides their values (and those of the `secrets` list) in every output.
 */
export function prepareSecrets(workflow: Workflow, env: Record<string, string>): (text: string) => string {
  const refs = referencedEnvVars(workflow);
  const issues: ConfigIssue[] = refs
    .filter((r) => !env[r.name])
    .map((r) => ({ path: r.path, message: `environment variable ${r.name} is not set (export it in the CI job's secrets)` }));
  if (issues.length > 0) throw new WorkflowConfigError(issues, 'missing secrets');
  // The clouds' standard credential variables are masked too: their SDKs read them by name.
  const names = new Set([...refs.map((r) => r.name), ...workflow.secrets, ...CREDENTIAL_VARIABLES]);
  return createMasker([...names].map((n) => env[n]).filter((v): v is string => typeof v === 'string' && v.length > 0));
}
