import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request the receiver got. */
export interface ReceivedRequest {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  /** Which connection it came on (1, 2…): a client that reads each answer to its end reuses one. */
  connection: number;
}

/** How the receiver answers the next requests: a status (and `Retry-After`), or no answer at all. */
export type ReceiverAnswer = { status: number; retryAfter?: string; body?: string } | 'hang';

/**
 * A local HTTP endpoint for notification tests and benchmarks: it records every request and
 * answers as told (`answers` are used in order, then 200), so a test plays a 429 storm, a 5xx, a
 * timeout or a receiver that is down (`close`) over real HTTP.
 */
export async function startWebhookReceiver(): Promise<{
  url: string;
  requests: ReceivedRequest[];
  answers: ReceiverAnswer[];
  close(): Promise<void>;
}> {
  const requests: ReceivedRequest[] = [];
  const answers: ReceiverAnswer[] = [];
  const hanging = new Set<() => void>();
  const connections = new WeakMap<object, number>();
  let opened = 0;
  const server: Server = createServer((req, res) => {
    if (!connections.has(req.socket)) connections.set(req.socket, ++opened);
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      requests.push({ path: req.url ?? '/', headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), connection: connections.get(req.socket) ?? 0 });
      const answer = answers.shift() ?? { status: 200 };
      if (answer === 'hang') {
        hanging.add(() => res.destroy());
        return;
      }
      res.writeHead(answer.status, answer.retryAfter !== undefined ? { 'retry-after': answer.retryAfter } : {});
      res.end(answer.body ?? (answer.status < 300 ? 'ok' : ''));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hooks/rollgate`,
    requests,
    answers,
    close: () =>
      new Promise<void>((resolve) => {
        for (const drop of hanging) drop();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
