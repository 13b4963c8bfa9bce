import type { Clock } from '../clock.js';
import type { Repository } from './types.js';

/**
 * The repository's change counters, watched. Every writer bumps a counter in its own transaction
 * (users, keys, configuration, stateful tokens, a content tree), and a watch calls the handler of
 * each counter that moved. What it sees, and when:
 * - a look reads every counter and calls the handlers of those that moved since the last look
 *   (the first look only notes where they stand), and `generation` moves;
 * - a look is made when someone asks and the last one is `recheckMs` old by the watch's clock
 *   (`lookIfDue`, on a cache's hot path), or every `recheckMs` by a timer (`polling`, for the
 *   instance's configuration and keys); so a change by another process (a CLI command, another
 *   instance on a shared repository) is seen within `recheckMs`;
 * - PostgreSQL announces another process's bump (`repo.onCounterBumped`): a look starts, and is
 *   due until it has read, whatever the clock (a clock that stands still sees these too);
 * - with `ownCommits`, a transaction of this process that bumps a counter calls its handler as it
 *   commits (`repo.onCommit`), so a cache is never staler than the repository in this process.
 *   The next look sees that counter moved and calls the handler again: such handlers empty caches,
 *   which does no harm twice (the instance's handlers, which reload, are not told of commits).
 */
export interface CounterWatch {
  /** Moves whenever a handler is called: what a read that began at an older generation gave may be stale. */
  generation(): number;
  /**
   * Looks at the counters if the last look is `recheckMs` old, or PostgreSQL has announced a
   * bump since: returns that look. Undefined when no look is due, so that a hot path need not
   * await. A look nobody awaits that fails is no unhandled rejection; one that is awaited fails.
   */
  lookIfDue(): Promise<void> | undefined;
  /** Reads the counters now (or joins a look under way that began after the last announcement). */
  look(): Promise<void>;
  /** Something else said the guarded data changed: every handler is called, as if every counter moved. */
  changed(): void;
  /**
   * Stops listening and polling; resolves when a look under way has ended. Await it before closing
   * the repository, or that read fails on the closed pool (and a polling watch reports an outage).
   */
  stop(): Promise<void>;
}

export interface CounterWatchOptions {
  /** What to do when a counter moved, by counter name. The first look (at first use, or at once when polling) starts listening. */
  readonly handlers: Readonly<Record<string, () => Promise<unknown> | void>>;
  readonly clock: Clock;
  /** The longest a change by another process goes unseen (without PostgreSQL's announcement). */
  readonly recheckMs: number;
  /** Tell the handlers of this process's commits as they commit (handlers that only empty a cache). */
  readonly ownCommits?: boolean;
  /**
   * Look every `recheckMs` (a timer, from now on) instead of only when asked. A look that fails
   * is reported once per outage (`onError`), and `onRecovered` once looks work again.
   */
  readonly polling?: { readonly onError: (error: unknown) => void; readonly onRecovered?: () => void };
}

export function watchCounters(repo: Repository, options: CounterWatchOptions): CounterWatch {
  const { handlers, clock, recheckMs, polling } = options;
  const names = Object.keys(handlers);
  const seen = new Map<string, number>();
  let generation = 0;
  // `announced` counts PostgreSQL's announcements; a look is due until one that began after the last of them has read.
  let announced = 0;
  let lookedAt = -Infinity;
  let lookedAnnounced = 0;
  let current: { readonly promise: Promise<void>; readonly announced: number } | undefined;
  let queued: Promise<void> | undefined;
  let unsubscribe: (() => void) | undefined;
  let timer: NodeJS.Timeout | undefined;
  let failing = false;
  let stopped = false;

  /** Calls a handler where nobody awaits it (a commit listener, `changed`): a promise it returns must not reject unhandled. */
  function tell(name: string): void {
    const warn = (error: unknown) => process.emitWarning(`a handler of counter ${name} failed: ${error instanceof Error ? error.message : String(error)}`);
    try {
      const result = handlers[name]!();
      if (result instanceof Promise) result.catch(warn);
    } catch (error) {
      warn(error); // a handler that throws at once must not keep the others from being told
    }
  }

  function changed(): void {
    generation++;
    for (const name of names) tell(name);
  }

  // Subscribed by the first look: a CLI command that only writes opens no PostgreSQL LISTEN for a cache it never reads.
  function listen(): void {
    const listeners = [
      repo.onCounterBumped((name) => {
        if (name !== '' && !Object.hasOwn(handlers, name)) return; // '': bumps may have been missed
        announced++;
        void look().catch(() => undefined); // reported by a polling watch; a cache's next lookIfDue waits for it
      }),
    ];
    if (options.ownCommits) {
      listeners.push(
        repo.onCommit((bumped) => {
          const moved = names.filter((name) => bumped.has(name));
          if (moved.length === 0) return;
          generation++;
          for (const name of moved) tell(name);
        }),
      );
    }
    unsubscribe = () => listeners.forEach((stop) => stop());
  }

  async function readAndTell(startedAt: number, announcedAtStart: number): Promise<void> {
    const values = new Map<string, number>();
    for (const name of names) values.set(name, await repo.readCounter(name));
    const moved: string[] = [];
    for (const [name, value] of values) {
      if (!seen.has(name)) seen.set(name, value); // the first look only notes where a counter stands
      else if (seen.get(name) !== value) moved.push(name);
    }
    if (moved.length > 0) generation++;
    // Every handler runs even when one fails, and a counter counts as seen only once its handler
    // has succeeded: a failed reload (configuration, keys) is tried again at the next look.
    let failure: { error: unknown } | undefined;
    for (const name of moved) {
      try {
        await handlers[name]!();
        seen.set(name, values.get(name)!);
      } catch (error) {
        failure ??= { error };
      }
    }
    if (failure) throw failure.error;
    // Counted from before the read: never trusted longer than recheckMs.
    lookedAt = startedAt;
    lookedAnnounced = announcedAtStart;
  }

  function start(): Promise<void> {
    if (!unsubscribe) listen();
    const at = announced;
    const promise = readAndTell(clock.now(), at)
      .then(
        () => {
          if (failing && !stopped) polling?.onRecovered?.();
          failing = false;
        },
        (error: unknown) => {
          if (!failing && !stopped) polling?.onError(error);
          failing = true;
          throw error;
        },
      )
      .finally(() => {
        current = undefined;
      });
    // Hot paths that only ask whether a look is due drop this promise; awaiting callers still see a failure.
    promise.catch(() => undefined);
    current = { promise, announced: at };
    return promise;
  }

  function look(): Promise<void> {
    if (stopped) return Promise.resolve();
    if (!current) return start();
    if (current.announced === announced) return current.promise;
    // A bump was announced after the look under way began reading: look once more after it.
    if (!queued) {
      const again = () => {
        queued = undefined;
        return look();
      };
      queued = current.promise.then(again, again);
      queued.catch(() => undefined);
    }
    return queued;
  }

  if (polling) {
    void look(); // where the counters stand now
    timer = setInterval(() => void look(), recheckMs);
    timer.unref();
  }

  return {
    generation: () => generation,
    lookIfDue() {
      const age = clock.now() - lookedAt;
      // A negative age is a wall clock stepped back: look, rather than trust the last look for the size of the step.
      return announced === lookedAnnounced && age >= 0 && age < recheckMs ? undefined : look();
    },
    look,
    changed,
    async stop() {
      stopped = true;
      clearInterval(timer);
      unsubscribe?.();
      await current?.promise.catch(() => undefined);
      await queued?.catch(() => undefined);
    },
  };
}
