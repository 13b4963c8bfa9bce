import type { Repository } from '../repository/index.js';

export interface ChangeWatcher {
  /** Reads the counters now and calls the handlers of those that moved. */
  poll(): Promise<void>;
  stop(): void;
}

/**
 * Polls the repository's change counters, so that a running instance notices what another
 * process (the CLI, another instance on a shared repository) wrote into its home.
 */
export function watchCounters(
  repo: Repository,
  handlers: Readonly<Record<string, () => Promise<unknown> | void>>,
  options: { intervalMs: number; onError: (error: unknown) => void },
): ChangeWatcher {
  const seen = new Map<string, number>();
  let polling: Promise<void> | undefined;

  async function pollOnce(): Promise<void> {
    for (const [name, handler] of Object.entries(handlers)) {
      const value = await repo.readCounter(name);
      const previous = seen.get(name);
      seen.set(name, value);
      if (previous !== undefined && previous !== value) await handler();
    }
  }

  function poll(): Promise<void> {
    polling ??= pollOnce()
      .catch(options.onError)
      .finally(() => {
        polling = undefined;
      });
    return polling;
  }

  void poll(); // remember where the counters stand now
  const timer = setInterval(() => void poll(), options.intervalMs);
  timer.unref();
  return { poll, stop: () => clearInterval(timer) };
}
