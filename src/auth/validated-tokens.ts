import type { CounterWatch } from '../repository/index.js';
import type { StatefulToken } from './stateful-tokens.js';
import { TokenMap } from './token-map.js';

/**
 * Stateful tokens as last validated against the repository, so that a request with a token seen
 * before costs a map lookup instead of a repository read, a decode and a hash. Why: over HTTP the
 * read and its hash cost about 50 µs of server CPU per request (SQLite's read transaction takes
 * two `fcntl` locks on the WAL index, and its code runs cold between requests), which held a
 * stateful request to 0.64 of an anonymous one; see BENCHMARKS.md. The user is still checked on
 * every request (disabled, removed) through the user cache, and expiry with the injected clock.
 *
 * Never staler than the token handler's counter watch allows (repository/counter-watch.ts, whose
 * handlers call `empty`): a transaction of this process that bumps the stateful-tokens counter
 * (every token removal by the store) or the users counter (every user change, the replication
 * receiver's too) empties it as it commits; a logout by another process (a CLI command, another
 * author on PostgreSQL) is seen within the watch's `recheckMs`, on PostgreSQL at once; a
 * validation that began before an emptying is not kept.
 *
 * Keyed by the whole token (id and secret), as the verified-token cache of encapsulated tokens: a
 * hit needs the exact string that was validated, so a wrong secret is never served from here.
 */
export interface ValidatedTokens {
  /** The token's validation if it is kept, not expired at `nowMs`, and nothing has changed since. */
  lookup(token: string, nowMs: number): Promise<StatefulToken | undefined>;
  /** `lookup` without waiting: undefined also when the counters are due a look (which this starts). */
  kept(token: string, nowMs: number): StatefulToken | undefined;
  /** Marks the start of a validation; pass it to `remember`. */
  epoch(): number;
  /** Keeps a validation that began at `epoch`, unless the cache was emptied since. */
  remember(token: string, validated: StatefulToken, epoch: number): void;
  /** The token's expiry was pushed back by this process. */
  extended(token: string, expiresAt: number): void;
  /** Forgets everything: the token handler's watch saw a user or a stateful token change. */
  empty(): void;
}

export interface ValidatedTokensOptions {
  /** The token handler's watch of the stateful-tokens and users counters: its handlers call `empty`, and it moves `generation`. */
  readonly watch: Pick<CounterWatch, 'generation' | 'lookIfDue'>;
  /** Tokens kept at most; past it the cache starts empty again. */
  readonly maxEntries?: number;
}

export function createValidatedTokens(options: ValidatedTokensOptions): ValidatedTokens {
  const maxEntries = options.maxEntries ?? 10_000;
  const entries = new TokenMap<StatefulToken>();
  const { watch } = options;

  function hit(token: string, nowMs: number): StatefulToken | undefined {
    const entry = entries.get(token);
    if (!entry) return undefined;
    if (entry.expiresAt <= nowMs) {
      // Expired as far as this process knows; the repository decides (another process may have extended it).
      entries.delete(token);
      return undefined;
    }
    return entry;
  }

  return {
    async lookup(token, nowMs) {
      await watch.lookIfDue();
      return hit(token, nowMs);
    },
    kept: (token, nowMs) => (watch.lookIfDue() ? undefined : hit(token, nowMs)),
    epoch: () => watch.generation(),
    remember(token, validated, epoch) {
      if (epoch !== watch.generation()) return;
      if (entries.size >= maxEntries) entries.clear();
      else entries.set(token, validated);
    },
    extended(token, expiresAt) {
      const hit = entries.get(token);
      if (hit) entries.set(token, { ...hit, expiresAt });
    },
    empty: () => entries.clear(),
  };
}
