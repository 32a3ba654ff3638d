/*
 * Reading and rewriting one `upstream NAME { … }` block of an nginx config file, as text: only the
 * `server` statements of the stable and canary addresses are rewritten, so comments, other
 * directives (`keepalive`, `zone`, a balancing method) and the rest of the file stay as they are.
 */

/** One `server ADDRESS [params];` statement of the block, with where it stands in the text. */
export interface UpstreamServer {
  address: string;
  params: string[];
  start: number;
  end: number;
}

export interface UpstreamBlock {
  servers: UpstreamServer[];
  /** Offset of the block's closing brace: where servers it lacks are added. */
  close: number;
  /** The indentation of its first server line (four spaces when it has none). */
  indent: string;
}

interface Token {
  text: string;
  start: number;
  end: number;
}

/** nginx's lexical units: words (quotes removed), `{`, `}` and `;`; comments are skipped. */
function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const ch = text[i] as string;
    if (/\s/.test(ch)) {
      i += 1;
    } else if (ch === '#') {
      while (i < text.length && text[i] !== '\n') i += 1;
    } else if (ch === '{' || ch === '}' || ch === ';') {
      tokens.push({ text: ch, start: i, end: i + 1 });
      i += 1;
    } else if (ch === '"' || ch === "'") {
      const start = i;
      let word = '';
      i += 1;
      while (i < text.length && text[i] !== ch) {
        if (text[i] === '\\' && i + 1 < text.length) i += 1;
        word += text[i];
        i += 1;
      }
      i += 1;
      tokens.push({ text: word, start, end: Math.min(i, text.length) });
    } else {
      const start = i;
      while (i < text.length && !/[\s{};#]/.test(text[i] as string)) i += 1;
      tokens.push({ text: text.slice(start, i), start, end: i });
    }
  }
  return tokens;
}

/** The block `upstream <name> { … }` at the top level of `text`, or `undefined` when there is none. */
export function findUpstream(text: string, name: string): UpstreamBlock | undefined {
  const tokens = tokenize(text);
  let depth = 0;
  for (let i = 0; i < tokens.length; i += 1) {
    const t = tokens[i] as Token;
    if (t.text === '{') depth += 1;
    else if (t.text === '}') depth -= 1;
    else if (depth === 0 && t.text === 'upstream' && tokens[i + 1]?.text === name && tokens[i + 2]?.text === '{') {
      return readBlock(text, tokens, i + 3);
    }
  }
  return undefined;
}

function readBlock(text: string, tokens: Token[], from: number): UpstreamBlock | undefined {
  const servers: UpstreamServer[] = [];
  let statement: Token[] = [];
  let depth = 0;
  for (let i = from; i < tokens.length; i += 1) {
    const t = tokens[i] as Token;
    if (t.text === '{') depth += 1;
    else if (t.text === '}' && depth > 0) depth -= 1;
    else if (t.text === '}') {
      const first = servers[0];
      const lineStart = first ? text.lastIndexOf('\n', first.start - 1) + 1 : -1;
      const indent = first ? text.slice(lineStart, first.start) : '';
      return { servers, close: t.start, indent: first && /^[ \t]*$/.test(indent) ? indent : '    ' };
    } else if (t.text === ';' && depth === 0) {
      const [head, address, ...params] = statement;
      if (head?.text === 'server' && address) {
        servers.push({ address: address.text, params: params.map((p) => p.text), start: head.start, end: t.end });
      }
      statement = [];
      continue;
    }
    if (depth === 0 && t.text !== '{' && t.text !== '}') statement.push(t);
  }
  return undefined;
}

/** A server's weight: 0 when `down`, else its `weight=` (default 1). */
export function weightOf(server: UpstreamServer): number {
  if (server.params.includes('down')) return 0;
  const param = server.params.find((p) => p.startsWith('weight='));
  const weight = param ? Number(param.slice('weight='.length)) : 1;
  return Number.isFinite(weight) ? weight : 0;
}

export function isBackup(server: UpstreamServer): boolean {
  return server.params.includes('backup');
}

/** `server ADDRESS weight=W …;`, or `… down;` for weight 0, keeping the server's other parameters. */
export function serverLine(address: string, params: readonly string[], weight: number): string {
  const kept = params.filter((p) => p !== 'down' && !p.startsWith('weight='));
  return ['server', address, weight > 0 ? `weight=${weight}` : 'down', ...kept].join(' ') + ';';
}

/**
 * `text` with the servers of `weights` (address → weight) rewritten in `block`, and those it lacks
 * added before its closing brace.
 */
export function rewrite(text: string, block: UpstreamBlock, weights: ReadonlyMap<string, number>): string {
  const edits: { start: number; end: number; text: string }[] = [];
  const seen = new Set<string>();
  for (const server of block.servers) {
    const weight = weights.get(server.address);
    if (weight === undefined) continue;
    seen.add(server.address);
    edits.push({ start: server.start, end: server.end, text: serverLine(server.address, server.params, weight) });
  }
  const missing = [...weights].filter(([address]) => !seen.has(address));
  if (missing.length > 0) {
    const before = text.slice(0, block.close);
    const lead = /\n[ \t]*$/.test(before) ? '' : '\n';
    const lines = missing.map(([address, weight]) => `${block.indent}${serverLine(address, [], weight)}\n`).join('');
    const closeIndent = before.match(/\n([ \t]*)$/)?.[1] ?? '';
    // The new lines go before the closing brace's own indentation, so it keeps its place.
    const at = block.close - closeIndent.length;
    edits.push({ start: at, end: at, text: `${lead}${lines}` });
  }
  let out = text;
  for (const edit of edits.sort((x, y) => y.start - x.start)) out = out.slice(0, edit.start) + edit.text + out.slice(edit.end);
  return out;
}

/** A whole file holding only the upstream block, for when there is no file yet. */
export function freshFile(name: string, weights: ReadonlyMap<string, number>): string {
  const lines = [...weights].map(([address, weight]) => `    ${serverLine(address, [], weight)}`);
  return [`# Written by rollgate: the weights of upstream ${name}.`, `upstream ${name} {`, ...lines, '}', ''].join('\n');
}
