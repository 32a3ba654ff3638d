const NUMERIC = /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/;

/**
 * A value a command printed (or a JSON field held as text): trimmed; a number when it reads as
 * one; `null` when empty. Shared by the command probe and the command and http metric providers.
 */
export function parseValue(stdout: string): number | string | null {
  const text = stdout.trim();
  if (text === '') return null;
  if (NUMERIC.test(text)) {
    const n = Number(text);
    if (Number.isFinite(n)) return n;
  }
  return text;
}
