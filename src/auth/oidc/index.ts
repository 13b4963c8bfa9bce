export { createOidcLogin, mappedGroups, OidcLoginError } from './oidc-login.js';
export type { BegunLogin, CompletedLogin, OidcCheckResult, OidcLogger, OidcLogin, OidcLoginDeps } from './oidc-login.js';
export { checkProviderName, ID_TOKEN_ALGS, OIDC_PID, oidcComponent, oidcPid, oidcSettings, parseGroupMap, providerNameOf } from './oidc-config.js';
export type { IdTokenAlg, OidcSettings } from './oidc-config.js';
export { describeOidcSecret, revealOidcSecret } from './client-secret.js';
export { LOGIN_STATE_COOKIE, LOGIN_STATE_LIFETIME_S } from './login-state.js';
export { createProvisioner, MAX_PROVISIONED_GROUPS } from './provisioning.js';
export type { ProvisioningClaim, Provisioner, ProvisionerLogger } from './provisioning.js';
export { watchOidcChecks, oidcCheck } from './health-checks.js';
