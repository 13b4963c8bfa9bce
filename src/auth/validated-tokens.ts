import type { Clock } from '../clock.js';
import type { Repository } from '../repository/index.js';
import { USERS_COUNTER } from '../users/index.js';
import { STATEFUL_TOKENS_COUNTER, type StatefulToken } from './stateful-tokens.js';

/**
 * Stateful tokens as last validated against the repository, so that a request with a token seen
 * before costs a map lookup instead of a repository read, a decode and a hash. Why: over HTTP the
 * read and its hash cost about 50 µs of server CPU per request (SQLite's read transaction takes
 * two `fcntl` locks on the WAL index, and its code runs cold between requests), which held a
 * stateful request to 0.64 of an anonymous one; see BENCHMARKS.md. The user is still checked on
 * every request (disabled, removed) through the user cache, and expiry with the injected clock.
 *
 * Never staler than the content cache (content-nodes.ts):
 * - a transaction of this process that bumps the stateful-tokens counter (every token removal by
 *   the store) or the users counter (every user change, a user's removal with its tokens
 *   included) empties the cache as it commits (`repo.onCommit`);
 * - both counters are read again once the last look is `recheckMs` old, so a logout by another
 *   process (a CLI command, another author on PostgreSQL) is seen within that interval;
 *   PostgreSQL announces it at once (`onCounterBumped`);
 * - a validation that began before an emptying is not kept (it may have read what was there before).
 *
 * Keyed by the whole token (id and secret), as the verified-token cache of encapsulated tokens: a
 * hit needs the exact string that was validated, so a wrong secret is never served from here.
 */
export interface ValidatedTokens {
  /** The token's validation if it is kept, not expired at `nowMs`, and nothing has changed since. */
  lookup(token: string, nowMs: number): Promise<StatefulToken | undefined>;
  /** Marks the start of a validation; pass it to `remember`. */
  epoch(): number;
  /** Keeps a validation that began at `epoch`, unless the cache was emptied since. */
  remember(token: string, validated: StatefulToken, epoch: number): void;
  /** The token's expiry was pushed back by this process. */
  extended(token: string, expiresAt: number): void;
  /** Forget everything (another process changed users). */
  empty(): void;
}

export interface ValidatedTokensOptions {
  readonly repo: Repository;
  readonly clock: Clock;
  /** How old the last look at the counters may be before a lookup looks again (default 500 ms, the change-watch interval). */
  readonly recheckMs?: number;
  /** Tokens kept at most; past it the cache starts empty again. */
  readonly maxEntries?: number;
}

const WATCHED_COUNTERS: readonly string[] = [STATEFUL_TOKENS_COUNTER, USERS_COUNTER];

export function createValidatedTokens(options: ValidatedTokensOptions): ValidatedTokens {
  const { repo, clock } = options;
  const recheckMs = options.recheckMs ?? 500;
  const maxEntries = options.maxEntries ?? 10_000;
  const entries = new Map<string, StatefulToken>();
  const seen = new Map<string, number>();
  let generation = 0;
  let checkedAt = -Infinity;
  let checking: Promise<void> | undefined;
  let listening = false;

  function empty(): void {
    generation++;
    entries.clear();
  }

  // Subscribed on first lookup: a CLI command that only logs in opens no PostgreSQL LISTEN for it.
  function listen(): void {
    listening = true;
    repo.onCommit((bumped) => {
      if (WATCHED_COUNTERS.some((name) => bumped.has(name))) empty();
    });
    repo.onCounterBumped((name) => {
      if (name === '' || WATCHED_COUNTERS.includes(name)) empty(); // '': bumps may have been missed
    });
  }

  function recheck(): Promise<void> {
    checking ??= (async () => {
      const startedAt = clock.now(); // counted from before the read: never trusted longer than recheckMs
      try {
        let moved = false;
        for (const name of WATCHED_COUNTERS) {
          const value = await repo.readCounter(name);
          if (seen.get(name) !== value) moved = true;
          seen.set(name, value);
        }
        if (moved) empty();
        checkedAt = startedAt;
      } finally {
        checking = undefined;
      }
    })();
    return checking;
  }

  return {
    async lookup(token, nowMs) {
      if (!listening) listen();
      if (clock.now() - checkedAt >= recheckMs) await recheck();
      const hit = entries.get(token);
      if (!hit) return undefined;
      if (hit.expiresAt <= nowMs) {
        // Expired as far as this process knows; the repository decides (another process may have extended it).
        entries.delete(token);
        return undefined;
      }
      return hit;
    },
    epoch: () => generation,
    remember(token, validated, epoch) {
      if (epoch !== generation) return;
      if (entries.size >= maxEntries) empty();
      else entries.set(token, validated);
    },
    extended(token, expiresAt) {
      const hit = entries.get(token);
      if (hit) entries.set(token, { ...hit, expiresAt });
    },
    empty,
  };
}
