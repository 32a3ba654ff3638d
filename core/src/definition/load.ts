import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { type Document, isMap, isScalar, isSeq, LineCounter, parseDocument, type YAMLError } from 'yaml';
import { z } from 'zod';
import { type ConfigIssue, UsageError, WorkflowConfigError } from '../errors.js';
import { normalize } from './normalize.js';
import { closest, type Finding, findSecret, isRecord, type PathSegment, runRules, suggest } from './rules.js';
import { type Workflow, workflowSchema } from './schema.js';

/**
 * Workflow text → `Workflow`, in three layers (zod schema, `normalize`, named rules), reporting
 * every problem at once with file:line:column and a path. YAML and JSON go through the same
 * YAML parser (JSON is YAML), which keeps the position of every node.
 *
 * Paths name fields with dots and list items with brackets; stages are named rather than
 * numbered when their name is unique: `stages[deploy-web].strategy.type`, `probes.db.url`,
 * `notifications[0].type`, `environments.prod.variables["API HOST"]`.
 */

export type LoadResult =
  | { ok: true; workflow: Workflow; warnings: ConfigIssue[] }
  | { ok: false; errors: ConfigIssue[]; warnings: ConfigIssue[] };

export interface LoadedWorkflow {
  workflow: Workflow;
  /** Absolute path of the file. */
  path: string;
  /** Its folder: relative paths in the workflow (command `cwd`) are resolved against it. */
  dir: string;
  text: string;
  /** Hex SHA-256 of the file's bytes, recorded in the run journal and the audit trail. */
  sha256: string;
  warnings: ConfigIssue[];
}

/** Validates workflow text. `file` is only used in the issues (as given, so keep it relative). */
export function parseWorkflow(text: string, file: string): LoadResult {
  const source = text.replace(/^\uFEFF/, '');
  const lines = new LineCounter();
  const doc = parseDocument(source, { lineCounter: lines, prettyErrors: false, merge: true, uniqueKeys: true });
  const errors = doc.errors.map((e) => yamlIssue(e, file, lines, source));
  const warnings = doc.warnings.map((e) => yamlIssue(e, file, lines, source));
  // A repeated key still leaves a usable document: keep going so every other problem shows too.
  if (doc.errors.some((e) => e.code !== 'DUPLICATE_KEY')) return finish(undefined, errors, warnings);

  let raw: unknown;
  try {
    raw = doc.toJS({ maxAliasCount: 100 });
  } catch (err) {
    errors.push({ file, path: '', message: `invalid YAML: ${(err as Error).message}` });
    return finish(undefined, errors, warnings);
  }

  const findings: Finding[] = [];
  let workflow: Workflow | undefined;
  if (raw === null || raw === undefined) {
    findings.push(problem([], 'the file is empty; a workflow needs at least version: 1, name, environments and stages'));
  } else if (!isRecord(raw)) {
    findings.push(problem([], `expected a map of workflow settings (version, name, environments, stages), got ${describe(raw)}`));
  } else {
    const parsed = workflowSchema.safeParse(raw);
    if (parsed.success) workflow = normalize(parsed.data);
    else findings.push(...parsed.error.issues.flatMap((issue) => translate(issue, [], raw)));
  }
  findings.push(...runRules(workflow, raw));

  const locator = new Locator(file, doc, lines, raw);
  for (const finding of findings) (finding.severity === 'error' ? errors : warnings).push(locator.issue(finding));
  return finish(workflow, errors, warnings);
}

/**
 * Reads and validates a workflow file. Throws `UsageError` when the file cannot be read and
 * `WorkflowConfigError` (with every error) when its content is invalid.
 */
export async function loadWorkflowFile(path: string): Promise<LoadedWorkflow> {
  const absolute = resolve(path);
  let bytes: Buffer;
  try {
    bytes = await readFile(absolute);
  } catch (err) {
    throw new UsageError(readProblem(path, absolute, err), { cause: err });
  }
  const text = bytes.toString('utf8');
  const result = parseWorkflow(text, path);
  if (!result.ok) {
    const count = result.errors.length;
    throw new WorkflowConfigError(result.errors, `invalid workflow ${path} (${count} problem${count === 1 ? '' : 's'})`);
  }
  return {
    workflow: result.workflow,
    path: absolute,
    dir: dirname(absolute),
    text,
    sha256: createHash('sha256').update(bytes).digest('hex'),
    warnings: result.warnings,
  };
}

function readProblem(path: string, absolute: string, err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code ?? 'ERROR';
  const what =
    code === 'ENOENT'
      ? `no such file (looked for ${absolute}); check the path and the working directory`
      : code === 'EISDIR'
        ? `it is a directory; give the workflow file in it, e.g. ${join(path, 'rollgate.yml')}`
        : code === 'EACCES' || code === 'EPERM'
          ? 'permission denied; make the file readable by the user running rollgate'
          : `${(err as Error).message}; check that the path names a readable file`;
  return `cannot read workflow file ${path}: ${code}: ${what}`;
}

function finish(workflow: Workflow | undefined, errors: ConfigIssue[], warnings: ConfigIssue[]): LoadResult {
  const tidy = (issues: ConfigIssue[]) => {
    const seen = new Set<string>();
    return issues
      .filter((i) => {
        const key = `${i.line}:${i.column}:${i.path}:${i.message}`;
        return seen.has(key) ? false : (seen.add(key), true);
      })
      .sort((a, b) => (a.line ?? 0) - (b.line ?? 0) || (a.column ?? 0) - (b.column ?? 0));
  };
  if (errors.length > 0 || !workflow) return { ok: false, errors: tidy(errors), warnings: tidy(warnings) };
  return { ok: true, workflow, warnings: tidy(warnings) };
}

const problem = (path: PathSegment[], message: string, at?: 'key'): Finding => ({
  severity: 'error',
  path,
  message,
  ...(at ? { at } : {}),
});

// ---------------------------------------------------------------------------------------------
// YAML syntax

function yamlIssue(e: YAMLError, file: string, lines: LineCounter, text: string): ConfigIssue {
  const { line, col } = lines.linePos(e.pos[0]);
  const first = e.message.split('\n')[0] ?? e.message;
  const message =
    e.code === 'DUPLICATE_KEY'
      ? `duplicate key '${keyAt(text, e.pos[0])}'; a key may appear only once in a map`
      : e.code === 'MULTIPLE_DOCS'
        ? 'the file holds more than one YAML document (a --- line); a workflow file holds exactly one'
        : e.code === 'TAB_AS_INDENT'
          ? 'tabs are not allowed as indentation in YAML; indent with spaces'
          : e.name === 'YAMLWarning'
            ? `YAML: ${first}`
            : `invalid YAML: ${first}`;
  return { file, line, column: col, path: '', message };
}

function keyAt(text: string, offset: number): string {
  const rest = text.slice(offset);
  const quoted = /^(["'])(.*?)\1/.exec(rest);
  if (quoted) return quoted[2] as string;
  return (/^[^:\n,}]*/.exec(rest)?.[0] ?? '').trim();
}

// ---------------------------------------------------------------------------------------------
// Positions and paths

class Locator {
  constructor(
    private readonly file: string,
    private readonly doc: Document,
    private readonly lines: LineCounter,
    private readonly raw: unknown,
  ) {}

  issue(finding: Finding): ConfigIssue {
    const position = this.position(finding.path, finding.at);
    return {
      file: this.file,
      ...(position ? { line: position.line, column: position.column } : {}),
      path: formatPath(finding.path, this.raw),
      message: finding.message,
    };
  }

  /**
   * Where `path` is written: the value (or the key, with `at: 'key'`); for a path that is not in
   * the file (a missing field) the nearest enclosing map or list.
   */
  private position(path: PathSegment[], at: 'key' | undefined): { line: number; column: number } | undefined {
    let node: unknown = this.doc.contents;
    let key: unknown;
    for (const segment of path) {
      let next: unknown;
      let nextKey: unknown;
      if (isMap(node)) {
        // The last one: with a repeated key (reported on its own) the last value is the one read.
        const pair = node.items.findLast((p) => isScalar(p.key) && String(p.key.value) === String(segment));
        nextKey = pair?.key;
        // `key:` with nothing after it: point at the key, not at the empty spot after the colon.
        next = pair && !(isScalar(pair.value) && pair.value.value === null) ? pair.value : nextKey;
      } else if (isSeq(node) && typeof segment === 'number') {
        next = node.items[segment];
      }
      if (!next) break;
      node = next;
      key = nextKey;
    }
    return this.at(at === 'key' && key ? key : node);
  }

  private at(node: unknown): { line: number; column: number } | undefined {
    const range = (node as { range?: [number, number, number] } | null)?.range;
    if (!range) return undefined;
    const { line, col } = this.lines.linePos(range[0]);
    return { line, column: col };
  }
}

/** `['stages', 0, 'target', 'type']` → `stages[deploy-web].target.type`. */
export function formatPath(path: readonly PathSegment[], raw: unknown): string {
  const stages = isRecord(raw) && Array.isArray(raw.stages) ? (raw.stages as unknown[]) : [];
  let text = '';
  path.forEach((segment, i) => {
    if (typeof segment === 'number') {
      text += `[${(i === 1 && path[0] === 'stages' && stageLabel(stages, segment)) || segment}]`;
    } else if (/^[A-Za-z_$][\w$-]*$/.test(segment)) {
      text += text ? `.${segment}` : segment;
    } else {
      text += `[${JSON.stringify(segment)}]`;
    }
  });
  return text;
}

function stageLabel(stages: unknown[], index: number): string | undefined {
  const stage = stages[index];
  const name = isRecord(stage) ? stage.name : undefined;
  if (typeof name !== 'string' || !/^[\w.-]+$/.test(name) || /^\d+$/.test(name)) return undefined;
  const uses = stages.filter((s) => isRecord(s) && s.name === name).length;
  return uses === 1 ? name : undefined;
}

function valueAt(raw: unknown, path: readonly PathSegment[]): unknown {
  let value = raw;
  for (const segment of path) {
    if (Array.isArray(value) && typeof segment === 'number') value = value[segment];
    else if (isRecord(value) && Object.hasOwn(value, segment)) value = value[segment];
    else return undefined;
  }
  return value;
}

// ---------------------------------------------------------------------------------------------
// zod issues → findings in the user's words

type Issue = z.core.$ZodIssue;

function translate(issue: Issue, prefix: PathSegment[], raw: unknown): Finding[] {
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
    return `'${oneLine.length > 60 ? `${oneLine.slice(0, 57)}...` : oneLine}'`;
  }
  if (Array.isArray(value)) return 'a list';
  if (isRecord(value)) return 'a map';
  return String(value);
}

function describe(value: unknown): string {
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
