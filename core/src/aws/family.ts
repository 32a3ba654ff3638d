import { z } from 'zod';

/**
 * AWS as a provider family: the region and, for a local double or LocalStack, the endpoints of an
 * environment, written once at the top of the workflow (`aws:`) or per environment
 * (`environments.NAME.aws`, which replaces it), shared by the AWS targets, routers, probes and
 * metrics. Credentials never appear here: they come from the standard AWS environment variables,
 * the web identity token file (GitHub OIDC), a profile or the instance's role.
 */
export const name = 'aws';

/** The AWS services rollgate calls, by the key of their endpoint override. */
export const AWS_SERVICES = ['ecs', 'elbv2', 'cloudwatch', 'rds', 'servicequotas'] as const;
export type AwsService = (typeof AWS_SERVICES)[number];

const url = z.url({ protocol: /^https?$/ });

export const settingsSchema = z
  .strictObject({
    region: z.string().min(1).optional().describe('AWS region of the resources (default: AWS_REGION, else AWS_DEFAULT_REGION)'),
    profile: z.string().min(1).optional().describe('Shared config/credentials profile to use (default: AWS_PROFILE, else the default chain)'),
    endpoint: url.optional().describe('One endpoint URL for every AWS service (LocalStack, a local double); default: the public AWS endpoints'),
    endpoints: z
      .strictObject(Object.fromEntries(AWS_SERVICES.map((s) => [s, url.optional().describe(`Endpoint URL of ${s} only`)])) as Record<AwsService, z.ZodOptional<typeof url>>)
      .optional()
      .describe('An endpoint URL per service (ecs, elbv2, cloudwatch, rds, servicequotas), over `endpoint`'),
  })
  .describe('How rollgate reaches AWS (region, profile, endpoints); credentials come from the standard AWS sources,');
export type AwsSettings = z.output<typeof settingsSchema>;

/** The settings of an environment, defaults applied when the workflow has no `aws` block. */
export function settingsOf(raw: unknown): AwsSettings {
  return (raw as AwsSettings | undefined) ?? settingsSchema.parse({});
}
