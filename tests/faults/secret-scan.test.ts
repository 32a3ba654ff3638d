import { readdir, readFile, stat } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, workspace, writeWorkflow } from '../cli/support.js';

/*
 * The secret scan: a workflow that names a secret in every place it can (a command's environment,
 * a probe's bearer token, the audit HMAC key, an audit collector's token, an input), runs that
 * print them in plain, base64, URL- and JSON-encoded forms, fail and roll back, and then every
 * byte rollgate wrote or printed (journal, lock, audit trail and spool, stdout and stderr of
 * `plan`, `run`, `resume`, with and without --json, and what the audit collector received) is
 * searched for each secret in each form: there must be no hit.
 */

const SECRETS = {
  DEPLOY_PASSWORD: 'pa"ss/wo rd+x=1&y',
  API_TOKEN: 'tok_4pI-T0ken.value',
  AUDIT_HMAC_KEY: 'hmac-k3y/for+audit',
  AUDIT_TOKEN: 'c0llector-t0ken_xyz',
};

/** Every form a secret must never appear in. */
function forms(secret: string): string[] {
  const b64 = Buffer.from(secret).toString('base64');
  return [secret, JSON.stringify(secret).slice(1, -1), encodeURIComponent(secret), b64, b64.replace(/=+$/, ''), Buffer.from(secret).toString('base64url')];
}

let server: Server;
let base = '';
const received: string[] = [];
beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      if (req.url === '/audit') {
        received.push(body);
        res.writeHead(200).end();
        return;
      }
      // The app echoes the Authorization header it got: a probe value that holds the token.
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ auth: req.headers.authorization ?? '' }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

async function allFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const name of await readdir(dir)) {
    const path = join(dir, name);
    if ((await stat(path)).isDirectory()) out.push(...(await allFiles(path)));
    else out.push(path);
  }
  return out;
}

const print = `printf "%s|%s|%s\\n" "$DEPLOY_PASSWORD" "$(printf %s "$DEPLOY_PASSWORD" | base64)" "$ROLLGATE_INPUT_TOKEN"`;

describe('the secret scan', () => {
  it('finds no secret, in any form, in anything a run writes or prints', async () => {
    const cwd = await workspace();
    const file = await writeWorkflow(
      cwd,
      'rollgate.yml',
      [
        'version: 1',
        'name: scan',
        'inputs:',
        '  version: { default: v2 }',
        '  token: { default: none, pattern: ".*" }',
        'secrets: [DEPLOY_PASSWORD]',
        'environments: { prod: {} }',
        'probes:',
        `  app: { type: http, url: "${base}/health", bearerTokenEnv: API_TOKEN, jsonPath: auth }`,
        `  leaky: { type: command, run: [sh, -c, 'echo "cannot log in: $DEPLOY_PASSWORD" >&2; exit 2'] }`,
        'audit:',
        '  hmacKeyEnv: AUDIT_HMAC_KEY',
        '  sinks:',
        '    - { type: file, dir: audit }',
        `    - { type: http, url: "${base}/audit", bearerTokenEnv: AUDIT_TOKEN, spoolDir: audit }`,
        '    - { type: stdout }',
        'notifications: [{ type: console }]',
        'stages:',
        '  - name: web',
        '    environment: prod',
        '    approval: { type: manual, message: "deploy with the new password?" }',
        '    when: probes.app.ok',
        '    preflight: [{ check: "probes.app.value != \\"\\"" }]',
        '    target:',
        '      type: command',
        `      current: [sh, -c, 'cat state 2>/dev/null || true']`,
        `      deploy: [sh, -c, '${print}; ${print} >&2; echo "key=$AUDIT_HMAC_KEY tok=$API_TOKEN"; printf %s "$ROLLGATE_VERSION" > state; exit 3']`,
        `      revert: [sh, -c, '${print}; printf %s "$ROLLGATE_PREVIOUS_VERSION" > state']`,
        '',
      ].join('\n'),
    );
    const env = { ...SECRETS };
    const token = `bearer:${SECRETS.DEPLOY_PASSWORD}`;
    const outputs = [
      await cli(['plan', file], { cwd, env }),
      await cli(['plan', file, '--json', '--input', `token=${token}`], { cwd, env }),
    ];
    const ran = await cli(['run', file, '--state', 'run.json', '--input', `token=${token}`], { cwd, env });
    expect(ran.code, ran.stderr).toBe(3);
    const paused = await readFile(join(cwd, "run.json"), "utf8");
    const resumed = await cli(['resume', '--state', 'run.json', '--approve', '--json'], { cwd, env });
    expect(resumed.code, resumed.stderr).toBe(1);
    outputs.push(ran, resumed);

    // The run did print the secrets' places: they are masked, not absent by accident.
    expect(resumed.stdout).toContain('***|***|bearer:***');
    const files = await allFiles(cwd);
    expect(files.some((f) => f.endsWith('.jsonl'))).toBe(true);
    expect(received.length).toBeGreaterThan(0);
    const corpus: [string, string][] = [
      ...outputs.flatMap((o, i): [string, string][] => [
        [`output ${i} stdout`, o.stdout],
        [`output ${i} stderr`, o.stderr],
      ]),
      ["the journal while paused", paused],
      ...(await Promise.all(files.filter((f) => !f.endsWith('rollgate.yml')).map(async (f): Promise<[string, string]> => [f, await readFile(f, 'utf8')]))),
      ...received.map((body, i): [string, string] => [`collector batch ${i}`, body]),
    ];
    const hits = corpus.flatMap(([where, text]) =>
      Object.entries(SECRETS).flatMap(([name, secret]) => forms(secret).filter((form) => text.includes(form)).map((form) => `${name} as ${JSON.stringify(form)} in ${where}`)),
    );
    expect(hits).toEqual([]);
  });
});
