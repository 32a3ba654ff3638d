import { z } from 'zod';

/**
 * Azure as a provider family: which subscription and resource group the Azure providers of an
 * environment act in, and where they reach Azure Resource Manager, written once at the top of the
 * workflow (`azure:`) or per environment (`environments.NAME.azure`, which replaces it). Credentials
 * never appear here: they come from the runner's standard Azure sources (see credentials.ts).
 */
export const name = 'azure';

export const settingsSchema = z
  .strictObject({
    subscriptionId: z
      .string()
      .regex(/^[0-9a-fA-F-]{36}$/, 'expected a subscription id (a GUID)')
      .optional()
      .describe('The subscription of the resources (default: the environment variable AZURE_SUBSCRIPTION_ID, as azure/login leaves it)'),
    resourceGroup: z.string().min(1).max(90).optional().describe('The resource group of resources named without one'),
    endpoint: z
      .url()
      .optional()
      .describe('Azure Resource Manager base URL (default https://management.azure.com; a sovereign cloud, or a local double in tests)'),
    authorityHost: z
      .url()
      .optional()
      .describe('Microsoft Entra ID authority the credentials are exchanged at (default: AZURE_AUTHORITY_HOST, else https://login.microsoftonline.com)'),
  })
  .describe('Where rollgate reaches Azure: subscription, resource group, Resource Manager endpoint');
export type AzureSettings = z.output<typeof settingsSchema>;

export const DEFAULT_ENDPOINT = 'https://management.azure.com';
export const DEFAULT_AUTHORITY = 'https://login.microsoftonline.com';

/** The settings of an environment, defaults applied when the workflow has no `azure` block. */
export function settingsOf(raw: unknown): AzureSettings {
  return (raw as AzureSettings | undefined) ?? settingsSchema.parse({});
}

/** The Resource Manager base URL, without a trailing slash. */
export function endpointOf(settings: AzureSettings): string {
  return (settings.endpoint ?? DEFAULT_ENDPOINT).replace(/\/+$/, '');
}

/** The authority host the tokens come from, without a trailing slash. */
export function authorityOf(settings: AzureSettings, env: Record<string, string>): string {
  return (settings.authorityHost ?? env.AZURE_AUTHORITY_HOST ?? DEFAULT_AUTHORITY).replace(/\/+$/, '');
}
