export { createOAuthClients } from './oauth-clients.js';
export type { OAuthClientsDeps } from './oauth-clients.js';
export {
  AUTH_METHODS,
  checkClientName,
  clientNameOf,
  OAUTH_CLIENT_PID,
  oauthClientComponent,
  oauthClientPid,
  oauthClientSettings,
} from './oauth-config.js';
export type { AuthMethod, OAuthClientSettings } from './oauth-config.js';
export { describeClientSecret, revealClientSecret } from './client-secret.js';
export type { SecretDescription } from './client-secret.js';
export { OAuthTokenError } from './token-error.js';
export type { OAuthErrorCode, OAuthErrorDetails } from './token-error.js';
export { DEFAULT_TOKEN_REQUEST_OPTIONS, requestClientCredentials } from './token-request.js';
export type { TokenRequest, TokenRequestOptions, TokenResponse } from './token-request.js';
export { oauthClientCheck, watchOAuthClientChecks } from './health-checks.js';
export type { AccessToken, OAuthCheckResult, OAuthClients } from './types.js';
