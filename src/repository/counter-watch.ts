import type { Clock } from '../clock.js';
import type { Repository } from './types.js';

/**
 * What a cache of repository reads needs to know that they may be stale, from change counters
 * that every writer bumps in its own transaction. The staleness it allows:
 * - a transaction of this process that bumps one of the counters tells it as it commits
 *   (`repo.onCommit`);
 * - the counters are read again once the last look is `recheckMs` old, so a change by another
 *   process (a CLI command, another author on PostgreSQL) is seen within that interval;
 *   PostgreSQL announces it at once (`onCounterBumped`).
 * Each time, `onChange` runs and `generation` moves: a read that began at an older generation
 * may hold what was there before, and is not kept.
 */
export interface CounterWatch {
  /** Moves whenever what the counters guard may have changed. */
  generation(): number;
  /** Looks at the counters when the last look is `recheckMs` old; resolves at once otherwise. */
  fresh(): Promise<void> | undefined;
  /** Something else said the guarded data changed: as if a counter moved. */
  changed(): void;
}

export interface CounterWatchOptions {
  readonly counters: readonly string[];
  readonly clock: Clock;
  readonly recheckMs: number;
  readonly onChange: () => void;
}

export function watchCounters(repo: Repository, { counters, clock, recheckMs, onChange }: CounterWatchOptions): CounterWatch {
  const seen = new Map<string, number>();
  let generation = 0;
  let checkedAt = -Infinity;
  let checking: Promise<void> | undefined;
  let listening = false;

  function changed(): void {
    generation++;
    onChange();
  }

  // Subscribed on first use: a CLI command that only writes opens no PostgreSQL LISTEN for it.
  function listen(): void {
    listening = true;
    repo.onCommit((bumped) => {
      if (counters.some((name) => bumped.has(name))) changed();
    });
    repo.onCounterBumped((name) => {
      if (name === '' || counters.includes(name)) changed(); // '': bumps may have been missed
    });
  }

  function recheck(): Promise<void> {
    checking ??= (async () => {
      const startedAt = clock.now(); // counted from before the read: never trusted longer than recheckMs
      try {
        let moved = false;
        for (const name of counters) {
          const value = await repo.readCounter(name);
          if (seen.get(name) !== value) moved = true;
          seen.set(name, value);
        }
        if (moved) changed();
        checkedAt = startedAt;
      } finally {
        checking = undefined;
      }
    })();
    // Callers that only ask whether a look is due (the kept-answer paths) drop this promise; one
    // that fails (PostgreSQL away) must not become an unhandled rejection. Awaiters still see it.
    checking.catch(() => {});
    return checking;
  }

  return {
    generation: () => generation,
    fresh() {
      if (!listening) listen();
      return clock.now() - checkedAt >= recheckMs ? recheck() : undefined;
    },
    changed,
  };
}
