/**
 * `{{ inputs.version }}`-style placeholders, filled by lookup only: no expressions, no code. Used
 * for `version` and probe URLs; never in commands, which read ROLLGATE_* environment variables
 * instead (validation rejects placeholders there).
 */
const PLACEHOLDER = /\{\{\s*([A-Za-z_][\w-]*(?:\.[A-Za-z_][\w-]*)*)\s*\}\}/g;

export type TemplateScope = Record<string, Record<string, string> | string>;

export function hasPlaceholder(text: string): boolean {
  return new RegExp(PLACEHOLDER.source).test(text);
}

/** Names used by placeholders in `text`, e.g. `inputs.version`. */
export function placeholders(text: string): string[] {
  return [...text.matchAll(PLACEHOLDER)].map((m) => m[1] as string);
}

/** Fills placeholders; throws with the placeholder's name when the scope lacks it. */
export function renderTemplate(text: string, scope: TemplateScope): string {
  return text.replace(PLACEHOLDER, (_, name: string) => {
    const value = lookup(scope, name);
    if (value === undefined) {
      throw new Error(`'{{ ${name} }}' has no value (known: ${knownNames(scope).join(', ') || 'none'})`);
    }
    return value;
  });
}

function lookup(scope: TemplateScope, name: string): string | undefined {
  const [head, ...rest] = name.split('.');
  const first = Object.hasOwn(scope, head as string) ? scope[head as string] : undefined;
  if (rest.length === 0) return typeof first === 'string' ? first : undefined;
  if (first === undefined || typeof first === 'string' || rest.length !== 1) return undefined;
  const key = rest[0] as string;
  return Object.hasOwn(first, key) ? first[key] : undefined;
}

function knownNames(scope: TemplateScope): string[] {
  return Object.entries(scope).flatMap(([k, v]) =>
    typeof v === 'string' ? [k] : Object.keys(v).map((sub) => `${k}.${sub}`),
  );
}
