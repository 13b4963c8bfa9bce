import { CapsuleError } from '../errors.js';

export type OAuthErrorCode = 'OAUTH_UNREACHABLE' | 'OAUTH_REJECTED' | 'OAUTH_BAD_RESPONSE';

export interface OAuthErrorDetails {
  /** The HTTP status the token endpoint answered with (null when it could not be reached). */
  readonly httpStatus: number | null;
  /** The provider's `error` and `error_description`, verbatim. */
  readonly error: string | null;
  readonly errorDescription: string | null;
  readonly attempts: number;
}

/** A failed token request; the message never holds the client secret or a token. */
export class OAuthTokenError extends CapsuleError {
  constructor(
    override readonly code: OAuthErrorCode,
    message: string,
    readonly details: OAuthErrorDetails,
    options?: ErrorOptions,
  ) {
    super(code, message, options);
  }
}
