import { existsSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { ProviderError } from '../errors.js';
import type { KubernetesSettings } from './family.js';

/*
 * What the Kubernetes client reads off a failure (the API's Status body, a kubeconfig that does
 * not parse) and where a kubeconfig is looked for: kept apart from the client's calls.
 */

/** A 404 that means the resource type itself is not served (a CRD not installed), not a missing object. */
export function unserved(err: unknown): boolean {
  return /could not find the requested resource/.test(statusOf(err).message ?? '');
}

/**
 * What is wrong with a kubeconfig, without quoting it: the YAML parser's message shows the lines
 * around the error, which may hold a token or a key.
 */
export function kubeconfigProblem(err: unknown): string {
  const e = err as { reason?: unknown; mark?: { line?: unknown; column?: unknown }; code?: unknown };
  if (typeof e.reason === 'string') {
    const at = typeof e.mark?.line === 'number' ? ` at line ${e.mark.line + 1}${typeof e.mark.column === 'number' ? `, column ${e.mark.column + 1}` : ''}` : '';
    return `not valid YAML (${e.reason}${at})`;
  }
  return (err as Error).message;
}

export function codeOf(err: unknown): number | undefined {
  const code = (err as { code?: unknown } | undefined)?.code;
  return typeof code === 'number' ? code : undefined;
}

/** The API's `Status` body of an ApiException (text or parsed). */
export function statusOf(err: unknown): { message?: string; reason?: string } {
  let body = (err as { body?: unknown }).body;
  if (typeof body === 'string') {
    const text = body.trim();
    try {
      body = JSON.parse(text);
    } catch {
      return text ? { message: text.slice(0, 300) } : {};
    }
  }
  const status = (body ?? {}) as { message?: unknown; reason?: unknown };
  return {
    ...(typeof status.message === 'string' ? { message: status.message } : {}),
    ...(typeof status.reason === 'string' ? { reason: status.reason } : {}),
  };
}

/** The kubeconfig files to read, in KUBECONFIG's order; only those that exist. */
export function kubeconfigFiles(settings: KubernetesSettings, env: Record<string, string>, workDir: string): string[] {
  if (settings.kubeconfig !== undefined) {
    const file = isAbsolute(settings.kubeconfig) ? settings.kubeconfig : resolve(workDir, settings.kubeconfig);
    if (!existsSync(file)) throw new ProviderError(`kubernetes: the kubeconfig ${file} (kubernetes.kubeconfig) does not exist`);
    return [file];
  }
  if (env.KUBECONFIG) return env.KUBECONFIG.split(':').filter((f) => f !== '' && existsSync(f));
  const home = env.HOME ? `${env.HOME}/.kube/config` : undefined;
  return home && existsSync(home) ? [home] : [];
}
