/**
 * Sessions: one record per sign-in (password, OpenID Connect, SAML, the transport user), shared by
 * the members of a farm through its farm store (`capsule.farm.store`; else the instance's own
 * repository). A token names its session (`sid`); revoking a session makes every member refuse its
 * tokens, offline: each member holds the set of revoked, unexpired session ids in memory
 * (revocation-set.ts), pushed to it by the store.
 */

/** How the session's user signed in. */
export type SignInMethod = 'password' | 'oidc' | 'saml' | 'transport';

/** Why a session ended before its end. */
export type SessionEndReason = 'revoked' | 'limit' | 'password-changed' | 'user-disabled' | 'user-deleted' | 'logged-out';

/** What a handler knows at sign-in, besides the user. */
export interface SignInDetails {
  readonly method: SignInMethod;
  /** The OpenID Connect or SAML provider's name. */
  readonly provider?: string;
  /** The client's address as the instance sees it (after trusted proxies). */
  readonly clientAddress: string;
  /** The raw User-Agent header ('' when none); kept at most 512 characters. */
  readonly userAgent: string;
}

export interface SessionRecord {
  /** 22 base64url characters (128 random bits): what tokens carry as `sid`. */
  readonly id: string;
  readonly userId: string;
  readonly createdAtMs: number;
  /** Coarse: written at most once per `lastSeenIntervalMs` (sessions-config.ts), never per request. */
  readonly lastSeenAtMs: number;
  /** When its tokens can no longer be refreshed: the session's end, unless revoked before. */
  readonly expiresAtMs: number;
  readonly method: SignInMethod;
  readonly provider: string | null;
  readonly clientAddress: string;
  readonly userAgent: string;
  /** The instance that issued it (its member name). */
  readonly instance: string;
  /** The user's token generation when it was created (a later generation ended it: logged out everywhere). */
  readonly generation: number;
  /** Set once it was ended; a revoked record stays until `expiresAtMs`, so every member keeps refusing its tokens. */
  readonly endedAtMs: number | null;
  readonly endReason: SessionEndReason | null;
  /** Who ended it (a user id, 'system' for the limit or a user change). */
  readonly endedBy: string | null;
}

/** A revoked session's id and when the tokens it names have all expired (then it leaves the set). */
export interface RevokedSession {
  readonly id: string;
  readonly expiresAtMs: number;
}

/**
 * Where sessions live: PostgreSQL (the farm store's database) or the instance's repository. One
 * contract test suite runs against both (test/sessions/session-store-contract.ts).
 */
export interface SessionStore {
  readonly backend: 'postgres' | 'repository';
  /** Where it is, safe to show. */
  readonly location: string;
  /**
   * Stores a new session and, when `maxPerUser` > 0, ends (reason 'limit', by 'system') the
   * user's oldest live sessions beyond it, atomically for the farm: two sign-ins at once never
   * leave more than the limit. Returns the sessions it ended.
   */
  create(record: SessionRecord, maxPerUser: number): Promise<{ readonly ended: readonly RevokedSession[] }>;
  get(id: string): Promise<SessionRecord | null>;
  /** The user's sessions, live and ended, unexpired, newest first (an index by user: the cost does not grow with all sessions). */
  listByUser(userId: string, nowMs: number): Promise<SessionRecord[]>;
  /** Sets `lastSeenAtMs` (one write; callers decide when it is due). */
  touch(id: string, lastSeenAtMs: number): Promise<void>;
  /**
   * Pushes a live session's end back to `expiresAtMs` (never earlier): a refreshed token outlives
   * the one before, and a revoked id must stay held until the last token naming it has expired.
   */
  extend(id: string, expiresAtMs: number): Promise<void>;
  /**
   * Ends sessions that are live (not ended, unexpired), telling every member (push). Returns the
   * ones it ended; an id already ended or unknown is left out. With `holdUntilMs`, an ended
   * record is kept (and its id held by every member) until at least then: a token renewed by a
   * request racing the end, whose extension the store never wrote, lives past the record's end.
   */
  end(ids: readonly string[], reason: SessionEndReason, endedBy: string, nowMs: number, holdUntilMs?: number): Promise<RevokedSession[]>;
  /**
   * Records ends made elsewhere (a publish told by its author's replication): each id is held as
   * ended until its `expiresAtMs`, whether or not this store has a record of it (a live record is
   * ended, reason 'revoked' by 'replication'), and pushed like an end. Idempotent: an id already
   * held at least that long is left out. Returns the ones it recorded now.
   */
  remember(sessions: readonly RevokedSession[], nowMs: number): Promise<RevokedSession[]>;
  /** Every ended, unexpired session: what a member reads at start and after losing the push. */
  listRevoked(nowMs: number): Promise<RevokedSession[]>;
  /**
   * Told of sessions ended by any member sharing the store, as soon as the store says so
   * (PostgreSQL LISTEN/NOTIFY; the repository's counter watch). `onResync` is called after the
   * feed was lost and is back: the listener must then re-read `listRevoked`. Returns a stop.
   */
  subscribe(listener: RevocationListener): () => void;
  /** Live sessions (not ended, unexpired): the gauge. */
  countLive(nowMs: number): Promise<number>;
  /** Deletes records past their end; the number deleted. */
  removeExpired(nowMs: number): Promise<number>;
  ping(): Promise<void>;
  close(): Promise<void>;
}

export interface RevocationListener {
  revoked(sessions: readonly RevokedSession[]): void;
  /** The feed is up again after a loss (or for the first time): re-read everything. */
  resync(): void;
  /** The feed is lost: keep refusing what is known, say so in the health check. */
  lost(reason: string): void;
}
