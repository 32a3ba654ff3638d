import { describe, expect, it } from 'vitest';
import { findUpstream, freshFile, rewrite, serverLine, weightOf } from './upstream.js';
import { serverWeights, shareOf } from './weights.js';

describe('nginx upstream text', () => {
  const text = [
    '# managed by hand until rollgate',
    'upstream other { server 10.0.0.9:80; }',
    'upstream "app" {',
    '    zone app 64k;   # shared',
    '    server 10.0.0.1:80 weight=5 max_fails=3;',
    "    server 'unix:/run/app.sock' down;",
    '    server 10.0.0.3:80 backup;',
    '    server 10.0.0.4:80 weight=x;',
    '}',
    'map $host $x { default "a;b{c}"; }',
    '',
  ].join('\n');

  it('finds the named block at the top level, with its servers and their parameters', () => {
    const block = findUpstream(text, 'app');
    expect(block?.servers.map((s) => [s.address, s.params])).toEqual([
      ['10.0.0.1:80', ['weight=5', 'max_fails=3']],
      ['unix:/run/app.sock', ['down']],
      ['10.0.0.3:80', ['backup']],
      ['10.0.0.4:80', ['weight=x']],
    ]);
    expect(block?.indent).toBe('    ');
    expect(block?.servers.map(weightOf)).toEqual([5, 0, 1, 0]);
    expect(findUpstream(text, 'missing')).toBeUndefined();
    expect(findUpstream('http { upstream app { server a:1; } }', 'app')).toBeUndefined();
    expect(findUpstream('upstream app { server a:1;', 'app')).toBeUndefined();
    expect(findUpstream('upstream app {}', 'app')).toEqual({ servers: [], close: 14, indent: '    ' });
    expect(findUpstream('upstream app { server "a\\"b:1"; if ($x) { server b:1; } }', 'app')?.servers.map((s) => s.address)).toEqual(['a"b:1']);
  });

  it('rewrites the weights of its servers in place, keeps everything else, and adds the servers it lacks', () => {
    const block = findUpstream(text, 'app');
    const out = rewrite(text, block!, new Map([['10.0.0.1:80', 0], ['unix:/run/app.sock', 7], ['10.0.0.5:80', 2]]));
    expect(out).toBe(
      text
        .replace('server 10.0.0.1:80 weight=5 max_fails=3;', 'server 10.0.0.1:80 down max_fails=3;')
        .replace("server 'unix:/run/app.sock' down;", 'server unix:/run/app.sock weight=7;')
        .replace('    server 10.0.0.4:80 weight=x;\n}', '    server 10.0.0.4:80 weight=x;\n    server 10.0.0.5:80 weight=2;\n}'),
    );
    const inline = 'upstream app { server a:1; }';
    expect(rewrite(inline, findUpstream(inline, 'app')!, new Map([['b:1', 1]]))).toBe('upstream app { server a:1; \n    server b:1 weight=1;\n}');
  });

  it('writes a whole file when there is none', () => {
    expect(freshFile('app', new Map([['a:1', 9], ['b:1', 0]]))).toBe(
      '# Written by rollgate: the weights of upstream app.\nupstream app {\n    server a:1 weight=9;\n    server b:1 down;\n}\n',
    );
    expect(serverLine('a:1', ['weight=3', 'down', 'slow_start=30s'], 4)).toBe('server a:1 weight=4 slow_start=30s;');
  });
});

describe('integer weights for a percentage', () => {
  it('is exact when it can be, per server of each group', () => {
    expect(serverWeights(10, { stable: 1, canary: 1 })).toEqual({ stable: 9, canary: 1 });
    expect(serverWeights(10, { stable: 2, canary: 1 })).toEqual({ stable: 9, canary: 2 });
    expect(serverWeights(12.5, { stable: 1, canary: 1 })).toEqual({ stable: 7, canary: 1 });
    expect(serverWeights(33.33, { stable: 1, canary: 1 })).toEqual({ stable: 6667, canary: 3333 });
    expect(serverWeights(0, { stable: 3, canary: 2 })).toEqual({ stable: 1, canary: 0 });
    expect(serverWeights(100, { stable: 3, canary: 2 })).toEqual({ stable: 0, canary: 1 });
  });

  it('comes as close as it can under a largest weight', () => {
    expect(serverWeights(0.3, { stable: 1, canary: 1 }, 256)).toEqual({ stable: 256, canary: 1 });
    expect(serverWeights(99.7, { stable: 1, canary: 1 }, 256)).toEqual({ stable: 1, canary: 256 });
    expect(serverWeights(33.33, { stable: 1, canary: 1 }, 256)).toEqual({ stable: 2, canary: 1 });
  });

  it('reads a share back to a hundredth of a percent', () => {
    expect(shareOf({ stable: 2, canary: 1 })).toBe(33.33);
    expect(shareOf({ stable: 0, canary: 4 })).toBe(100);
    expect(shareOf({ stable: 0, canary: 0 })).toBeUndefined();
  });
});
