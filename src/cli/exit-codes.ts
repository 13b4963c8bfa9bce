import { CommanderError } from 'commander';
import { isCapsuleError, type ErrorCode } from '../errors.js';

export const EXIT_OK = 0;
export const EXIT_CHECK_FAILED = 1;
export const EXIT_USAGE = 2;

/**
 * Every error code's exit status: 1 when something is wrong (a check failed, a peer is away,
 * a bug), 2 when the command was asked wrongly. Exhaustive, so a new code cannot slip through
 * to a default.
 */
const EXIT_CODE_OF: Readonly<Record<ErrorCode, typeof EXIT_CHECK_FAILED | typeof EXIT_USAGE>> = {
  INVALID_ARGUMENT: EXIT_USAGE,
  INVALID_PATH: EXIT_USAGE,
  INVALID_PROPERTY: EXIT_USAGE,
  NODE_NOT_FOUND: EXIT_USAGE,
  NODE_EXISTS: EXIT_USAGE,
  NOT_FOUND: EXIT_USAGE,
  REPOSITORY_SCHEMA_NEWER: EXIT_USAGE,
  REPOSITORY_DAMAGED: EXIT_USAGE,
  REPOSITORY_UNAVAILABLE: EXIT_CHECK_FAILED,
  HOME_UNREADABLE: EXIT_USAGE,
  HOME_IN_USE: EXIT_CHECK_FAILED,
  INSTANCE_NOT_RUNNING: EXIT_CHECK_FAILED,
  INVALID_ID: EXIT_USAGE,
  USER_EXISTS: EXIT_USAGE,
  PASSWORD_POLICY: EXIT_USAGE,
  USER_NOT_FOUND: EXIT_USAGE,
  GROUP_NOT_FOUND: EXIT_USAGE,
  INVALID_CONFIG: EXIT_USAGE,
  CONFIG_NOT_FOUND: EXIT_USAGE,
  KEY_INVALID: EXIT_USAGE,
  KEY_MISSING: EXIT_USAGE,
  KEY_MISMATCH: EXIT_CHECK_FAILED,
  KEY_CONFLICT: EXIT_USAGE,
  PROTECTED_VALUE_INVALID: EXIT_USAGE,
  BUNDLE_INVALID: EXIT_USAGE,
  UNAUTHENTICATED: EXIT_USAGE,
  FORBIDDEN: EXIT_USAGE,
  TOO_MANY_REQUESTS: EXIT_USAGE,
  OAUTH_UNREACHABLE: EXIT_CHECK_FAILED,
  OAUTH_REJECTED: EXIT_CHECK_FAILED,
  OAUTH_BAD_RESPONSE: EXIT_CHECK_FAILED,
  OIDC_UNREACHABLE: EXIT_CHECK_FAILED,
  OIDC_LOGIN_FAILED: EXIT_CHECK_FAILED,
  SAML_METADATA_UNREACHABLE: EXIT_CHECK_FAILED,
  SAML_LOGIN_FAILED: EXIT_CHECK_FAILED,
  SAML_LOGOUT_FAILED: EXIT_CHECK_FAILED,
  REPLICATION_PACKAGE_INVALID: EXIT_USAGE,
  REPLICATION_OUT_OF_ORDER: EXIT_USAGE,
  REPLICATION_FAILED: EXIT_CHECK_FAILED,
  FARM_MEMBER_UNREACHABLE: EXIT_CHECK_FAILED,
  FARM_STORE_UNAVAILABLE: EXIT_CHECK_FAILED,
  SIGN_IN_UNAVAILABLE: EXIT_CHECK_FAILED,
  FARM_LOCKED: EXIT_CHECK_FAILED,
  CHECK_FAILED: EXIT_CHECK_FAILED,
  INTERNAL: EXIT_CHECK_FAILED,
};

/** The one place where errors become exit codes. */
export function exitCodeOf(error: unknown): number {
  if (error instanceof CommanderError) return error.exitCode === 0 ? EXIT_OK : EXIT_USAGE;
  if (isCapsuleError(error)) return EXIT_CODE_OF[error.code];
  return EXIT_CHECK_FAILED;
}

/** One line: what is wrong and, where the error says it, what to do. */
export function messageOf(error: unknown): string {
  if (error instanceof CommanderError) {
    // Commander puts its suggestion on a line of its own ("\n(Did you mean saml?)"): one line here.
    return `capsule: ${error.message.replace(/^error: /, '').replace(/\s*\n\s*/g, ' ')}; see --help`;
  }
  if (isCapsuleError(error)) return `capsule: ${error.message}`;
  return `capsule: unexpected error: ${error instanceof Error ? error.message : String(error)}`;
}

export function jsonOf(error: unknown): { error: { code: string; message: string } } {
  const code = isCapsuleError(error) ? error.code : error instanceof CommanderError ? 'INVALID_ARGUMENT' : 'INTERNAL';
  return { error: { code, message: messageOf(error).replace(/^capsule: /, '') } };
}
