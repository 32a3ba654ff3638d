import { z } from 'zod';
import { errorMessage, NoDataError, ProviderError } from '../errors.js';
import type { MetricProvider } from '../ports/metric-provider.js';
import type { ProviderDeps } from '../ports/provider-deps.js';
import { parseValue } from '../util/parse-value.js';
import { describeJson, formatJsonPath, type JsonPathSegment, parseJsonPath, readJsonPath } from '../util/json-path.js';
import { checkConnection, connectionFields, prepareRequest, retryableStatus, send, snippet } from './http-request.js';

export const type = 'http';

export const configSchema = z
  .strictObject({
    type: z.literal(type),
    url: z.string().min(1).describe('URL that answers JSON; each measurement requests it once'),
    method: z.enum(['GET', 'POST']).default('GET').describe('POST sends `body`'),
    body: z.string().optional().describe('Request body of a POST, sent as is (JSON text, usually)'),
    contentType: z.string().default('application/json').describe('Content-Type of the body'),
    ...connectionFields('10s'),
  })
  .superRefine((config, ctx) => {
    checkConnection(config, ctx);
    if (config.body !== undefined && config.method !== 'POST') ctx.addIssue({ code: 'custom', path: ['body'], message: 'a body is sent with method: POST only' });
  })
  .describe(
    "Requests a URL and reads one number from its JSON answer: the metric's `query` is a path into it, such as data.items[0].value " +
      '(a number, or a string that reads as one). A path that is not there, or null, is no data.',
  );
export type HttpMetricConfig = z.infer<typeof configSchema>;

export function create(config: HttpMetricConfig, deps: ProviderDeps): MetricProvider {
  return {
    type,
    async query(query, ctx) {
      const path = parsePath(query);
      const request = prepareRequest('http', config.url, config, deps);
      const body = config.method === 'POST' && config.body !== undefined ? { body: config.body, contentType: config.contentType } : {};
      const answer = await send('http', request, { method: config.method, ...body }, config.timeout, ctx.signal);
      const where = `the response of ${request.shown}`;
      if (answer.status < 200 || answer.status >= 300) {
        const said = answer.text.trim() ? `: ${snippet(answer.text)}` : '';
        throw new ProviderError(`http: ${request.shown} answered ${answer.status}${answer.statusText ? ` ${answer.statusText}` : ''}${said}`, { retryable: retryableStatus(answer.status) });
      }
      let json: unknown;
      try {
        json = JSON.parse(answer.text);
      } catch {
        throw new ProviderError(`http: ${request.shown} answered ${answer.status} but the body is not JSON (${snippet(answer.text, 80) || 'empty'}), so '${query}' cannot be read`);
      }
      return numberAt(json, path, where);
    },
  };
}

function parsePath(query: string): JsonPathSegment[] {
  try {
    return parseJsonPath(query);
  } catch (err) {
    throw new ProviderError(`http: query '${query}' is not a JSON path: ${errorMessage(err)}; write it as data.items[0].value`);
  }
}

/** The number at `path`: a JSON number, or a string that reads as one (many APIs quote numbers). */
function numberAt(json: unknown, path: JsonPathSegment[], where: string): number {
  const shown = formatJsonPath(path);
  const found = readJsonPath(json, path);
  if (!found.found) {
    const missing = formatJsonPath(path.slice(0, found.missing + 1));
    const parent = found.missing === 0 ? 'the body' : formatJsonPath(path.slice(0, found.missing));
    throw new NoDataError(`http: no data: ${missing} is not in ${where} (${parent} is ${describeJson(found.parent)})`);
  }
  if (found.value === null) throw new NoDataError(`http: no data: ${shown} is null in ${where}`);
  const value = typeof found.value === 'number' ? found.value : typeof found.value === 'string' ? parseValue(found.value) : undefined;
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  throw new ProviderError(`http: ${shown} in ${where} is ${describeJson(found.value)}, not a number`);
}
