import type { User } from '../users/index.js';
import type { Authentication, ProvisioningClaim, Session, TokenKind } from './types.js';

/** What a kind puts in a token it issues, besides the user. */
export interface KindIssueOptions {
  readonly provisioning?: ProvisioningClaim;
  /** The session the sign-in started (sessions/). */
  readonly sessionId?: string;
}

/** The session a token named, when the token was good: what logging out ends. */
export interface EndedToken {
  readonly userId: string;
  readonly sessionId: string;
}

/**
 * One kind of token (stateful-kind.ts, encapsulated-kind.ts) as the token handler sees it: the
 * handler tells the kind of a token once and hands it to its kind, which issues, checks, answers
 * from what it keeps, refreshes (the half-life rule, refresh-rule.ts) and ends tokens of its own.
 * Both refuse a token whose session was ended (session-ended.ts), on the full check and the kept path.
 */
export interface TokenKindHandler {
  /** A token for a user some handler has already authenticated; the user is not disabled. */
  issue(user: User, nowMs: number, options: KindIssueOptions): Promise<{ readonly token: string; readonly expiresAt: number }>;
  /**
   * The full check (verification or validation, the session, the user, a refresh when due), or
   * null when the token is refused (logged and audited). Throws when the token could not be checked.
   */
  check(token: string, nowMs: number): Promise<Authentication | null>;
  /** `check` answered from what is kept, without a promise; undefined when that cannot answer, or would refuse. */
  kept(token: string, nowMs: number): Authentication | undefined;
  /** Ends one token; the session it named when it was a good token with one, else null. */
  end(token: string, nowMs: number): Promise<EndedToken | null>;
}

export function sessionOf(user: User, type: TokenKind, expiresAtMs: number, sessionId: string | undefined): Session {
  const token = { type, expiresAt: new Date(expiresAtMs) };
  return sessionId === undefined ? { userId: user.id, groups: user.groups, token } : { userId: user.id, sessionId, groups: user.groups, token };
}
