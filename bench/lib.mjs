// Shared helpers for the benchmarks in bench/. Nothing here asserts a time: machines are shared
// and noisy, so every benchmark prints ratios against a baseline measured in the same script.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const DIST = join(ROOT, 'dist', 'core', 'src');
export const CLI = join(ROOT, 'dist', 'cli', 'main.js'); // the bundled CLI that `bin` points to

/** Exits with a clear message when `npm run build` has not been run. */
export function requireBuild() {
  if (!existsSync(CLI)) {
    console.error(`bench: ${CLI} is missing; run \`npm run build\` first (or \`npm run bench\`, which builds).`);
    process.exit(2);
  }
}

export function median(values) {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/** Nearest-rank percentile (p in 0..100). */
export function percentile(values, p) {
  const s = [...values].sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const rank = Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1));
  return s[rank];
}

export const ms = (x, digits = 1) => `${x.toFixed(digits)} ms`;
/** Bytes as MiB (2^20). Requirements written in MB (10^6) are compared in bytes, never in these units. */
export const mib = (bytes) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
export const mb = mib;
/** `MET (what)` or `MISSED (what)`: every figure with a requirement or goal says which. */
export const verdict = (met, what) => `${met ? 'MET' : 'MISSED'} (${what})`;
export const ratio = (x, digits = 2) => `${x.toFixed(digits)}x`;
export const pct = (x, digits = 1) => `${x >= 0 ? '+' : ''}${(x * 100).toFixed(digits)}%`;

/**
 * Spawns a command and resolves with its wall time (ms, spawn to exit) and output. Rejects when
 * it exits non-zero (unless `allowFail`), so a broken benchmark never reports a fast failure.
 */
export function timeSpawn(cmd, args, { cwd, env, allowFail = false } = {}) {
  return new Promise((resolvePromise, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn(cmd, args, { cwd, env: env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    const out = [];
    const err = [];
    child.stdout.on('data', (b) => out.push(b));
    child.stderr.on('data', (b) => err.push(b));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      const wallMs = Number(process.hrtime.bigint() - started) / 1e6;
      const stdout = Buffer.concat(out).toString('utf8');
      const stderr = Buffer.concat(err).toString('utf8');
      if (code !== 0 && !allowFail) {
        reject(new Error(`${cmd} ${args.join(' ')} exited with ${code ?? signal}\n${stderr.slice(-2000)}${stdout.slice(-2000)}`));
        return;
      }
      resolvePromise({ wallMs, code, stdout, stderr });
    });
  });
}

export function tempDir(prefix) {
  const dir = mkdtempSync(join(tmpdir(), `rollgate-bench-${prefix}-`));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** CPU count, CPU model and Node version: printed by every benchmark so figures can be compared. */
export function machine() {
  let model = cpus()[0]?.model ?? 'unknown';
  try {
    const line = readFileSync('/proc/cpuinfo', 'utf8')
      .split('\n')
      .find((l) => l.startsWith('model name'));
    if (line) model = line.split(':').slice(1).join(':').trim();
  } catch {
    // not Linux: keep os.cpus()
  }
  return { cpus: cpus().length, model, node: process.version, platform: `${process.platform}-${process.arch}` };
}

export function header(title) {
  const m = machine();
  console.log(`# ${title}`);
  console.log(`machine: ${m.cpus} CPUs (${m.model}), node ${m.node}, ${m.platform}`);
}

/** Prints aligned `label  value` rows. */
export function table(rows) {
  const width = Math.max(...rows.map(([k]) => k.length));
  for (const [k, v] of rows) console.log(`  ${k.padEnd(width)}  ${v}`);
}
