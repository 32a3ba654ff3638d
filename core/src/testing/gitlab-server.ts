import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A local GitLab for tests (shipped, so plugin authors can use it too): the documented shapes of
 * the Deployments API's reads and of deployment approvals, over real HTTP on 127.0.0.1, so the
 * real `@gitbeaker/rest` client and real `fetch` are what a test exercises.
 *
 * - `GET /api/v4/projects/:id/deployments` (`environment`, `status`, `order_by`, `sort`, `per_page`, `page`)
 * - `GET /api/v4/projects/:id/deployments/:deployment_id`, with `approvals` and
 *   `pending_approval_count` when the deployment has approval rules (GitLab Premium)
 * - `POST /api/v4/projects/:id/deployments/:deployment_id/approval` (`status`, `comment`), as an approver
 *
 * `:id` is a project ID or its URL-encoded path. Tokens arrive as `PRIVATE-TOKEN`, `JOB-TOKEN` or
 * `Authorization: Bearer`; an unknown one gets 401 as GitLab answers it. Nothing here sleeps or
 * reads the environment.
 */

export interface GitlabServerUser {
  id: number;
  username: string;
  name: string;
}

export interface GitlabServerOptions {
  /** Accepted tokens and the user each belongs to (default: `glpat-rollgate-test` for `rollgate-bot`). */
  tokens?: Record<string, string>;
  /** Projects that exist (default: id 42, path `acme/web`). */
  projects?: Array<{ id: number; path: string }>;
}

/** What a test sets up; the server fills in the rest of the documented shape. */
export interface DeploymentSpec {
  environment: string;
  project?: number;
  /** `created`, `running`, `success`, `failed`, `canceled`, or `blocked` (the default with approvals pending). */
  status?: string;
  /** Approvals the environment's rules require; leave it out for a deployment without approval rules. */
  requiredApprovals?: number;
  pipelineId?: number;
  jobId?: number;
  jobName?: string;
  sha?: string;
  ref?: string;
}

interface Approval {
  user: GitlabServerUser;
  status: 'approved' | 'rejected';
  created_at: string;
  comment: string | null;
}

interface Deployment extends Required<Omit<DeploymentSpec, 'requiredApprovals'>> {
  id: number;
  iid: number;
  requiredApprovals?: number;
  approvals: Approval[];
  createdAt: string;
  updatedAt: string;
}

/** One request as received (its headers are not kept: they carry the token). */
export interface GitlabRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  /** The header the token came in: `PRIVATE-TOKEN`, `JOB-TOKEN`, an OAuth bearer, or none. */
  auth: 'private' | 'job' | 'oauth' | 'none';
  /** The status answered; 0 for a request left hanging. */
  status: number;
}

export interface GitlabServer {
  /** The instance, `http://127.0.0.1:PORT`: what `CI_SERVER_URL` holds in a job. */
  readonly url: string;
  /** The first accepted token. */
  readonly token: string;
  readonly requests: GitlabRequest[];
  /** Adds a deployment; returns its id. */
  addDeployment(spec: DeploymentSpec): number;
  /** Records one user's decision, as `POST …/approval` does (time from the server's clock). */
  decide(deploymentId: number, username: string, status: 'approved' | 'rejected', comment?: string): void;
  /** Called after each request is answered (at once for one left hanging): a test decides "after the third look" this way. */
  onRequest(listener: ((req: GitlabRequest) => void) | undefined): void;
  /** Answer the next `calls` requests with `status` (default 500) before anything else. */
  failNext(calls: number, status?: number): void;
  /** Never answer the next `calls` requests. */
  hangNext(calls: number): void;
  close(): Promise<void>;
}

const DEFAULT_TOKEN = 'glpat-rollgate-test';

export async function startGitlabServer(options: GitlabServerOptions = {}): Promise<GitlabServer> {
  const tokens = options.tokens ?? { [DEFAULT_TOKEN]: 'rollgate-bot' };
  const projects = options.projects ?? [{ id: 42, path: 'acme/web' }];
  const deployments: Deployment[] = [];
  const requests: GitlabRequest[] = [];
  const users = new Map<string, GitlabServerUser>();
  let listener: ((req: GitlabRequest) => void) | undefined;
  let failing = { calls: 0, status: 500 };
  let hanging = 0;
  let tick = Date.UTC(2026, 0, 1, 12);
  /** Each recorded time is a second after the one before: ordered, and the same on every run. */
  const now = () => new Date((tick += 1000)).toISOString();

  const user = (username: string): GitlabServerUser => {
    const known = users.get(username) ?? { id: users.size + 1, username, name: username[0]?.toUpperCase() + username.slice(1) };
    users.set(username, known);
    return known;
  };

  const pending = (d: Deployment) =>
    d.requiredApprovals === undefined ? undefined : Math.max(0, d.requiredApprovals - d.approvals.filter((a) => a.status === 'approved').length);

  /** The documented JSON of a deployment (`doc/api/deployments.md`). */
  function render(d: Deployment): Record<string, unknown> {
    const p = projects.find((x) => x.id === d.project);
    const rules = d.requiredApprovals === undefined ? {} : { pending_approval_count: pending(d), approvals: d.approvals };
    return {
      id: d.id,
      iid: d.iid,
      ref: d.ref,
      sha: d.sha,
      created_at: d.createdAt,
      updated_at: d.updatedAt,
      status: d.status,
      user: user('root'),
      environment: { id: 1 + [...new Set(deployments.map((x) => x.environment))].indexOf(d.environment), name: d.environment, external_url: null },
      deployable: {
        id: d.jobId,
        status: d.status === 'blocked' ? 'manual' : 'success',
        stage: 'deploy',
        name: d.jobName,
        ref: d.ref,
        tag: false,
        created_at: d.createdAt,
        pipeline: { id: d.pipelineId, sha: d.sha, ref: d.ref, status: 'running', web_url: `http://gitlab.test/${p?.path ?? ''}/-/pipelines/${d.pipelineId}` },
      },
      ...rules,
    };
  }

  function decide(id: number, username: string, status: 'approved' | 'rejected', comment?: string): void {
    const d = deployments.find((x) => x.id === id);
    if (!d) throw new Error(`no deployment ${id}`);
    // One decision per user and deployment, as GitLab keeps it.
    d.approvals = d.approvals.filter((a) => a.user.username !== username);
    d.approvals.push({ user: user(username), status, created_at: now(), comment: comment ?? null });
    d.updatedAt = now();
    if (status === 'approved' && d.status === 'blocked' && pending(d) === 0) d.status = 'created';
  }

  function route(req: IncomingMessage, body: string, query: URLSearchParams): [number, unknown, Record<string, string>?] {
    const auth = req.headers['private-token'] ?? req.headers['job-token'] ?? req.headers.authorization?.replace(/^Bearer /, '');
    const username = typeof auth === 'string' ? tokens[auth] : undefined;
    if (!username) return [401, { message: '401 Unauthorized' }];
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const m = /^\/api\/v4\/projects\/([^/]+)\/deployments(?:\/(\d+)(\/approval)?)?$/.exec(path);
    if (!m) return [404, { error: '404 Not Found' }];
    const key = decodeURIComponent(m[1] as string);
    const project = projects.find((p) => String(p.id) === key || p.path === key);
    if (!project) return [404, { message: '404 Project Not Found' }];
    const ofProject = deployments.filter((d) => d.project === project.id);
    if (m[2] === undefined) {
      if (req.method !== 'GET') return [405, { message: '405 Method Not Allowed' }];
      return list(ofProject, query);
    }
    const d = ofProject.find((x) => x.id === Number(m[2]));
    if (!d) return [404, { message: '404 Not found' }];
    if (!m[3] && req.method === 'GET') return [200, render(d)];
    if (!m[3] || req.method !== 'POST') return [405, { message: '405 Method Not Allowed' }];
    const fields = parseBody(body);
    if (fields.status !== 'approved' && fields.status !== 'rejected') return [400, { message: 'status does not have a valid value' }];
    if (d.requiredApprovals === undefined || d.status !== 'blocked') return [400, { message: 'Deployment is not blocked' }];
    decide(d.id, username, fields.status, typeof fields.comment === 'string' ? fields.comment : undefined);
    return [201, d.approvals.at(-1)];
  }

  function list(ofProject: Deployment[], query: URLSearchParams): [number, unknown, Record<string, string>] {
    const env = query.get('environment');
    const status = query.get('status');
    const order = (query.get('order_by') ?? 'id') as 'id' | 'iid';
    const desc = query.get('sort') === 'desc';
    const all = ofProject
      .filter((d) => (env === null || d.environment === env) && (status === null || d.status === status))
      .sort((a, b) => (desc ? -1 : 1) * ((order === 'iid' ? a.iid - b.iid : a.id - b.id) || 0));
    const perPage = Math.min(100, Math.max(1, Number(query.get('per_page') ?? 20)));
    const page = Math.max(1, Number(query.get('page') ?? 1));
    const pages = Math.max(1, Math.ceil(all.length / perPage));
    const headers: Record<string, string> = { 'x-page': String(page), 'x-per-page': String(perPage), 'x-total': String(all.length), 'x-total-pages': String(pages) };
    if (page < pages) headers['x-next-page'] = String(page + 1);
    return [200, all.slice((page - 1) * perPage, page * perPage).map(render), headers];
  }

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://x');
      const query = Object.fromEntries(url.searchParams);
      const h = req.headers;
      const auth = h['private-token'] ? 'private' : h['job-token'] ? 'job' : h.authorization ? 'oauth' : 'none';
      const record: GitlabRequest = { method: req.method ?? 'GET', path: url.pathname, query, auth, status: 0 };
      requests.push(record);
      if (hanging > 0) {
        hanging -= 1;
        listener?.(record);
        return; // never answered; closed with the server
      }
      const failed = failing.calls > 0;
      if (failed) failing = { ...failing, calls: failing.calls - 1 };
      const [status, payload, headers] = failed ? [failing.status, { message: `${failing.status} Server Error` }] : route(req, body, url.searchParams);
      record.status = status;
      res.writeHead(status, { 'content-type': 'application/json', ...headers });
      res.end(JSON.stringify(payload));
      listener?.(record);
    });
  });
  await new Promise<void>((ready) => server.listen(0, '127.0.0.1', ready));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    url,
    token: Object.keys(tokens)[0] ?? DEFAULT_TOKEN,
    requests,
    addDeployment(spec) {
      const project = spec.project ?? (projects[0] as { id: number }).id;
      const id = 100 + deployments.length + 1;
      const created = now();
      deployments.push({
        id,
        iid: deployments.filter((d) => d.project === project).length + 1,
        environment: spec.environment,
        project,
        status: spec.status ?? (spec.requiredApprovals ? 'blocked' : 'created'),
        ...(spec.requiredApprovals !== undefined ? { requiredApprovals: spec.requiredApprovals } : {}),
        pipelineId: spec.pipelineId ?? 7,
        jobId: spec.jobId ?? 900 + deployments.length,
        jobName: spec.jobName ?? `deploy-${spec.environment}`,
        sha: spec.sha ?? 'a91957a858320c0e17f3a0eca7cfacbff50ea29a',
        ref: spec.ref ?? 'main',
        approvals: [],
        createdAt: created,
        updatedAt: created,
      });
      return id;
    },
    decide,
    onRequest: (l) => void (listener = l),
    failNext: (calls, status = 500) => void (failing = { calls, status }),
    hangNext: (calls) => void (hanging = calls),
    close: () =>
      new Promise<void>((done) => {
        server.closeAllConnections();
        server.close(() => done());
      }),
  };
}

function parseBody(body: string): Record<string, unknown> {
  try {
    const parsed: unknown = JSON.parse(body);
    return typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>) : {};
  } catch {
    return Object.fromEntries(new URLSearchParams(body));
  }
}
