/** A Google API error as handlers throw it: the HTTP code, the canonical status and a message, as `{error:{code,message,status}}`. */
export class GoogleFault extends Error {
  constructor(
    readonly code: number,
    readonly status: string,
    message: string,
    readonly retryAfter?: number,
  ) {
    super(message);
  }

  body(): unknown {
    return { error: { code: this.code, message: this.message, status: this.status } };
  }
}

export const notFound = (what: string) => new GoogleFault(404, 'NOT_FOUND', `${what} not found.`);
export const invalid = (message: string) => new GoogleFault(400, 'INVALID_ARGUMENT', message);

/** An OAuth token endpoint's error: `{error, error_description}` with HTTP 400 or 401. */
export class OAuthFault extends Error {
  constructor(
    readonly code: number,
    readonly error: string,
    description: string,
  ) {
    super(description);
  }

  body(): unknown {
    return { error: this.error, error_description: this.message };
  }
}
