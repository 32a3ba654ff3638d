import { describe, expect, it } from 'vitest';
import { printable, printableLine } from './printable.js';

describe('printable', () => {
  it('shows control characters as escapes, and keeps tabs and newlines', () => {
    expect(printable('v2\x1b[31mred\rhidden\x00\x7f\x9b\tok\nnext')).toBe('v2\\x1b[31mred\\rhidden\\x00\\x7f\\x9b\tok\nnext');
  });

  it('never lets a line start with ::, so it cannot be a GitHub Actions workflow command', () => {
    expect(printable('deploy v2\n::error::pwned\n   ::stop-commands::x\nfine :: here')).toBe('deploy v2\n\u200b::error::pwned\n   \u200b::stop-commands::x\nfine :: here');
  });

  it('puts a value on one line when it sits inside a sentence', () => {
    expect(printableLine('v2\n::error::x\tz')).toBe('v2\\n::error::x\\tz');
  });
});
