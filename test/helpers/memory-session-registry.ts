import { newSessionId } from '../../src/sessions/index.js';
import type { SessionEndReason, SessionRegistry, SessionView, SignInDetails } from '../../src/sessions/index.js';

interface Held {
  readonly id: string;
  readonly userId: string;
  readonly details: SignInDetails;
  readonly createdAtMs: number;
  lastSeenAtMs: number;
  expiresAtMs: number;
  ended: { readonly reason: SessionEndReason; readonly by: string } | null;
}

/** The registry's simplest implementation, for tests of its callers: one process, in memory, no limit. */
export interface MemorySessionRegistry extends SessionRegistry {
  /** How many times `seen` was called (every valid authentication of a token with a session calls it). */
  seenCalls(): number;
}

const iso = (ms: number) => new Date(ms).toISOString();

export function memorySessionRegistry(clock: { now(): number } = { now: () => Date.now() }): MemorySessionRegistry {
  const sessions = new Map<string, Held>();
  const revoked = new Set<string>();
  let seen = 0;

  const view = (held: Held, currentId: string | null | undefined): SessionView => ({
    id: held.id,
    userId: held.userId,
    createdAt: iso(held.createdAtMs),
    lastSeenAt: iso(held.lastSeenAtMs),
    expiresAt: iso(held.expiresAtMs),
    method: held.details.method,
    provider: held.details.provider ?? null,
    clientAddress: held.details.clientAddress,
    browser: 'unknown',
    os: 'unknown',
    userAgent: held.details.userAgent,
    instance: 'this instance',
    state: held.ended ? 'ended' : 'active',
    endReason: held.ended?.reason ?? null,
    endedAt: null,
    endedBy: held.ended?.by ?? null,
    current: held.id === currentId,
  });

  function end(held: Held, by: string, reason: SessionEndReason): boolean {
    if (held.ended) return false;
    held.ended = { reason, by };
    revoked.add(held.id);
    return true;
  }
  const live = (userId: string) => [...sessions.values()].filter((held) => held.userId === userId && !held.ended);

  return {
    async start(user, details, expiresAtMs) {
      const id = newSessionId();
      const nowMs = clock.now();
      sessions.set(id, { id, userId: user.id, details, createdAtMs: nowMs, lastSeenAtMs: nowMs, expiresAtMs, ended: null });
      return id;
    },
    isRevoked: (sessionId) => revoked.has(sessionId),
    async holdRevoked(_userId, sessionId) {
      if (revoked.has(sessionId)) return false;
      revoked.add(sessionId);
      return true;
    },
    seen(sessionId, nowMs) {
      seen++;
      const held = sessions.get(sessionId);
      if (held) held.lastSeenAtMs = nowMs;
    },
    extended(sessionId, expiresAtMs) {
      const held = sessions.get(sessionId);
      if (held) held.expiresAtMs = expiresAtMs;
    },
    async list(userId, currentId) {
      return [...sessions.values()].filter((held) => held.userId === userId).reverse().map((held) => view(held, currentId));
    },
    async revoke(userId, sessionId, by, reason = 'revoked') {
      const held = sessions.get(sessionId);
      if (!held || held.userId !== userId) return null;
      end(held, by, reason);
      return view(held, null);
    },
    async revokeOthers(userId, keepId, by, reason = 'revoked') {
      return live(userId).filter((held) => held.id !== keepId && end(held, by, reason)).length;
    },
    async revokeAll(userId, by, reason = 'revoked') {
      return live(userId).filter((held) => end(held, by, reason)).length;
    },
    feedState: () => ({ connected: true, held: revoked.size, lostSinceMs: null, reason: null, backend: 'repository', location: 'memory' }),
    countLive: async () => [...sessions.values()].filter((held) => !held.ended).length,
    removeExpired: async () => 0,
    close: async () => undefined,
    seenCalls: () => seen,
  };
}
