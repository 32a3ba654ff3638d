import { describe, expect, it } from 'vitest';
import { nodeIndex } from './nodes.js';

describe('nodeIndex', () => {
  it('parses node names within range', () => {
    expect(nodeIndex('node-1', 3)).toBe(0);
    expect(nodeIndex('node-3', 3)).toBe(2);
    expect(nodeIndex('node-0', 3)).toBeUndefined();
    expect(nodeIndex('node-4', 3)).toBeUndefined();
    expect(nodeIndex('web-1', 3)).toBeUndefined();
  });
});
