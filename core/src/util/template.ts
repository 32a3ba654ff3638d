/**
 * `{{ inputs.version }}`-style placeholders, filled by lookup only: no expressions, no code. Used
 * for `version`, probe URLs and headers, and metric queries; never in commands, which read
 * ROLLGATE_* environment variables instead (validation rejects placeholders there).
 */
const PLACEHOLDER = /\{\{\s*([A-Za-z_][\w-]*(?:\.[A-Za-z_][\w-]*)*)\s*\}\}/g;

/** The placeholders rollgate fills; validation accepts exactly these (definition/rules.ts). */
export const PLACEHOLDER_FORMS = ['inputs.NAME', 'vars.NAME', 'stage', 'environment'] as const;

export type TemplateScope = Record<string, Record<string, string> | string>;

/** The value of one placeholder (`inputs.version`), or undefined when it has none. */
export type PlaceholderLookup = (name: string) => string | undefined;

export function hasPlaceholder(text: string): boolean {
  return new RegExp(PLACEHOLDER.source).test(text);
}

/** Names used by placeholders in `text`, e.g. `inputs.version`. */
export function placeholders(text: string): string[] {
  return [...text.matchAll(PLACEHOLDER)].map((m) => m[1] as string);
}

/** Whether `name` (as in `{{ name }}`) is one of the PLACEHOLDER_FORMS. */
export function isPlaceholderForm(name: string): boolean {
  return /^(?:(?:inputs|vars)\.[A-Za-z_][\w-]*|stage|environment)$/.test(name);
}

/**
 * Fills placeholders; throws with the placeholder's name when it has no value. The message never
 * lists what the scope holds: a scope built from the runner's environment would show the names
 * of its variables.
 */
export function renderTemplate(text: string, scope: TemplateScope | PlaceholderLookup): string {
  const find = typeof scope === 'function' ? scope : (name: string) => lookup(scope, name);
  return text.replace(PLACEHOLDER, (_, name: string) => {
    const value = isPlaceholderForm(name) ? find(name) : undefined;
    if (value === undefined) throw new Error(missingValue(name));
    return value;
  });
}

function missingValue(name: string): string {
  const [root, key] = name.split('.');
  if (!isPlaceholderForm(name)) {
    return `'{{ ${name} }}' is not a placeholder rollgate fills; use ${PLACEHOLDER_FORMS.map((f) => `{{ ${f} }}`).join(', ')}`;
  }
  if (root === 'inputs') return `'{{ ${name} }}' has no value: the run gave no input '${key}' and it has no default`;
  if (root === 'vars') return `'{{ ${name} }}' has no value: the stage's environment has no variable '${key}'`;
  return `'{{ ${name} }}' has no value here`;
}

function lookup(scope: TemplateScope, name: string): string | undefined {
  const [head, ...rest] = name.split('.');
  const first = Object.hasOwn(scope, head as string) ? scope[head as string] : undefined;
  if (rest.length === 0) return typeof first === 'string' ? first : undefined;
  if (first === undefined || typeof first === 'string' || rest.length !== 1) return undefined;
  const key = rest[0] as string;
  return Object.hasOwn(first, key) ? first[key] : undefined;
}
