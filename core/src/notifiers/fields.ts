import { onField } from './filter.js';
import { templatesField } from './templates.js';

/** The fields every notifier's config has: which events it wants (`on`) and its own wording (`templates`). */
export function notifierFields(defaultKinds: readonly string[]) {
  return { on: onField(defaultKinds), templates: templatesField() };
}

/** What people want to hear about by default: started, paused at a gate, succeeded, failed, rolled back, a person needed. */
export const DEFAULT_NOTIFY_KINDS = [
  'run.started',
  'run.paused',
  'run.finished',
  'approval.requested',
  'rollback.started',
  'rollback.finished',
  'manual-intervention.required',
] as const;
