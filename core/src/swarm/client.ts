import type { IncomingMessage, RequestOptions } from 'node:http';
import { ProviderError } from '../errors.js';
import type { Service, ServiceSpec, SwarmNode, Task } from './types.js';

/*
 * The few Docker Engine API calls rollgate's swarm providers make, over node:http (a unix socket
 * or plain TCP): read, create, update and remove a service, list tasks and nodes. A small typed
 * client rather than dockerode: nothing more to load at start-up, and node:http itself is loaded
 * at the first request (rollgate's runs mostly never talk to Docker).
 *
 * Paths carry no API version, so the daemon answers in its own current version: Docker 29 refuses
 * versions below 1.44, Debian 12's Docker 20.10 knows none above 1.41, and the fields used here
 * are the same in all of them.
 */

/** Where the daemon listens: a unix socket, or a TCP address. */
export type DockerEndpoint = { socketPath: string; label: string } | { host: string; port: number; label: string };

/** Socket errors that a moment later may be gone: the daemon restarting, a connection dropped. */
const TRANSIENT_SOCKET_ERRORS = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);

type Http = typeof import('node:http');
let http: Promise<Http> | undefined;
const loadHttp = () => (http ??= import('node:http'));

interface Answer {
  status: number;
  body: unknown;
}

/** A connection to one Docker daemon (a swarm manager). Every failure is a `ProviderError`. */
export class DockerClient {
  constructor(readonly endpoint: DockerEndpoint) {}

  /** The service named `name`, or `undefined` when there is none. */
  async service(name: string, signal: AbortSignal): Promise<Service | undefined> {
    const answer = await this.call('GET', `/services/${encodeURIComponent(name)}`, undefined, signal, `read service ${name}`, [404]);
    const service = answer.status === 404 ? undefined : (answer.body as Service);
    // The daemon also finds a service by a prefix of its ID: only the name counts here.
    return service?.Spec.Name === name ? service : undefined;
  }

  /** Creates a service; its ID. A name already taken is a `ProviderError` naming it. */
  async createService(spec: ServiceSpec, signal: AbortSignal): Promise<string> {
    const answer = await this.call('POST', '/services/create', spec, signal, `create service ${spec.Name ?? ''}`);
    return (answer.body as { ID: string }).ID;
  }

  /**
   * Replaces a service's spec. `service` is the service as it was read: the daemon refuses the
   * write when its `Version.Index` is no longer current (see `isConflict`), so a change made
   * meanwhile by someone else is never overwritten blindly.
   */
  async updateService(service: Service, spec: ServiceSpec, signal: AbortSignal): Promise<void> {
    const path = `/services/${encodeURIComponent(service.ID)}/update?version=${service.Version.Index}`;
    await this.call('POST', path, spec, signal, `update service ${spec.Name ?? service.Spec.Name ?? service.ID}`);
  }

  /** Removes a service; `false` when it did not exist. */
  async removeService(name: string, signal: AbortSignal): Promise<boolean> {
    const answer = await this.call('DELETE', `/services/${encodeURIComponent(name)}`, undefined, signal, `remove service ${name}`, [404]);
    return answer.status !== 404;
  }

  /** Tasks, by the API's filters (`{ 'desired-state': ['running'] }`); all without. */
  async tasks(filters: Record<string, string[]>, signal: AbortSignal): Promise<Task[]> {
    const query = Object.keys(filters).length > 0 ? `?filters=${encodeURIComponent(JSON.stringify(filters))}` : '';
    return (await this.call('GET', `/tasks${query}`, undefined, signal, 'list tasks')).body as Task[];
  }

  /** The tasks of one service, or `undefined` when the service is gone (removed since it was read). */
  async serviceTasks(service: { ID: string; Spec: { Name?: string } }, signal: AbortSignal): Promise<Task[] | undefined> {
    const query = `?filters=${encodeURIComponent(JSON.stringify({ service: [service.ID] }))}`;
    const answer = await this.call('GET', `/tasks${query}`, undefined, signal, `list the tasks of service ${service.Spec.Name ?? service.ID}`, [404]);
    return answer.status === 404 ? undefined : (answer.body as Task[]);
  }

  async nodes(signal: AbortSignal): Promise<SwarmNode[]> {
    return (await this.call('GET', '/nodes', undefined, signal, 'list nodes')).body as SwarmNode[];
  }

  /** Whether `err` says the service changed since it was read (an update at a stale `Version.Index`). */
  static isConflict(err: unknown): boolean {
    return err instanceof ProviderError && (err.cause as { conflict?: boolean } | undefined)?.conflict === true;
  }

  /** One request and its JSON answer; an answer outside 2xx and `allowed` becomes a `ProviderError`. */
  private async call(method: string, path: string, body: unknown, signal: AbortSignal, what: string, allowed: number[] = []): Promise<Answer> {
    if (signal.aborted) throw cancelled(signal, what);
    let answer: Answer;
    try {
      answer = await this.send(await loadHttp(), method, path, body, signal);
    } catch (err) {
      if (signal.aborted) throw cancelled(signal, what);
      throw this.unreachable(err, what);
    }
    if ((answer.status >= 200 && answer.status < 300) || allowed.includes(answer.status)) return answer;
    throw this.refused(answer, what);
  }

  private send(lib: Http, method: string, path: string, body: unknown, signal: AbortSignal): Promise<Answer> {
    const text = body === undefined ? undefined : JSON.stringify(body);
    const where = 'socketPath' in this.endpoint ? { socketPath: this.endpoint.socketPath } : { host: this.endpoint.host, port: this.endpoint.port };
    const options: RequestOptions = {
      ...where,
      method,
      path,
      signal,
      headers: { host: 'docker', 'user-agent': 'rollgate', accept: 'application/json', ...(text === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) }) },
    };
    return new Promise<Answer>((resolve, reject) => {
      const request = lib.request(options, (response: IncomingMessage) => {
        const chunks: Buffer[] = [];
        response.on('data', (c: Buffer) => chunks.push(c));
        response.on('error', reject);
        response.on('end', () => {
          const raw = Buffer.concat(chunks).toString('utf8');
          let parsed: unknown = raw;
          try {
            parsed = raw === '' ? undefined : JSON.parse(raw);
          } catch {
            // Not JSON (a proxy's error page): kept as text for the message.
          }
          resolve({ status: response.statusCode ?? 0, body: parsed });
        });
      });
      request.on('error', reject);
      request.end(text);
    });
  }

  /** The daemon could not be reached: say where, and what to check. */
  private unreachable(err: unknown, what: string): ProviderError {
    const code = (err as { code?: string }).code;
    const where = this.endpoint.label;
    const why =
      code === 'ENOENT'
        ? `there is no socket at ${where.replace(/^unix:\/\//, '')}: the Docker daemon is not running there; start it, or point swarm.host (or DOCKER_HOST) at its socket`
        : code === 'EACCES'
          ? `permission denied on ${where}: run rollgate as a user who may use the Docker socket (the docker group), or point swarm.host at one it may use`
          : code === 'ECONNREFUSED'
            ? `nothing accepts connections at ${where}: the Docker daemon is stopped or restarting; start it, or point swarm.host (or DOCKER_HOST) at a running daemon`
            : `the Docker daemon at ${where} is unreachable (${code ?? (err as Error).message})`;
    return new ProviderError(`swarm: cannot ${what}: ${why}`, { retryable: code !== undefined && TRANSIENT_SOCKET_ERRORS.has(code), cause: err });
  }

  /** The daemon answered with an error status: its message, and whether retrying can help. */
  private refused(answer: Answer, what: string): ProviderError {
    const { status } = answer;
    const said = messageOf(answer.body);
    // Swarm's optimistic concurrency: the service changed since it was read (Docker answers 500).
    const conflict = /update out of sequence/i.test(said) || (status === 409 && /out of sequence|version/i.test(said));
    if (conflict) {
      return new ProviderError(`swarm: cannot ${what}: it changed since rollgate read it (update out of sequence); read it again`, { retryable: true, cause: { status, conflict: true } });
    }
    const hint = /not a swarm manager/i.test(said)
      ? `: the daemon at ${this.endpoint.label} is not a swarm manager; run \`docker swarm init\` there, or point swarm.host (or DOCKER_HOST) at a manager's socket`
      : status === 409
        ? ': the name is already taken by another service'
        : status === 401 || status === 403
          ? `: the daemon (or a proxy in front of it) at ${this.endpoint.label} refuses this call; allow the services, tasks and nodes endpoints for rollgate`
          : status === 429 || status >= 500
            ? ': the daemon is overloaded or failing; retried'
            : '';
    const retryable = (status === 429 || status >= 500) && !/not a swarm manager/i.test(said);
    return new ProviderError(`swarm: cannot ${what} (${status})${said ? `: ${said}` : ''}${hint}`, { retryable, cause: { status } });
  }
}

/** The `message` of a Docker error answer, or its text. */
function messageOf(body: unknown): string {
  if (body && typeof body === 'object' && typeof (body as { message?: unknown }).message === 'string') return (body as { message: string }).message.trim();
  return typeof body === 'string' ? body.trim().slice(0, 300) : '';
}

function cancelled(signal: AbortSignal, what: string): Error {
  return signal.reason instanceof Error ? signal.reason : new ProviderError(`swarm: ${what} was cancelled`);
}
