import type { RevokedSession, SessionEndReason, SessionRecord, SignInDetails } from './types.js';

/** A session as people see it: the record with its user agent parsed, and whether it still works. */
export interface SessionView {
  readonly id: string;
  readonly userId: string;
  readonly createdAt: string;
  readonly lastSeenAt: string;
  readonly expiresAt: string;
  readonly method: SessionRecord['method'];
  readonly provider: string | null;
  readonly clientAddress: string;
  /** e.g. 'Firefox 133', 'Chrome 131'; 'unknown' when the agent says nothing useful. */
  readonly browser: string;
  /** e.g. 'Windows 10', 'iOS 18.1', 'Linux'. */
  readonly os: string;
  /** The raw agent, at most 512 characters. */
  readonly userAgent: string;
  readonly instance: string;
  readonly state: 'active' | 'ended';
  readonly endReason: SessionEndReason | null;
  readonly endedAt: string | null;
  readonly endedBy: string | null;
  /** The session of the request that asked. */
  readonly current: boolean;
}

/** The revocation health: whether this member hears of revocations now. */
export interface RevocationFeedState {
  readonly connected: boolean;
  /** Ids held (revoked, unexpired). */
  readonly held: number;
  /** When it was lost (ms), or null. */
  readonly lostSinceMs: number | null;
  readonly reason: string | null;
  /** The revoked sessions were never read since this start and failure.policy is closed: every token naming a session is refused. */
  readonly refusingAll?: boolean;
  readonly backend: 'postgres' | 'repository';
  readonly location: string;
}

/**
 * The session registry of an instance, built in instance/ from a SessionStore: what the token
 * handler, the HTTP routes, the console and the CLI use.
 */
export interface SessionRegistry {
  /**
   * Records a new session for a sign-in (ending the oldest beyond `session.max.per.user`) and
   * returns its id, to put in the token. Fails with SIGN_IN_UNAVAILABLE when the store cannot be
   * reached and the farm store's failure.policy is closed; with policy open the sign-in goes on
   * with a session id that is not recorded (logged).
   */
  start(user: { readonly id: string; readonly generation: number }, details: SignInDetails, expiresAtMs: number): Promise<string>;
  /**
   * Whether tokens naming this session must be refused. Synchronous and O(1): it sits on every
   * request and never waits on the store.
   */
  isRevoked(sessionId: string): boolean;
  /**
   * Refuses the session's tokens on this member at once, without the store (a logout while the
   * store is away): held as long as a token renewed just before can live.
   */
  endLocally?(sessionId: string): void;
  /** A request of this session was served: writes `lastSeenAt` when the last write is older than the interval (never awaited by the request). */
  seen(sessionId: string, nowMs: number): void;
  /** A refreshed token pushes the session's end back. */
  extended?(sessionId: string, expiresAtMs: number): void;
  /** The user's sessions, the active first, each newest first, at most 100 (LISTED_SESSIONS); `currentId` marked. */
  list(userId: string, currentId?: string | null): Promise<SessionView[]>;
  /**
   * Ends one session of `userId` (the owner check: a session of another user is null, as one that
   * does not exist, so a caller can answer 404 for both). `by` is who asked (for the audit);
   * `reason` defaults to 'revoked' ('logged-out' when the token handler's logout ends it).
   */
  revoke(userId: string, sessionId: string, by: string, reason?: SessionEndReason): Promise<SessionView | null>;
  /**
   * Refuses a session this member may never have recorded until `untilMs` (the end of any token
   * naming it), farm-wide on its store: what `capsule farm sessions revoke` asks of every member,
   * since without a shared store the member that issued a session is the only one that lists it,
   * while its tokens work on all. False when it was already held as ended.
   */
  holdRevoked(userId: string, sessionId: string, untilMs: number, by: string): Promise<boolean>;
  /** Ends every live session of the user except `keepId`; the number ended. */
  revokeOthers(userId: string, keepId: string | null, by: string, reason?: SessionEndReason): Promise<number>;
  /** Ends every live session of the user. */
  revokeAll(userId: string, by: string, reason?: SessionEndReason): Promise<number>;
  /** For the health check. */
  feedState(): RevocationFeedState;
  /** Live sessions (for the gauge), counted on the store. */
  countLive(): Promise<number>;
  removeExpired(): Promise<number>;
  close(): Promise<void>;
}

export type { RevokedSession };
