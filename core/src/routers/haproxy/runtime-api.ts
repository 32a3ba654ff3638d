import { connect, type NetConnectOpts } from 'node:net';
import { isAbsolute, resolve } from 'node:path';
import { ProviderError } from '../../errors.js';
import { formatLimit } from '../../util/command-runner.js';

/*
 * HAProxy's Runtime API: one command per connection to the admin socket (`stats socket … level
 * admin`), answered with text, after which HAProxy closes the connection. A unix socket path or a
 * TCP `host:port` (`ipv4@`, `ipv6@` and `unix@` prefixes as in haproxy.cfg are accepted).
 */

export interface RuntimeApi {
  /** How messages name the socket. */
  readonly socket: string;
  /** HAProxy's answer to `command`. Throws `ProviderError` when the socket cannot be reached. */
  send(command: string, signal: AbortSignal): Promise<string>;
}

export function runtimeApi(socket: string, workDir: string, timeoutMs: number): RuntimeApi {
  const target = addressOf(socket, workDir);
  const name = 'path' in target ? target.path : `${target.host}:${target.port}`;
  return {
    socket: name,
    send: (command, signal) =>
      new Promise<string>((done, fail) => {
        if (signal.aborted) {
          fail(signal.reason);
          return;
        }
        let answer = '';
        const conn = connect(target);
        const finish = (err?: unknown) => {
          clearTimeout(timer);
          signal.removeEventListener('abort', onAbort);
          conn.destroy();
          if (err === undefined) done(answer);
          else fail(err);
        };
        const onAbort = () => finish(signal.reason);
        signal.addEventListener('abort', onAbort, { once: true });
        const timer = setTimeout(
          () => finish(new ProviderError(`haproxy router: no answer from the HAProxy admin socket ${name} within ${formatLimit(timeoutMs)} to \`${command}\``, { retryable: true })),
          timeoutMs,
        );
        conn.setEncoding('utf8');
        conn.on('connect', () => conn.end(`${command}\n`));
        conn.on('data', (chunk: string) => (answer += chunk));
        conn.on('close', () => finish());
        conn.on('error', (err: NodeJS.ErrnoException) => finish(socketError(name, err)));
      }),
  };
}

/** Where the socket is: `{ path }` or `{ host, port }`. */
function addressOf(socket: string, workDir: string): NetConnectOpts & ({ path: string } | { host: string; port: number }) {
  const text = socket.replace(/^(ipv4|ipv6)@/, '');
  if (text.startsWith('unix@') || text.includes('/') || !/:\d+$/.test(text)) {
    const path = text.replace(/^unix@/, '');
    return { path: isAbsolute(path) ? path : resolve(workDir, path) };
  }
  const cut = text.lastIndexOf(':');
  return { host: text.slice(0, cut).replace(/^\[(.*)\]$/, '$1'), port: Number(text.slice(cut + 1)) };
}

function socketError(name: string, err: NodeJS.ErrnoException): ProviderError {
  switch (err.code) {
    case 'ENOENT':
      return new ProviderError(`haproxy router: the HAProxy admin socket ${name} does not exist: is HAProxy running, with \`stats socket ${name} level admin\` in its global section?`, {
        cause: err,
        retryable: true,
      });
    case 'ECONNREFUSED':
      return new ProviderError(`haproxy router: nothing answers on the HAProxy admin socket ${name} (ECONNREFUSED): HAProxy is stopped or restarting`, {
        cause: err,
        retryable: true,
      });
    case 'EACCES':
      return new ProviderError(`haproxy router: no permission to use the HAProxy admin socket ${name} (EACCES): run rollgate as a user its \`mode\`/\`user\`/\`group\` allow`, {
        cause: err,
      });
    default:
      return new ProviderError(`haproxy router: cannot talk to the HAProxy admin socket ${name}: ${err.message}`, { cause: err, retryable: true });
  }
}
