/**
 * Masks secrets in text before it reaches a log, an event or the audit trail. One regex, compiled
 * once per masker, does the whole job in a single pass per line: the literal secret values
 * (longest first, so a secret that contains another is masked whole) and well-known credential
 * shapes that may turn up in command output even when nobody declared them.
 */

export const MASK = '***';

/** Secrets shorter than this are not masked: masking `a` or `no` would garble every line. */
export const MIN_SECRET_LENGTH = 3;

/**
 * Credential shapes masked even when their value was not declared. A capture group named `keep`
 * (the prefix) is kept so the text still says what was there.
 */
const PATTERNS: string[] = [
  // Slack tokens: bot, user, app-level, legacy, refresh…
  String.raw`\bxox[abprs]-[A-Za-z0-9-]{6,}`,
  String.raw`\bxapp-[A-Za-z0-9-]{6,}`,
  // GitHub tokens: classic PAT, OAuth, app installation/user/refresh, fine-grained PAT.
  String.raw`\bgh[pousr]_[A-Za-z0-9]{20,}`,
  String.raw`\bgithub_pat_[A-Za-z0-9_]{20,}`,
  // AWS access key ids (long-term and temporary).
  String.raw`\b(?:AKIA|ASIA)[A-Z0-9]{16}\b`,
  // Authorization header values (8+ characters, so prose such as "Bearer of news" is left alone).
  String.raw`(?<keep>\b[Bb]earer\s+)[A-Za-z0-9\-._~+/]{8,}=*`,
  // Incoming-webhook URLs: their path is the credential.
  String.raw`(?<keep>https://hooks\.slack\.com/)[^\s"'<>\`]+`,
  String.raw`(?<keep>https://[A-Za-z0-9.-]*(?:webhook\.office\.com|outlook\.office\.com)/)[^\s"'<>\`]+`,
  String.raw`(?<keep>https://[A-Za-z0-9.-]+\.logic\.azure\.com(?::\d+)?/)[^\s"'<>\`]+`,
  // Passwords in URLs: scheme://user:password@host
  String.raw`(?<keep>\b[a-z][a-z0-9+.-]*://[^\s/:@]+:)[^\s/@]+(?=@)`,
];

// Named groups must be unique within one regex: number the `keep` groups.
const PATTERN_SOURCES = PATTERNS.map((source, i) => source.replace('(?<keep>', `(?<keep${i}>`));

const replace = (...args: unknown[]): string => {
  const groups = args.at(-1);
  if (groups && typeof groups === 'object') {
    for (const kept of Object.values(groups as Record<string, string | undefined>)) {
      if (kept !== undefined) return kept + MASK;
    }
  }
  return MASK;
};

export type Masker = (text: string) => string;

/** The regex behind maskers made here, so text can be cut where no secret straddles the cut. */
const PATTERN_OF = new WeakMap<Masker, RegExp>();

/**
 * Builds a masker for the given secret values. Each non-empty value of at least
 * `MIN_SECRET_LENGTH` characters is replaced by `***` wherever it appears, together with its
 * JSON-escaped, URL-encoded and base64 forms and, for multi-line values (keys, certificates), each
 * of its lines, since output is masked line by line.
 */
export function createMasker(secretValues: readonly string[]): Masker {
  const literals = new Set<string>();
  const add = (value: string) => {
    if (value.length >= MIN_SECRET_LENGTH) literals.add(value);
  };
  for (const secret of secretValues) {
    if (typeof secret !== 'string' || secret.length < MIN_SECRET_LENGTH) continue;
    add(secret);
    add(JSON.stringify(secret).slice(1, -1));
    add(encodeURIComponent(secret));
    // A tool that prints a credential encoded (a Basic auth header, a Kubernetes secret) prints
    // it base64-encoded: standard and URL-safe, with or without padding.
    const b64 = Buffer.from(secret).toString('base64');
    add(b64);
    add(b64.replace(/=+$/, ''));
    add(Buffer.from(secret).toString('base64url'));
    if (/[\r\n]/.test(secret)) {
      for (const line of secret.split(/\r?\n|\r/)) add(line.trim());
    }
  }
  const sorted = [...literals].sort((a, b) => b.length - a.length);
  const alternatives = [...sorted.map(escapeRegExp), ...PATTERN_SOURCES];
  const regex = new RegExp(alternatives.join('|'), 'g');
  const masker: Masker = (text: string) => {
    if (!text) return text;
    regex.lastIndex = 0;
    return text.replace(regex, replace);
  };
  PATTERN_OF.set(masker, regex);
  return masker;
}

/** How far before a cut a straddling secret is looked for. */
const CUT_WINDOW = 65_536;

/**
 * A place at or before `at` where `text` can be cut so that no secret (nor credential shape) is
 * split between the two parts: the start of a match that straddles `at`, else `at` itself. Text
 * cut anywhere else could leave half a secret that no longer matches the mask.
 */
export function safeCut(mask: Masker, text: string, at: number): number {
  const source = PATTERN_OF.get(mask);
  if (!source) return at;
  const regex = new RegExp(source.source, 'g');
  regex.lastIndex = Math.max(0, at - CUT_WINDOW);
  for (let m = regex.exec(text); m !== null && m.index < at; m = regex.exec(text)) {
    if (m.index + m[0].length > at) return m.index;
    if (m[0].length === 0) regex.lastIndex += 1;
  }
  return at;
}

/** A masker that masks only the credential patterns: for places with no declared secrets. */
export const maskPatterns: Masker = createMasker([]);

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');
}
