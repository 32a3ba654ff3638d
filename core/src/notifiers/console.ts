import { z } from 'zod';
import type { RunEvent } from '../model/events.js';
import type { Notifier } from '../ports/notifier.js';
import type { ProviderDeps } from '../ports/provider-deps.js';
import { describeEvent } from './describe.js';
import { onField } from './filter.js';

/** `console`: notifications as lines in the job log, for local runs and as a template for others. */
export const type = 'console';

export const DEFAULT_KINDS = [
  'run.started',
  'run.finished',
  'run.paused',
  'stage.finished',
  'rollback.started',
  'rollback.finished',
  'approval.requested',
  'approval.decided',
  'manual-intervention.required',
] as const;

export const configSchema = z
  .strictObject({
    type: z.literal(type),
    on: onField(DEFAULT_KINDS),
  })
  .describe('Prints notifications to the job log');
export type ConsoleNotifierConfig = z.infer<typeof configSchema>;

export function create(_config: ConsoleNotifierConfig, deps: ProviderDeps): Notifier {
  return {
    type,
    async notify(event: RunEvent) {
      deps.log.info(`notify: ${describeEvent(event)}`);
    },
    async flush() {},
  };
}
