import { z } from 'zod';
import { DeliveryError, errorMessage } from '../errors.js';
import type { RunEvent } from '../model/events.js';
import type { RunMessage } from '../model/run-message.js';
import type { Notifier } from '../ports/notifier.js';
import type { ProviderDeps } from '../ports/provider-deps.js';
import { notifierFields } from './fields.js';
import { renderText } from './render/text.js';

/**
 * `console`: the notification as it would read in a chat, as a block in the job log. The run's
 * progress is already there, one line per event (the reporter): this notifier adds the summary a
 * stakeholder would get, not an echo of those lines, so by default only where the run stops.
 */
export const type = 'console';

export const DEFAULT_KINDS = ['run.paused', 'run.finished', 'manual-intervention.required'] as const;

export const configSchema = z
  .strictObject({
    type: z.literal(type),
    ...notifierFields(DEFAULT_KINDS),
  })
  .describe('Prints the notification (what, where, who, the values, the why) to the job log');
export type ConsoleNotifierConfig = z.infer<typeof configSchema>;

export function create(_config: ConsoleNotifierConfig, deps: ProviderDeps): Notifier {
  return {
    type,
    destination: 'job log',
    async notify(_event: RunEvent, message: RunMessage) {
      try {
        deps.log.info(['── notification ──', ...renderText(message)].join('\n'));
      } catch (err) {
        throw new DeliveryError(`the job log cannot be written: ${errorMessage(err)}`);
      }
    },
  };
}
