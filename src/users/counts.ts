import type { RepositoryReader } from '../repository/index.js';
import { USERS_COUNTER } from './types.js';

/** At most this many counts are kept (one per group whose members were counted, and the totals). */
const MAX_KEPT = 10_000;

/**
 * Counts of users, groups and members, kept until the users counter moves. Counting is a walk of
 * an index (a million entries for a million users), so a page that shows counts would cost in
 * proportion to the users; reading the counter costs one row. Every writer of users and groups
 * bumps the counter in its transaction (this process or another, the receiver included), so a
 * count kept at one counter value is exact. The counter is read before counting: a change that
 * lands meanwhile moves it, and the next call counts again.
 */
export type CountCache = (key: string, count: () => Promise<number>) => Promise<number>;

export function createCountCache(repo: RepositoryReader): CountCache {
  let counterAt: number | null = null;
  const kept = new Map<string, number>();
  return async (key, count) => {
    const counter = await repo.readCounter(USERS_COUNTER);
    if (counter !== counterAt) {
      kept.clear();
      counterAt = counter;
    }
    const known = kept.get(key);
    if (known !== undefined) return known;
    const value = await count();
    if (counterAt === counter) {
      if (kept.size >= MAX_KEPT) kept.clear();
      kept.set(key, value);
    }
    return value;
  };
}
