import { z } from 'zod';
import { duration, envVarName } from '../config/fields.js';
import type { Probe } from '../ports/probe.js';
import { errorMessage } from '../errors.js';
import type { ProbeResult } from '../model/results.js';
import type { ProviderDeps } from '../ports/provider-deps.js';
import { formatLimit } from '../util/command-runner.js';
import { inputEnvVar, varEnvVar } from '../util/env-name.js';
import { describeRequestError, httpFetch } from '../util/http-fetch.js';
import { type PlaceholderLookup, renderTemplate } from '../util/template.js';

export const type = 'http';

export const configSchema = z
  .strictObject({
    type: z.literal(type),
    url: z
      .string()
      .min(1)
      .describe('URL to request; {{ inputs.NAME }}, {{ vars.NAME }}, {{ stage }} and {{ environment }} are filled in (also in headers)'),
    method: z.enum(['GET', 'HEAD', 'POST']).default('GET'),
    expectStatus: z.array(z.number().int().min(100).max(599)).optional().describe('Statuses that count as ok (default: any 2xx)'),
    headers: z.record(z.string(), z.string()).optional().describe('Plain request headers'),
    bearerTokenEnv: envVarName('Environment variable holding a bearer token sent as Authorization').optional(),
    jsonPath: z.string().optional().describe('Dot path into a JSON body whose value becomes `value` (e.g. status.ready)'),
    timeout: duration('Give up on this probe after this long (the whole snapshot stops at 4.9s, so a state check ends within 5s)').prefault('2s'),
  })
  .describe('Requests a URL; ok when the status is expected');
export type HttpProbeConfig = z.infer<typeof configSchema>;

type Value = ProbeResult['value'];

export function create(config: HttpProbeConfig, deps: ProviderDeps): Probe {
  const path = config.jsonPath === undefined ? undefined : parseJsonPath(config.jsonPath);
  const expected = config.expectStatus ? new Set(config.expectStatus) : undefined;
  const expectedText = config.expectStatus ? config.expectStatus.join(', ') : '2xx';

  return {
    type,
    async check(ctx): Promise<ProbeResult> {
      const started = performance.now();
      const elapsed = () => Math.round(performance.now() - started);
      const fail = (error: string, value: Value = null, status?: number): ProbeResult => ({
        ok: false,
        value,
        latencyMs: elapsed(),
        error,
        ...(status === undefined ? {} : { details: { status } }),
      });

      const values = placeholderValues(ctx.env);
      let url: string;
      const headers: Record<string, string> = {};
      try {
        url = fill('url', config.url, values);
        for (const [name, value] of Object.entries(config.headers ?? {})) headers[name] = fill(`headers.${name}`, value, values);
      } catch (err) {
        return fail(errorMessage(err));
      }
      let target: URL;
      try {
        target = new URL(url);
      } catch {
        return fail(`url '${safeUrl(url)}' is not a valid URL; write it as http(s)://host[:port]/path`);
      }
      if (target.username || target.password) {
        // Credentials in the URL are sent as Basic auth, as curl does, and never appear in messages.
        const user = decodeURIComponent(target.username);
        const password = decodeURIComponent(target.password);
        headers.authorization = `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
        target.username = '';
        target.password = '';
      }
      if (config.bearerTokenEnv) {
        // Read through deps: commands never see rollgate's own credentials, so ctx.env has none.
        const token = deps.secret(config.bearerTokenEnv);
        if (!token) return fail(`environment variable ${config.bearerTokenEnv} is not set (bearerTokenEnv)`);
        headers.authorization = `Bearer ${token}`;
      }
      if (ctx.signal.aborted) return fail(`cancelled before requesting ${safeUrl(url)}`);

      const deadline = AbortSignal.timeout(config.timeout);
      const signal = AbortSignal.any([ctx.signal, deadline]);
      try {
        const response = await httpFetch(target, { method: config.method, headers, signal });
        const status = response.status;
        const ok = expected ? expected.has(status) : status >= 200 && status < 300;
        if (!ok || path === undefined || config.method === 'HEAD') {
          await response.body.cancel();
          if (!ok) return fail(`${safeUrl(url)} answered ${status} (expected ${expectedText})`, status, status);
          return { ok: true, value: status, latencyMs: elapsed(), details: { status } };
        }
        const text = await response.text();
        let body: unknown;
        try {
          body = JSON.parse(text);
        } catch {
          return fail(`${safeUrl(url)} answered ${status} but the body is not JSON, so jsonPath '${config.jsonPath}' cannot be read`, null, status);
        }
        const found = lookup(body, path);
        if (!found.found) {
          return fail(`jsonPath '${config.jsonPath}' is not in the response of ${safeUrl(url)}`, null, status);
        }
        return { ok: true, value: found.value, latencyMs: elapsed(), details: { status } };
      } catch (err) {
        if (deadline.aborted && !ctx.signal.aborted) {
          return fail(`no answer from ${safeUrl(url)} within ${formatLimit(config.timeout)}`);
        }
        if (ctx.signal.aborted) return fail(`cancelled while requesting ${safeUrl(url)}`);
        return fail(`request to ${safeUrl(url)} failed: ${describeRequestError(err)}`);
      }
    },
  };
}

/**
 * The values of the documented placeholders, read from the ROLLGATE_* variables the engine sets
 * for the stage (the same names commands see). Nothing else of the runner's environment is read:
 * a URL is sent to a server, so it must not be able to carry an arbitrary variable there.
 */
function placeholderValues(env: Record<string, string>): PlaceholderLookup {
  return (name) => {
    const [root, key = ''] = name.split('.');
    const variable =
      root === 'inputs' ? inputEnvVar(key) : root === 'vars' ? varEnvVar(key) : root === 'stage' ? 'ROLLGATE_STAGE' : 'ROLLGATE_ENVIRONMENT';
    return Object.hasOwn(env, variable) ? env[variable] : undefined;
  };
}

function fill(field: string, text: string, values: PlaceholderLookup): string {
  try {
    return renderTemplate(text, values);
  } catch (err) {
    throw new Error(`${field}: ${errorMessage(err)}`, { cause: err });
  }
}

/** The URL without user info or query string, for messages. */
function safeUrl(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.protocol}//${parsed.host}${parsed.pathname}`;
  } catch {
    return url;
  }
}

/** Splits `a.b.0.c`, `$.a.b`, `a[0].b` into keys; numbers index arrays. */
export function parseJsonPath(path: string): string[] {
  const trimmed = path.trim().replace(/^\$\.?/, '');
  if (trimmed === '') return [];
  return trimmed
    .replace(/\[(\d+)\]/g, '.$1')
    .split('.')
    .filter((part) => part !== '');
}

/** Reads own properties only: `__proto__`, `constructor` and friends are never followed. */
export function lookup(body: unknown, path: readonly string[]): { found: true; value: Value } | { found: false } {
  let node: unknown = body;
  for (const key of path) {
    if (Array.isArray(node)) {
      if (!/^\d+$/.test(key)) return { found: false };
      const index = Number(key);
      if (index >= node.length) return { found: false };
      node = node[index];
    } else if (node !== null && typeof node === 'object') {
      if (!Object.hasOwn(node, key)) return { found: false };
      node = (node as Record<string, unknown>)[key];
    } else {
      return { found: false };
    }
  }
  if (node === null || typeof node === 'number' || typeof node === 'string' || typeof node === 'boolean') {
    return { found: true, value: node };
  }
  return { found: true, value: JSON.stringify(node) };
}
