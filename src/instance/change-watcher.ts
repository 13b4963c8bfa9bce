import type { Repository } from '../repository/index.js';

export interface ChangeWatcher {
  /** Reads the counters now and calls the handlers of those that moved. */
  poll(): Promise<void>;
  /**
   * Stops polling; resolves when a read under way has ended. Await it before closing the
   * repository, or that read fails on the closed pool and is reported as an outage.
   */
  stop(): Promise<void>;
}

/**
 * Watches the repository's change counters, so that a running instance notices what another
 * process (the CLI, another instance on a shared repository) wrote. On PostgreSQL a committed bump
 * is announced (LISTEN/NOTIFY) and the counters are read at once; polling every `intervalMs`
 * stays as the safety net, and is the only way on SQLite. A failing read is reported once per
 * outage (`onError`), and `onRecovered` when reads work again.
 */
export function watchCounters(
  repo: Repository,
  handlers: Readonly<Record<string, () => Promise<unknown> | void>>,
  options: { intervalMs: number; onError: (error: unknown) => void; onRecovered?: () => void },
): ChangeWatcher {
  const seen = new Map<string, number>();
  let polling: Promise<void> | undefined;
  let again = false;
  let failing = false;
  let stopped = false;

  async function pollOnce(): Promise<void> {
    for (const [name, handler] of Object.entries(handlers)) {
      const value = await repo.readCounter(name);
      const previous = seen.get(name);
      seen.set(name, value);
      if (previous !== undefined && previous !== value) await handler();
    }
  }

  function poll(): Promise<void> {
    if (stopped) return Promise.resolve();
    if (polling) {
      again = true; // a bump announced during a read may have come after it: read once more
      return polling;
    }
    polling = pollOnce()
      .then(
        () => {
          if (failing && !stopped) options.onRecovered?.();
          failing = false;
        },
        (error: unknown) => {
          if (!failing && !stopped) options.onError(error);
          failing = true;
        },
      )
      .finally(() => {
        polling = undefined;
        if (again) {
          again = false;
          void poll();
        }
      });
    return polling;
  }

  void poll(); // remember where the counters stand now
  const unsubscribe = repo.onCounterBumped((name) => {
    if (name === '' || name in handlers) void poll();
  });
  const timer = setInterval(() => void poll(), options.intervalMs);
  timer.unref();
  return {
    poll,
    stop: async () => {
      stopped = true;
      clearInterval(timer);
      unsubscribe();
      await polling;
    },
  };
}
