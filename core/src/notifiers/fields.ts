import { onField } from './filter.js';
import { templatesField } from './templates.js';

/** The fields every notifier's config has: which events it wants (`on`) and its own wording (`templates`). */
export function notifierFields(defaultKinds: readonly string[]) {
  let fields = built.get(defaultKinds);
  if (!fields) built.set(defaultKinds, (fields = { on: onField(defaultKinds), templates: templatesField() }));
  return fields;
}
/** Built once per default (zod schemas are immutable): every notifier type has them, at every start. */
const built = new Map<readonly string[], { on: ReturnType<typeof onField>; templates: ReturnType<typeof templatesField> }>();

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
