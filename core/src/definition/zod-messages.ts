import { z } from 'zod';
import { escapeControl } from './input-values.js';
import { closest, type Finding, isRecord, type PathSegment, suggest } from './rule-kit.js';
import { workflowSchema } from './schema.js';
import { findSecret } from './secret-rules.js';

/**
 * zod issues → findings in the user's words: what the field wants, what the file has, and how to
 * write it ("expected a list, got an empty value; write [] for an empty list"), with the field's
 * description from the schema and a "did you mean" for a mistyped key.
 */

/** A finding of the schema layer. */
export const problem = (path: PathSegment[], message: string, at?: 'key'): Finding => ({
  severity: 'error',
  path,
  message,
  ...(at ? { at } : {}),
});

function valueAt(raw: unknown, path: readonly PathSegment[]): unknown {
  let value = raw;
  for (const segment of path) {
    if (Array.isArray(value) && typeof segment === 'number') value = value[segment];
    else if (isRecord(value) && Object.hasOwn(value, segment)) value = value[segment];
    else return undefined;
  }
  return value;
}

type Issue = z.core.$ZodIssue;

/** The findings for one zod issue of the value at `prefix` in the file's data. */
export function translate(issue: Issue, prefix: PathSegment[], raw: unknown): Finding[] {
  const path = [...prefix, ...issue.path.map((s) => (typeof s === 'number' ? s : String(s)))];
  const value = valueAt(raw, path);
  const last = path[path.length - 1];
  switch (issue.code) {
    case 'unrecognized_keys':
      return issue.keys.map((key) => problem([...path, key], unknownKey(key, path, raw), 'key'));
    case 'invalid_union':
      return translateUnion(issue, path, raw);
    case 'invalid_key':
      return [problem(path, `invalid name '${String(last)}': ${issue.issues.map((i) => i.message).join('; ')}`, 'key')];
    case 'invalid_type':
    case 'invalid_value':
      if (value === undefined) return [problem(path, missing(path, raw))];
      if (path.length === 1 && last === 'version') {
        return [problem(path, `unsupported workflow format version ${show(value)}; this rollgate reads version: 1`)];
      }
      return [problem(path, mismatch(expectation(issue), value, path, raw))];
    case 'too_small':
    case 'too_big':
      return [problem(path, bounds(issue, value))];
    case 'invalid_format': {
      const custom = !issue.message.startsWith('Invalid');
      const want = custom ? issue.message : `must match ${issue.pattern ?? `the ${issue.format} format`}`;
      return [problem(path, `${want}, got ${describe(value)}`)];
    }
    default:
      return [problem(path, issue.message)];
  }
}

function translateUnion(issue: Extract<Issue, { code: 'invalid_union' }>, path: PathSegment[], raw: unknown): Finding[] {
  const options = 'options' in issue ? issue.options : undefined;
  if (issue.discriminator !== undefined && options && issue.errors.length === 0) {
    const allowed = options.map(String);
    const noun = nounFor(path.slice(0, -1));
    const value = valueAt(raw, path);
    const message =
      value === undefined
        ? `missing ${noun} ${issue.discriminator}; allowed: ${allowed.join(', ')}`
        : `unknown ${noun} ${issue.discriminator} ${show(value)}; allowed: ${allowed.join(', ')}${typeof value === 'string' ? suggest(value, allowed) : ''}`;
    return [problem(path, message)];
  }
  // A plain union (say, an argv list or a map with `run`): explain the branch whose shape the
  // value has; when it has none of their shapes, say which shapes would do.
  if (valueAt(raw, path) === undefined) return [problem(path, missing(path, raw))];
  const plausible = issue.errors.filter((branch) => !branch.some(rootMismatch)).sort((a, b) => a.length - b.length);
  if (plausible[0]) return plausible[0].flatMap((i) => translate(i, path, raw));
  const wanted = [...new Set(issue.errors.flatMap((branch) => branch.filter(rootMismatch).map(expectation)))];
  return [problem(path, mismatch(wanted.join(wanted.some((w) => w.includes(' or ')) ? ', or ' : ' or '), valueAt(raw, path)))];
}

type Mismatch = Extract<Issue, { code: 'invalid_type' | 'invalid_value' }>;

/** The issue says the value has the wrong shape altogether (not a problem inside it). */
function rootMismatch(issue: Issue): issue is Mismatch {
  return issue.path.length === 0 && (issue.code === 'invalid_type' || issue.code === 'invalid_value');
}

function expectation(issue: Mismatch): string {
  if (issue.code === 'invalid_type') return TYPE_NAMES[issue.expected] ?? issue.expected;
  const values = issue.values.map(show);
  return values.length === 1 ? (values[0] as string) : `one of ${values.join(', ')}`;
}

const TYPE_NAMES: Record<string, string> = {
  string: 'a string',
  number: 'a number',
  int: 'a whole number',
  boolean: 'true or false',
  array: 'a list',
  object: 'a map',
  record: 'a map',
};

function mismatch(expected: string, value: unknown, path?: PathSegment[], raw?: unknown): string {
  // YAML read `1.10` or `true` where text was meant: say what the field wants as text.
  if ((typeof value === 'number' || typeof value === 'boolean') && expected === 'a string' && path) {
    const schema = schemaAt(path, raw);
    const asText = schema ? z.safeParse(schema, String(value)) : undefined;
    if (asText && !asText.success && asText.error.issues[0]?.code === 'invalid_format') {
      return `${asText.error.issues[0].message}, got ${describe(value)}`;
    }
  }
  const hint =
    value === null && expected === 'a map'
      ? '; write {} for an empty map'
      : value === null && expected === 'a list'
        ? '; write [] for an empty list'
        : typeof value === 'string' && expected === 'a list'
          ? `; write [${value.includes(',') ? JSON.stringify(value) : value}] for a list of one`
          : (typeof value === 'number' || typeof value === 'boolean') && expected === 'a string'
            ? '; quote it to keep it as text'
            : '';
  return `expected ${expected}${expected.includes(',') ? ';' : ','} got ${describe(value)}${hint}`;
}

function bounds(issue: Extract<Issue, { code: 'too_small' | 'too_big' }>, value: unknown): string {
  const small = issue.code === 'too_small';
  const limit = Number(small ? issue.minimum : issue.maximum);
  const inclusive = issue.inclusive !== false;
  if (issue.origin === 'array') {
    return `must list ${small ? 'at least' : 'at most'} ${limit} item${limit === 1 ? '' : 's'}`;
  }
  if (issue.origin === 'string') {
    return small && limit === 1 ? 'must not be empty' : `must be ${small ? 'at least' : 'at most'} ${limit} characters long`;
  }
  const relation = small ? (inclusive ? 'at least' : 'more than') : inclusive ? 'at most' : 'less than';
  return `must be ${relation} ${limit}, got ${describe(value)}`;
}

function missing(path: PathSegment[], raw: unknown): string {
  const field = String(path[path.length - 1]);
  if (path.length === 1 && field === 'version') return 'missing version: 1 (the workflow file format version)';
  const described = descriptionOf(schemaAt(path, raw));
  return `missing required field '${field}'${described ? ` (${described})` : ''}`;
}

const NOUNS: Record<string, string> = {
  target: 'target',
  strategy: 'strategy',
  approval: 'approval',
  probes: 'probe',
  notifications: 'notifier',
  sinks: 'audit sink',
  failures: 'failure',
};

/** What a discriminated union at `path` configures, for messages: `target`, `probe`… */
function nounFor(path: PathSegment[]): string {
  const names = path.filter((s): s is string => typeof s === 'string');
  const known = names.findLast((s) => Object.hasOwn(NOUNS, s));
  return known ? (NOUNS[known] as string) : (names[names.length - 1] ?? 'value');
}

const SECRET_KEY = /(token|password|passwd|secret|apikey|api_key|api-key|webhookurl|webhook_url|privatekey|private_key|accesskey|credentials?)s?$/i;

function unknownKey(key: string, parent: PathSegment[], raw: unknown): string {
  const allowed = allowedKeys(parent, raw);
  const message = `unknown field '${key}'`;
  if (SECRET_KEY.test(key) && !/env$/i.test(key)) {
    const envKey = allowed.find((k) => k.toLowerCase() === `${key.toLowerCase()}env`);
    const named = /^\$\{?([A-Za-z_]\w*)\}?$/.exec(String(valueAt(raw, [...parent, key])))?.[1];
    const variable = named ?? (envKey ? key.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase() : 'SLACK_BOT_TOKEN');
    const example = `${envKey ?? 'tokenEnv'}: ${variable}`;
    return `${message}; secrets are referenced by environment variable name, e.g. ${example}`;
  }
  const near = closest(key, allowed);
  if (near) return `${message}; did you mean '${near}'?`;
  return allowed.length ? `${message}; allowed here: ${allowed.join(', ')}` : message;
}

/** `'helm'`, `5`, `a list`: a value as it reads in a message. Never shows a secret. */
function show(value: unknown): string {
  if (typeof value === 'string') {
    if (findSecret(value)) return 'a value that looks like a secret (not shown)';
    const oneLine = value.replace(/\s+/g, ' ');
    return `'${escapeControl(oneLine.length > 60 ? `${oneLine.slice(0, 57)}...` : oneLine)}'`;
  }
  if (Array.isArray(value)) return 'a list';
  if (isRecord(value)) return 'a map';
  return String(value);
}

/** A value as a message shows it: `the number 5`, `'text'`, `an empty value`. */
export function describe(value: unknown): string {
  if (value === null) return 'an empty value';
  if (typeof value === 'number') return `the number ${value}`;
  return show(value);
}

// ---------------------------------------------------------------------------------------------
// The schema at a path, for the allowed keys and descriptions of a place in the file

type Schema = z.core.$ZodType;
interface SchemaDef {
  type: string;
  innerType?: Schema;
  in?: Schema;
  shape?: Record<string, Schema>;
  valueType?: Schema;
  element?: Schema;
  options?: Schema[];
  discriminator?: string;
  values?: unknown[];
}

const defOf = (schema: Schema): SchemaDef => schema._zod.def as unknown as SchemaDef;

/** Through optional, default, prefault and transform wrappers to the schema that checks shape. */
function unwrap(schema: Schema): Schema {
  for (let inner = wrapped(schema); inner; inner = wrapped(schema)) schema = inner;
  return schema;
}

function wrapped(schema: Schema): Schema | undefined {
  const def = defOf(schema);
  return def.innerType ?? (def.type === 'pipe' ? def.in : undefined);
}

/** The union member the value was meant for: by discriminator, else by being a list or a map. */
function pick(schema: Schema, value: unknown): Schema {
  const def = defOf(schema);
  if (def.type !== 'union' || !def.options) return schema;
  const option = def.options.find((o) => {
    const od = defOf(unwrap(o));
    if (Array.isArray(value)) return od.type === 'array';
    if (!isRecord(value) || od.type !== 'object') return false;
    if (!def.discriminator) return true;
    const tag = od.shape?.[def.discriminator];
    return tag !== undefined && (defOf(unwrap(tag)).values ?? []).includes(value[def.discriminator]);
  });
  return option ? pick(unwrap(option), value) : schema;
}

function schemaAt(path: readonly PathSegment[], raw: unknown): Schema | undefined {
  let schema: Schema | undefined = workflowSchema;
  let value = raw;
  for (const segment of path) {
    const def: SchemaDef | undefined = schema && defOf(pick(unwrap(schema), value));
    schema =
      def?.type === 'object'
        ? typeof segment === 'string' && def.shape && Object.hasOwn(def.shape, segment)
          ? def.shape[segment]
          : undefined
        : def?.type === 'record'
          ? def.valueType
          : def?.type === 'array'
            ? def.element
            : undefined;
    value = valueAt(value, [segment]);
  }
  return schema;
}

function allowedKeys(path: readonly PathSegment[], raw: unknown): string[] {
  const schema = schemaAt(path, raw);
  const def = schema && defOf(pick(unwrap(schema), valueAt(raw, path)));
  return def?.type === 'object' && def.shape ? Object.keys(def.shape) : [];
}

function descriptionOf(schema: Schema | undefined): string | undefined {
  let s = schema;
  while (s && !z.globalRegistry.get(s)?.description) s = wrapped(s);
  return s && z.globalRegistry.get(s)?.description;
}
