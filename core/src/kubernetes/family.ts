import { z } from 'zod';

/**
 * Kubernetes as a provider family: how to reach the cluster of an environment, written once at the
 * top of the workflow (`kubernetes:`) or per environment (`environments.NAME.kubernetes`, which
 * replaces it), shared by the kubernetes target, routers and probes of that environment.
 * Credentials never appear here: they stay in the kubeconfig (or the pod's service account).
 */
export const name = 'kubernetes';

export const settingsSchema = z
  .strictObject({
    kubeconfig: z
      .string()
      .min(1)
      .optional()
      .describe('Path of the kubeconfig file (relative to the workflow file); default: the files KUBECONFIG names, else ~/.kube/config'),
    context: z.string().min(1).optional().describe("The kubeconfig context to use (default: the file's current-context)"),
    inCluster: z
      .boolean()
      .default(false)
      .describe("Use the service account of the pod rollgate runs in (a self-hosted runner in the cluster) instead of a kubeconfig"),
    namespace: z.string().min(1).optional().describe("Namespace of the objects providers name without one (default: the context's namespace, else `default`)"),
  })
  .describe('How rollgate reaches a Kubernetes cluster (kubeconfig, context, namespace),');
export type KubernetesSettings = z.output<typeof settingsSchema>;

/** The settings of an environment, defaults applied when the workflow has no `kubernetes` block. */
export function settingsOf(raw: unknown): KubernetesSettings {
  return (raw as KubernetesSettings | undefined) ?? settingsSchema.parse({});
}
