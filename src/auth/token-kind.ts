import type { User } from '../users/index.js';
import type { Authentication, IssueOptions, Session, TokenKind } from './types.js';

/**
 * One kind of token (stateful-kind.ts, encapsulated-kind.ts) as the token handler sees it: the
 * handler tells the kind of a token once and hands it to its kind, which issues, checks, answers
 * from what it keeps, refreshes (the half-life rule, refresh-rule.ts) and ends tokens of its own.
 */
export interface TokenKindHandler {
  /** A token for a user some handler has already authenticated; the user is not disabled. */
  issue(user: User, nowMs: number, options: IssueOptions): Promise<{ readonly token: string; readonly expiresAt: number }>;
  /**
   * The full check (verification or validation, the user, a refresh when due), or null when the
   * token is refused (logged and audited). Throws when the token could not be checked.
   */
  check(token: string, nowMs: number): Promise<Authentication | null>;
  /** `check` answered from what is kept, without a promise; undefined when that cannot answer, or would refuse. */
  kept(token: string, nowMs: number): Authentication | undefined;
  /** Ends one token. */
  end(token: string): Promise<void>;
}

export function sessionOf(user: User, type: TokenKind, expiresAtMs: number): Session {
  return { userId: user.id, groups: user.groups, token: { type, expiresAt: new Date(expiresAtMs) } };
}
