/**
 * A small, safe path into parsed JSON: `data.items[0].value`, `$.status.ready`, `items.0.v`,
 * `labels["app.kubernetes.io/name"]`. Lookup only: no filters, no expressions, no code, and only
 * own properties, so `__proto__` or `constructor` never reach anything JSON did not hold.
 */

/** One step of a path: a key of an object, or the index of a list. */
export type JsonPathSegment = string | number;

const NAME = /^[^.[\]\s"']+/;

/** Splits a path into segments; throws an `Error` that says where it is malformed. */
export function parseJsonPath(path: string): JsonPathSegment[] {
  let rest = path.trim();
  if (rest.startsWith('$')) rest = rest.slice(1);
  const segments: JsonPathSegment[] = [];
  let first = true;
  while (rest !== '') {
    const at = path.length - rest.length;
    if (rest.startsWith('[')) {
      const index = /^\[\s*(\d+)\s*\]/.exec(rest);
      const quoted = /^\[\s*(?:"((?:[^"\\]|\\.)*)"|'([^']*)')\s*\]/.exec(rest);
      if (index) segments.push(Number(index[1]));
      else if (quoted) segments.push(quoted[1] !== undefined ? (JSON.parse(`"${quoted[1]}"`) as string) : (quoted[2] as string));
      else throw new Error(`'[' at character ${at + 1} must hold a list index such as [0] or a quoted key such as ["a.b"]`);
      rest = rest.slice(((index ?? quoted) as RegExpExecArray)[0].length);
    } else {
      if (rest.startsWith('.')) rest = rest.slice(1);
      else if (!first) throw new Error(`expected '.' or '[' at character ${at + 1}`);
      const name = NAME.exec(rest);
      if (!name) throw new Error(`expected a key at character ${path.length - rest.length + 1}`);
      segments.push(name[0]);
      rest = rest.slice(name[0].length);
    }
    first = false;
  }
  return segments;
}

/** `data.items[0].value`: how a path reads in messages. */
export function formatJsonPath(segments: readonly JsonPathSegment[]): string {
  if (segments.length === 0) return '$';
  return segments
    .map((s, i) => (typeof s === 'number' ? `[${s}]` : NAME.exec(s)?.[0] === s ? `${i === 0 ? '' : '.'}${s}` : `[${JSON.stringify(s)}]`))
    .join('');
}

export type JsonPathLookup =
  | { found: true; value: unknown }
  /** `missing` is the first segment that was not there (its index), `parent` what held it. */
  | { found: false; missing: number; parent: unknown };

/** Follows `segments` into `body`: own properties of objects, indexes (or digit keys) of lists. */
export function readJsonPath(body: unknown, segments: readonly JsonPathSegment[]): JsonPathLookup {
  let node = body;
  for (const [i, segment] of segments.entries()) {
    let next: { value: unknown } | undefined;
    if (Array.isArray(node)) {
      const index = typeof segment === 'number' ? segment : /^\d+$/.test(segment) ? Number(segment) : -1;
      if (index >= 0 && index < node.length) next = { value: node[index] };
    } else if (node !== null && typeof node === 'object' && Object.hasOwn(node, String(segment))) {
      next = { value: (node as Record<string, unknown>)[String(segment)] };
    }
    if (!next) return { found: false, missing: i, parent: node };
    node = next.value;
  }
  return { found: true, value: node };
}

/** What a JSON value is, for messages: `a list of 3`, `an object with keys a, b`, `the string "up"`. */
export function describeJson(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return value.length === 0 ? 'an empty list' : `a list of ${value.length}`;
  switch (typeof value) {
    case 'object': {
      const keys = Object.keys(value);
      if (keys.length === 0) return 'an empty object';
      const shown = keys.slice(0, 8).join(', ');
      return `an object with keys ${shown}${keys.length > 8 ? `, … (${keys.length} in all)` : ''}`;
    }
    case 'string':
      return `the string ${JSON.stringify(value.length > 60 ? `${value.slice(0, 57)}...` : value)}`;
    default:
      return `${typeof value} ${String(value)}`;
  }
}
