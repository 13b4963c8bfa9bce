import { randomBytes } from 'node:crypto';
import type { SessionRegistry } from '../sessions/index.js';

/**
 * A stand-in until the registry of sessions/ (its store, the revocations every member hears) is
 * wired here: session ids are made and carried by tokens, a session ended through this instance
 * is refused by it, and nothing is recorded or listed.
 */
export function unrecordedSessions(): SessionRegistry {
  const ended = new Set<string>();
  return {
    start: async () => randomBytes(16).toString('base64url'),
    isRevoked: (sessionId) => ended.has(sessionId),
    seen: () => undefined,
    list: async () => [],
    async revoke(_userId, sessionId) {
      ended.add(sessionId);
      return null;
    },
    revokeOthers: async () => 0,
    revokeAll: async () => 0,
    feedState: () => ({ connected: true, held: ended.size, lostSinceMs: null, reason: null, backend: 'repository', location: 'this process' }),
    countLive: async () => 0,
    removeExpired: async () => 0,
    close: async () => undefined,
  };
}
