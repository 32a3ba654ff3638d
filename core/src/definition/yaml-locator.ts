import { type Document, isMap, isScalar, isSeq, type LineCounter, type Pair, type YAMLMap } from 'yaml';
import type { ConfigIssue } from '../errors.js';
import { type Finding, isRecord, type PathSegment } from './rule-kit.js';

/**
 * Findings (structural paths into the file's data) → issues with file:line:column and a readable
 * path. Lookups are indexed once per map and per file, so locating every finding of a file with
 * 100,000 stages stays linear.
 */
export class Locator {
  private readonly keys = new WeakMap<YAMLMap, Map<string, Pair>>();
  private readonly labels: StageLabels;

  constructor(
    private readonly file: string,
    private readonly doc: Document | undefined,
    private readonly lines: LineCounter,
    private readonly raw: unknown,
  ) {
    this.labels = stageLabels(raw);
  }

  /** Every issue has a position: a finding about the whole file (say, an empty one) is at 1:1. */
  issue(finding: Finding): ConfigIssue {
    const position = this.position(finding.path, finding.at) ?? { line: 1, column: 1 };
    return {
      file: this.file,
      line: position.line,
      column: position.column,
      path: formatPath(finding.path, this.raw, this.labels),
      message: finding.message,
    };
  }

  /**
   * Where `path` is written: the value (or the key, with `at: 'key'`); for a path that is not in
   * the file (a missing field) the nearest enclosing map or list.
   */
  private position(path: PathSegment[], at: 'key' | undefined): { line: number; column: number } | undefined {
    let node: unknown = this.doc?.contents;
    let key: unknown;
    for (const segment of path) {
      let next: unknown;
      let nextKey: unknown;
      if (isMap(node)) {
        const pair = this.pairs(node).get(String(segment));
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

  /** The map's pairs by key; with a repeated key (reported on its own) the last one, as it is read. */
  private pairs(map: YAMLMap): Map<string, Pair> {
    let index = this.keys.get(map);
    if (!index) {
      index = new Map();
      for (const pair of map.items) if (isScalar(pair.key)) index.set(String(pair.key.value), pair);
      this.keys.set(map, index);
    }
    return index;
  }

  private at(node: unknown): { line: number; column: number } | undefined {
    const range = (node as { range?: [number, number, number] } | null)?.range;
    if (!range) return undefined;
    const { line, col } = this.lines.linePos(range[0]);
    return { line, column: col };
  }
}

/** For each stage index, the stage's name when it can stand for the index (unique, path-safe). */
type StageLabels = ReadonlyMap<number, string>;

const labelCache = new WeakMap<object, StageLabels>();

function stageLabels(raw: unknown): StageLabels {
  const stages = isRecord(raw) && Array.isArray(raw.stages) ? (raw.stages as unknown[]) : undefined;
  if (!stages) return new Map();
  const cached = labelCache.get(stages);
  if (cached) return cached;
  const uses = new Map<unknown, number>();
  const names = stages.map((stage) => (isRecord(stage) ? stage.name : undefined));
  for (const name of names) uses.set(name, (uses.get(name) ?? 0) + 1);
  const labels = new Map<number, string>();
  names.forEach((name, i) => {
    if (typeof name === 'string' && /^[\w.-]+$/.test(name) && !/^\d+$/.test(name) && uses.get(name) === 1) labels.set(i, name);
  });
  labelCache.set(stages, labels);
  return labels;
}

/** `['stages', 0, 'target', 'type']` → `stages[deploy-web].target.type`. */
export function formatPath(path: readonly PathSegment[], raw: unknown, labels: StageLabels = stageLabels(raw)): string {
  let text = '';
  path.forEach((segment, i) => {
    if (typeof segment === 'number') {
      text += `[${(i === 1 && path[0] === 'stages' && labels.get(segment)) || segment}]`;
    } else if (/^[A-Za-z_$][\w$-]*$/.test(segment)) {
      text += text ? `.${segment}` : segment;
    } else {
      text += `[${JSON.stringify(segment)}]`;
    }
  });
  return text;
}
