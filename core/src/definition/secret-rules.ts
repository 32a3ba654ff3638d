import { error, type Finding, isRecord, type PathSegment, type Rule } from './rule-kit.js';

/*
 * Secrets written into the workflow file: every string is scanned for the shapes of common
 * credentials, even when the file fails the schema, so a token in a broken file is still caught.
 */

const SECRET_PATTERNS: ReadonlyArray<readonly [string, RegExp]> = [
  ['a Slack token', /\bxox[abposre]-[A-Za-z0-9-]{10,}/],
  ['a Slack app token', /\bxapp-\d-[A-Za-z0-9-]{10,}/],
  ['a Slack webhook URL', /hooks\.slack\.com\/(?:services|workflows|triggers)\/[A-Za-z0-9_/-]{8,}/],
  ['a Teams webhook URL', /\.webhook\.office\.com\/webhookb2\//],
  ['a GitHub token', /\bgh[pousr]_[A-Za-z0-9]{30,}/],
  ['a GitHub token', /\bgithub_pat_[A-Za-z0-9_]{20,}/],
  ['a GitLab token', /\bglpat-[A-Za-z0-9_-]{20,}/],
  ['an AWS access key id', /\b(?:AKIA|ASIA)[0-9A-Z]{16}\b/],
  ['a private key', /-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----/],
  // user:password@ in a URL, unless the password is a placeholder or a $VARIABLE
  ['a password in a URL', /\b[a-z][a-z0-9+.-]*:\/\/[^\s/:@{}$]+:[^\s/@{}$]+@/i],
];

/** What kind of credential `text` contains (e.g. `a Slack token`), or undefined. */
export function findSecret(text: string): string | undefined {
  return SECRET_PATTERNS.find(([, pattern]) => pattern.test(text))?.[0];
}

const inlinedSecrets: Rule = {
  name: 'inlined-secrets',
  input: 'raw',
  check(raw) {
    const findings: Finding[] = [];
    // An explicit stack rather than recursion: the loader bounds nesting, but a walk that cannot
    // overflow does not depend on that.
    const stack: Array<[unknown, PathSegment[]]> = [[raw, []]];
    for (let next = stack.pop(); next; next = stack.pop()) {
      const [value, path] = next;
      if (typeof value === 'string') {
        const kind = findSecret(value);
        if (kind) {
          findings.push(
            error(path, `looks like an inlined secret (${kind}); put it in an environment variable and reference it by name`),
          );
        }
      } else if (Array.isArray(value)) {
        for (let i = value.length - 1; i >= 0; i--) stack.push([value[i], [...path, i]]);
      } else if (isRecord(value)) {
        const entries = Object.entries(value);
        for (let i = entries.length - 1; i >= 0; i--) {
          const [key, item] = entries[i] as [string, unknown];
          stack.push([item, [...path, key]]);
        }
      }
    }
    return findings;
  },
};

/** The rules of this file. */
export const secretRules: readonly Rule[] = [inlinedSecrets];
