import { CloudError } from '../cloud/retrying.js';
import { describeRequestError } from '../util/http-fetch.js';

/*
 * What an AWS SDK failure means for a rollout, read off the service exception's name (`__type` /
 * `Code` of the answer) and HTTP status: throttled or failed server side → retried; credentials
 * expired or unknown → the person must renew them; access denied → a permission to grant. The
 * message keeps AWS's own words (they name the action and the ARN) but never a credential.
 */

const THROTTLED = new Set([
  'ThrottlingException',
  'Throttling',
  'ThrottledException',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'RequestThrottled',
  'RequestThrottledException',
  'SlowDown',
  'ProvisionedThroughputExceededException',
  // Not LimitExceededException: in ECS and others it is a hard limit (too many services), which no retry lifts.
]);
const CREDENTIALS = new Set([
  'ExpiredToken',
  'ExpiredTokenException',
  'RequestExpired',
  'UnrecognizedClientException',
  'InvalidClientTokenId',
  'InvalidSignatureException',
  'SignatureDoesNotMatch',
  'AuthFailure',
  'IncompleteSignature',
  'MissingAuthenticationToken',
]);
const DENIED = new Set(['AccessDenied', 'AccessDeniedException', 'UnauthorizedOperation', 'NotAuthorized']);
const SERVER = new Set(['ServerException', 'InternalFailure', 'InternalError', 'ServiceUnavailable', 'ServiceUnavailableException', 'InternalServerError']);

/** The exception's name as AWS sent it (`ThrottlingException`), or `undefined` for a non-AWS error. */
export function awsErrorCode(err: unknown): string | undefined {
  const e = err as { name?: unknown; Code?: unknown; $fault?: unknown; $metadata?: { httpStatusCode?: unknown } } | undefined;
  // The SDK puts $metadata on network errors too; only an answer from AWS has a status or a fault side.
  if (!e || typeof e !== 'object' || (e.$fault === undefined && e.$metadata?.httpStatusCode === undefined)) return undefined;
  return typeof e.Code === 'string' ? e.Code : typeof e.name === 'string' ? e.name : undefined;
}

/** An SDK failure of `what` as a `CloudError` naming the service, retryable where a retry can help. */
export function awsError(err: unknown, service: string, what: string): CloudError {
  if (err instanceof CloudError) return err;
  const prefix = `${service}: cannot ${what}`;
  const e = err as { name?: string; message?: string; $metadata?: { httpStatusCode?: number }; $response?: { headers?: Record<string, string> } };
  if (e?.name === 'CredentialsProviderError' || e?.name === 'ProviderError') {
    return new CloudError(
      `${prefix}: no AWS credentials could be loaded (${oneLine(e.message)}); set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_WEB_IDENTITY_TOKEN_FILE with AWS_ROLE_ARN (GitHub OIDC), or a profile`,
      { cause: err, nothingChanged: true },
    );
  }
  const code = awsErrorCode(err);
  if (code === undefined) {
    if (e?.name === 'AbortError') return new CloudError(`${prefix}: the call was stopped`, { cause: err });
    return new CloudError(`${prefix}: the endpoint is unreachable (${unreachable(err)})`, { retryable: true, unreachable: true, cause: err });
  }
  const status = e.$metadata?.httpStatusCode;
  const said = oneLine(e.message);
  const options = { code, ...(status !== undefined ? { status } : {}), cause: err };
  if (THROTTLED.has(code) || status === 429) return new CloudError(`${prefix}: throttled (${code}): ${said}`, { ...options, retryable: true });
  if (CREDENTIALS.has(code)) {
    return new CloudError(`${prefix}: the credentials were refused (${code}): they may have expired; renew them (the OIDC role session, the CI secret) and run \`rollgate resume\``, options);
  }
  if (DENIED.has(code)) return new CloudError(`${prefix}: access denied (${code}): ${said}; grant the action to the role rollgate runs as`, options);
  if (SERVER.has(code) || (status !== undefined && status >= 500)) return new CloudError(`${prefix}: AWS failed (${code}): ${said}`, { ...options, retryable: true });
  return new CloudError(`${prefix}: ${code}: ${said}`, options);
}

/** The socket's error code and address, as the SDK's node handler reports a failed connection. */
function unreachable(err: unknown): string {
  const e = err as { code?: unknown; message?: unknown };
  if (e?.code === 'ECONNREFUSED') return 'connection refused (nothing listens there)';
  if (typeof e?.code === 'string' && typeof e.message === 'string') return `${e.code}: ${oneLine(e.message)}`;
  return describeRequestError(err);
}

function oneLine(text: string | undefined): string {
  const line = (text ?? '').trim().replace(/\s+/g, ' ');
  return line.length > 300 ? `${line.slice(0, 300)}…` : line || 'no message';
}
