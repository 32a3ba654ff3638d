import { createVerify, randomBytes } from 'node:crypto';
import { GoogleFault, OAuthFault } from './errors.js';

/*
 * The token side of the Google double: the OAuth 2.0 token endpoint (the jwt-bearer grant of a
 * service account key, whose RS256 signature is checked with the key's public key; the
 * refresh_token grant of an authorized user), the STS token exchange of workload identity
 * federation, IAM Credentials' generateAccessToken, the metadata server, and a GitHub-like OIDC
 * endpoint that hands out the subject token. Access tokens last an hour of the double's clock.
 */

export interface TokenOptions {
  now: () => number;
  /** Where the double listens: the `aud` a signed assertion must carry is `${url}/token`. */
  url: () => string;
}

export class Tokens {
  /** Public keys (PEM) of the service accounts, by client_email. */
  readonly keys = new Map<string, string>();
  /** Refresh tokens of authorized users, by client_id. */
  readonly users = new Map<string, { secret: string; refreshToken: string }>();
  /** Subject tokens the STS accepts, with the pool audience each is good for. */
  readonly subjects = new Map<string, string>();
  /** The bearer token of the OIDC endpoint (what ACTIONS_ID_TOKEN_REQUEST_TOKEN is to GitHub). */
  oidcRequestToken = `oidc-request-${randomBytes(6).toString('hex')}`;
  /** Service accounts a federated token may impersonate. */
  readonly impersonable = new Set<string>();
  /** Every access token handed out, with its expiry and whether it is revoked. */
  private readonly issued = new Map<string, { expiresAt: number; revoked: boolean; federated: boolean; scopes: string[] }>();
  /** Grants refused from now on (a key deleted, a pool disabled): every token exchange answers 400 invalid_grant. */
  refuseGrants = false;
  /** Tokens handed out (each exchange), for tests that count refreshes. */
  granted = 0;

  constructor(private readonly options: TokenOptions) {}

  /** A new access token good for `seconds` of the double's clock. */
  private issue(seconds = 3600, federated = false, scopes: string[] = [CLOUD_PLATFORM]): { token: string; expiresIn: number } {
    const token = `ya29.double-${randomBytes(12).toString('hex')}`;
    this.issued.set(token, { expiresAt: this.options.now() + seconds * 1000, revoked: false, federated, scopes });
    this.granted += 1;
    return { token, expiresIn: seconds };
  }

  /** Whether `token` may call the APIs now (a federated token without impersonation may as well). */
  valid(token: string | undefined): boolean {
    const t = token === undefined ? undefined : this.issued.get(token);
    return t !== undefined && !t.revoked && this.options.now() < t.expiresAt;
  }

  /** Whether `token` carries the cloud-platform scope the double's APIs need (Google answers 403 otherwise). */
  scoped(token: string | undefined): boolean {
    return (token === undefined ? undefined : this.issued.get(token))?.scopes.includes(CLOUD_PLATFORM) ?? false;
  }

  /** Every token handed out is refused from now on; with `refuseGrants`, no new one is handed out either. */
  revokeAll(refuseGrants = false): void {
    for (const t of this.issued.values()) t.revoked = true;
    this.refuseGrants = refuseGrants;
  }

  /** Every access token handed out so far (to check none leaks into events). */
  all(): string[] {
    return [...this.issued.keys()];
  }

  /** POST /token: jwt-bearer and refresh_token grants. */
  oauth(form: URLSearchParams): unknown {
    if (this.refuseGrants) throw new OAuthFault(400, 'invalid_grant', 'Invalid grant: account not found');
    const grant = form.get('grant_type');
    if (grant === 'urn:ietf:params:oauth:grant-type:jwt-bearer') return this.jwtBearer(form.get('assertion') ?? '');
    if (grant === 'refresh_token') {
      const user = this.users.get(form.get('client_id') ?? '');
      if (!user || user.secret !== form.get('client_secret')) throw new OAuthFault(401, 'invalid_client', 'The OAuth client was not found.');
      if (user.refreshToken !== form.get('refresh_token')) throw new OAuthFault(400, 'invalid_grant', 'Token has been expired or revoked.');
      const { token, expiresIn } = this.issue();
      return { access_token: token, expires_in: expiresIn, token_type: 'Bearer', scope: 'https://www.googleapis.com/auth/cloud-platform' };
    }
    throw new OAuthFault(400, 'unsupported_grant_type', `Invalid grant_type: ${grant ?? ''}`);
  }

  private jwtBearer(assertion: string): unknown {
    const [head, payload, signature] = assertion.split('.');
    if (!head || !payload || !signature) throw new OAuthFault(400, 'invalid_grant', 'Invalid JWT: Token must be a short-lived token and in a reasonable timeframe');
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { iss?: string; aud?: string; exp?: number; iat?: number; scope?: string };
    const header = JSON.parse(Buffer.from(head, 'base64url').toString('utf8')) as { alg?: string };
    const key = this.keys.get(claims.iss ?? '');
    if (!key) throw new OAuthFault(400, 'invalid_grant', 'Invalid grant: account not found');
    if (header.alg !== 'RS256') throw new OAuthFault(400, 'invalid_grant', 'Invalid JWT: unsupported algorithm');
    const verified = createVerify('RSA-SHA256').update(`${head}.${payload}`).verify(key, Buffer.from(signature, 'base64url'));
    if (!verified) throw new OAuthFault(400, 'invalid_grant', 'Invalid JWT Signature.');
    const now = Math.floor(this.options.now() / 1000);
    if (claims.aud !== `${this.options.url()}/token`) throw new OAuthFault(400, 'invalid_grant', 'Invalid JWT: aud is not the token endpoint');
    if (typeof claims.exp !== 'number' || typeof claims.iat !== 'number' || claims.exp <= now || claims.iat > now + 300) {
      throw new OAuthFault(400, 'invalid_grant', 'Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. Check your iat and exp values in the JWT claim.');
    }
    // Google checks the scope claim: none (or one it does not know) is refused.
    const scopes = scopesOf(claims.scope);
    if (scopes === undefined) throw new OAuthFault(400, 'invalid_scope', 'Invalid OAuth scope or ID token audience provided.');
    const { token, expiresIn } = this.issue(3600, false, scopes);
    return { access_token: token, expires_in: expiresIn, token_type: 'Bearer' };
  }

  /** POST /v1/token (STS): the token exchange of workload identity federation. */
  sts(form: URLSearchParams): unknown {
    if (this.refuseGrants) throw new OAuthFault(400, 'invalid_grant', 'The audience in ID Token does not match the expected audience.');
    if (form.get('grant_type') !== 'urn:ietf:params:oauth:grant-type:token-exchange') throw new OAuthFault(400, 'unsupported_grant_type', 'Unsupported grant type');
    // What STS checks before the token itself: the token types and the scope.
    if (!SUBJECT_TYPES.includes(form.get('subject_token_type') ?? '')) {
      throw new OAuthFault(400, 'invalid_request', `Invalid value for "subject_token_type". Supported values are: ${SUBJECT_TYPES.join(', ')}.`);
    }
    if (form.get('requested_token_type') !== ACCESS_TOKEN_TYPE) throw new OAuthFault(400, 'invalid_request', `Invalid value for "requested_token_type". Expected "${ACCESS_TOKEN_TYPE}".`);
    const scopes = scopesOf(form.get('scope') ?? undefined);
    if (scopes === undefined) throw new OAuthFault(400, 'invalid_scope', 'The scope is missing or invalid: request https://www.googleapis.com/auth/cloud-platform.');
    const audience = this.subjects.get(form.get('subject_token') ?? '');
    if (audience === undefined) throw new OAuthFault(400, 'invalid_grant', 'ID Token issued at 0 is stale to sign-in.');
    if (audience.replace(/^https:/, '') !== (form.get('audience') ?? '').replace(/^https:/, '')) throw new OAuthFault(400, 'invalid_target', 'The target service indicated by the "audience" parameters is invalid.');
    const { token, expiresIn } = this.issue(3600, true, scopes);
    return { access_token: token, issued_token_type: ACCESS_TOKEN_TYPE, token_type: 'Bearer', expires_in: expiresIn };
  }

  /** POST /v1/projects/-/serviceAccounts/SA:generateAccessToken with a federated bearer token. */
  generateAccessToken(serviceAccount: string, bearer: string | undefined): unknown {
    if (!this.valid(bearer)) throw new GoogleFault(401, 'UNAUTHENTICATED', 'Request had invalid authentication credentials.');
    if (!this.impersonable.has(serviceAccount)) throw new GoogleFault(403, 'PERMISSION_DENIED', `Permission 'iam.serviceAccounts.getAccessToken' denied on resource (or it may not exist).`);
    const { token, expiresIn } = this.issue();
    return { accessToken: token, expireTime: new Date(Date.now() + expiresIn * 1000).toISOString() };
  }

  /** GET the metadata server's token (only with Metadata-Flavor: Google). */
  metadata(flavor: string | undefined): unknown {
    if (flavor !== 'Google') throw new GoogleFault(403, 'PERMISSION_DENIED', 'Missing Metadata-Flavor:Google header.');
    const { token, expiresIn } = this.issue();
    return { access_token: token, expires_in: expiresIn, token_type: 'Bearer' };
  }

  /** GET /oidc?audience=…: GitHub's ID token endpoint; the token becomes a subject the STS accepts for `audience`. */
  oidc(bearer: string | undefined, audience: string): unknown {
    if (bearer !== this.oidcRequestToken) throw new GoogleFault(401, 'UNAUTHENTICATED', 'bad request token');
    const value = `eyJoaWRkZW4iOiJvaWRjIn0.${randomBytes(12).toString('hex')}`;
    this.subjects.set(value, audience);
    return { value };
  }
}

const CLOUD_PLATFORM = 'https://www.googleapis.com/auth/cloud-platform';
const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';
/** The subject token types Google's STS accepts. */
const SUBJECT_TYPES = [
  'urn:ietf:params:oauth:token-type:jwt',
  'urn:ietf:params:oauth:token-type:id_token',
  'urn:ietf:params:aws:token-type:aws4_request',
  'urn:ietf:params:oauth:token-type:saml2',
  ACCESS_TOKEN_TYPE,
];

/** The space-separated scopes asked for, or `undefined` when none is, or one is not a Google scope URL. */
function scopesOf(scope: string | undefined): string[] | undefined {
  const scopes = (scope ?? '').split(' ').filter((x) => x !== '');
  return scopes.length > 0 && scopes.every((x) => x.startsWith('https://www.googleapis.com/auth/')) ? scopes : undefined;
}
