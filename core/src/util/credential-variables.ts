/**
 * The standard environment variables that hold a credential, whichever provider reads them: the
 * clouds' SDKs and CLIs read them by these names, not through a workflow's `*Env` field, so the
 * run masks their values whenever they are set, as it masks the secrets a workflow names. An id
 * (AWS_ACCESS_KEY_ID, AZURE_CLIENT_ID) is not a secret and stays readable in messages.
 */
export const CREDENTIAL_VARIABLES = [
  'AWS_SECRET_ACCESS_KEY',
  'AWS_SESSION_TOKEN',
  'AZURE_CLIENT_SECRET',
  'AZURE_CLIENT_CERTIFICATE_PASSWORD',
  'IDENTITY_HEADER',
  'ACTIONS_ID_TOKEN_REQUEST_TOKEN',
  'CLOUDSDK_AUTH_ACCESS_TOKEN',
  'GOOGLE_OAUTH_ACCESS_TOKEN',
  'DD_API_KEY',
  'DD_APP_KEY',
] as const;
