import type { Clock } from '../clock.js';
import { CapsuleError, isCapsuleError } from '../errors.js';
import type { FailurePolicy } from '../farm-store/index.js';
import type { Log } from '../log.js';
import type { UserManager } from '../users/index.js';
import type { SessionRegistry, SessionView } from './registry-types.js';
import { createRevocationSet } from './revocation-set.js';
import { isSessionId, newSessionId } from './session-id.js';
import { boundedUserAgent, isLive } from './session-record.js';
import { sessionView } from './session-view.js';
import type { SessionsSettings } from './sessions-config.js';
import type { RevokedSession, SessionEndReason, SessionRecord, SessionStore } from './types.js';

export interface SessionMetrics {
  /** Sessions ended, by reason (a counter). */
  sessionsEnded(reason: SessionEndReason, count: number): void;
}

export interface SessionRegistryDeps {
  readonly store: SessionStore;
  readonly clock: Clock;
  /** `capsule.auth.sessions`, read at each use (changes apply live). */
  readonly settings: () => SessionsSettings;
  /**
   * The farm store's `failure.policy`: what a sign-in does while the store is away, and what a
   * member does before it could first read the revoked sessions (closed: refuses every session).
   */
  readonly failurePolicy: () => FailurePolicy;
  /** This instance's member name (recorded as the session's `instance`). */
  readonly member: () => string;
  /**
   * The longest a token lives (`capsule.auth.token` token.expiration, read at each use): an ended
   * id is held at least that long after the end. Default: that setting's default, 12 hours.
   */
  readonly tokenLifetimeMs?: () => number;
  /** The audit trail: session-created, session-ended, sessions-expired (never a token). */
  readonly audit: Log;
  readonly logger: Log;
  /** Marks a user's sessions ended in lists once the user is deleted, disabled or of another generation. */
  readonly users?: Pick<UserManager, 'getUser'>;
  readonly metrics?: SessionMetrics;
  /** How often expired ids leave the set (default 60 s; the set also drops one lazily when asked). */
  readonly sweepIntervalMs?: number;
  /** How many sessions' last write of `lastSeenAt` are remembered (default 100,000; the oldest go first). */
  readonly maxSeenEntries?: number;
  /**
   * Subscribe to the store's ends (default true). A command that lists or ends sessions and exits
   * (`capsule sessions …` on a home) passes false: it refuses no tokens, so it needs no push.
   */
  readonly listen?: boolean;
  /** How soon a failed re-read of the revoked sessions is tried again, doubling (default 1 s up to 30 s). */
  readonly resyncRetry?: { readonly initialMs: number; readonly maxMs: number };
  /** Told whenever the revocation feed goes up or down (health, logs, tests). */
  readonly onFeedChange?: (connected: boolean) => void;
  /**
   * Told of the sessions this registry ended (revoke, revoke-all, revoke-others, logout, the
   * limit), once the end committed and before the call returns: an author passes them to its
   * publishes (replication). A failure is logged; the end stands.
   */
  readonly onEnded?: (ended: readonly RevokedSession[]) => Promise<void> | void;
  /** Told of every push of ended sessions from the store, once held (a propagation benchmark's end, tests). */
  readonly onRevokedHeard?: (sessions: readonly RevokedSession[]) => void;
}

/**
 * Added to the token lifetime for how long an ended id is held: members' clocks differ, and a push
 * or a renewal's write may arrive late.
 */
export const HOLD_MARGIN_MS = 2 * 60_000;

/** The most sessions a list shows (the active first): a user signing in in a loop does not make a page of thousands. */
export const LISTED_SESSIONS = 100;

/** The registry, and what the composition root and tests may wait for. */
export interface LiveSessionRegistry extends SessionRegistry {
  /** Resolves once the revoked ids were first read (or that read failed, the feed then marked lost). */
  synced(): Promise<void>;
}

/**
 * An instance's sessions: records on the store, and the revoked ids held in memory (filled at start
 * and at every resync, added to by the store's pushes and at once by this member's own ends). The
 * registry owns the store: `close` closes it.
 */
export function createSessionRegistry(deps: SessionRegistryDeps): LiveSessionRegistry {
  const { store, clock, audit, logger } = deps;
  const revoked = createRevocationSet({ clock });
  const lastWritten = new Map<string, number>();
  // The end last written per session. A renewed token is answered until its client sends it, which
  // may be many requests (a script that ignores Set-Cookie): each would write. So an extension
  // writes the token's end plus one last-seen interval, and the tokens renewed before that end
  // write nothing; the record's end is never before the end of a token naming it, so a revoked
  // id stays in every member's set for as long as any of its tokens works.
  const extendedTo = new Map<string, number>();
  const maxSeenEntries = deps.maxSeenEntries ?? 100_000;
  let touchFailing = false;
  let closed = false;
  // Until the revoked sessions were read once, a member cannot know which sessions were ended
  // (restarted while the store is away): failure.policy closed refuses every session then.
  let everRead = deps.listen === false;
  const refusingAll = () => !everRead && deps.failurePolicy() === 'closed';
  /** Until when an id ended now stays held: the longest a token renewed just before can live. */
  const tokenLifetimeMs = deps.tokenLifetimeMs ?? (() => 43_200_000);
  const holdUntil = (nowMs: number) => nowMs + tokenLifetimeMs() + HOLD_MARGIN_MS;
  /** What the store says (a push, a re-read) is capped: anyone who can NOTIFY on its database could otherwise fill the set for ever. */
  const capped = (sessions: readonly RevokedSession[]) => {
    const limit = holdUntil(clock.now());
    return sessions.map((session) => (session.expiresAtMs > limit ? { id: session.id, expiresAtMs: limit } : session));
  };

  let markSynced: () => void = () => undefined;
  const firstSync = new Promise<void>((resolve) => (markSynced = resolve));
  let resyncs = 0;

  const retry = deps.resyncRetry ?? { initialMs: 1000, maxMs: 30_000 };
  let retryMs = retry.initialMs;
  let retryTimer: NodeJS.Timeout | undefined;

  function resync(): void {
    const attempt = ++resyncs;
    clearTimeout(retryTimer);
    store.listRevoked(clock.now()).then(
      (sessions) => {
        retryMs = retry.initialMs;
        revoked.add(capped(sessions));
        everRead = true;
        // A later resync began meanwhile: it marks the feed once it has read.
        if (attempt === resyncs && !closed) {
          const wasConnected = revoked.state().connected;
          revoked.connected();
          if (!wasConnected) {
            logger.info({ sessionStore: store.location, held: revoked.state().held }, 'the revocation feed is up: revocations made on other members are heard');
            deps.onFeedChange?.(true);
          }
        }
        markSynced();
      },
      (error: unknown) => {
        lost(`the revoked sessions cannot be read: ${error instanceof Error ? error.message : String(error)}`);
        markSynced();
        // The push may well be up (only this read failed): without reading again, ends made before would never be held.
        if (attempt !== resyncs || closed) return;
        retryTimer = setTimeout(() => attempt === resyncs && !closed && resync(), retryMs);
        retryTimer.unref();
        retryMs = Math.min(retryMs * 2, retry.maxMs);
      },
    );
  }

  function lost(why: string): void {
    if (closed) return;
    const wasDown = !revoked.state().connected && revoked.state().lostSinceMs !== null;
    const reason = everRead
      ? why
      : refusingAll()
        ? `${why}; the sessions ended before this start were never read, so every token naming a session is refused until they are (failure.policy=closed)`
        : `${why}; the sessions ended before this start were never read, so their tokens are accepted until they are (failure.policy=open)`;
    revoked.lost(reason);
    if (wasDown) return;
    logger.error({ sessionStore: store.location, held: revoked.state().held }, `the revocation feed is lost (${reason}); revocations made on other members are not heard until it is back, the ${revoked.state().held} known are still refused`);
    deps.onFeedChange?.(false);
  }

  const heard = (sessions: readonly RevokedSession[]) => {
    revoked.add(capped(sessions));
    deps.onRevokedHeard?.(sessions);
  };
  const unsubscribe = deps.listen === false ? () => undefined : store.subscribe({ revoked: heard, resync, lost });
  if (deps.listen === false) markSynced();
  const sweeper = setInterval(() => revoked.sweep(), deps.sweepIntervalMs ?? 60_000);
  sweeper.unref();

  function remember(sessionId: string, atMs: number): void {
    lastWritten.delete(sessionId); // to the end of the insertion order
    lastWritten.set(sessionId, atMs);
    if (lastWritten.size > maxSeenEntries) lastWritten.delete(lastWritten.keys().next().value!);
  }

  async function ended(userId: string, sessions: readonly RevokedSession[], reason: SessionEndReason, by: string): Promise<void> {
    if (sessions.length === 0) return;
    revoked.add(sessions); // refused here at once, not when the push comes back
    for (const session of sessions) {
      audit.info({ event: 'session-ended', user: userId, session: session.id, reason, by }, 'session ended');
      lastWritten.delete(session.id);
    }
    deps.metrics?.sessionsEnded(reason, sessions.length);
    try {
      await deps.onEnded?.(sessions);
    } catch (error) {
      logger.error({ user: userId, count: sessions.length }, `sessions ended, but not passed on to publishes: ${error instanceof Error ? error.message : String(error)}`);
    }
  }

  async function view(records: readonly SessionRecord[], userId: string, currentId: string | null | undefined): Promise<SessionView[]> {
    const user = deps.users ? await deps.users.getUser(userId) : undefined;
    const nowMs = clock.now();
    return records.map((record) => sessionView(record, { user, currentId, revoked: revoked.has(record.id), nowMs }));
  }

  async function endLive(userId: string, keepId: string | null, by: string, reason: SessionEndReason): Promise<number> {
    const nowMs = clock.now();
    const ids = (await store.listByUser(userId, nowMs)).filter((record) => record.id !== keepId && isLive(record, nowMs)).map((record) => record.id);
    const sessions = await store.end(ids, reason, by, nowMs, holdUntil(nowMs));
    await ended(userId, sessions, reason, by);
    return sessions.length;
  }

  return {
    synced: () => firstSync,
    async start(user, details, expiresAtMs) {
      const id = newSessionId();
      const nowMs = clock.now();
      const record: SessionRecord = {
        id,
        userId: user.id,
        createdAtMs: nowMs,
        lastSeenAtMs: nowMs,
        expiresAtMs,
        method: details.method,
        provider: details.provider ?? null,
        clientAddress: details.clientAddress,
        userAgent: boundedUserAgent(details.userAgent),
        instance: deps.member(),
        generation: user.generation,
        endedAtMs: null,
        endReason: null,
        endedBy: null,
      };
      let limited: readonly RevokedSession[];
      try {
        ({ ended: limited } = await store.create(record, deps.settings().maxPerUser));
      } catch (error) {
        if (!isCapsuleError(error, 'FARM_STORE_UNAVAILABLE')) throw error;
        if (deps.failurePolicy() === 'closed') {
          throw new CapsuleError('SIGN_IN_UNAVAILABLE', `sign-in is refused while the session store cannot be reached (failure.policy=closed): ${error.message}`, { cause: error });
        }
        logger.warn({ user: user.id, session: id, sessionStore: store.location }, `the session store cannot be reached (${error.message}); the sign-in goes on with a session that is not recorded (failure.policy=open)`);
        return id;
      }
      remember(id, nowMs);
      audit.info({ event: 'session-created', user: user.id, session: id, method: details.method, provider: details.provider ?? null, address: details.clientAddress }, 'session created');
      await ended(user.id, limited, 'limit', 'system');
      return id;
    },
    isRevoked: (sessionId) => revoked.has(sessionId) || refusingAll(),
    endLocally(sessionId) {
      if (isSessionId(sessionId)) revoked.add([{ id: sessionId, expiresAtMs: holdUntil(clock.now()) }]);
    },
    // On every authenticated request: a Map lookup and a cached setting, nothing more.
    seen(sessionId, nowMs) {
      const last = lastWritten.get(sessionId);
      if (last !== undefined && nowMs - last < deps.settings().lastSeenIntervalMs && nowMs >= last) return;
      if (!isSessionId(sessionId)) return;
      remember(sessionId, nowMs); // before the write: requests meanwhile write nothing more
      store.touch(sessionId, nowMs).then(
        () => {
          if (touchFailing) logger.info({ sessionStore: store.location }, 'sessions\' last seen times are written again');
          touchFailing = false;
        },
        (error: unknown) => {
          if (!touchFailing) logger.warn({ sessionStore: store.location }, `a session's last seen time cannot be written (${error instanceof Error ? error.message : String(error)}); said once until it works again`);
          touchFailing = true;
        },
      );
    },
    extended(sessionId, expiresAtMs) {
      if (!isSessionId(sessionId)) return;
      const written = extendedTo.get(sessionId);
      if (written !== undefined && expiresAtMs <= written) return;
      const to = expiresAtMs + deps.settings().lastSeenIntervalMs;
      extendedTo.delete(sessionId);
      extendedTo.set(sessionId, to);
      if (extendedTo.size > maxSeenEntries) extendedTo.delete(extendedTo.keys().next().value!);
      store.extend(sessionId, to).catch((error: unknown) =>
        logger.warn({ sessionStore: store.location, session: sessionId }, `a session's end cannot be pushed back (${error instanceof Error ? error.message : String(error)})`),
      );
    },
    async list(userId, currentId) {
      const views = await view(await store.listByUser(userId, clock.now()), userId, currentId);
      // Stable: newest first within each state, as the store gave them.
      return [...views.filter((session) => session.state === 'active'), ...views.filter((session) => session.state !== 'active')].slice(0, LISTED_SESSIONS);
    },
    async revoke(userId, sessionId, by, reason = 'revoked') {
      if (!isSessionId(sessionId)) return null;
      const record = await store.get(sessionId);
      // Another user's session answers as one that does not exist, and so does one already ended
      // (the caller's 404 "no active session with that id"): nothing ended, nothing told.
      if (record === null || record.userId !== userId || record.endedAtMs !== null) return null;
      const nowMs = clock.now();
      const sessions = await store.end([sessionId], reason, by, nowMs, holdUntil(nowMs));
      if (sessions.length === 0) return null; // ended meanwhile by someone else
      await ended(userId, sessions, reason, by);
      return (await view([{ ...record, endedAtMs: nowMs, endReason: reason, endedBy: by }], userId, null))[0]!;
    },
    async holdRevoked(userId, sessionId, untilMs, by) {
      if (!isSessionId(sessionId)) return false;
      const nowMs = clock.now();
      const held = await store.remember([{ id: sessionId, expiresAtMs: untilMs }], nowMs);
      await ended(userId, held, 'revoked', by);
      return held.length > 0;
    },
    revokeOthers: (userId, keepId, by, reason = 'revoked') => endLive(userId, keepId, by, reason),
    revokeAll: (userId, by, reason = 'revoked') => endLive(userId, null, by, reason),
    feedState: () => ({ ...revoked.state(), refusingAll: refusingAll(), backend: store.backend, location: store.location }),
    countLive: () => store.countLive(clock.now()),
    async removeExpired() {
      revoked.sweep();
      const removed = await store.removeExpired(clock.now());
      if (removed > 0) audit.info({ event: 'sessions-expired', count: removed }, 'expired sessions removed');
      return removed;
    },
    async close() {
      closed = true;
      clearInterval(sweeper);
      clearTimeout(retryTimer);
      unsubscribe();
      await store.close();
    },
  };
}
