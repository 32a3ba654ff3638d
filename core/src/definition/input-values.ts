import { RE2JS } from 're2js';

/**
 * What a value given at run time (an input) and a rendered version may contain. Both end up in
 * deployed files, command environments, logs and CI annotations, where a newline followed by
 * `::error::` or `::stop-commands::` becomes a GitHub Actions workflow command and an escape byte
 * rewrites the terminal. So control characters are never accepted, and a value without its own
 * rule must look like a version, tag, branch, commit or image reference.
 */

/** How the default rule reads in messages and in the schema description. */
export const SAFE_VALUE_RULE = 'letters, digits and ._-+/:@=,~, at most 256 characters, not starting with -';

const MAX_LENGTH = 256;
const SAFE_CHAR = /[A-Za-z0-9._+/:@=,~-]/;
// C0, DEL, C1, and the Unicode line and paragraph separators that some log viewers break lines at.
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;
const CONTROL_ALL = new RegExp(CONTROL.source, 'g');

const CONTROL_NAMES: Record<string, string> = {
  '\n': 'newline',
  '\r': 'carriage return',
  '\t': 'tab',
  '\u001b': 'escape',
  '\u0000': 'NUL',
  '\u2028': 'line separator',
  '\u2029': 'paragraph separator',
};

/** `text` with every control character written as an escape (`\n`, `\x1b`), cut to `max`. */
export function escapeControl(text: string, max = 80): string {
  const cut = text.length > max ? `${text.slice(0, max)}...` : text;
  return cut.replace(CONTROL_ALL, (c) => {
    if (c === '\n') return '\\n';
    if (c === '\r') return '\\r';
    if (c === '\t') return '\\t';
    const code = c.charCodeAt(0);
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
  });
}

/** The value quoted for a message, control characters escaped. */
export const quoted = (value: string): string => `'${escapeControl(value)}'`;

/** What is wrong with `value` under the default rule, as "contains …"; undefined when it is fine. */
export function safeValueProblem(value: string, options: { allowEmpty: boolean }): string | undefined {
  const control = controlProblem(value);
  if (control) return control;
  if (value === '' && !options.allowEmpty) return 'is empty';
  if (value.length > MAX_LENGTH) return `is ${value.length} characters long`;
  if (value.startsWith('-')) return 'starts with -, which a command would read as an option';
  const bad = [...value].find((c) => !SAFE_CHAR.test(c));
  return bad === undefined ? undefined : `contains ${bad === ' ' ? 'a space' : `'${bad}'`}`;
}

/** "contains a control character (newline)" when `value` has one. */
export function controlProblem(value: string): string | undefined {
  const c = CONTROL.exec(value)?.[0];
  if (c === undefined) return undefined;
  const code = c.charCodeAt(0).toString(16).padStart(4, '0').toUpperCase();
  return `contains a control character (${CONTROL_NAMES[c] ?? `U+${code}`})`;
}

/** An input's declaration, as far as its values are concerned. */
export interface InputRule {
  pattern?: string | undefined;
  allowed?: readonly string[] | undefined;
}

const compiled = new Map<string, RE2JS>();

/**
 * Compiles an input's `pattern` (RE2 syntax, linear-time matching) so that it must match the whole
 * value. Throws with RE2's explanation when the pattern is not valid RE2.
 */
export function compileInputPattern(pattern: string): RE2JS {
  let re = compiled.get(pattern);
  if (!re) {
    re = RE2JS.compile(`^(?:${pattern})$`);
    compiled.set(pattern, re);
  }
  return re;
}

/** Why RE2 refuses `pattern`, or undefined when it compiles. */
export function patternProblem(pattern: string): string | undefined {
  try {
    compileInputPattern(pattern);
    return undefined;
  } catch (err) {
    const detail = String((err as Error).message).replace(/^error parsing regexp: /, '');
    return `is not a valid RE2 regular expression (${escapeControl(detail)}); RE2 has no backreferences or lookaround`;
  }
}

/**
 * Why the input `name` cannot take `value`, as a whole sentence for a message; undefined when it
 * can. Control characters are never accepted. The value must match `pattern` when one is set,
 * else the default rule unless `allowed` lists the values (a list in the file is its own rule);
 * and it must be one of `allowed` when that is set.
 */
export function inputValueProblem(name: string, value: string, rule: InputRule): string | undefined {
  const subject = `input '${name}' is ${quoted(value)}`;
  const control = controlProblem(value);
  if (control) return `${subject}: it ${control}, which is never accepted in an input`;
  if (rule.pattern !== undefined) {
    if (patternProblem(rule.pattern) !== undefined || !compileInputPattern(rule.pattern).test(value)) {
      return `${subject}: it does not match inputs.${name}.pattern '${escapeControl(rule.pattern)}'`;
    }
  } else if (!rule.allowed) {
    const problem = safeValueProblem(value, { allowEmpty: true });
    if (problem) return `${subject}: it ${problem}; an input may hold ${SAFE_VALUE_RULE}; set inputs.${name}.pattern to accept other values`;
  }
  if (rule.allowed && !rule.allowed.includes(value)) return `${subject}; allowed: ${rule.allowed.map((v) => escapeControl(v)).join(', ')}`;
  return undefined;
}
