/**
 * One error hierarchy for all of Capsule. Every error has a `code` from the table below;
 * `http/` alone maps codes to status codes and `cli/` alone maps them to exit codes.
 */
export const ERROR_CODES = {
  INVALID_ARGUMENT: 'a command-line argument or request field is missing or malformed',
  INVALID_PATH: 'a repository path is not absolute, or has an empty or reserved segment',
  INVALID_PROPERTY: 'a repository property has a value of a type the repository cannot store',
  NODE_NOT_FOUND: 'no repository node at that path or id',
  NODE_EXISTS: 'a repository node already exists at that path',
  NOT_FOUND: 'nothing is served at that method and URL',
  REPOSITORY_SCHEMA_NEWER: 'the repository was written by a newer Capsule',
  REPOSITORY_DAMAGED: 'the repository file is not a Capsule repository, or is damaged',
  REPOSITORY_UNAVAILABLE: 'the repository (PostgreSQL) cannot be reached now, or stayed too busy to commit; try again',
  HOME_UNREADABLE: 'the instance home does not exist or cannot be read',
  HOME_IN_USE: 'another running instance holds the lock of this home (the message names its PID)',
  INSTANCE_NOT_RUNNING: 'no instance is running on this home (capsule stop)',
  INVALID_ID: 'a user or group id is empty, too long, or has characters that do not belong in a path',
  USER_EXISTS: 'a user or group with that id already exists',
  PASSWORD_POLICY: 'a new password is refused by the password policy (capsule.auth.password): too short, too long, or one of the most common passwords',
  USER_NOT_FOUND: 'no user with that id',
  GROUP_NOT_FOUND: 'no group with that id',
  INVALID_CONFIG: 'a configuration value does not fit its schema',
  CONFIG_NOT_FOUND: 'no configuration with that PID',
  KEY_INVALID: 'a key file or key property is malformed',
  KEY_MISSING: 'a key is missing while data protected with it exists',
  KEY_MISMATCH: 'a protected value was encrypted with another key',
  KEY_CONFLICT: 'the operation would replace existing keys with different ones',
  PROTECTED_VALUE_INVALID: 'a protected value is malformed or was tampered with',
  BUNDLE_INVALID: 'a key bundle is damaged or the passphrase is wrong',
  UNAUTHENTICATED: 'no valid login',
  FORBIDDEN: 'the user may not do that',
  TOO_MANY_REQUESTS: 'too many failed logins',
  OAUTH_UNREACHABLE: 'an OAuth token endpoint could not be reached (network error or timeout, after retries)',
  OAUTH_REJECTED: "an OAuth token endpoint refused the grant; the provider's error and error_description say why",
  OAUTH_BAD_RESPONSE: 'an OAuth token endpoint answered with something that is not a token response',
  OIDC_UNREACHABLE: "an OpenID provider's discovery document or keys could not be fetched",
  OIDC_LOGIN_FAILED: 'a sign-in through an OpenID provider was refused or could not be verified (state, code, ID token)',
  SAML_METADATA_UNREACHABLE: "an identity provider's SAML metadata could not be fetched from its URL (unreachable, timeout, HTTP status, too large, redirect to plain http)",
  SAML_LOGIN_FAILED: 'a SAML response was refused (signature, audience, recipient, destination, validity window, request binding, NameID format, structure)',
  SAML_LOGOUT_FAILED: 'a SAML logout message was refused (signature, issuer, destination, validity, request binding, replay)',
  REPLICATION_PACKAGE_INVALID: 'a replication package is malformed, or names something that is never replicated',
  REPLICATION_OUT_OF_ORDER: 'a replication package is not the next one of its source (the answer says which one is expected)',
  REPLICATION_FAILED: 'a replication agent could not deliver to its publish (the publish\'s answer says why)',
  FARM_MEMBER_UNREACHABLE: 'a farm member named in the manifest did not answer (refused, timed out, or not a Capsule instance)',
  FARM_STORE_UNAVAILABLE: 'the farm store (capsule.farm.store, or the repository standing in for it) cannot be reached now',
  SIGN_IN_UNAVAILABLE: 'sign-in is refused while the farm store is away (failure.policy=closed)',
  FARM_LOCKED: 'another farm command holds the farm lock on the author member (the message names who and until when)',
  CHECK_FAILED: 'a check found a problem',
  INTERNAL: 'an unexpected failure',
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export class CapsuleError extends Error {
  override readonly name = 'CapsuleError';
  constructor(
    readonly code: ErrorCode,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

export function isCapsuleError(value: unknown, code?: ErrorCode): value is CapsuleError {
  return value instanceof CapsuleError && (code === undefined || value.code === code);
}
