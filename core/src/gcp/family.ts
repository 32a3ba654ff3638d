import { z } from 'zod';

/**
 * Google Cloud as a provider family: the project and region its providers act in, written once at
 * the top of the workflow (`gcp:`) or per environment (`environments.NAME.gcp`, which replaces
 * it), shared by the cloud-run target and router, the cloud-sql probe and the cloud-monitoring
 * metrics of that environment. Credentials never appear here: they come from Google's standard
 * sources (GOOGLE_APPLICATION_CREDENTIALS, CLOUDSDK_AUTH_ACCESS_TOKEN, the metadata server).
 */
export const name = 'gcp';

export const settingsSchema = z
  .strictObject({
    project: z.string().min(1).optional().describe('Project ID the providers act in when their own config names none (default: GOOGLE_CLOUD_PROJECT, then GCLOUD_PROJECT, then the project_id of the credential file)'),
    region: z.string().min(1).optional().describe('Region (location) of the Cloud Run services when the target names none, e.g. europe-west1'),
    endpoint: z
      .url({ protocol: /^https?$/ })
      .optional()
      .describe('One base URL for every Google API rollgate calls (Cloud Run Admin, Cloud SQL Admin, Cloud Monitoring), such as a local double; default: each API\'s own googleapis.com host'),
  })
  .describe('Where rollgate acts on Google Cloud (project, region, endpoint); credentials come from the standard Google sources,');
export type GcpSettings = z.output<typeof settingsSchema>;

/** The settings of an environment, defaults applied when the workflow has no `gcp` block. */
export function settingsOf(raw: unknown): GcpSettings {
  return (raw as GcpSettings | undefined) ?? settingsSchema.parse({});
}

/** The base URL of one Google API: the family's `endpoint` when set, else the API's own host. */
export function apiBase(settings: GcpSettings, host: 'run' | 'sqladmin' | 'monitoring'): string {
  return (settings.endpoint ?? `https://${host}.googleapis.com`).replace(/\/+$/, '');
}
