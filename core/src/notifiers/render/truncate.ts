/** The marker that says a platform's limit cut a text short: never a failed delivery. */
export const TRUNCATED = '… (truncated)';

/** `text` cut to at most `max` characters (code units), ending with the marker when cut; never splits a surrogate pair. */
export function cut(text: string, max: number): string {
  if (text.length <= max) return text;
  let end = Math.max(0, max - TRUNCATED.length);
  const code = text.charCodeAt(end - 1);
  if (code >= 0xd800 && code <= 0xdbff) end -= 1;
  return `${text.slice(0, end)}${TRUNCATED}`;
}

/** Byte length of `value` as JSON, as the platforms count a payload's size. */
export function jsonBytes(value: unknown): number {
  return Buffer.byteLength(JSON.stringify(value), 'utf8');
}
