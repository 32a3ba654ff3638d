import { readFileSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProviderError, UsageError } from '../errors.js';
import { checkCommandSpec, describeCommand, formatLimit, runCommand } from './command-runner.js';
import { createMasker } from './mask.js';

const NODE = process.execPath;
const BASE_ENV = { PATH: '/usr/local/bin:/usr/bin:/bin' };
const PRINT_ENV = new URL('../../../tests/fixtures/bin/print-env.mjs', import.meta.url).pathname;
const HOSTILE = `x'; rm -rf / ; echo "$(touch /tmp/rollgate-pwned)" \`id\` $HOME && exit 7 | cat > /tmp/y`;

/** Whether `pid` still runs (a zombie waiting to be reaped counts as dead). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return true;
  }
}

async function waitDead(pid: number, ms = 3000): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (!alive(pid)) return true;
    await new Promise((r) => setTimeout(r, 25));
  }
  return !alive(pid);
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rollgate-runner-'));
  await mkdir(join(dir, 'sub'));
  await writeFile(join(dir, 'sub', 'marker.txt'), 'here\n');
  await writeFile(join(dir, 'not-executable.sh'), '#!/bin/sh\necho hi\n');
  await chmod(join(dir, 'not-executable.sh'), 0o644);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('runCommand without a shell', () => {
  it('passes a hostile value verbatim through the environment', async () => {
    const result = await runCommand([NODE, PRINT_ENV, '--raw', 'ROLLGATE_VERSION'], {
      env: { ...BASE_ENV, ROLLGATE_VERSION: HOSTILE },
    });
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toBe(HOSTILE);
    expect(result.reason).toBe('exited with code 0');
    expect(result.timedOut).toBe(false);
    expect(result.cancelled).toBe(false);
  });

  it('passes a hostile argv element verbatim', async () => {
    const result = await runCommand({ run: [NODE, '-e', 'process.stdout.write(process.argv[1])', HOSTILE], shell: false });
    expect(result.stdout).toBe(HOSTILE);
  });

  it('runs an argv array without a shell even when shell is set', async () => {
    const result = await runCommand({ run: ['echo', '$HOME', '`id`'], shell: true }, { env: BASE_ENV });
    expect(result.stdout).toBe('$HOME `id`\n');
  });

  it('gives the child only the environment it is handed, with spec.env laid over it', async () => {
    const result = await runCommand(
      { run: ['/usr/bin/env'], shell: false, env: { EXTRA: 'yes', A: 'override' } },
      { env: { A: '1', B: '2' } },
    );
    const lines = result.stdout.trim().split('\n').sort();
    expect(lines).toEqual(['A=override', 'B=2', 'EXTRA=yes']);
  });

  it('resolves cwd against workDir, and runs in the working directory by default', async () => {
    const inSub = await runCommand({ run: ['cat', 'marker.txt'], shell: false, cwd: 'sub' }, { workDir: dir, env: BASE_ENV });
    expect(inSub.stdout).toBe('here\n');
    const here = await runCommand([NODE, '-e', 'process.stdout.write(process.cwd())'], { workDir: dir });
    expect(here.stdout).toBe(process.cwd());
    const absolute = await runCommand(
      { run: [NODE, '-e', 'process.stdout.write(process.cwd())'], shell: false, cwd: join(dir, 'sub') },
      { workDir: '/' },
    );
    expect(absolute.stdout).toBe(join(dir, 'sub'));
  });

  it('reports a non-zero exit as a result, not an error', async () => {
    const result = await runCommand([NODE, '-e', 'console.error("boom"); process.exit(3)']);
    expect(result.exitCode).toBe(3);
    expect(result.signal).toBeNull();
    expect(result.stderr).toBe('boom\n');
    expect(result.reason).toBe('exited with code 3');
  });

  it('reports death by a signal', async () => {
    const result = await runCommand({ run: 'kill -9 $$', shell: true });
    expect(result.exitCode).toBeNull();
    expect(result.signal).toBe('SIGKILL');
    expect(result.reason).toBe('killed by SIGKILL');
  });
});

describe('runCommand with a shell', () => {
  it('refuses script text without shell: true', async () => {
    await expect(runCommand({ run: 'kubectl apply -f x.yaml', shell: false })).rejects.toThrow(UsageError);
    await expect(runCommand({ run: 'kubectl apply -f x.yaml', shell: false })).rejects.toThrow(
      "command 'kubectl': script text needs `shell: true`, or give an argv array",
    );
    await expect(runCommand({ run: 'x', shell: false }, { name: 'deploy' })).rejects.toThrow("command 'deploy':");
  });

  it('runs script text through /bin/sh; values arrive as variables, never re-parsed', async () => {
    const result = await runCommand({ run: 'printf %s "$V"; echo; echo second', shell: true }, { env: { ...BASE_ENV, V: HOSTILE } });
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toBe(`${HOSTILE}\nsecond\n`);
  });

  it('runs script text through bash', async () => {
    const result = await runCommand({ run: 'echo "${BASH_VERSION:+bash}" "$V"', shell: 'bash' }, { env: { ...BASE_ENV, V: '$(id)' } });
    expect(result.stdout).toBe('bash $(id)\n');
  });

  it('runs sh for shell: sh', async () => {
    const result = await runCommand({ run: 'echo ok', shell: 'sh' }, { env: BASE_ENV });
    expect(result.stdout).toBe('ok\n');
  });
});

describe('output', () => {
  it('streams each line as it comes, handling CRLF and a last line without newline', async () => {
    const lines: Array<[string, string]> = [];
    const script = `
      process.stdout.write("one\\r\\ntw");
      setTimeout(() => { process.stdout.write("o\\nthree"); process.stderr.write("err1\\n"); }, 50);
    `;
    const result = await runCommand([NODE, '-e', script], { onLine: (s, l) => lines.push([s, l]) });
    expect(lines.filter(([s]) => s === 'stdout').map(([, l]) => l)).toEqual(['one', 'two', 'three']);
    expect(lines.filter(([s]) => s === 'stderr').map(([, l]) => l)).toEqual(['err1']);
    expect(result.stdout).toBe('one\ntwo\nthree');
    expect(result.stderr).toBe('err1\n');
  });

  it('streams lines before the command ends', async () => {
    // The command ends only once the test has seen its first line: were lines held until the
    // end, it would never end.
    const dir = await mkdtemp(join(tmpdir(), 'rollgate-stream-'));
    const go = join(dir, 'go');
    const script = `console.log("early"); const t = setInterval(() => { if (require("fs").existsSync(${JSON.stringify(go)})) { clearInterval(t); console.log("late"); } }, 10)`;
    const lines: string[] = [];
    const result = await runCommand([NODE, '-e', script], {
      onLine: (_, line) => {
        lines.push(line);
        if (line === 'early') void writeFile(go, '');
      },
    });
    expect(lines).toEqual(['early', 'late']);
    expect(result.exitCode).toBe(0);
  });

  it('decodes a UTF-8 character split across chunks', async () => {
    const script = `const b = Buffer.from("€uro\\n"); process.stdout.write(b.subarray(0, 1)); setTimeout(() => process.stdout.write(b.subarray(1)), 50);`;
    const lines: string[] = [];
    const result = await runCommand([NODE, '-e', script], { onLine: (_, l) => lines.push(l) });
    expect(lines).toEqual(['€uro']);
    expect(result.stdout).toBe('€uro\n');
  });

  it('keeps the tail within outputLimit and says how much was dropped', async () => {
    const lines: string[] = [];
    const result = await runCommand([NODE, '-e', 'for (let i = 0; i < 5000; i++) console.log("line " + i)'], {
      outputLimit: 1000,
      onLine: (_, l) => lines.push(l),
    });
    expect(lines).toHaveLength(5000);
    expect(Buffer.byteLength(result.stdout)).toBeLessThanOrEqual(1000);
    expect(result.stdout.endsWith('line 4999\n')).toBe(true);
    expect(result.stdout.startsWith('line ')).toBe(true);
    const total = lines.reduce((n, l) => n + Buffer.byteLength(l) + 1, 0);
    expect(result.stdoutDroppedBytes).toBe(total - Buffer.byteLength(result.stdout));
    expect(result.stderrDroppedBytes).toBe(0);
  });

  it('keeps the tail of a single line longer than the limit', async () => {
    const result = await runCommand([NODE, '-e', 'process.stdout.write("a".repeat(5000) + "END")'], { outputLimit: 100 });
    expect(result.stdout).toHaveLength(100);
    expect(result.stdout.endsWith('aEND')).toBe(true);
    expect(result.stdoutDroppedBytes).toBe(4903);
  });

  it('streams a very long line in pieces', async () => {
    const sizes: number[] = [];
    const result = await runCommand([NODE, '-e', 'process.stdout.write("b".repeat(2_500_000))'], {
      outputLimit: 10,
      onLine: (_, l) => sizes.push(l.length),
    });
    // Pieces of about 1 MiB; the last 64 KiB of one wait for the next, so a secret is never split.
    expect(sizes.length).toBeGreaterThanOrEqual(3);
    expect(sizes.every((n) => n <= 1_048_576 + 65_536 + 65_536)).toBe(true);
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(2_500_000);
    expect(result.stdout).toBe('b'.repeat(10));
  });

  it('never splits a secret between two pieces of a very long line', async () => {
    const secret = 'S3CRET-VALUE-that-is-long';
    const mask = createMasker([secret]);
    const pieces: string[] = [];
    // The secret repeats across the whole line, so some occurrence sits on every possible cut.
    await runCommand([NODE, '-e', `process.stdout.write(${JSON.stringify(`${secret}-`)}.repeat(120000))`], {
      outputLimit: 100,
      mask,
      onLine: (_, l) => pieces.push(l),
    });
    expect(pieces.length).toBeGreaterThanOrEqual(2);
    for (const piece of pieces) {
      expect(piece.replaceAll('***-', '')).toBe('');
    }
  });

  it('records the process group of a command while it runs, and forgets it when it exits', async () => {
    const seen: { pgid: number; live: boolean }[] = [];
    const result = await runCommand([NODE, '-e', 'console.log(process.pid)'], {
      env: BASE_ENV,
      track: (pgid) => {
        const entry = { pgid, live: true };
        seen.push(entry);
        return () => {
          entry.live = false;
        };
      },
    });
    expect(seen).toEqual([{ pgid: Number(result.stdout.trim()), live: false }]);
  });

  it('masks streamed and captured output', async () => {
    const mask = createMasker(['s3cr3t-value']);
    const lines: string[] = [];
    const result = await runCommand({ run: 'echo "token=$TOKEN"; echo "Bearer abc.def.ghi" >&2', shell: true }, {
      env: { ...BASE_ENV, TOKEN: 's3cr3t-value' },
      mask,
      onLine: (_, l) => lines.push(l),
    });
    expect(lines.sort()).toEqual(['Bearer ***', 'token=***']);
    expect(result.stdout).toBe('token=***\n');
    expect(result.stderr).toBe('Bearer ***\n');
    expect(JSON.stringify(result)).not.toContain('s3cr3t');
  });

  it('survives an onLine callback that throws', async () => {
    const result = await runCommand(['echo', 'hi'], {
      env: BASE_ENV,
      onLine: () => {
        throw new Error('sink broke');
      },
    });
    expect(result.stdout).toBe('hi\n');
  });

  it('returns soon after exit when a background child holds the pipes open', async () => {
    // The background sleep outlives the test's own time limit: waiting for the pipes would fail it.
    const result = await runCommand({ run: 'sleep 60 & echo $!', shell: true }, { env: BASE_ENV, closeGraceMs: 100 });
    expect(result.exitCode).toBe(0);
    const pid = Number(result.stdout.trim());
    expect(pid).toBeGreaterThan(0);
    process.kill(pid, 'SIGKILL');
  });
});

describe('timeouts and cancellation', () => {
  it('kills the whole process group on timeout', async () => {
    const pidLines: string[] = [];
    const result = await runCommand({ run: 'sleep 30 & echo $!; sleep 30; wait', shell: true, timeout: 300 }, {
      env: BASE_ENV,
      onLine: (_, l) => pidLines.push(l),
    });
    expect(result.timedOut).toBe(true);
    expect(result.cancelled).toBe(false);
    expect(result.reason).toBe('timed out after 300ms');
    expect(result.signal).toBe('SIGTERM');
    const grandchild = Number(pidLines[0]);
    expect(await waitDead(grandchild)).toBe(true);
  });

  it('uses opts.timeoutMs when the spec has none, and says so in seconds', async () => {
    const result = await runCommand(['sleep', '30'], { env: BASE_ENV, timeoutMs: 1000 });
    expect(result.timedOut).toBe(true);
    expect(result.reason).toBe('timed out after 1s');
  });

  it('sends SIGKILL after the grace period when SIGTERM is ignored', async () => {
    const result = await runCommand({ run: "trap '' TERM; sleep 30", shell: true, timeout: 200 }, {
      env: BASE_ENV,
      killGraceMs: 300,
    });
    expect(result.timedOut).toBe(true);
    expect(result.signal).toBe('SIGKILL');
  });

  it('kills the process group when the signal aborts', async () => {
    const controller = new AbortController();
    const pidLines: string[] = [];
    const running = runCommand({ run: 'sleep 30 & echo $!; wait', shell: true }, {
      env: BASE_ENV,
      signal: controller.signal,
      onLine: (_, l) => {
        pidLines.push(l);
        controller.abort();
      },
    });
    const result = await running;
    expect(result.cancelled).toBe(true);
    expect(result.timedOut).toBe(false);
    expect(result.reason).toBe('cancelled');
    expect(await waitDead(Number(pidLines[0]))).toBe(true);
  });

  it('does not start when the signal has already aborted', async () => {
    const result = await runCommand(['definitely-not-a-program-rollgate'], { signal: AbortSignal.abort() });
    expect(result.cancelled).toBe(true);
    expect(result.exitCode).toBeNull();
    expect(result.reason).toBe('cancelled before it started');
  });
});

describe('start errors', () => {
  it('says when the program is not on PATH', async () => {
    const run = runCommand(['kubectl-rollgate-missing', 'get', 'pods'], { env: BASE_ENV });
    await expect(run).rejects.toThrow(ProviderError);
    await expect(runCommand(['kubectl-rollgate-missing'], { env: BASE_ENV })).rejects.toThrow(
      "command 'kubectl-rollgate-missing' not found on PATH",
    );
  });

  it('says when a program path does not exist', async () => {
    await expect(runCommand(['/nonexistent/bin/tool'])).rejects.toThrow("command '/nonexistent/bin/tool' not found at /nonexistent/bin/tool");
  });

  it('says when the working directory does not exist', async () => {
    await expect(runCommand({ run: ['ls'], shell: false, cwd: 'nope' }, { workDir: dir, env: BASE_ENV })).rejects.toThrow(
      /working directory .*nope does not exist/,
    );
  });

  it('says when the program is not executable', async () => {
    await expect(runCommand([join(dir, 'not-executable.sh')])).rejects.toThrow(/is not executable \(EACCES\)/);
  });

  it('uses the given name in messages', async () => {
    await expect(runCommand(['kubectl-rollgate-missing'], { env: BASE_ENV, name: 'kubectl' })).rejects.toThrow(
      "command 'kubectl' not found on PATH",
    );
  });
});

describe('helpers', () => {
  it('checkCommandSpec reports script text without a shell', () => {
    expect(checkCommandSpec(['ls'])).toBeUndefined();
    expect(checkCommandSpec({ run: 'ls -l', shell: true })).toBeUndefined();
    expect(checkCommandSpec({ run: 'ls -l', shell: false })).toContain("command 'ls': script text needs `shell: true`");
    expect(checkCommandSpec([] as unknown as string[])).toContain('argv array is empty');
  });

  it('describeCommand gives one short line', () => {
    expect(describeCommand(['kubectl', 'rollout', 'status'])).toBe('kubectl rollout status');
    expect(describeCommand({ run: 'a\n  b', shell: true })).toBe('a b');
    expect(describeCommand({ run: 'x'.repeat(100), shell: true })).toHaveLength(60);
  });

  it('formatLimit reads naturally', () => {
    expect(formatLimit(10_000)).toBe('10s');
    expect(formatLimit(300)).toBe('300ms');
    expect(formatLimit(120_000)).toBe('2m');
    expect(formatLimit(1500)).toBe('1.5s');
    expect(formatLimit(7_200_000)).toBe('2h00m');
  });
});
