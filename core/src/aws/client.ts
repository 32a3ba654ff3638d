import { ProviderError } from '../errors.js';
import type { ProviderDeps } from '../ports/provider-deps.js';
import type { StepContext } from '../ports/step-context.js';
import { callWithRetry } from '../cloud/retrying.js';
import { type AwsService, settingsOf } from './family.js';
import { awsError } from './problems.js';

/*
 * One SDK client per provider and service, made at the first call (the package is loaded then, so
 * a run that uses no AWS never pays for it) and kept; a failed attempt is not kept. The SDK's own
 * retries are off: they sleep on the wall clock and log nothing, while `awsSend` retries through
 * the step's clock and says so in the log.
 */

/**
 * An SDK package's exports, imported lazily. Node reads the package's CommonJS build and offers its
 * names; a bundle (the CLI, the Action) offers the same object under `default` only, as esbuild
 * cannot see the names of those files: either way the caller gets the names.
 */
export async function sdk<M extends object>(imported: Promise<M>): Promise<M> {
  const m = await imported;
  const inner = (m as { default?: unknown }).default;
  const onlyDefault = Object.keys(m).every((k) => k === 'default' || k === 'module.exports');
  return onlyDefault && inner !== null && typeof inner === 'object' ? (inner as M) : m;
}

/** The configuration every AWS SDK v3 client accepts, as rollgate sets it. */
export interface AwsClientConfig {
  region: string;
  endpoint?: string;
  credentials: unknown;
  maxAttempts: number;
}

/** An SDK client: `send` with an abort signal. */
export interface SdkClient {
  // The SDK's command and output types differ per service; `awsSend` keeps the caller's own.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  send(command: any, options?: { abortSignal?: AbortSignal }): Promise<any>;
  destroy?(): void;
}

// Each SDK client types its config precisely (its own credential and endpoint types); this is the common part.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type ClientClass<C extends SdkClient> = new (config: any) => C;

/** An SDK command, by the output its middleware resolves to (how the SDK itself types `send`). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type SdkCommand<O> = { resolveMiddleware(...args: any[]): (args: any) => Promise<{ output: O }> };

/** A lazily made client of `service` for one provider; `load` imports the SDK package. */
export function awsClient<C extends SdkClient>(deps: ProviderDeps, service: AwsService, load: () => Promise<ClientClass<C>>): (ctx: StepContext) => Promise<C> {
  let client: Promise<C> | undefined;
  return async (ctx) => {
    client ??= (async () => new (await load())(await clientConfig(deps.settings('aws'), service, ctx.env)))().catch((err: unknown) => {
      client = undefined;
      throw err;
    });
    return ctx.clock.hold ? ctx.clock.hold(client) : client;
  };
}

/** The region, endpoint and credentials of `service` from the `aws` settings and the runner's environment. */
export async function clientConfig(raw: unknown, service: AwsService, env: Record<string, string>): Promise<AwsClientConfig> {
  const settings = settingsOf(raw);
  const region = settings.region ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION;
  if (!region) throw new ProviderError(`${service}: no AWS region: set \`aws.region\` in the workflow, or AWS_REGION in the environment`, { nothingChanged: true });
  const upper = service.toUpperCase();
  const endpoint = settings.endpoints?.[service] ?? settings.endpoint ?? env[`AWS_ENDPOINT_URL_${upper}`] ?? env.AWS_ENDPOINT_URL;
  return { region, ...(endpoint ? { endpoint } : {}), credentials: await credentialsFrom(settings.profile, env, region), maxAttempts: 1 };
}

/**
 * The standard sources, read from the step's environment (not the process's): keys in variables
 * (what aws-actions/configure-aws-credentials exports), a web identity token file with a role
 * (EKS, GitHub OIDC written to a file), else the SDK's default chain (profiles, SSO, container and
 * instance roles), which reads the process's own environment and files.
 */
async function credentialsFrom(profile: string | undefined, env: Record<string, string>, region: string): Promise<unknown> {
  if (env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY && !profile) {
    return { accessKeyId: env.AWS_ACCESS_KEY_ID, secretAccessKey: env.AWS_SECRET_ACCESS_KEY, ...(env.AWS_SESSION_TOKEN ? { sessionToken: env.AWS_SESSION_TOKEN } : {}) };
  }
  const providers = await sdk(import('@aws-sdk/credential-providers'));
  if (env.AWS_WEB_IDENTITY_TOKEN_FILE && env.AWS_ROLE_ARN && !profile) {
    return providers.fromTokenFile({
      webIdentityTokenFile: env.AWS_WEB_IDENTITY_TOKEN_FILE,
      roleArn: env.AWS_ROLE_ARN,
      roleSessionName: env.AWS_ROLE_SESSION_NAME ?? 'rollgate',
      clientConfig: { region },
    });
  }
  const chosen = profile ?? env.AWS_PROFILE;
  return providers.fromNodeProviderChain(chosen ? { profile: chosen } : {});
}

export interface SendOptions {
  /** The provider's name, first in messages (`ecs`, `alb`). */
  service: string;
  /** What the call does: "update the service web". */
  what: string;
  ctx: StepContext;
  attempts?: number;
}

/** Sends `command`, held on the step's clock, retried when AWS throttles or fails, mapped to a `CloudError`. */
export async function awsSend<T>(client: SdkClient, command: SdkCommand<T>, options: SendOptions): Promise<T> {
  const { ctx } = options;
  return callWithRetry(
    async () => {
      const call = client.send(command, { abortSignal: ctx.signal }) as Promise<T>;
      try {
        return await (ctx.clock.hold ? ctx.clock.hold(call) : call);
      } catch (err) {
        if (ctx.signal.aborted) throw ctx.signal.reason;
        throw awsError(err, options.service, options.what);
      }
    },
    { service: options.service, what: options.what, ctx, ...(options.attempts !== undefined ? { attempts: options.attempts } : {}) },
  );
}
