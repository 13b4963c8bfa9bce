import { newSessionId } from '../../src/sessions/index.js';
import Bowser from 'bowser';
import type { SessionEndReason, SessionRecord, SignInDetails } from '../../src/sessions/types.js';
import type { RevocationFeedState, SessionRegistry, SessionView } from '../../src/sessions/registry-types.js';

/**
 * The simplest SessionRegistry: records in a Map of this process. For the routes, pages and
 * commands that show and end sessions (they code against the interface alone); the real registry
 * and its stores have their own tests (test/sessions/).
 */
export interface SessionRegistryDouble extends SessionRegistry {
  /** Every record, live and ended: what a test looks at to see that nothing changed. */
  records(): SessionRecord[];
}

function describeAgent(userAgent: string): { browser: string; os: string } {
  if (!userAgent) return { browser: 'unknown', os: 'unknown' };
  const parsed = Bowser.parse(userAgent);
  const browser = parsed.browser.name ? `${parsed.browser.name}${parsed.browser.version ? ` ${parsed.browser.version.split('.')[0]}` : ''}` : 'unknown';
  const os = parsed.os.name ? `${parsed.os.name}${parsed.os.versionName ?? parsed.os.version ? ` ${parsed.os.versionName ?? parsed.os.version}` : ''}` : 'unknown';
  return { browser, os };
}

export function sessionRegistryDouble(options: { instance?: string; now?: () => number } = {}): SessionRegistryDouble {
  const now = options.now ?? (() => Date.now());
  const records = new Map<string, SessionRecord>();
  const held = new Set<string>();

  const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
  function viewOf(record: SessionRecord, currentId: string | null | undefined): SessionView {
    return {
      id: record.id,
      userId: record.userId,
      createdAt: new Date(record.createdAtMs).toISOString(),
      lastSeenAt: new Date(record.lastSeenAtMs).toISOString(),
      expiresAt: new Date(record.expiresAtMs).toISOString(),
      method: record.method,
      provider: record.provider,
      clientAddress: record.clientAddress,
      ...describeAgent(record.userAgent),
      userAgent: record.userAgent,
      instance: record.instance,
      state: record.endedAtMs === null ? 'active' : 'ended',
      endReason: record.endReason,
      endedAt: iso(record.endedAtMs),
      endedBy: record.endedBy,
      current: record.id === currentId,
    };
  }
  const live = (record: SessionRecord) => record.endedAtMs === null && record.expiresAtMs > now();
  function end(record: SessionRecord, reason: SessionEndReason, by: string): SessionRecord {
    const ended = { ...record, endedAtMs: now(), endReason: reason, endedBy: by };
    records.set(record.id, ended);
    return ended;
  }
  const ofUser = (userId: string) => [...records.values()].filter((record) => record.userId === userId && record.expiresAtMs > now());

  return {
    async start(user, details: SignInDetails, expiresAtMs) {
      const id = newSessionId();
      const at = now();
      records.set(id, {
        id,
        userId: user.id,
        createdAtMs: at,
        lastSeenAtMs: at,
        expiresAtMs,
        method: details.method,
        provider: details.provider ?? null,
        clientAddress: details.clientAddress,
        userAgent: details.userAgent.slice(0, 512),
        instance: options.instance ?? 'test-instance',
        generation: user.generation,
        endedAtMs: null,
        endReason: null,
        endedBy: null,
      });
      return id;
    },
    isRevoked: (sessionId) => held.has(sessionId) || records.get(sessionId)?.endedAtMs != null,
    async holdRevoked(_userId, sessionId) {
      if (held.has(sessionId) || records.get(sessionId)?.endedAtMs != null) return false;
      held.add(sessionId);
      return true;
    },
    seen(sessionId, nowMs) {
      const record = records.get(sessionId);
      if (record) records.set(sessionId, { ...record, lastSeenAtMs: nowMs });
    },
    async list(userId, currentId) {
      return ofUser(userId)
        .sort((a, b) => b.createdAtMs - a.createdAtMs)
        .map((record) => viewOf(record, currentId));
    },
    async revoke(userId, sessionId, by) {
      const record = records.get(sessionId);
      if (!record || record.userId !== userId || !live(record)) return null;
      return viewOf(end(record, 'revoked', by), null);
    },
    async revokeOthers(userId, keepId, by, reason = 'revoked') {
      const others = ofUser(userId).filter((record) => live(record) && record.id !== keepId);
      for (const record of others) end(record, reason, by);
      return others.length;
    },
    async revokeAll(userId, by, reason = 'revoked') {
      const all = ofUser(userId).filter(live);
      for (const record of all) end(record, reason, by);
      return all.length;
    },
    feedState: (): RevocationFeedState => ({
      connected: true,
      held: [...records.values()].filter((record) => record.endedAtMs !== null).length,
      lostSinceMs: null,
      reason: null,
      backend: 'repository',
      location: 'memory (test double)',
    }),
    countLive: async () => [...records.values()].filter(live).length,
    removeExpired: async () => {
      const expired = [...records.values()].filter((record) => record.expiresAtMs <= now());
      for (const record of expired) records.delete(record.id);
      return expired.length;
    },
    close: async () => undefined,
    records: () => [...records.values()],
  };
}
