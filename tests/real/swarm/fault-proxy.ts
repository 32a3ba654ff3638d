import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, request } from 'node:http';
import { join } from 'node:path';

/*
 * A unix socket in front of the real daemon that passes every request through, except those a
 * test asks to fail: the next request matching a method and a path gets the answer the test
 * gives (a 503 with Docker's error body, say), once. How the tests make a transient fault happen
 * on a real daemon at exactly the call they mean.
 */

export interface FaultProxy {
  /** `unix://…`: point swarm.host here. */
  host: string;
  /** Answers the next request of `method` whose path matches `path` with `status` and `message` (or a text body), once. */
  failNext(method: string, path: RegExp, status?: number, message?: string | { text: string }): void;
  /** Runs `act` before the next matching request goes on to the daemon (a change someone else makes meanwhile), once. */
  beforeNext(method: string, path: RegExp, act: () => Promise<unknown>): void;
  /** Holds every matching request without an answer until the proxy closes; calls `held` at each. */
  hang(method: string, path: RegExp, held?: () => void): void;
  /** Requests seen, as `METHOD path`. */
  seen: string[];
  close(): Promise<void>;
}

export async function startFaultProxy(daemonSocket: string): Promise<FaultProxy> {
  const dir = await mkdtemp('/tmp/rgswp-');
  const socketPath = join(dir, 'proxy.sock');
  type Rule = { method: string; path: RegExp };
  const faults: Array<Rule & { status: number; message: string | { text: string } }> = [];
  const before: Array<Rule & { act: () => Promise<unknown> }> = [];
  const hangs: Array<Rule & { held: () => void }> = [];
  const seen: string[] = [];
  const matching = <R extends Rule>(rules: R[], method: string | undefined, path: string) => rules.findIndex((f) => f.method === method && f.path.test(path.split('?')[0] ?? path));
  const server = createServer((req, res) => {
    const path = req.url ?? '/';
    seen.push(`${req.method} ${path}`);
    const at = matching(faults, req.method, path);
    if (at >= 0) {
      const [fault] = faults.splice(at, 1);
      req.resume();
      const message = fault?.message ?? '';
      if (typeof message === 'object') res.writeHead(fault?.status ?? 503, { 'content-type': 'text/html' }).end(message.text);
      else res.writeHead(fault?.status ?? 503, { 'content-type': 'application/json' }).end(JSON.stringify({ message }));
      return;
    }
    const hang = hangs[matching(hangs, req.method, path)];
    if (hang) {
      hang.held();
      return;
    }
    const first = matching(before, req.method, path);
    const act = first >= 0 ? before.splice(first, 1)[0]?.act : undefined;
    const forward = () => {
      const upstream = request({ socketPath: daemonSocket, method: req.method, path, headers: req.headers }, (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      });
      upstream.on('error', (err) => res.writeHead(502).end(JSON.stringify({ message: err.message })));
      req.pipe(upstream);
      req.resume();
    };
    req.pause();
    void (act ? act() : Promise.resolve()).then(forward);
  });
  await new Promise<void>((resolve) => server.listen(socketPath, resolve));
  return {
    host: `unix://${socketPath}`,
    seen,
    failNext(method, path, status = 503, message = 'injected fault: the daemon is busy') {
      faults.push({ method, path, status, message });
    },
    beforeNext(method, path, act) {
      before.push({ method, path, act });
    },
    hang(method, path, held = () => undefined) {
      hangs.push({ method, path, held });
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await rm(dir, { recursive: true, force: true });
    },
  };
}
