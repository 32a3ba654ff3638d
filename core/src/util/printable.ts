/**
 * Text as it may reach a terminal or a CI log. Values from outside (a version, an input, a
 * command's output quoted in a message) may hold control characters: an escape sequence rewrites
 * the terminal, a carriage return hides what came before, and a line that starts with `::` is a
 * workflow command to GitHub Actions (`::error::`, `::stop-commands::`, `::add-mask::`). Control
 * characters are shown as escapes (`\x1b`, `\r`), and a line that would start with `::` gets a
 * zero-width space before it, so the runner reads it as text.
 */
// C0 controls but tab and newline, DEL, and the C1 controls.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\x00-\x08\x0b-\x1f\x7f-\x9f]/g;
const WORKFLOW_COMMAND = /^([ \t]*)::/gm;

export function printable(text: string): string {
  return text.replace(CONTROL, escape).replace(WORKFLOW_COMMAND, '$1\u200b::');
}

/** The same, on one line: newlines and tabs are escaped too (a value inside a sentence). */
export function printableLine(text: string): string {
  return printable(text.replace(/\n/g, '\\n').replace(/\t/g, '\\t'));
}

function escape(char: string): string {
  if (char === '\r') return '\\r';
  return `\\x${char.charCodeAt(0).toString(16).padStart(2, '0')}`;
}
