import { z } from 'zod';
import { EVENT_KINDS, type RunEvent } from '../model/events.js';

/**
 * Which events a notifier is told about: by kind (`run.finished`, or `rollback.*` for every kind
 * that starts so) and by environment (events of stages elsewhere are left out; run-wide events
 * always pass). One field and one filter shared by every notifier, applied by the engine.
 */
export interface EventFilter {
  kinds: string[];
  environments?: string[] | undefined;
}

/** The `on` field of a notifier's config, defaulting to `defaultKinds` in every environment. */
export function onField(defaultKinds: readonly string[]) {
  const kinds = z
    .array(
      z
        .string()
        .min(1)
        .refine((k) => (k.endsWith('*') ? EVENT_KINDS.some((known) => known.startsWith(k.slice(0, -1))) : (EVENT_KINDS as readonly string[]).includes(k)), {
          error: (issue) => `'${String(issue.input)}' is not an event kind; use one of ${EVENT_KINDS.join(', ')}, or a prefix such as 'rollback.*'`,
        }),
    )
    .min(1)
    .describe("Event kinds, or a prefix such as 'rollback.*'");
  return z
    .union([
      kinds,
      z.strictObject({
        kinds: kinds.optional(),
        environments: z.array(z.string().min(1)).min(1).optional().describe('Only events of stages in these environments (run-wide events always pass)'),
      }),
    ])
    .optional()
    .transform((on): EventFilter => {
      if (Array.isArray(on)) return { kinds: on };
      return { kinds: on?.kinds ?? [...defaultKinds], ...(on?.environments ? { environments: on.environments } : {}) };
    })
    .describe(`Which events to announce: a list of kinds, or { kinds, environments } (default: ${defaultKinds.join(', ')})`);
}

/** The filter of one notifier: whether it wants `event`, of a stage in `environment` (none for run-wide events). */
export function eventFilter(on: EventFilter): (event: RunEvent, environment: string | undefined) => boolean {
  const exact = new Set(on.kinds.filter((k) => !k.endsWith('*')));
  const prefixes = on.kinds.filter((k) => k.endsWith('*')).map((k) => k.slice(0, -1));
  const environments = on.environments ? new Set(on.environments) : undefined;
  return (event, environment) =>
    (exact.has(event.kind) || prefixes.some((p) => event.kind.startsWith(p))) && (!environments || environment === undefined || environments.has(environment));
}
