import { randomBytes } from 'node:crypto';

/*
 * The identity side of the Azure double: Microsoft Entra ID's token endpoint (client credentials
 * with a secret or a client assertion), the managed identity endpoints (App Service's
 * IDENTITY_ENDPOINT and the instance metadata service) and GitHub's OIDC token request, with the
 * documented answers and refusals (`{error, error_description, error_codes}` with an AADSTS code,
 * trace and correlation ids as Entra ID appends them). Tokens are random and expire on the
 * double's clock; `expireTokens()` makes every one issued so far invalid, as a revoked or lapsed
 * token is.
 */

export interface IdentityOptions {
  tenant?: string;
  clientId?: string;
  clientSecret?: string;
  /** The federated assertion Entra ID accepts (a workload identity file's content, GitHub's token). */
  assertion?: string;
  /** The bearer token GitHub's OIDC request URL wants (ACTIONS_ID_TOKEN_REQUEST_TOKEN). */
  githubRequestToken?: string;
  /** The header value App Service's identity endpoint wants (IDENTITY_HEADER). */
  identityHeader?: string;
  /** Seconds a token lives (default 3600). */
  tokenLifetimeS?: number;
}

export interface Answer {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export const ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

export class Identity {
  readonly tenant: string;
  readonly clientId: string;
  readonly clientSecret: string;
  readonly assertion: string;
  readonly githubRequestToken: string;
  readonly identityHeader: string;
  private readonly lifetimeS: number;
  /** Tokens issued and still honoured, with their expiry on the double's clock. */
  private readonly valid = new Map<string, number>();
  /** Every token ever issued: a test checks none appears where it must not. */
  readonly issued: string[] = [];
  /** Requests for a token refused from now on (a secret revoked, a federated credential removed). */
  refusing: { code: number; error: string; description: string } | undefined;

  constructor(
    options: IdentityOptions,
    private readonly now: () => number,
  ) {
    this.tenant = options.tenant ?? '72f988bf-0000-4000-8000-00000000c0de';
    this.clientId = options.clientId ?? '0a1b2c3d-0000-4000-8000-000000000001';
    this.clientSecret = options.clientSecret ?? `secret~${randomBytes(12).toString('hex')}`;
    this.assertion = options.assertion ?? `eyJhbGciOiJSUzI1NiJ9.${randomBytes(24).toString('base64url')}.sig`;
    this.githubRequestToken = options.githubRequestToken ?? `ghs_${randomBytes(16).toString('hex')}`;
    this.identityHeader = options.identityHeader ?? randomBytes(8).toString('hex');
    this.lifetimeS = options.tokenLifetimeS ?? 3600;
  }

  /** Whether `authorization` carries a token issued here that has not expired. */
  accepts(authorization: string | undefined): 'ok' | 'missing' | 'expired' | 'invalid' {
    const token = /^Bearer (.+)$/i.exec(authorization ?? '')?.[1];
    if (!token) return 'missing';
    const until = this.valid.get(token);
    if (until === undefined) return this.issued.includes(token) ? 'expired' : 'invalid';
    return this.now() < until ? 'ok' : 'expired';
  }

  /** Every token issued so far stops working. */
  expireTokens(): void {
    this.valid.clear();
  }

  /** Entra ID: POST /{tenant}/oauth2/v2.0/token with a client secret or a client assertion. */
  token(tenant: string, form: URLSearchParams): Answer {
    if (tenant !== this.tenant) return aadError(400, 'invalid_request', 90002, `Tenant '${tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.`);
    if (form.get('grant_type') !== 'client_credentials') return aadError(400, 'unsupported_grant_type', 70003, 'The app requested an unsupported grant type.');
    if (!form.get('scope')?.endsWith('/.default')) return aadError(400, 'invalid_scope', 70011, 'The provided value for the input parameter \'scope\' is not valid.');
    if (form.get('client_id') !== this.clientId) {
      return aadError(400, 'unauthorized_client', 700016, `Application with identifier '${form.get('client_id') ?? ''}' was not found in the directory '${this.tenant}'.`);
    }
    if (this.refusing) return aadError(401, this.refusing.error, this.refusing.code, this.refusing.description);
    const assertion = form.get('client_assertion');
    if (assertion !== null) {
      if (form.get('client_assertion_type') !== ASSERTION_TYPE) return aadError(400, 'invalid_request', 90014, "The request body must contain the following parameter: 'client_assertion_type'.");
      if (assertion !== this.assertion) {
        return aadError(400, 'invalid_client', 700213, 'No matching federated identity record found for presented assertion subject. Please check your federated identity credential Subject, Audience and Issuer against the presented assertion.');
      }
      return this.issue({ expires_in: this.lifetimeS, ext_expires_in: this.lifetimeS });
    }
    if (form.get('client_secret') !== this.clientSecret) {
      return aadError(401, 'invalid_client', 7000215, `Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '${this.clientId}'.`);
    }
    return this.issue({ expires_in: this.lifetimeS, ext_expires_in: this.lifetimeS });
  }

  /** The instance metadata service (Metadata: true) or App Service's identity endpoint (X-IDENTITY-HEADER). */
  managedIdentity(query: URLSearchParams, headers: Record<string, string | string[] | undefined>, style: 'imds' | 'app-service'): Answer {
    if (style === 'imds' && headers.metadata !== 'true') return { status: 400, body: { error: 'invalid_request', error_description: 'Required metadata header not specified' } };
    if (style === 'app-service' && headers['x-identity-header'] !== this.identityHeader) return { status: 401, body: { statusCode: 401, message: 'Unauthorized request' } };
    if (!query.get('resource')) return { status: 400, body: { error: 'invalid_request', error_description: 'Required query variable \'resource\' is missing' } };
    if (this.refusing) return { status: 400, body: { error: 'invalid_request', error_description: 'Identity not found' } };
    const expiresOn = Math.floor(this.now() / 1000) + this.lifetimeS;
    // The instance metadata service answers expires_in and expires_on; App Service's endpoint
    // (api-version 2019-08-01) expires_on only, which credentials must read on their own.
    const expiry = style === 'imds' ? { expires_in: String(this.lifetimeS), expires_on: String(expiresOn) } : { expires_on: String(expiresOn) };
    return this.issue({ ...expiry, resource: query.get('resource') });
  }

  /** GitHub's OIDC token request: the job's request token, audience api://AzureADTokenExchange. */
  github(query: URLSearchParams, authorization: string | undefined): Answer {
    if (authorization !== `Bearer ${this.githubRequestToken}`) return { status: 401, body: { message: 'Bad credentials' } };
    if (query.get('audience') !== 'api://AzureADTokenExchange') return { status: 200, body: { count: 1, value: 'a-token-for-another-audience' } };
    return { status: 200, body: { count: 1, value: this.assertion } };
  }

  private issue(extra: Record<string, unknown>): Answer {
    const token = `eyJ0eXAiOiJKV1Qi.${randomBytes(24).toString('base64url')}.double`;
    this.valid.set(token, this.now() + this.lifetimeS * 1000);
    this.issued.push(token);
    return { status: 200, body: { token_type: 'Bearer', access_token: token, ...extra } };
  }
}

/** Entra ID's refusal, as it reads: the AADSTS code first, trace and correlation ids after. */
export function aadError(status: number, error: string, code: number, description: string): Answer {
  const trace = randomBytes(8).toString('hex');
  return {
    status,
    body: {
      error,
      error_description: `AADSTS${code}: ${description} Trace ID: ${trace} Correlation ID: ${trace} Timestamp: 2026-01-01 00:00:00Z`,
      error_codes: [code],
      timestamp: '2026-01-01 00:00:00Z',
      trace_id: trace,
      correlation_id: trace,
    },
  };
}
