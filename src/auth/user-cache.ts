import type { User, UserManager } from '../users/index.js';

/**
 * Users as the token hot path sees them, kept briefly (`ttlMs`). Every change of users reaches it
 * one way: the token handler's watch of the users counter (token-handler.ts) empties it, at once
 * for a transaction of this process (a user manager's, the replication receiver's), within its
 * `recheckMs` or at PostgreSQL's announcement for another process's. A caller asks that watch
 * (`lookIfDue`) before it uses what is kept here: the full check and the stateful kept path wait
 * for a look that is due; the encapsulated kept path starts it and answers until it has read.
 */
export interface UserCache {
  get(userId: string, nowMs: number): Promise<User | null>;
  /** The user as kept (null: kept as missing), or undefined when not kept or kept too long: then `get`. */
  kept(userId: string, nowMs: number): User | null | undefined;
  invalidate(userId?: string | null): void;
}

export function createUserCache(users: Pick<UserManager, 'getUser'>, ttlMs: number, maxEntries = 10_000): UserCache {
  const entries = new Map<string, { user: User | null; until: number }>();
  const cache: UserCache = {
    kept(userId, nowMs) {
      const hit = entries.get(userId);
      return hit && hit.until > nowMs ? hit.user : undefined;
    },
    async get(userId, nowMs) {
      const hit = cache.kept(userId, nowMs);
      if (hit !== undefined) return hit;
      // A read that failed is not "no such user": its error goes up (503 when the repository is
      // away), and nothing is cached, so the next request reads again.
      const user = await users.getUser(userId);
      if (entries.size >= maxEntries) entries.clear();
      entries.set(userId, { user, until: nowMs + ttlMs });
      return user;
    },
    invalidate(userId) {
      if (userId) entries.delete(userId);
      else entries.clear();
    },
  };
  return cache;
}
