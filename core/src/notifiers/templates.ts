import { z } from 'zod';
import { EVENT_KINDS, type RunEvent, type RunEventKind } from '../model/events.js';
import type { RunMessage } from '../model/run-message.js';

/**
 * The workflow's own wording for a notifier's messages: `title` for the headline of every message,
 * and an event kind (`run.finished`, `rollback.started`…) for the sentence of that event. Safe
 * placeholders only, filled by lookup (`{{ version }}`), never code; a placeholder rollgate does
 * not fill is an error when the workflow loads, not a blank in a message.
 */
export const TEMPLATE_PLACEHOLDERS = [
  'workflow',
  'runId',
  'status',
  'actor',
  'runUrl',
  'commit',
  'ref',
  'repository',
  'stage',
  'environment',
  'url',
  'version',
  'from',
  'strategy',
  'weight',
  'step',
  'reason',
  'title',
  'text',
] as const;
type Placeholder = (typeof TEMPLATE_PLACEHOLDERS)[number];

const PLACEHOLDER = /\{\{\s*([A-Za-z_][\w.-]*)\s*\}\}/g;
const KEYS: readonly string[] = ['title', ...EVENT_KINDS];

export type Templates = Partial<Record<'title' | RunEventKind, string>>;

/** The `templates` field every notifier's config shares. */
export function templatesField() {
  return z
    .record(z.string(), z.string().min(1).max(2000))
    .optional()
    .superRefine((templates, ctx) => {
      for (const [key, text] of Object.entries(templates ?? {})) {
        if (!KEYS.includes(key)) {
          ctx.addIssue({ code: 'custom', path: [key], message: `'${key}' is not 'title' or an event kind (such as run.finished, rollback.started)` });
        }
        for (const [, name] of text.matchAll(PLACEHOLDER)) {
          if (!(TEMPLATE_PLACEHOLDERS as readonly string[]).includes(name as string)) {
            ctx.addIssue({ code: 'custom', path: [key], message: `'{{ ${name} }}' is not a placeholder rollgate fills; use ${TEMPLATE_PLACEHOLDERS.map((p) => `{{ ${p} }}`).join(', ')}` });
          }
        }
      }
    })
    .transform((t) => (t ?? {}) as Templates)
    .describe(`Wording of your own: 'title' for every message's headline, an event kind for that event's sentence; placeholders ${TEMPLATE_PLACEHOLDERS.map((p) => `{{ ${p} }}`).join(', ')}`);
}

/** `message` with the workflow's wording, where it has some for `title` or for this event's kind. */
export function applyTemplates(message: RunMessage, event: RunEvent, templates: Templates): RunMessage {
  const title = templates.title;
  const text = templates[event.kind];
  if (title === undefined && text === undefined) return message;
  const fill = (template: string) => template.replace(PLACEHOLDER, (_, name: string) => valueOf(name as Placeholder, message, event));
  return { ...message, ...(title !== undefined ? { title: fill(title) } : {}), ...(text !== undefined ? { text: fill(text) } : {}) };
}

function valueOf(name: Placeholder, m: RunMessage, e: RunEvent): string {
  const stageName = 'stage' in e && e.stage ? e.stage : m.stages.at(-1)?.name;
  const stage = m.stages.find((s) => s.name === stageName);
  switch (name) {
    case 'workflow':
    case 'runId':
    case 'status':
    case 'title':
    case 'text':
      return String(m[name]);
    case 'actor':
      return m.context.actor;
    case 'runUrl':
    case 'commit':
    case 'ref':
    case 'repository':
      return m.context[name] ?? '';
    case 'stage':
      return stageName ?? '';
    case 'environment':
    case 'url':
    case 'version':
    case 'from':
    case 'strategy':
      return stage?.[name] ?? '';
    case 'weight':
      return stage?.weight !== undefined ? `${stage.weight}%` : '';
    case 'step':
      return stage?.step?.id ?? '';
    case 'reason':
      return reasonOf(e) ?? stage?.failure?.reason ?? stage?.note ?? '';
  }
}

function reasonOf(e: RunEvent): string | undefined {
  if ('reason' in e) return e.reason;
  if ('error' in e && typeof e.error === 'string') return e.error;
  if ('message' in e && typeof e.message === 'string') return e.message;
  return undefined;
}
