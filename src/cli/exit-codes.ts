import { CommanderError } from 'commander';
import { isCapsuleError, type ErrorCode } from '../errors.js';

export const EXIT_OK = 0;
export const EXIT_CHECK_FAILED = 1;
export const EXIT_USAGE = 2;

/** Codes that mean "something is wrong" rather than "you asked wrongly". */
const CHECK_FAILURES: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'CHECK_FAILED',
  'HOME_IN_USE',
  'KEY_MISMATCH',
  'OAUTH_UNREACHABLE',
  'OAUTH_REJECTED',
  'OAUTH_BAD_RESPONSE',
  'OIDC_UNREACHABLE',
  'OIDC_LOGIN_FAILED',
  'REPOSITORY_UNAVAILABLE',
  'REPLICATION_FAILED',
  'FARM_MEMBER_UNREACHABLE',
  'FARM_LOCKED',
  'INTERNAL',
]);

/** The one place where errors become exit codes. */
export function exitCodeOf(error: unknown): number {
  if (error instanceof CommanderError) return error.exitCode === 0 ? EXIT_OK : EXIT_USAGE;
  if (isCapsuleError(error)) return CHECK_FAILURES.has(error.code) ? EXIT_CHECK_FAILED : EXIT_USAGE;
  return EXIT_CHECK_FAILED;
}

/** One line: what is wrong and, where the error says it, what to do. */
export function messageOf(error: unknown): string {
  if (error instanceof CommanderError) {
    return `capsule: ${error.message.replace(/^error: /, '')}; see --help`;
  }
  if (isCapsuleError(error)) return `capsule: ${error.message}`;
  return `capsule: unexpected error: ${error instanceof Error ? error.message : String(error)}`;
}

export function jsonOf(error: unknown): { error: { code: string; message: string } } {
  const code = isCapsuleError(error) ? error.code : error instanceof CommanderError ? 'INVALID_ARGUMENT' : 'INTERNAL';
  return { error: { code, message: messageOf(error).replace(/^capsule: /, '') } };
}
