import { spawn, type ChildProcess } from 'node:child_process';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fakeDeps, fakeStepContext } from '../testing/fakes.js';
import { configSchema, create, describeSocketError, type } from './tcp.js';

const deps = () => fakeDeps();

const ctx = (signal: AbortSignal = new AbortController().signal) => fakeStepContext({ signal });

const probe = (host: string, port: number, timeout = '2s') => create(configSchema.parse({ type: 'tcp', host, port, timeout }), deps());

let server: Server;
let openPort: number;
let closedPort: number;
let blackHole: ChildProcess;
let blackHolePort: number;
const fillers: Socket[] = [];

/**
 * A port whose SYNs go unanswered: a child listens with a backlog of 1 and then blocks its event
 * loop, so it never accepts; once the accept queue is full the kernel drops new connection
 * attempts, which is what a firewalled host looks like.
 */
async function startBlackHole(): Promise<void> {
  const script = `
    const srv = require('node:net').createServer();
    srv.listen({ port: 0, host: '127.0.0.1', backlog: 1 }, () => {
      process.stdout.write(srv.address().port + '\\n');
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 60000);
    });`;
  blackHole = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  blackHolePort = await new Promise<number>((resolve) => blackHole.stdout!.once('data', (d) => resolve(Number(String(d).trim()))));
  for (let i = 0; i < 8; i++) {
    const socket = connect({ host: '127.0.0.1', port: blackHolePort });
    socket.on('error', () => undefined);
    fillers.push(socket);
    const connected = await new Promise<boolean>((resolve) => {
      socket.once('connect', () => resolve(true));
      setTimeout(() => resolve(false), 300);
    });
    if (!connected) return;
  }
  throw new Error('could not fill the accept queue of the black-hole server');
}

beforeAll(async () => {
  await startBlackHole();
  server = createServer((socket) => socket.end());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  openPort = (server.address() as { port: number }).port;
  // A port that was just free: bind, note, close.
  const temp = createServer();
  await new Promise<void>((resolve) => temp.listen(0, '127.0.0.1', resolve));
  closedPort = (temp.address() as { port: number }).port;
  await new Promise<void>((resolve) => temp.close(() => resolve()));
});
afterAll(async () => {
  for (const socket of fillers) socket.destroy();
  blackHole?.kill('SIGKILL');
  if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
});

describe('tcp probe', () => {
  it('exports its type', () => {
    expect(type).toBe('tcp');
    expect(probe('127.0.0.1', 1).type).toBe('tcp');
  });

  it('is ok on an open port, with the latency as value', async () => {
    const result = await probe('127.0.0.1', openPort).check(ctx());
    expect(result.ok).toBe(true);
    expect(result.value).toBe(result.latencyMs);
    expect(result.latencyMs).toBeGreaterThanOrEqual(0);
  });

  it('is not ok on a closed port', async () => {
    const result = await probe('127.0.0.1', closedPort).check(ctx());
    expect(result).toMatchObject({ ok: false, value: null, error: `connection refused by 127.0.0.1:${closedPort} (nothing listens there)` });
  });

  it('is not ok for a host that does not resolve', async () => {
    const result = await probe('no-such-host.invalid', 80).check(ctx());
    expect(result.ok).toBe(false);
    expect(result.error).toMatch(/cannot resolve host of no-such-host.invalid:80|cannot connect/);
  });

  it('honours its timeout when nothing answers', async () => {
    const result = await probe('127.0.0.1', blackHolePort, '200ms').check(ctx());
    expect(result).toMatchObject({ ok: false, value: null, error: `no connection to 127.0.0.1:${blackHolePort} within 200ms` });
  });

  it('honours ctx.signal', async () => {
    const already = await probe('127.0.0.1', openPort).check(ctx(AbortSignal.abort()));
    expect(already).toMatchObject({ ok: false, error: `cancelled before connecting to 127.0.0.1:${openPort}` });
    const controller = new AbortController();
    const pending = probe('127.0.0.1', blackHolePort, '5s').check(ctx(controller.signal));
    setTimeout(() => controller.abort(), 50);
    const result = await pending;
    expect(result).toMatchObject({ ok: false, error: `cancelled while connecting to 127.0.0.1:${blackHolePort}` });
  });

  it('describes socket errors', () => {
    const err = (code: string, message = 'boom') => Object.assign(new Error(message), { code });
    expect(describeSocketError(err('EHOSTUNREACH'), 'h:1')).toBe('h:1 is unreachable (EHOSTUNREACH)');
    expect(describeSocketError(err('ECONNRESET'), 'h:1')).toBe('connection to h:1 was reset');
    expect(describeSocketError(err('EAI_AGAIN'), 'h:1')).toBe('cannot resolve host of h:1 (EAI_AGAIN)');
    expect(describeSocketError(err('EWHAT', 'odd'), 'h:1')).toBe('cannot connect to h:1: odd');
  });
});
