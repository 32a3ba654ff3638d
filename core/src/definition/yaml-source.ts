import { Composer, type CST, type Document, isAlias, isMap, isPair, isScalar, isSeq, LineCounter, Parser, YAMLParseError, type YAMLError } from 'yaml';
import type { ConfigIssue } from '../errors.js';

/**
 * Workflow text → YAML document and plain data, with every problem at a line and column. YAML
 * and JSON go through the same parser (JSON is YAML), which keeps the position of every node.
 *
 * Besides syntax, this is where a hostile or broken file is stopped before anything walks it:
 * nesting deeper than MAX_DEPTH (checked on the parser's tokens, before the recursive steps that
 * would overflow the stack), aliases that refer to nothing or to the value they are inside of,
 * aliases that expand to more than MAX_ALIAS_EXPANSION values (a "billion laughs" file), and
 * `<<` merges of something other than a map. The converter to plain data then never throws.
 */

/** Maps and lists inside each other; a real workflow needs about a dozen. */
export const MAX_DEPTH = 64;
/** Values that aliases may add to the document, counted as if written out. */
export const MAX_ALIAS_EXPANSION = 100_000;

/** What reading the text gave: the document, its data, and the problems found, positioned. */
export interface YamlSource {
  /** The composed document, when the text could be read as one. */
  doc: Document | undefined;
  lines: LineCounter;
  /** The document as plain data; null for an empty file. */
  raw: unknown;
  errors: ConfigIssue[];
  warnings: ConfigIssue[];
  /** False when the problems leave nothing to validate further. */
  usable: boolean;
}

/** Parses `text` (YAML or JSON); never throws, every problem is an issue with a line and column. */
export function readYaml(text: string, file: string): YamlSource {
  // A byte-order mark is not content. A lone CR is a line break in YAML 1.2 that the parser does
  // not count as one; the replacement keeps every offset where it was.
  const source = text.replace(/^\uFEFF/, '').replace(/\r(?!\n)/g, '\n');
  const lines = new LineCounter();
  const at = (offset: number, message: string): ConfigIssue => {
    const { line, col } = lines.linePos(offset);
    return { file, line, column: col, path: '', message };
  };
  const result = (doc: Document | undefined, errors: ConfigIssue[], warnings: ConfigIssue[] = [], raw: unknown = null): YamlSource => ({
    doc,
    lines,
    raw,
    errors,
    warnings,
    usable: false,
  });

  const tokens = [...new Parser(lines.addNewLine).parse(source)];
  const deep = firstTooDeep(tokens);
  if (deep !== undefined) return result(undefined, [at(deep, nestingMessage(''))]);

  const doc = compose(tokens, source.length);
  tokens.length = 0; // the tokens of a large file are many; the document holds what is needed
  const errors = doc.errors.map((e) => yamlIssue(e, at, source));
  const warnings = doc.warnings.map((e) => yamlIssue(e, at, source));
  // A repeated key still leaves a usable document: keep going so every other problem shows too.
  if (doc.errors.some((e) => e.code !== 'DUPLICATE_KEY')) return result(doc, errors, warnings);

  const structural = checkStructure(doc);
  if (structural.length > 0) {
    return result(doc, [...errors, ...structural.map((p) => at(p.offset, p.message))], warnings);
  }
  try {
    // The checks above bound what aliases can do, so yaml's own alias count is not needed.
    const raw = doc.toJS({ maxAliasCount: -1 }) as unknown;
    return { doc, lines, raw, errors, warnings, usable: true };
  } catch (err) {
    return result(doc, [...errors, at(0, `cannot read the file as YAML: ${(err as Error).message}`)], warnings);
  }
}

function compose(tokens: CST.Token[], length: number): Document {
  const composer = new Composer({ merge: true, uniqueKeys: true });
  let doc: Document | undefined;
  for (const next of composer.compose(tokens, true, length)) {
    if (!doc) doc = next;
    else {
      doc.errors.push(new YAMLParseError([next.range[0], next.range[1]], 'MULTIPLE_DOCS', 'more than one document'));
      break;
    }
  }
  return doc as Document; // compose(…, true) always yields a document
}

const nestingMessage = (through: string) =>
  `nesting deeper than ${MAX_DEPTH} levels of maps and lists${through}; a workflow needs far fewer: check the indentation and brackets here`;

/** The offset of the first map or list nested deeper than MAX_DEPTH, walking without recursion. */
function firstTooDeep(tokens: readonly CST.Token[]): number | undefined {
  // Two parallel stacks rather than one of pairs: a 100,000-stage file has millions of tokens.
  const nodes: Array<CST.Token | null | undefined> = [...tokens].reverse();
  const depths: number[] = nodes.map(() => 0);
  while (nodes.length > 0) {
    const token = nodes.pop();
    const depth = depths.pop() as number;
    if (!token) continue;
    if (token.type === 'document') {
      nodes.push(token.value);
      depths.push(depth);
    } else if (token.type === 'block-map' || token.type === 'block-seq' || token.type === 'flow-collection') {
      if (depth >= MAX_DEPTH) return token.offset;
      for (let i = token.items.length - 1; i >= 0; i--) {
        const item = token.items[i] as { key?: CST.Token | null; value?: CST.Token };
        if (item.value && item.value.type !== 'scalar') {
          nodes.push(item.value);
          depths.push(depth + 1);
        }
        if (item.key && item.key.type !== 'scalar') {
          nodes.push(item.key);
          depths.push(depth + 1);
        }
      }
    }
  }
  return undefined;
}

interface Problem {
  offset: number;
  message: string;
}

interface Shape {
  /** Values in the node once every alias in it is written out. */
  size: number;
  /** Maps and lists inside each other, the node included. */
  height: number;
}

const offsetOf = (node: unknown): number => (node as { range?: [number, number, number] } | null)?.range?.[0] ?? 0;

const isMergeKey = (key: unknown): boolean =>
  isScalar(key) && typeof key.value === 'symbol' && key.value.description === '<<';

/**
 * Resolves every alias the way yaml does (the last node with that anchor before the alias) and
 * checks what it would add. Recursion is safe here: the tokens were at most MAX_DEPTH deep.
 */
function checkStructure(doc: Document): Problem[] {
  const anchors = new Map<string, unknown>();
  const shapes = new Map<unknown, Shape>();
  const open = new Set<unknown>();
  const problems: Problem[] = [];
  let expansion = 0;
  let tooDeep = false;
  const leaf: Shape = { size: 1, height: 0 };

  const target = (node: unknown): unknown => (isAlias(node) ? anchors.get(node.source) : node);

  const visit = (node: unknown, depth: number): Shape => {
    if (isAlias(node)) {
      const found = anchors.get(node.source);
      if (found === undefined) {
        problems.push({ offset: offsetOf(node), message: `unknown alias *${node.source}: an alias refers to an anchor (&${node.source}) set earlier in the file` });
        return leaf;
      }
      if (open.has(found)) {
        problems.push({ offset: offsetOf(node), message: `alias *${node.source} is inside the value it refers to, so it would never end` });
        return leaf;
      }
      const shape = shapes.get(found) ?? leaf;
      const before = expansion;
      expansion += shape.size;
      if (before <= MAX_ALIAS_EXPANSION && expansion > MAX_ALIAS_EXPANSION) {
        problems.push({
          offset: offsetOf(node),
          message: `aliases expand to more than ${MAX_ALIAS_EXPANSION.toLocaleString('en-US')} values by here (*${node.source} adds ${shape.size}); write the values out or use fewer aliases`,
        });
      }
      if (!tooDeep && depth + shape.height > MAX_DEPTH) {
        tooDeep = true;
        problems.push({ offset: offsetOf(node), message: nestingMessage(` through alias *${node.source}`) });
      }
      return shape;
    }
    const anchor = (node as { anchor?: string } | null)?.anchor;
    if (anchor) anchors.set(anchor, node);
    if (!isMap(node) && !isSeq(node)) return leaf;
    open.add(node);
    const shape = { size: 1, height: 1 };
    const add = (child: Shape) => {
      shape.size += child.size;
      shape.height = Math.max(shape.height, child.height + 1);
    };
    for (const item of node.items as unknown[]) {
      if (!isPair(item)) {
        add(visit(item, depth + 1));
        continue;
      }
      add(visit(item.key, depth + 1));
      add(visit(item.value, depth + 1));
      if (isMergeKey(item.key)) {
        const bad = mergeProblem(item.value, target);
        if (bad) problems.push({ offset: offsetOf(item.value ?? item.key), message: bad });
      }
    }
    open.delete(node);
    shapes.set(node, shape);
    return shape;
  };
  visit(doc.contents, 0);
  return problems;
}

/** What is wrong with the value of a `<<` merge key; undefined for a map or a list of maps. */
function mergeProblem(value: unknown, target: (node: unknown) => unknown): string | undefined {
  const resolved = target(value);
  const fix = 'a << merge takes a map or a list of maps, usually an alias such as <<: *defaults';
  if (isMap(resolved)) return undefined;
  if (isSeq(resolved)) {
    const bad = resolved.items.find((item) => !isMap(target(item)));
    return bad === undefined ? undefined : `${fix}; this list holds ${kind(target(bad))}`;
  }
  return `${fix}, got ${kind(resolved)}`;
}

function kind(node: unknown): string {
  if (isSeq(node)) return 'a list';
  if (!isScalar(node) || node.value === null || node.value === undefined) return 'nothing';
  if (typeof node.value === 'string') return 'a text value';
  if (typeof node.value === 'number') return `the number ${node.value}`;
  return String(node.value);
}

function yamlIssue(e: YAMLError, at: (offset: number, message: string) => ConfigIssue, text: string): ConfigIssue {
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
  return at(e.pos[0], message);
}

function keyAt(text: string, offset: number): string {
  const rest = text.slice(offset);
  const quoted = /^(["'])(.*?)\1/.exec(rest);
  if (quoted) return quoted[2] as string;
  return (/^[^:\n,}]*/.exec(rest)?.[0] ?? '').trim();
}
