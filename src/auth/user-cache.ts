import { isCapsuleError } from '../errors.js';
import type { User, UserManager } from '../users/index.js';

/**
 * Users as the token hot path sees them, kept briefly. Local changes clear an entry at once;
 * changes by other processes clear everything when the instance sees the users counter move.
 */
export interface UserCache {
  get(userId: string, nowMs: number): Promise<User | null>;
  invalidate(userId?: string | null): void;
}

export function createUserCache(users: UserManager, ttlMs: number, maxEntries = 10_000): UserCache {
  const entries = new Map<string, { user: User | null; until: number }>();
  const cache: UserCache = {
    async get(userId, nowMs) {
      const hit = entries.get(userId);
      if (hit && hit.until > nowMs) return hit.user;
      // A repository that is away is not "no such user": that error goes up (503), and nothing is cached.
      const user = await users.getUser(userId).catch((error: unknown) => {
        if (isCapsuleError(error, 'REPOSITORY_UNAVAILABLE')) throw error;
        return null;
      });
      if (entries.size >= maxEntries) entries.clear();
      entries.set(userId, { user, until: nowMs + ttlMs });
      return user;
    },
    invalidate(userId) {
      if (userId) entries.delete(userId);
      else entries.clear();
    },
  };
  users.onChange((userId) => cache.invalidate(userId));
  return cache;
}
