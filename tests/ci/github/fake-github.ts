import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { inflateRawSync } from 'node:zlib';

/**
 * A local stand-in for the GitHub endpoints the action calls, answering with the documented
 * shapes: the REST Deployments and deployment statuses API, the review history of a run
 * (`/actions/runs/{id}/approvals`), and the artifact service (Twirp `CreateArtifact` and
 * `FinalizeArtifact` on ACTIONS_RESULTS_URL, plus Azure Blob `Put Block` / `Put Block List` on the
 * signed upload URL). It keeps what it was sent, for the tests to check.
 */
export interface FakeStatus {
  id: number;
  state: string;
  description: string;
  environment_url?: string;
  log_url?: string;
  auto_inactive?: boolean;
}

export interface FakeDeployment {
  id: number;
  ref: string;
  environment: string;
  payload: unknown;
  auto_merge?: boolean;
  required_contexts?: string[];
  description?: string;
  statuses: FakeStatus[];
}

export interface FakeReview {
  state: 'approved' | 'rejected';
  login: string;
  comment: string;
  environment: string;
}

export interface FakeArtifact {
  name: string;
  blob: Buffer;
  finalized: boolean;
  size?: string;
  hash?: string;
  /** From `retention-days`: when the artifact expires. */
  expiresAt?: string;
}

export interface FakeGitHub {
  apiUrl: string;
  resultsUrl: string;
  token: string;
  deployments: FakeDeployment[];
  reviews: FakeReview[];
  artifacts: FakeArtifact[];
  /** `METHOD /path` of every request, in order. */
  requests: string[];
  /** Resolves once a request whose `METHOD /path` matches has been answered (or already was). */
  waitFor(pattern: RegExp): Promise<void>;
  close(): Promise<void>;
}

const TWIRP = '/twirp/github.actions.results.api.v1.ArtifactService/';

export async function startFakeGitHub(token = 'test-token'): Promise<FakeGitHub> {
  let nextId = 100;
  const blocks = new Map<string, Buffer>();
  const state: Omit<FakeGitHub, 'apiUrl' | 'resultsUrl' | 'close' | 'waitFor'> = { token, deployments: [], reviews: [], artifacts: [], requests: [] };
  let base = '';
  const waiters: { pattern: RegExp; done: () => void }[] = [];

  const server = createServer((req, res) => {
    void readBody(req).then((body) => {
      const url = new URL(req.url ?? '/', base);
      const line = `${req.method} ${url.pathname}`;
      try {
        route(req.method ?? 'GET', url, body, req, res);
      } catch (err) {
        json(res, 500, { message: String(err) });
      }
      state.requests.push(line);
      for (const w of waiters.filter((x) => x.pattern.test(line))) w.done();
    });
  });

  function route(method: string, url: URL, body: Buffer, req: IncomingMessage, res: ServerResponse): void {
    const path = url.pathname;
    if (path.startsWith(TWIRP)) return twirp(path.slice(TWIRP.length), JSON.parse(body.toString() || '{}') as Record<string, unknown>, res);
    if (path.startsWith('/devstoreaccount1/')) return blob(method, url, body, res);
    if (req.headers.authorization !== `token ${token}`) return json(res, 401, { message: 'Bad credentials', documentation_url: 'https://docs.github.com/rest' });
    const m = /^\/repos\/([^/]+)\/([^/]+)\/(.*)$/.exec(path);
    const rest = m?.[3] ?? '';
    const input = body.length > 0 ? (JSON.parse(body.toString()) as Record<string, unknown>) : {};
    if (method === 'POST' && rest === 'deployments') {
      const d: FakeDeployment = {
        id: nextId++,
        ref: String(input.ref),
        environment: String(input.environment ?? 'production'),
        payload: input.payload ?? {},
        statuses: [],
        ...(input.auto_merge !== undefined ? { auto_merge: input.auto_merge as boolean } : {}),
        ...(input.required_contexts !== undefined ? { required_contexts: input.required_contexts as string[] } : {}),
        ...(input.description !== undefined ? { description: String(input.description) } : {}),
      };
      state.deployments.push(d);
      return json(res, 201, deploymentJson(d));
    }
    if (method === 'GET' && rest === 'deployments') {
      const env = url.searchParams.get('environment');
      const list = state.deployments.filter((d) => !env || d.environment === env).reverse();
      return json(res, 200, list.map(deploymentJson));
    }
    const st = /^deployments\/(\d+)\/statuses$/.exec(rest);
    const deployment = st ? state.deployments.find((d) => d.id === Number(st[1])) : undefined;
    if (st && !deployment) return json(res, 404, { message: 'Not Found' });
    if (deployment && method === 'POST') {
      const s: FakeStatus = { id: nextId++, state: String(input.state), description: String(input.description ?? '') };
      if (input.environment_url !== undefined) s.environment_url = String(input.environment_url);
      if (input.log_url !== undefined) s.log_url = String(input.log_url);
      if (input.auto_inactive !== undefined) s.auto_inactive = Boolean(input.auto_inactive);
      deployment.statuses.push(s);
      return json(res, 201, { ...s, url: `${base}/repos/x/y/deployments/${deployment.id}/statuses/${s.id}`, created_at: new Date().toISOString() });
    }
    if (deployment && method === 'GET') return json(res, 200, [...deployment.statuses].reverse());
    const approvals = /^actions\/runs\/(\d+)\/approvals$/.exec(rest);
    if (approvals && method === 'GET') {
      return json(
        res,
        200,
        state.reviews.map((r) => ({
          state: r.state,
          comment: r.comment,
          environments: [{ id: 1, node_id: 'EN_1', name: r.environment, url: `${base}/repos/x/y/environments/${r.environment}`, html_url: 'https://github.com/x/y/deployments' }],
          user: { login: r.login, id: 7, node_id: 'U_7', type: 'User', site_admin: false },
        })),
      );
    }
    return json(res, 404, { message: 'Not Found', documentation_url: 'https://docs.github.com/rest' });
  }

  /** Twirp JSON, as the client sends it and the service answers: proto field names (`expires_at`). */
  function twirp(method: string, input: Record<string, unknown>, res: ServerResponse): void {
    const name = String(input.name);
    if (input.workflow_run_backend_id !== 'run-backend-1' || input.workflow_job_run_backend_id !== 'job-backend-1') {
      return json(res, 400, { code: 'invalid_argument', msg: 'unknown workflow run or job backend id' });
    }
    if (method === 'CreateArtifact') {
      if (state.artifacts.some((a) => a.name === name)) return json(res, 409, { code: 'already_exists', msg: 'an artifact with this name already exists on the workflow run' });
      state.artifacts.push({ name, blob: Buffer.alloc(0), finalized: false, ...(input.expires_at ? { expiresAt: String(input.expires_at) } : {}) });
      return json(res, 200, { ok: true, signed_upload_url: `${base}/devstoreaccount1/artifacts/${encodeURIComponent(name)}.zip?sig=upload-signature` });
    }
    if (method === 'FinalizeArtifact') {
      const artifact = state.artifacts.find((a) => a.name === name);
      if (!artifact) return json(res, 404, { code: 'not_found', msg: 'no such artifact' });
      artifact.finalized = true;
      artifact.size = String(input.size);
      if (input.hash !== undefined) artifact.hash = String(input.hash);
      return json(res, 200, { ok: true, artifact_id: '4242' });
    }
    return json(res, 404, { code: 'bad_route', msg: `no handler for ${method}` });
  }

  function blob(method: string, url: URL, body: Buffer, res: ServerResponse): void {
    const name = decodeURIComponent(url.pathname.split('/').pop() ?? '').replace(/\.zip$/, '');
    const comp = url.searchParams.get('comp');
    const headers = { etag: '"0x1"', 'last-modified': new Date().toUTCString(), 'x-ms-request-id': 'r1', 'x-ms-version': '2025-01-05' };
    if (method === 'PUT' && comp === 'block') blocks.set(`${name}/${url.searchParams.get('blockid')}`, body);
    if (method === 'PUT' && comp === 'blocklist') {
      const ids = [...body.toString().matchAll(/<(?:Latest|Uncommitted|Committed)>([^<]+)</g)].map((x) => x[1]);
      const artifact = state.artifacts.find((a) => a.name === name);
      if (artifact) artifact.blob = Buffer.concat(ids.map((id) => blocks.get(`${name}/${id}`) ?? Buffer.alloc(0)));
    }
    res.writeHead(201, headers).end();
  }

  await new Promise<void>((ready) => server.listen(0, '127.0.0.1', ready));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return Object.assign(state, {
    apiUrl: base,
    resultsUrl: `${base}/`,
    waitFor: (pattern: RegExp) =>
      state.requests.some((r) => pattern.test(r)) ? Promise.resolve() : new Promise<void>((done) => void waiters.push({ pattern, done })),
    close: () =>
      new Promise<void>((done) => {
        server.closeAllConnections();
        server.close(() => done());
      }),
  });

  function deploymentJson(d: FakeDeployment) {
    return {
      id: d.id,
      node_id: `DE_${d.id}`,
      url: `${base}/repos/x/y/deployments/${d.id}`,
      sha: d.ref,
      ref: d.ref,
      task: 'deploy',
      payload: d.payload,
      original_environment: d.environment,
      environment: d.environment,
      description: d.description ?? null,
      creator: { login: 'github-actions[bot]', id: 41898282 },
      created_at: new Date().toISOString(),
      updated_at: new Date().toISOString(),
      statuses_url: `${base}/repos/x/y/deployments/${d.id}/statuses`,
      repository_url: `${base}/repos/x/y`,
      transient_environment: false,
      production_environment: d.environment === 'production',
    };
  }
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((done) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => done(Buffer.concat(chunks)));
  });
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' }).end(JSON.stringify(body));
}

/** An ACTIONS_RUNTIME_TOKEN: a JWT whose `scp` claim names the run's and job's backend ids. */
export function runtimeToken(): string {
  const part = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
  return `${part({ alg: 'none', typ: 'JWT' })}.${part({ scp: 'Actions.ExampleScope Actions.Results:run-backend-1:job-backend-1' })}.sig`;
}

/** The files of a zip archive (what the artifact service stores), read from its central directory. */
export function unzip(zip: Buffer): Map<string, Buffer> {
  const files = new Map<string, Buffer>();
  const end = zip.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  if (end < 0) throw new Error('not a zip archive');
  let at = zip.readUInt32LE(end + 16);
  for (let i = 0; i < zip.readUInt16LE(end + 10); i++) {
    const method = zip.readUInt16LE(at + 10);
    const size = zip.readUInt32LE(at + 20);
    const nameLength = zip.readUInt16LE(at + 28);
    const skip = nameLength + zip.readUInt16LE(at + 30) + zip.readUInt16LE(at + 32);
    const name = zip.subarray(at + 46, at + 46 + nameLength).toString();
    const local = zip.readUInt32LE(at + 42);
    const start = local + 30 + zip.readUInt16LE(local + 26) + zip.readUInt16LE(local + 28);
    const data = zip.subarray(start, start + size);
    files.set(name, method === 8 ? inflateRawSync(data) : Buffer.from(data));
    at += 46 + skip;
  }
  return files;
}
