import { z } from 'zod';
import { commandOutputLimit, commandRetryOn, commandSpec, duration } from '../config/fields.js';
import type { DeployedState } from '../model/results.js';
import type { ProviderDeps } from '../ports/provider-deps.js';
import type { StepContext } from '../ports/step-context.js';
import type { FleetTarget, Target } from '../ports/target.js';
import { candidateOf, fleetCandidates, previousOn } from './fleet/candidates.js';
import { eachHost, throwFailures } from './fleet/each.js';
import { healthOf } from './fleet/health.js';
import { HostCommands, type HostVersion } from './fleet/host-commands.js';
import { firstDuplicate, HOST_PATTERN, hostSource } from './fleet/hosts.js';

export const type = 'fleet';

/** Hosts moved to a candidate version beside the stable ones (canary, blue-green), and hosts rolled in waves (progressive). */
export const capabilities = ['candidates', 'fleet'] as const;

const host = z.string().regex(HOST_PATTERN, 'expected one host name or address, without spaces or #').describe('A host name or address, passed as $ROLLGATE_HOST');

export const configSchema = z
  .strictObject({
    type: z.literal(type),
    hosts: z.array(host).min(1).optional().describe('The hosts, in rollout order (give one of `hosts`, `hostsFile`, `hostsFrom`)'),
    hostsFile: z
      .string()
      .min(1)
      .optional()
      .describe('A file with one host per line, in rollout order (`#` starts a comment), relative to the workflow file; read once per stage run, so the fleet does not change under a rollout'),
    hostsFrom: z
      .string()
      .min(1)
      .optional()
      .describe(
        'A probe (declared under `probes`) whose value lists the hosts in rollout order: a JSON array of strings (an http probe with `jsonPath`) or hosts separated by newlines, spaces or commas (a command probe). Read once per stage run, before the first change, and kept in the run journal: a resumed run acts on the same fleet',
      ),
    current: commandSpec
      .optional()
      .describe('Prints the version $ROLLGATE_HOST runs on stdout (empty: nothing). Without it rollgate knows only what it deployed itself, and reverts get ROLLGATE_PREVIOUS_STATE=unknown'),
    deploy: commandSpec.describe('Deploys $ROLLGATE_VERSION on $ROLLGATE_HOST and exits once it has started. Must be idempotent.'),
    health: commandSpec.describe('Exits 0 when $ROLLGATE_HOST serves $ROLLGATE_VERSION healthily'),
    revert: commandSpec.describe(
      'Puts $ROLLGATE_PREVIOUS_VERSION back on $ROLLGATE_HOST; when ROLLGATE_PREVIOUS_STATE is `none` (nothing ran there before) removes $ROLLGATE_VERSION, and when it is `unknown` must not remove anything',
    ),
    concurrency: z.number().int().positive().default(10).describe('Commands running at once across all hosts (a wave’s maxParallel also applies)'),
    timeout: duration('Default time limit of a deploy or revert command on one host').prefault('10m'),
    checkTimeout: duration('Default time limit of a current or health command on one host').prefault('30s'),
    outputLimit: commandOutputLimit,
    retryOn: commandRetryOn,
  })
  .superRefine((config, ctx) => {
    const given = [config.hosts, config.hostsFile, config.hostsFrom].filter((g) => g !== undefined).length;
    if (given !== 1) {
      ctx.addIssue({
        code: 'custom',
        path: ['hosts'],
        message: `give the hosts one way: as a list (\`hosts\`), in a file (\`hostsFile\`) or from a probe (\`hostsFrom\`)${given === 0 ? '' : ', not several'}`,
      });
    }
    const duplicate = firstDuplicate(config.hosts ?? []);
    if (duplicate) {
      ctx.addIssue({ code: 'custom', path: ['hosts', duplicate.again], message: `host ${duplicate.host} is listed twice (first as hosts[${duplicate.first}]); each host must appear once` });
    }
  })
  .describe('A fleet of hosts, each changed by your own commands (argv, no shell) with $ROLLGATE_HOST set');
export type FleetTargetConfig = z.infer<typeof configSchema>;
type Config = FleetTargetConfig;

/**
 * A fleet of hosts driven by the user's commands, one host at a time per command, at most
 * `concurrency` commands at once. Every command gets `ctx.env` plus ROLLGATE_HOST,
 * ROLLGATE_VERSION, ROLLGATE_PREVIOUS_VERSION, ROLLGATE_PREVIOUS_STATE, ROLLGATE_STAGE and
 * ROLLGATE_ENVIRONMENT, as the command target passes them. The whole target (`deploy`, `revert`)
 * is every host; `fleet` changes one host at a time (progressive waves); `candidates` moves the
 * first hosts to a new version beside the stable ones (canary, blue-green).
 */
/** The probe `hostsFrom` names: validation checks it is declared. */
export function probesNamed(config: Config): Array<{ path: string[]; name: string }> {
  return config.hostsFrom ? [{ path: ['hostsFrom'], name: config.hostsFrom }] : [];
}

export function create(config: Config, deps: ProviderDeps): Target {
  const hosts = hostSource(config, deps);
  const commands = new HostCommands(config, deps);
  const width = config.concurrency;
  const candidates = fleetCandidates({ hosts, commands, state: deps.state, width });

  /** What each host runs, read at once; a candidate host counts as what it ran before the candidate. */
  const stableVersions = async (ctx: StepContext): Promise<Map<string, HostVersion>> => {
    const all = await hosts(ctx);
    const candidate = candidateOf(deps.state);
    const { results, failures } = await eachHost(all, width, (h) => (candidate?.hosts.includes(h) ? Promise.resolve(previousOn(candidate, h)) : commands.version(h, ctx)), {
      stopOnFailure: true,
    });
    throwFailures('reading what runs', failures, all.length);
    return new Map(all.map((h) => [h, results.get(h)]));
  };

  const fleet: FleetTarget = {
    units: (ctx) => hosts(ctx),
    async unitVersion(unit, ctx) {
      return (await commands.version(unit, ctx)) ?? undefined;
    },
    async deployUnit(unit, version, ctx) {
      await commands.deploy(unit, version, ctx);
    },
    async unitHealth(unit, ctx) {
      const candidate = candidateOf(deps.state);
      const expected = candidate?.hosts.includes(unit) ? candidate.version : await commands.expected(unit, ctx);
      const { healthy, message } = await commands.health(unit, expected, ctx);
      return { healthy, ready: healthy ? 1 : 0, total: 1, message };
    },
    // No previous version: nothing ran there (with a `current` command), or rollgate cannot tell.
    revertUnit: (unit, previous, ctx) => commands.revert(unit, previous ?? (commands.readsVersions ? null : undefined), ctx),
  };

  return {
    type,
    knowsCurrent: commands.readsVersions,
    candidates,
    fleet,

    async current(ctx): Promise<DeployedState | undefined> {
      if (!commands.readsVersions) return undefined;
      const versions = await stableVersions(ctx);
      const counts = new Map<string, number>();
      for (const v of versions.values()) if (v) counts.set(v, (counts.get(v) ?? 0) + 1);
      // The version most hosts run; a mixed fleet also says what each host runs, so a revert restores each.
      const [version] = [...counts].sort((a, b) => b[1] - a[1])[0] ?? [];
      if (version === undefined) return undefined;
      const mixed = counts.size > 1 || (counts.get(version) ?? 0) < versions.size;
      return { version, details: { hosts: versions.size, ...(mixed ? { byHost: Object.fromEntries([...versions].map(([h, v]) => [h, v ?? null])) } : {}) } };
    },

    async deploy(version, ctx) {
      const all = await hosts(ctx);
      const { failures } = await eachHost(all, width, (h) => commands.deploy(h, version, ctx), { stopOnFailure: true });
      throwFailures(`deploying ${version}`, failures, all.length);
    },

    async health(ctx) {
      // While a candidate runs, this is the stable version's health; candidateHealth is the other half.
      const candidate = candidateOf(deps.state);
      const stable = (await hosts(ctx)).filter((h) => !candidate?.hosts.includes(h));
      return healthOf(stable, commands, width, (h) => commands.expected(h, ctx), ctx);
    },

    async revert(previous, ctx) {
      const all = await hosts(ctx);
      const byHost = (previous?.details?.['byHost'] ?? {}) as Record<string, string | null>;
      const to = (h: string): HostVersion =>
        previous ? (Object.hasOwn(byHost, h) ? byHost[h] : previous.version) : commands.readsVersions ? null : undefined;
      const { failures } = await eachHost(all, width, (h) => commands.revert(h, to(h), ctx), { stopOnFailure: false });
      throwFailures(previous ? `putting ${previous.version} back` : 'removing the first deploy', failures, all.length);
    },
  };
}
